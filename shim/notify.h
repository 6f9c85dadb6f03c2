// The sd_notify protocol (--notify): the job's NOTIFY_SOCKET, what its messages say, and who
// may send them. The socket is an abstract AF_UNIX datagram socket; the kernel attaches each
// sender's credentials (SO_PASSCRED), which decide whether a message is accepted.
#pragma once

#include "fd.h"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pg {

// What one message asks for: newline-separated KEY=VALUE assignments, the last of a key wins;
// unknown keys and malformed values are ignored.
struct NotifyMessage {
  bool ready = false;                          // READY=1
  bool stopping = false;                       // STOPPING=1
  std::optional<std::string> status;           // STATUS=text
  bool watchdog_ping = false;                  // WATCHDOG=1
  bool watchdog_trigger = false;               // WATCHDOG=trigger
  std::optional<uint64_t> watchdog_usec;       // WATCHDOG_USEC=N
  std::optional<pid_t> main_pid;               // MAINPID=N (N > 0)
  std::optional<uint64_t> extend_timeout_usec; // EXTEND_TIMEOUT_USEC=N
  bool barrier = false;                        // BARRIER=1 (its fds are closed on receipt)
};

// nullopt for a message with an embedded NUL byte (as systemd, such a message is dropped whole).
std::optional<NotifyMessage> parse_notify_message(std::string_view text);

// Who may send: a process of the job's tree, or a same-user process already gone when its
// message is read (systemd-notify often is).
enum class SenderVerdict {
  InTree,       // its ppid chain reaches the supervisor (the tree's subreaper)
  GoneSameUser, // no longer exists, and its uid is ours
  Outside,      // alive, but not of the job's tree
  GoneOtherUser,
  NoCredentials, // no SCM_CREDENTIALS, or pid 0 (a sender in another pid namespace)
};
const char* verdict_name(SenderVerdict v);
inline bool accepted(SenderVerdict v)
{
  return v == SenderVerdict::InTree || v == SenderVerdict::GoneSameUser;
}

// The parent of a pid, or nullopt when the pid does not exist (injected by unit tests).
using ParentLookup = std::function<std::optional<pid_t>(pid_t)>;
// The real one: /proc/PID/stat (a zombie still has its parent).
std::optional<pid_t> proc_parent(pid_t pid);

// True when pid is a strict descendant of root (its ppid chain reaches root).
bool in_tree(pid_t pid, pid_t root, const ParentLookup& parent_of);

struct SenderCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
};
SenderVerdict judge_sender(const std::optional<SenderCredentials>& cred, pid_t supervisor,
                           uid_t our_uid, const ParentLookup& parent_of);

// One datagram as received: its text and credentials. Any passed descriptors are already
// closed (fds_closed says how many).
struct NotifyDatagram {
  std::string text;
  std::optional<SenderCredentials> cred;
  bool truncated = false; // longer than the protocol's 4096 bytes, or its control data cut
  int fds_closed = 0;
};

class NotifySocket {
public:
  // Binds a fresh abstract socket with an unguessable name. Throws std::system_error.
  static NotifySocket open();

  int fd() const { return m_fd.get(); }
  explicit operator bool() const { return static_cast<bool>(m_fd); }
  // The value of NOTIFY_SOCKET: "@pg-notify/<32 hex digits>".
  const std::string& address() const { return m_address; }
  // The next queued datagram, or nullopt when none is left (or on an error).
  std::optional<NotifyDatagram> receive();

private:
  UniqueFd m_fd;
  std::string m_address;
};

} // namespace pg
