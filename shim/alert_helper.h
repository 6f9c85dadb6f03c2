// The alert helper: a process outside the job's tree that runs --on-failure hooks, one at a
// time, each for at most its timeout, and records each hook's end in events.jsonl.
//
// Why a separate process: the supervisor is the job tree's subreaper; its run-end logic waits
// for all of its children and signal_tree() kills all of its descendants. A hook (or what a
// hook leaves behind) in its tree would be killed with the job or keep a run from ending. So
// the helper is double-forked before the supervisor becomes a subreaper, in its own session,
// holding no descriptor of the supervisor's but its end of a socketpair and the job's
// directory (never the lock: a helper keeping it would keep a dead supervisor's job "alive").
// It outlives the supervisor to finish what was asked for (the stopped-outside alert is
// raised as the supervisor exits), and exits once the socket is closed and no hook is left.
#pragma once

#include "fd.h"
#include "parse.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// How every hook runs: /bin/sh -c command, in cwd with umask, env plus the request's variables.
struct HookSpec {
  std::string command;
  std::vector<std::string> env; // KEY=VALUE; a request's variables replace same-named ones
  std::string cwd;
  unsigned umask = 022;
  Millis timeout{60'000}; // then SIGKILL to the hook's process group and descendants
};

class AlertHelper {
public:
  // Forks the helper; throws std::system_error when it cannot. job_dirfd is dup'ed by it.
  void start(const HookSpec& spec, int job_dirfd);
  bool running() const { return m_sock.valid(); }
  pid_t pid() const { return m_pid; }
  // Queues one hook run with vars (KEY=VALUE), numbered seq for its result event. Returns why
  // the helper did not take it (gone, its queue full, a field holds a NUL byte), or nothing.
  std::optional<std::string> request(uint64_t seq, const std::string& alert,
                                     const std::vector<std::string>& vars);
  // No more requests: the helper runs what is queued, then exits.
  void close() { m_sock.reset(); }

private:
  UniqueFd m_sock;
  pid_t m_pid = 0;
};

// One request as the supervisor sends it to the helper, one datagram of the socketpair: its
// fields each ending in a NUL byte, the seq in decimal, the alert's kind, then each KEY=VALUE
// variable. This writer and this reader are the format's only ones; the helper is the same
// build.
struct HookRequest {
  uint64_t seq = 0;
  std::string alert;
  std::vector<std::string> vars;

  bool operator==(const HookRequest&) const = default;
};
// Nullopt when a field holds a NUL byte (a damaged record's path, say), which would move the
// fields after it.
std::optional<std::string> encode_hook_request(const HookRequest& r);
// Nullopt when msg is not one encode_hook_request wrote.
std::optional<HookRequest> decode_hook_request(std::string_view msg);

// Replaces (or adds) the KEY=VALUE entries of vars in env.
std::vector<std::string> merge_env(std::vector<std::string> env,
                                   const std::vector<std::string>& vars);

// The last non-empty line of text (a hook's output tail), without its line end.
std::string last_text_line(std::string_view text);

} // namespace pg
