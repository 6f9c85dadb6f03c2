// The events of events.jsonl: one struct per kind that pg writes, its JSON (to_json, with the
// "event" key; the writer adds "at"), and one describe() of a recorded event, used by the log's
// marked lines, pg-ls --events, the alerts and the launcher. DESIGN.md lists the kinds; a reader
// meets unknown kinds (a newer pg) and damaged lines, so describe() takes the recorded object
// and never throws.
#pragma once

#include "exit_status.h"
#include "state.h"

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pg::ev {

struct Launch {
  static constexpr const char* name = "launch";
  pid_t supervisor_pid = 0;
  pid_t supervisor_parent = 0;
  std::string supervisor_parent_command;
  std::string cgroup;
  std::vector<std::string> command;
  bool revived = false;
};
struct Start {
  static constexpr const char* name = "start";
  pid_t pid = 0;
  std::string run_id;
  unsigned run = 0;
  std::vector<std::string> command;
};
struct Exit {
  static constexpr const char* name = "exit";
  ExitRecord record;
};
struct Handover {
  static constexpr const char* name = "handover";
  pid_t from_pid = 0;
  pid_t pid = 0;
};
struct Restart {
  static constexpr const char* name = "restart";
  std::string reason; // "planned", "failure", "always"
  double delay_s = 0;
};
struct Stop {
  static constexpr const char* name = "stop";
  std::string kind; // stop_kind_name()
  std::string by;
};
struct Kill {
  static constexpr const char* name = "kill";
  std::string reason;
};
struct Signal {
  static constexpr const char* name = "signal";
  std::string signal;
  pid_t pid = 0;
  std::string by;
};
struct End {
  static constexpr const char* name = "end";
  std::string state;
  std::string why;
  std::string by; // pg-ctl, when it ended a job whose supervisor was gone ("" otherwise)
};
struct GaveUp {
  static constexpr const char* name = "gave-up";
  std::string cause;
};
struct MainpidGone {
  static constexpr const char* name = "mainpid-gone";
  pid_t pid = 0;
  std::string detail;
};
struct Mainpid {
  static constexpr const char* name = "mainpid";
  unsigned changes = 0;
  pid_t pid = 0;
  pid_t previous = 0;
  std::string detail;
};
// READY=1 and STOPPING=1 (name "ready" or "stopping").
struct Notified {
  const char* name = "ready";
  pid_t pid = 0;
  std::string detail;
};
// The job changed its watchdog timeout, or asked for more time (name "watchdog-timeout" or
// "extend-timeout").
struct Timeout {
  const char* name = "watchdog-timeout";
  std::string detail;
};
// --watchdog or --stall found the job hung (name "watchdog" or "stall").
struct Hung {
  const char* name = "watchdog";
  pid_t pid = 0;
  std::string detail;
  std::string status_text; // the job's last STATUS=, when it said one
};
struct Memory {
  static constexpr const char* name = "memory";
  uint64_t rss_bytes = 0;
  uint64_t limit_bytes = 0;
  size_t processes = 0;
};
// The kernel's OOM killer acted in the job's cgroup (its oom_kill count went up): the run ends.
struct Oom {
  static constexpr const char* name = "oom";
  std::optional<pid_t> pid;             // the process killed, when known (the main process)
  std::string process;                  // its name, when known
  uint64_t cap_bytes = 0;               // --memory-cap
  std::optional<uint64_t> memory_bytes; // the cgroup's memory at the kill (its peak when known)
  uint64_t kills = 0;                   // OOM kills in this run
  std::string detail;                   // "the kernel killed pid P (NAME) at the 64M cap"
};
struct NotifyIgnored {
  static constexpr const char* name = "notify-ignored";
  std::string why;
  std::optional<pid_t> pid;
  std::optional<uid_t> uid;
};
struct LogDropped {
  static constexpr const char* name = "log-dropped";
  uint64_t bytes = 0;
  uint64_t total = 0;
  std::string error;
};
struct StorageFault {
  static constexpr const char* name = "storage-fault";
  std::string error;
  std::string detail;
};
struct StorageRecovered {
  static constexpr const char* name = "storage-recovered";
  pg::StorageFault fault;
  double lasted_s = 0;
};
struct Alert {
  static constexpr const char* name = "alert";
  std::string alert;
  uint64_t seq = 0;
  unsigned held = 0;
  std::string message;
};
struct AlertHeld {
  static constexpr const char* name = "alert-held";
  std::string alert;
  unsigned held = 0;
  double cooldown_s = 0;
};
// The supervisor itself failed (its event loop broke) and exits; the job is left running, lost.
struct SupervisorError {
  static constexpr const char* name = "supervisor-error";
  std::string error;
};
struct AlertError {
  static constexpr const char* name = "alert-error";
  std::string error;
};
// What became of an alert's hook (written by the alert helper, or by the supervisor when the
// request could not reach it).
struct AlertResult {
  static constexpr const char* name = "alert-result";
  std::optional<uint64_t> seq; // unset for a request that could not be read
  std::string alert;           // "" when unknown
  bool ok = false;
  std::string error; // why it failed ("" when ok)
  // The hook that ran, when one did.
  std::optional<pid_t> pid;
  ExitStatus status;
  bool timed_out = false;
  double duration_s = 0;
  std::string output; // its last line
};

// Failures acknowledged (pg-ctl ack): through the live supervisor, or by pg-ctl itself under the
// job's lock when no supervisor lives. Its "at" is the job's last_ack_at.
struct Ack {
  static constexpr const char* name = "ack";
  WallTime at{};
  unsigned failures = 0; // how many failures it acknowledged (failures_since_ack before it)
  std::string by;        // "pg-ctl ack bot (pid 42)"
};

void to_json(nlohmann::json& j, const Launch& e);
void to_json(nlohmann::json& j, const Start& e);
void to_json(nlohmann::json& j, const Exit& e);
void to_json(nlohmann::json& j, const Handover& e);
void to_json(nlohmann::json& j, const Restart& e);
void to_json(nlohmann::json& j, const Stop& e);
void to_json(nlohmann::json& j, const Kill& e);
void to_json(nlohmann::json& j, const Signal& e);
void to_json(nlohmann::json& j, const End& e);
void to_json(nlohmann::json& j, const GaveUp& e);
void to_json(nlohmann::json& j, const MainpidGone& e);
void to_json(nlohmann::json& j, const Mainpid& e);
void to_json(nlohmann::json& j, const Notified& e);
void to_json(nlohmann::json& j, const Timeout& e);
void to_json(nlohmann::json& j, const Hung& e);
void to_json(nlohmann::json& j, const Memory& e);
void to_json(nlohmann::json& j, const Oom& e);
void to_json(nlohmann::json& j, const NotifyIgnored& e);
void to_json(nlohmann::json& j, const LogDropped& e);
void to_json(nlohmann::json& j, const StorageFault& e);
void to_json(nlohmann::json& j, const StorageRecovered& e);
void to_json(nlohmann::json& j, const Alert& e);
void to_json(nlohmann::json& j, const AlertHeld& e);
void to_json(nlohmann::json& j, const AlertError& e);
void to_json(nlohmann::json& j, const SupervisorError& e);
void to_json(nlohmann::json& j, const AlertResult& e);
void to_json(nlohmann::json& j, const Ack& e);

} // namespace pg::ev

namespace pg {

// How a run ended, exactly: "exit code 3", "signal SIGSEGV (core dumped)", or for a lost run
// "no exit status known". The one formatter of an exit, for records and events alike.
std::string exit_text(const ExitRecord& e);
std::string exit_text(const nlohmann::json& exit_event);

// A recorded event in the vocabulary of k_schema_version: schema_version 1's launch events had
// "supervisor_parent" a pid and "supervisor_parent_command" beside it; now it is
// {"pid", "command"} as everywhere. Other events are left as they are.
void upgrade_event(nlohmann::json& event);

// One line about a recorded event: "run 3, pid 9", "requested: pg-ctl stop (pid 4)"; for a kind
// it does not know, its fields as key=value.
std::string describe(const nlohmann::json& event);

// "max RSS 12.3 MiB, CPU 1.20s user + 0.30s sys", or "" when the record has no usage.
std::string usage_text(const ExitRecord& rec);
// A record holding only the usage fields of an exit event's JSON (missing or null: unset).
ExitRecord exit_record_usage(const nlohmann::json& ev);

// The marked line the job's log gets for an event ("exit: pid 9, exit code 1 after ..."), or ""
// for the events a reader of the log need not see.
std::string log_line(const nlohmann::json& event);

} // namespace pg
