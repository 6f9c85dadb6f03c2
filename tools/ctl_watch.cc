#include "ctl_watch.h"

#include <fmt/format.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>

namespace pg {

namespace {

// Milliseconds until deadline, for poll(2): never negative, rounded up.
int poll_timeout(Nanos deadline)
{
  const Nanos left = deadline - monotonic_now();
  if (left.count() <= 0) {
    return 0;
  }
  const auto ms = std::chrono::ceil<Millis>(left).count();
  return static_cast<int>(std::min<long long>(ms, 1 << 30));
}

} // namespace

Nanos deadline_after(Millis d)
{
  return monotonic_now() + d;
}

void poll_until(std::vector<pollfd>& fds, Nanos deadline)
{
  for (auto& p : fds) {
    p.revents = 0;
  }
  ::poll(fds.data(), fds.size(), poll_timeout(deadline));
}

DirWatch::DirWatch() : m_fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}

void DirWatch::add(const JobDir& dir)
{
  if (!m_fd) {
    return;
  }
  const std::string at = fmt::format("/proc/self/fd/{}", dir.fd());
  if (::inotify_add_watch(m_fd.get(), at.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
    m_fd.reset(); // fall back to sleeping: every caller re-reads after a wake-up
  }
}

Nanos DirWatch::cap(Nanos deadline) const
{
  return m_fd ? deadline : std::min(deadline, monotonic_now() + Millis(50));
}

void DirWatch::drain() const
{
  if (!m_fd) {
    return;
  }
  alignas(inotify_event) char buf[4096];
  while (::read(m_fd.get(), buf, sizeof buf) > 0) {
  }
}

void DirWatch::wait(Nanos deadline) const
{
  std::vector<pollfd> fds{poll_entry()};
  poll_until(fds, cap(deadline));
  drain();
}

} // namespace pg
