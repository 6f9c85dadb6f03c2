#include "notify.h"

#include "proc.h"
#include "syscalls.h"

#include <fmt/format.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>

namespace pg {

namespace {

// The protocol's limits (systemd: NOTIFY_BUFFER_MAX = PIPE_BUF, NOTIFY_FD_MAX = 768).
constexpr size_t k_max_message = 4096;
constexpr size_t k_max_fds = 768;

template <typename T> std::optional<T> parse_number(std::string_view text)
{
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return v;
}

} // namespace

std::optional<NotifyMessage> parse_notify_message(std::string_view text)
{
  if (text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  NotifyMessage m;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      continue;
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    if (key == "READY") {
      m.ready = value == "1";
    } else if (key == "STOPPING") {
      m.stopping = value == "1";
    } else if (key == "STATUS") {
      m.status = std::string(value);
    } else if (key == "WATCHDOG") {
      m.watchdog_ping = value == "1";
      m.watchdog_trigger = value == "trigger";
    } else if (key == "WATCHDOG_USEC") {
      if (auto n = parse_number<uint64_t>(value)) {
        m.watchdog_usec = n;
      }
    } else if (key == "MAINPID") {
      if (auto n = parse_number<pid_t>(value); n && *n > 0) {
        m.main_pid = n;
      }
    } else if (key == "EXTEND_TIMEOUT_USEC") {
      if (auto n = parse_number<uint64_t>(value)) {
        m.extend_timeout_usec = n;
      }
    } else if (key == "BARRIER") {
      m.barrier = value == "1";
    }
  }
  return m;
}

const char* verdict_name(SenderVerdict v)
{
  switch (v) {
  case SenderVerdict::InTree:
    return "in the job's tree";
  case SenderVerdict::GoneSameUser:
    return "gone, same user";
  case SenderVerdict::Outside:
    return "not of the job's tree";
  case SenderVerdict::GoneOtherUser:
    return "gone, another user";
  case SenderVerdict::NoCredentials:
    return "no credentials";
  }
  return "";
}

std::optional<pid_t> proc_parent(pid_t pid)
{
  auto st = read_proc_stat(pid);
  if (!st) {
    return std::nullopt;
  }
  return st->ppid;
}

bool in_tree(pid_t pid, pid_t root, const ParentLookup& parent_of)
{
  if (pid <= 1 || pid == root) {
    return false;
  }
  // Bounded: /proc changes while we walk it, and a chain is never this long.
  for (int depth = 0; depth < 4096; ++depth) {
    auto parent = parent_of(pid);
    if (!parent) {
      return false;
    }
    if (*parent == root) {
      return true; // root may be pid 1 itself (pg-run as a container's entrypoint)
    }
    if (*parent <= 1) {
      return false;
    }
    pid = *parent;
  }
  return false;
}

SenderVerdict judge_sender(const std::optional<SenderCredentials>& cred, pid_t supervisor,
                           uid_t our_uid, const ParentLookup& parent_of)
{
  if (!cred || cred->pid <= 0) {
    return SenderVerdict::NoCredentials;
  }
  // Twice: the sender may end between the look that finds it and the walk up from it. That is
  // systemd-notify's way: released once we have read its BARRIER=1 message, it exits and its
  // shell reaps it, so the walk finds no parent and would call a member of the tree an outsider.
  // Asked again, it is gone.
  for (int look = 0; look < 2; ++look) {
    if (!parent_of(cred->pid)) {
      // Already gone (and reaped): it cannot be asked who it was. A process can only put its
      // own pid in its credentials (unless it is privileged), so a same-user sender is trusted
      // as systemd-notify, which is often gone by the time its message is read.
      return cred->uid == our_uid ? SenderVerdict::GoneSameUser : SenderVerdict::GoneOtherUser;
    }
    if (in_tree(cred->pid, supervisor, parent_of)) {
      return SenderVerdict::InTree;
    }
  }
  return SenderVerdict::Outside;
}

NotifySocket NotifySocket::open()
{
  NotifySocket s;
  s.m_fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.m_fd) {
    throw_errno("notify socket");
  }
  const int one = 1;
  if (::setsockopt(s.m_fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
    throw_errno("notify socket: SO_PASSCRED");
  }
  // Abstract: nothing in the file system to clean up or to be raced for. The name is not
  // secret (ss -x lists it), which is why every message's credentials are checked.
  uint64_t r[2] = {0, 0};
  if (::getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
    throw_errno("getrandom");
  }
  const std::string name = fmt::format("pg-notify/{:016x}{:016x}", r[0], r[1]);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(s.m_fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
    throw_errno("notify socket: bind");
  }
  s.m_address = "@" + name;
  return s;
}

std::optional<NotifyDatagram> NotifySocket::receive()
{
  char buf[k_max_message];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * k_max_fds)];
  for (;;) {
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(m_fd.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::nullopt; // EAGAIN: nothing left
    }
    NotifyDatagram d;
    d.text.assign(buf, static_cast<size_t>(n));
    d.truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) {
        continue;
      }
      if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(ucred))) {
        ucred u{};
        std::memcpy(&u, CMSG_DATA(c), sizeof u);
        d.cred = SenderCredentials{u.pid, u.uid};
      } else if (c->cmsg_type == SCM_RIGHTS) {
        // BARRIER=1 passes a pipe's write end and waits for it to close: close at once, and
        // never keep a descriptor a job handed us (the kernel already dropped any that did
        // not fit into the control buffer).
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd = -1;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          UniqueFd passed(fd);
          ++d.fds_closed;
        }
      }
    }
    return d;
  }
}

} // namespace pg
