#include "alert_helper.h"

#include "alert.h"
#include "clock.h"
#include "events.h"
#include "exit_status.h"
#include "fd.h"
#include "proc.h"
#include "signals.h"
#include "spawn.h"
#include "state.h"
#include "state_dir.h"
#include "syscalls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <optional>

namespace pg {

namespace {

constexpr size_t k_max_queue = 1000; // requests waiting for their turn
constexpr size_t k_tail = 4096;      // bytes of a hook's output kept for its last line
constexpr size_t k_max_request = 1 << 18;

struct Hook {
  HookRequest req;
  pid_t pid = 0;
  UniqueFd out;
  std::string tail;
  Nanos started{0}; // CLOCK_MONOTONIC, like every timeout that must not fire on a resume
  Nanos deadline{0};
  bool timed_out = false;
  bool ended = false;
  ExitStatus status;
};

// Closes every descriptor but 0-2 and those in keep.
void close_all_but(std::vector<int> keep)
{
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(from)) {
      continue;
    }
    if (static_cast<unsigned>(fd) > from) {
      ::close_range(from, static_cast<unsigned>(fd) - 1, 0);
    }
    from = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(from, ~0U, 0);
}

class Helper {
public:
  Helper(int sock, int dirfd, const HookSpec& spec) : m_sock(sock), m_dirfd(dirfd), m_spec(spec) {}

  void setup()
  {
    // Default dispositions (the supervisor ignores SIGPIPE and blocks what it reads from its
    // signalfd); SIGCHLD blocked here, read from our own signalfd.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) {
      if (s != SIGKILL && s != SIGSTOP) {
        ::sigaction(s, &dfl, nullptr);
      }
    }
    sigset_t chld;
    ::sigemptyset(&chld);
    ::sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_SETMASK, &chld, nullptr);
    m_sigfd.reset(::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!m_sigfd) {
      throw_errno("signalfd");
    }
    // What a hook leaves behind when its shell exits becomes ours to kill and reap.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }

