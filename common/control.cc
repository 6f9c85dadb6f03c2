#include "control.h"

#include "clock.h"
#include "proc.h"
#include "signals.h"
#include "syscalls.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace pg {

int encode_request(const Request& r)
{
  // Callers bound arg (pg-ctl caps --timeout); clamping keeps a stray value from changing verb.
  const uint32_t arg = std::min(r.arg, k_max_request_arg);
  return static_cast<int>((arg << 4) | static_cast<uint32_t>(r.verb));
}

std::optional<Request> decode_request(int value)
{
  auto v = static_cast<uint32_t>(value);
  uint32_t verb = v & 0xF;
  const uint32_t arg = v >> 4;
  if (verb < 1 || verb > static_cast<uint32_t>(Verb::Ack)) {
    return std::nullopt;
  }
  // What encode_request() never writes is not a request: a signal number out of range (0 would
  // "forward" nothing), or an argument to restart or ack.
  if (verb == static_cast<uint32_t>(Verb::Signal) &&
      (arg == 0 || arg > static_cast<uint32_t>(SIGRTMAX))) {
    return std::nullopt;
  }
  if ((verb == static_cast<uint32_t>(Verb::Restart) || verb == static_cast<uint32_t>(Verb::Ack)) &&
      arg != 0) {
    return std::nullopt;
  }
  return Request{static_cast<Verb>(verb), arg};
}

UniqueFd open_supervisor(const SupervisorRecord& rec)
{
  if (rec.pid <= 0 || rec.boot_id != boot_id() ||
      pid_namespace_differs(rec.pid_namespace, own_pid_namespace())) {
    return UniqueFd(); // a pid of another namespace may name an unrelated process here
  }
  UniqueFd fd = pidfd_open(rec.pid);
  if (!fd) {
    return fd;
  }
  // Checked after the pidfd exists: if the start time still matches now, the pidfd names the
  // recorded process, and it cannot be recycled under us any more.
  auto st = read_proc_stat(rec.pid);
  if (!st || st->start_time != rec.start_time || st->state == 'Z') {
    return UniqueFd();
  }
  return fd;
}

bool send_request(int pidfd, const Request& r)
{
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  info.si_signo = control_signal();
  info.si_code = SI_QUEUE;
  info.si_pid = ::getpid();
  info.si_uid = ::getuid();
  info.si_value.sival_int = encode_request(r);
  return pidfd_send_signal(pidfd, control_signal(), &info) == 0;
}

bool wait_exit(int pidfd, Millis timeout)
{
  const auto deadline = monotonic_now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - monotonic_now()).count();
    if (left < 0) {
      left = 0;
    }
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (r > 0) {
      return true;
    }
    if (r == 0) {
      return false;
    }
    if (errno != EINTR) {
      return false;
    }
  }
}

} // namespace pg
