#include "ls_watch.h"

#include "syscalls.h"

#include <langinfo.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace pg {

namespace {

// A periodic CLOCK_MONOTONIC timer whose first expiry is one interval away.
UniqueFd periodic_timer(Millis interval)
{
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!fd) {
    throw_errno("timerfd_create");
  }
  itimerspec spec{};
  spec.it_interval.tv_sec = static_cast<time_t>(interval.count() / 1000);
  spec.it_interval.tv_nsec = static_cast<long>(interval.count() % 1000) * 1'000'000L;
  spec.it_value = spec.it_interval;
  if (::timerfd_settime(fd.get(), 0, &spec, nullptr) != 0) {
    throw_errno("timerfd_settime");
  }
  return fd;
}

void write_text(std::string_view text)
{
  if (!write_all(STDOUT_FILENO, text)) {
    throw_errno("writing the listing");
  }
}

} // namespace

bool wait_for_stop(const StopSignals& stop, int timeout_ms, int extra_fd)
{
  pollfd fds[2] = {{stop.fd(), POLLIN, 0}, {extra_fd, POLLIN, 0}};
  const nfds_t n = extra_fd >= 0 ? 2 : 1;
  if (!stop.raised() && ::poll(fds, n, timeout_ms) < 0 && errno != EINTR) {
    throw_errno("poll");
  }
  return stop.raised();
}

std::string redraw_in_place(std::string_view text)
{
  std::string out = "\x1b[H";
  size_t from = 0;
  while (from < text.size()) {
    size_t nl = text.find('\n', from);
    if (nl == std::string_view::npos) {
      nl = text.size();
    }
    out.append(text.substr(from, nl - from));
    out += "\x1b[K\n";
    from = nl + 1;
  }
  out += "\x1b[J";
  return out;
}

void watch_loop(const RenderFn& render, Millis interval, bool terminal, const RenderFn& title)
{
  const StopSignals stop;
  const UniqueFd timer = periodic_timer(interval);
  bool first = true;
  for (;;) {
    const std::string text = render();
    if (terminal) {
      write_text(redraw_in_place(title() + "\n\n" + text));
    } else {
      write_text(first ? text : "\n" + text);
    }
    first = false;
    // The next tick or a stop signal, whichever comes first.
    for (;;) {
      if (wait_for_stop(stop, -1, timer.get())) {
        return;
      }
      uint64_t expirations = 0;
      if (::read(timer.get(), &expirations, sizeof expirations) ==
          static_cast<ssize_t>(sizeof expirations)) {
        break;
      }
    }
  }
}

std::optional<Millis> parse_watch_interval(std::string_view text)
{
  std::optional<Millis> d = parse_duration(text);
  if (!d) {
    double seconds = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(seconds) &&
        seconds <= 86'400) {
      d = Millis(std::llround(seconds * 1000));
    }
  }
  if (!d || *d < Millis(100)) {
    return std::nullopt;
  }
  return d;
}

size_t output_columns()
{
  winsize ws{};
  if (::isatty(STDOUT_FILENO) == 1 && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
      ws.ws_col > 0) {
    return ws.ws_col;
  }
  const char* columns = std::getenv("COLUMNS");
  if (columns != nullptr) {
    size_t n = 0;
    const char* end = columns + std::strlen(columns);
    auto [ptr, ec] = std::from_chars(columns, end, n);
    if (ec == std::errc() && ptr == end && n > 0) {
      return n;
    }
  }
  return 80;
}

bool locale_is_utf8()
{
  if (std::setlocale(LC_CTYPE, "") == nullptr) {
    return false;
  }
  const char* codeset = ::nl_langinfo(CODESET);
  return codeset != nullptr &&
         (std::strcmp(codeset, "UTF-8") == 0 || std::strcmp(codeset, "utf8") == 0);
}

} // namespace pg