  void run()
  {
    for (;;) {
      if (!m_hook && !m_queue.empty()) {
        start_next();
        continue;
      }
      if (!m_hook && !m_sock) {
        return; // the supervisor is done and so are we
      }
      std::array<pollfd, 3> fds{};
      nfds_t n = 0;
      fds[n++] = {m_sigfd.get(), POLLIN, 0};
      const nfds_t sock_at = m_sock ? n : 99;
      if (m_sock) {
        fds[n++] = {m_sock.get(), POLLIN, 0};
      }
      const nfds_t out_at = m_hook && m_hook->out ? n : 99;
      if (m_hook && m_hook->out) {
        fds[n++] = {m_hook->out.get(), POLLIN, 0};
      }
      int timeout = -1;
      if (m_hook && !m_hook->timed_out) {
        const Nanos left = m_hook->deadline - monotonic_now();
        timeout = left.count() <= 0 ? 0
                                    : static_cast<int>(std::min<int64_t>(
                                          (left.count() + 999'999) / 1'000'000, 1'000'000));
      }
      if (::poll(fds.data(), n, timeout) < 0 && errno != EINTR) {
        throw_errno("poll");
      }
      if (sock_at != 99 && fds[sock_at].revents != 0) {
        read_requests();
      }
      if (out_at != 99 && fds[out_at].revents != 0) {
        read_output();
      }
      if (fds[0].revents != 0) {
        reap();
      }
      if (m_hook && !m_hook->ended && !m_hook->timed_out && monotonic_now() >= m_hook->deadline) {
        m_hook->timed_out = true;
        kill_hook_tree();
      }
      if (m_hook && m_hook->ended) {
        finish_hook();
      }
    }
  }

private:
  void read_requests()
  {
    char* const buf = m_request.get();
    for (;;) {
      // MSG_TRUNC: the datagram's whole length, so that one cut at the buffer's end is refused
      ssize_t n = ::recv(m_sock.get(), buf, k_max_request, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      }
      if (n <= 0) {
        m_sock.reset(); // EOF: no more requests; what is queued still runs
        return;
      }
      std::optional<HookRequest> r =
          static_cast<size_t>(n) > k_max_request
              ? std::nullopt
              : decode_hook_request(std::string_view(buf, static_cast<size_t>(n)));
      if (!r) {
        ev::AlertResult bad;
        bad.error = "bad request";
        record(bad);
        continue;
      }
      if (m_queue.size() >= k_max_queue) {
        fail(*r, "too many hooks waiting");
        continue;
      }
      m_queue.push_back(std::move(*r));
    }
  }

  void start_next()
  {
    Hook h;
    h.req = std::move(m_queue.front());
    m_queue.pop_front();
    std::optional<Pipe> out = make_pipe(O_CLOEXEC);
    if (!out) {
      fail(h.req, std::string("pipe: ") + std::strerror(errno));
      return;
    }
    // The job's own spawn: a process group of its own, default dispositions, an empty mask,
    // stdin from /dev/null, stdout and stderr into the pipe, nothing else inherited.
    const SpawnRequest req{"/bin/sh",
                           {"sh", "-c", m_spec.command},
                           merge_env(m_spec.env, h.req.vars),
                           m_spec.cwd,
                           m_spec.umask,
                           out->write.get(),
                           out->write.get(),
                           0,
                           {},
                           {}}; // the job's --limit is not the hook's
    const SpawnResult r = spawn(req);
    if (r.pid < 0) {
      fail(h.req, r.message());
      return;
    }
    out->write.reset();
    set_nonblock(out->read.get());
    h.pid = r.pid;
    h.out = std::move(out->read);
    h.started = monotonic_now();
    h.deadline = h.started + m_spec.timeout;
    m_hook = std::move(h);
  }

  void read_output()
  {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(m_hook->out.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          m_hook->out.reset();
        }
        return;
      }
      m_hook->tail.append(buf, static_cast<size_t>(n));
      if (m_hook->tail.size() > 2 * k_tail) {
        m_hook->tail.erase(0, m_hook->tail.size() - k_tail);
      }
    }
  }

  void kill_hook_tree()
  {
    ::kill(-m_hook->pid, SIGKILL);
    // What left the hook's process group is still below us: we are its subreaper.
    for (pid_t p : descendants(::getpid())) {
      ::kill(p, SIGKILL);
    }
  }

  void reap()
  {
    signalfd_siginfo si{};
    while (::read(m_sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    }
    if (m_hook && !m_hook->ended) {
      siginfo_t info{};
      // WNOWAIT: the hook's zombie keeps its pid (and so its process group id) from being
      // reused while we kill what it left behind.
      if (::waitid(P_PID, static_cast<id_t>(m_hook->pid), &info, WEXITED | WNOHANG | WNOWAIT) ==
              0 &&
          info.si_pid == m_hook->pid) {
        kill_hook_tree();
        m_hook->status = ExitStatus::from_siginfo(info);
        m_hook->ended = true;
      }
    }
    for (;;) {
      int st = 0;
      pid_t p = ::waitpid(-1, &st, WNOHANG);
      if (p < 0 && errno == EINTR) {
        continue;
      }
      if (p <= 0) {
        return;
      }
    }
  }

  void finish_hook()
  {
    if (m_hook->out) {
      read_output(); // what is already in the pipe; leftovers were killed, so do not wait
    }
    Hook& h = *m_hook;
    const double took = static_cast<double>((monotonic_now() - h.started).count()) / 1e9;
    const bool ok = !h.timed_out && h.status.success();
    ev::AlertResult r;
    r.seq = h.req.seq;
    r.alert = h.req.alert;
    r.ok = ok;
    r.pid = h.pid;
    r.status = h.status;
    r.timed_out = h.timed_out;
    r.duration_s = took;
    r.output = clean_line(last_text_line(h.tail));
    if (h.timed_out) {
      r.error = "timed out after " + format_duration(m_spec.timeout) + ": killed";
    } else if (!ok) {
      r.error = "the hook failed: " + h.status.describe();
    }
    record(r);
    m_hook.reset();
  }

  void fail(const HookRequest& r, const std::string& why)
  {
    ev::AlertResult res;
    res.seq = r.seq;
    res.alert = r.alert;
    res.error = "not run: " + why;
    record(res);
  }

  // Appended by us whether the supervisor lives or not: a single O_APPEND write per line,
  // opened afresh each time (the supervisor may have rotated the file), never rotating here.
  void record(nlohmann::json ev)
  {
    nlohmann::json line = {{"event", ev["event"]}, {"at", format_rfc3339(wall_now())}};
    line.update(ev);
    try {
      EventLog(m_dirfd.get(), std::numeric_limits<uint64_t>::max()).append(line);
    } catch (const std::exception&) {
      // Nowhere else to say it: the job's directory is gone or full.
    }
  }

  UniqueFd m_sock;
  UniqueFd m_dirfd;
  const HookSpec& m_spec;
  UniqueFd m_sigfd;
  std::deque<HookRequest> m_queue;
  std::optional<Hook> m_hook;
  // A request's datagram, read into: allocated once, never zeroed, so only the pages a request
  // fills are the helper's (it zeroed 256 kB for each batch of requests).
  std::unique_ptr<char[]> m_request = std::make_unique_for_overwrite<char[]>(k_max_request);
};

[[noreturn]] void helper_main(int sock, int dirfd, const HookSpec& spec)
{
  // Our own session: a terminal's ^C to the supervisor's group must not kill pending alerts.
  ::setsid();
  ::prctl(PR_SET_NAME, "pg-run-alert");
  // Nothing of the supervisor's: above all not the job's lock (an OFD lock lives as long as
  // any descriptor of it), nor the output pipes' write ends (a run would never see EOF).
  close_all_but({sock, dirfd});
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (devnull > 2) {
      ::close(devnull);
    }
  }
  try {
    Helper h(sock, dirfd, spec);
    h.setup();
    h.run();
  } catch (const std::exception&) {
    ::_exit(1);
  }
  ::_exit(0); // no destructors of the supervisor's objects, no atexit handlers
}

} // namespace

