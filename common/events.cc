#include "events.h"

#include "clock.h"
#include "signals.h"
#include "tree_memory.h"

#include <fmt/format.h>

#include <algorithm>

namespace pg::ev {

void to_json(nlohmann::json& j, const Launch& e)
{
  j = {{"event", Launch::name},
       {"supervisor_pid", e.supervisor_pid},
       {"supervisor_parent",
        {{"pid", e.supervisor_parent}, {"command", e.supervisor_parent_command}}},
       {"cgroup", e.cgroup},
       {"command", e.command},
       {"revived", e.revived}};
}

void to_json(nlohmann::json& j, const Start& e)
{
  j = {{"event", Start::name},
       {"pid", e.pid},
       {"run_id", e.run_id},
       {"run", e.run},
       {"command", e.command}};
}

void to_json(nlohmann::json& j, const Exit& e)
{
  j = pg::to_json(e.record);
  j["event"] = Exit::name;
}

void to_json(nlohmann::json& j, const Handover& e)
{
  j = {{"event", Handover::name}, {"from_pid", e.from_pid}, {"pid", e.pid}};
}

void to_json(nlohmann::json& j, const Restart& e)
{
  j = {{"event", Restart::name}, {"reason", e.reason}, {"delay_s", e.delay_s}};
}

void to_json(nlohmann::json& j, const Stop& e)
{
  j = {{"event", Stop::name}, {"kind", e.kind}, {"by", e.by}};
}

void to_json(nlohmann::json& j, const Kill& e)
{
  j = {{"event", Kill::name}, {"reason", e.reason}};
}

void to_json(nlohmann::json& j, const Signal& e)
{
  j = {{"event", Signal::name}, {"signal", e.signal}, {"pid", e.pid}, {"by", e.by}};
}

void to_json(nlohmann::json& j, const End& e)
{
  j = {{"event", End::name}, {"state", e.state}, {"why", e.why}};
  if (!e.by.empty()) {
    j["by"] = e.by;
  }
}

void to_json(nlohmann::json& j, const GaveUp& e)
{
  j = {{"event", GaveUp::name}, {"cause", e.cause}};
}

void to_json(nlohmann::json& j, const MainpidGone& e)
{
  j = {{"event", MainpidGone::name}, {"pid", e.pid}, {"detail", e.detail}};
}

void to_json(nlohmann::json& j, const Mainpid& e)
{
  j = {{"event", Mainpid::name},
       {"changes", e.changes},
       {"pid", e.pid},
       {"previous", e.previous},
       {"detail", e.detail}};
}

void to_json(nlohmann::json& j, const Notified& e)
{
  j = {{"event", e.name}, {"pid", e.pid}, {"detail", e.detail}};
}

void to_json(nlohmann::json& j, const Timeout& e)
{
  j = {{"event", e.name}, {"detail", e.detail}};
}

void to_json(nlohmann::json& j, const Hung& e)
{
  j = {{"event", e.name}, {"pid", e.pid}, {"detail", e.detail}};
  if (!e.status_text.empty()) {
    j["status_text"] = e.status_text;
  }
}

void to_json(nlohmann::json& j, const Memory& e)
{
  j = {{"event", Memory::name},
       {"rss_bytes", e.rss_bytes},
       {"limit_bytes", e.limit_bytes},
       {"processes", e.processes}};
}

void to_json(nlohmann::json& j, const Oom& e)
{
  j = {{"event", Oom::name}, {"cap_bytes", e.cap_bytes}, {"kills", e.kills}, {"detail", e.detail}};
  if (e.pid) {
    j["pid"] = *e.pid;
  }
  if (!e.process.empty()) {
    j["process"] = e.process;
  }
  if (e.memory_bytes) {
    j["memory_bytes"] = *e.memory_bytes;
  }
}

void to_json(nlohmann::json& j, const NotifyIgnored& e)
{
  j = {{"event", NotifyIgnored::name}, {"why", e.why}};
  if (e.pid) {
    j["pid"] = *e.pid;
  }
  if (e.uid) {
    j["uid"] = *e.uid;
  }
}

void to_json(nlohmann::json& j, const LogDropped& e)
{
  j = {{"event", LogDropped::name}, {"bytes", e.bytes}, {"total", e.total}, {"error", e.error}};
}

void to_json(nlohmann::json& j, const StorageFault& e)
{
  j = {{"event", StorageFault::name}, {"error", e.error}, {"detail", e.detail}};
}

void to_json(nlohmann::json& j, const StorageRecovered& e)
{
  j = {{"event", StorageRecovered::name},
       {"error", e.fault.error},
       {"since", format_rfc3339(e.fault.since)},
       {"lasted_s", e.lasted_s},
       {"events_queued", e.fault.events_queued},
       {"events_dropped", e.fault.events_dropped},
       {"state_writes_failed", e.fault.state_writes_failed}};
}

void to_json(nlohmann::json& j, const Alert& e)
{
  j = {{"event", Alert::name},
       {"alert", e.alert},
       {"seq", e.seq},
       {"held", e.held},
       {"message", e.message}};
}

void to_json(nlohmann::json& j, const AlertHeld& e)
{
  j = {{"event", AlertHeld::name},
       {"alert", e.alert},
       {"held", e.held},
       {"cooldown_s", e.cooldown_s}};
}

void to_json(nlohmann::json& j, const AlertError& e)
{
  j = {{"event", AlertError::name}, {"error", e.error}};
}

void to_json(nlohmann::json& j, const SupervisorError& e)
{
  j = {{"event", SupervisorError::name}, {"error", e.error}};
}

void to_json(nlohmann::json& j, const AlertResult& e)
{
  j = {{"event", AlertResult::name}, {"ok", e.ok}};
  if (e.seq) {
    j["seq"] = *e.seq;
  }
  if (!e.alert.empty()) {
    j["alert"] = e.alert;
  }
  if (e.pid) {
    j["pid"] = *e.pid;
    j["code"] = e.status.signal == 0 ? nlohmann::json(e.status.code) : nullptr;
    j["signal"] = e.status.signal != 0 ? nlohmann::json(signal_name(e.status.signal)) : nullptr;
    j["timed_out"] = e.timed_out;
    j["duration_s"] = e.duration_s;
    j["output"] = e.output;
  }
  if (!e.error.empty()) {
    j["error"] = e.error;
  }
}

void to_json(nlohmann::json& j, const Ack& e)
{
  j = {{"event", Ack::name}, {"at", format_rfc3339(e.at)}, {"failures", e.failures}, {"by", e.by}};
}

} // namespace pg::ev

namespace pg {

void upgrade_event(nlohmann::json& event)
{
  // schema_version 1's launch: "supervisor_parent": PID, "supervisor_parent_command": "...".
  auto it = event.find("supervisor_parent");
  if (it == event.end() || !it->is_number_integer()) {
    return;
  }
  nlohmann::json command = nullptr;
  const auto c = event.find("supervisor_parent_command");
  if (c != event.end()) {
    command = std::move(*c);
  }
  *it = {{"pid", *it}, {"command", std::move(command)}};
  if (c != event.end()) {
    event.erase(c);
  }
}

namespace {

// A field as text: a string as it is, anything else as JSON, a missing one or null as "".
std::string str(const nlohmann::json& ev, const char* key)
{
  auto it = ev.find(key);
  if (it == ev.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

double number(const nlohmann::json& ev, const char* key)
{
  auto it = ev.find(key);
  return it != ev.end() && it->is_number() ? it->get<double>() : 0.0;
}

bool flag(const nlohmann::json& ev, const char* key)
{
  // A damaged or hand-written line may hold anything under a known key: never get<bool>()
  // what is not a boolean (json::value() would throw).
  auto it = ev.find(key);
  return it != ev.end() && it->is_boolean() && it->get<bool>();
}

std::string launch_text(const nlohmann::json& ev)
{
  // Either shape, read where it is (not through a copy upgrade_event()s): schema_version 2's
  // "supervisor_parent": {"pid", "command"}, or 1's "supervisor_parent": PID beside
  // "supervisor_parent_command".
  std::string pid;
  std::string parent;
  if (const auto it = ev.find("supervisor_parent"); it != ev.end() && it->is_object()) {
    pid = str(*it, "pid");
    parent = str(*it, "command");
  } else if (it != ev.end() && it->is_number_integer()) {
    pid = it->dump();
    parent = str(ev, "supervisor_parent_command");
  }
  if (parent.size() > 60) {
    size_t keep = 57;
    while (keep > 0 && (static_cast<unsigned char>(parent[keep]) & 0xC0) == 0x80) {
      --keep; // not inside a UTF-8 sequence
    }
    parent = parent.substr(0, keep) + "...";
  }
  return fmt::format("supervisor pid {}, parent pid {} ({}){}", str(ev, "supervisor_pid"), pid,
                     parent, flag(ev, "revived") ? ", revived" : "");
}

std::string exit_event_text(const nlohmann::json& ev)
{
  const std::string usage = usage_text(exit_record_usage(ev));
  return fmt::format("pid {}, {} after {:.3f}s: {} ({}){}", str(ev, "pid"), exit_text(ev),
                     number(ev, "runtime_s"), str(ev, "outcome"), str(ev, "cause"),
                     usage.empty() ? "" : "; " + usage);
}

std::string storage_text(const nlohmann::json& ev)
{
  if (str(ev, "event") == ev::StorageFault::name) {
    return fmt::format("cannot write to the job's directory ({}): recording suspended, events "
                       "held in memory; the job goes on",
                       str(ev, "error"));
  }
  return fmt::format("writing works again after {:.1f}s ({} since {}): {} events written late, "
                     "{} lost, {} state writes failed",
                     number(ev, "lasted_s"), str(ev, "error"), str(ev, "since"),
                     str(ev, "events_queued"), str(ev, "events_dropped"),
                     str(ev, "state_writes_failed"));
}

std::string fields_text(const nlohmann::json& ev)
{
  std::string out;
  for (const auto& [key, value] : ev.items()) {
    if (key == "event" || key == "at") {
      continue;
    }
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", key,
                       value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

} // namespace

std::string exit_text(const ExitRecord& e)
{
  return e.status ? e.status->describe() : "no exit status known"; // a lost run
}

std::string exit_text(const nlohmann::json& ev)
{
  ExitRecord e;
  auto sig = ev.find("signal");
  if (sig != ev.end() && sig->is_string()) {
    const auto n = parse_signal(sig->get<std::string>());
    if (!n) {
      return "signal " + sig->get<std::string>(); // a name this pg does not know
    }
    e.status = ExitStatus::killed(*n, flag(ev, "core_dumped"));
  } else if (auto code = ev.find("code"); code != ev.end() && code->is_number_integer()) {
    e.status = ExitStatus::exited(code->get<int>());
  }
  return exit_text(e);
}

std::string describe(const nlohmann::json& ev)
{
  const std::string kind = str(ev, "event");
  if (kind == "launch") {
    return launch_text(ev);
  }
  if (kind == "start") {
    return fmt::format("run {}, pid {}", str(ev, "run"), str(ev, "pid"));
  }
  if (kind == "exit") {
    return exit_event_text(ev);
  }
  if (kind == "oom") {
    const std::string mem = str(ev, "memory_bytes");
    return str(ev, "detail") + (mem.empty() ? "" : " (memory " + mem + " bytes)");
  }
  if (kind == "handover") {
    return fmt::format("pid {} exited 0; pid {} is the main process", str(ev, "from_pid"),
                       str(ev, "pid"));
  }
  if (kind == "restart") {
    return fmt::format("{} restart in {}s", str(ev, "reason"), number(ev, "delay_s"));
  }
  if (kind == "stop") {
    return fmt::format("{}: {}", str(ev, "kind"), str(ev, "by"));
  }
  if (kind == "signal") {
    return fmt::format("{} to pid {} ({})", str(ev, "signal"), str(ev, "pid"), str(ev, "by"));
  }
  if (kind == "kill") {
    return "SIGKILL to what is left of the job: " + str(ev, "reason");
  }
  if (kind == "end") {
    return fmt::format("{}: {}", str(ev, "state"), str(ev, "why"));
  }
  if (kind == "gave-up") {
    return str(ev, "cause");
  }
  if (kind == "ack") {
    const std::string n = str(ev, "failures");
    return fmt::format("{} {} acknowledged by {}", n, n == "1" ? "failure" : "failures",
                       str(ev, "by"));
  }
  if (kind == "alert") {
    return "running the --on-failure hook: " + str(ev, "message");
  }
  if (kind == "alert-held") {
    return fmt::format("held back by the --alert-cooldown ({} held)", str(ev, "held"));
  }
  if (kind == "supervisor-error") {
    return "pg-run cannot go on supervising (" + str(ev, "error") +
           "): it exits, and the job is left running without a supervisor";
  }
  if (kind == "storage-fault" || kind == "storage-recovered") {
    return storage_text(ev);
  }
  if (ev.contains("detail") && ev["detail"].is_string()) {
    return str(ev, "detail"); // ready, stopping, watchdog, stall, mainpid, ...
  }
  return fields_text(ev);
}

std::string log_line(const nlohmann::json& ev)
{
  // The log tells the story too: a line for each event a reader of the log needs.
  static constexpr const char* k_told[] = {"start",
                                           "exit",
                                           "handover",
                                           "restart",
                                           "stop",
                                           "kill",
                                           "signal",
                                           "ready",
                                           "end",
                                           "alert",
                                           "watchdog",
                                           "stall",
                                           "stopping",
                                           "mainpid",
                                           "storage-fault",
                                           "storage-recovered",
                                           "alert-held",
                                           "supervisor-error",
                                           "oom"};
  const std::string kind = str(ev, "event");
  if (std::find(std::begin(k_told), std::end(k_told), kind) == std::end(k_told)) {
    return {};
  }
  // Most read "kind: description"; these few read as a sentence.
  if (kind == "end") {
    return "end: the job is " + describe(ev);
  }
  if (kind == "alert" || kind == "alert-held") {
    return fmt::format("alert ({}){}{}", str(ev, "alert"), kind == "alert" ? ": " : " ",
                       describe(ev));
  }
  return (kind.starts_with("storage-") ? std::string("storage") : kind) + ": " + describe(ev);
}

std::string usage_text(const ExitRecord& rec)
{
  if (!rec.max_rss_kb && !rec.user_cpu_s && !rec.sys_cpu_s) {
    return {};
  }
  return fmt::format("max RSS {}, CPU {:.2f}s user + {:.2f}s sys",
                     format_bytes(rec.max_rss_kb.value_or(0) * 1024), rec.user_cpu_s.value_or(0),
                     rec.sys_cpu_s.value_or(0));
}

ExitRecord exit_record_usage(const nlohmann::json& ev)
{
  ExitRecord rec;
  if (auto it = ev.find("max_rss_kb"); it != ev.end() && it->is_number_integer()) {
    rec.max_rss_kb = static_cast<uint64_t>(std::max<int64_t>(it->get<int64_t>(), 0));
  }
  if (auto it = ev.find("user_cpu_s"); it != ev.end() && it->is_number()) {
    rec.user_cpu_s = it->get<double>();
  }
  if (auto it = ev.find("sys_cpu_s"); it != ev.end() && it->is_number()) {
    rec.sys_cpu_s = it->get<double>();
  }
  return rec;
}

} // namespace pg