void AlertHelper::start(const HookSpec& spec, int job_dirfd)
{
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    throw_errno("socketpair");
  }
  UniqueFd ours(sv[0]);
  UniqueFd theirs(sv[1]);
  const int dirfd = ::fcntl(job_dirfd, F_DUPFD_CLOEXEC, 3);
  if (dirfd < 0) {
    throw_errno("dup");
  }
  UniqueFd dir(dirfd);
  // Twice: the helper's parent exits at once, so the helper is never our child or descendant.
  const pid_t mid = ::fork();
  if (mid < 0) {
    throw_errno("fork");
  }
  if (mid == 0) {
    const pid_t helper = ::fork();
    if (helper != 0) {
      ::_exit(helper < 0 ? 1 : 0);
    }
    helper_main(theirs.get(), dir.get(), spec);
  }
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("fork: the alert helper did not start");
  }
  m_sock = std::move(ours);
}

std::optional<std::string> AlertHelper::request(uint64_t seq, const std::string& alert,
                                                const std::vector<std::string>& vars)
{
  if (!m_sock) {
    return fmt::format("the alert helper is gone: {}", std::strerror(EPIPE));
  }
  const std::optional<std::string> msg = encode_hook_request({seq, alert, vars});
  if (!msg) {
    return "a variable of the alert holds a NUL byte";
  }
  const ssize_t n = retry_eintr(
      [&] { return ::send(m_sock.get(), msg->data(), msg->size(), MSG_DONTWAIT | MSG_NOSIGNAL); });
  if (n == static_cast<ssize_t>(msg->size())) {
    return std::nullopt;
  }
  if (n >= 0) {
    return "the request to the alert helper was cut short";
  }
  return errno == EAGAIN ? std::string("the alert helper's queue is full")
                         : fmt::format("the alert helper is gone: {}", std::strerror(errno));
}

std::optional<std::string> encode_hook_request(const HookRequest& r)
{
  std::string msg = std::to_string(r.seq);
  msg += '\0';
  auto add = [&msg](const std::string& field) {
    if (field.find('\0') != std::string::npos) {
      return false;
    }
    msg += field;
    msg += '\0';
    return true;
  };
  if (!add(r.alert)) {
    return std::nullopt;
  }
  for (const auto& v : r.vars) {
    if (!add(v)) {
      return std::nullopt;
    }
  }
  return msg;
}

std::optional<HookRequest> decode_hook_request(std::string_view msg)
{
  std::vector<std::string_view> fields;
  while (!msg.empty()) {
    const size_t end = msg.find('\0');
    if (end == std::string_view::npos) {
      return std::nullopt; // every field ends in a NUL
    }
    fields.push_back(msg.substr(0, end));
    msg.remove_prefix(end + 1);
  }
  HookRequest r;
  if (fields.size() < 2 || fields[0].empty() || (fields[0].size() > 1 && fields[0][0] == '0')) {
    return std::nullopt; // no seq, or one written otherwise than in std::to_string's digits
  }
  const auto [end, ec] =
      std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), r.seq);
  if (ec != std::errc() || end != fields[0].data() + fields[0].size()) {
    return std::nullopt;
  }
  r.alert = fields[1];
  for (size_t i = 2; i < fields.size(); ++i) {
    if (fields[i].find('=') == std::string_view::npos) {
      return std::nullopt; // not KEY=VALUE
    }
    r.vars.emplace_back(fields[i]);
  }
  return r;
}

std::vector<std::string> merge_env(std::vector<std::string> env,
                                   const std::vector<std::string>& vars)
{
  for (const auto& v : vars) {
    const std::string prefix = v.substr(0, v.find('=') + 1);
    auto it = std::find_if(env.begin(), env.end(),
                           [&](const std::string& e) { return e.starts_with(prefix); });
    if (it != env.end()) {
      *it = v;
    } else {
      env.push_back(v);
    }
  }
  return env;
}

std::string last_text_line(std::string_view text)
{
  size_t end = text.size();
  while (end > 0) {
    size_t nl = text.rfind('\n', end - 1);
    size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    std::string_view line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      return std::string(line);
    }
    if (nl == std::string_view::npos) {
      break;
    }
    end = nl;
  }
  return {};
}

} // namespace pg
