// The one reader of state.json: its objects from their JSON text, each field checked as the
// contract says (types, ranges, names of states, signals and policies, RFC 3339 times), every
// damage named: "field 'definition': field 'command' is empty". Unknown keys are skipped (a newer
// pg-run may add fields), a newer schema_version is refused. Of several damaged fields, the
// one reported is the first in the order of each object's key list below (the definition's:
// state_read_definition.cc), wherever it is in the text (pg writes the keys sorted).
#include "state_read.h"
#include "signals.h"

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pg {

namespace {

WallTime time_field(JsonValue& v, std::string_view key)
{
  auto t = parse_rfc3339(string_field(v, key));
  if (!t) {
    field_fail(field_message(key, "is not an RFC 3339 time"));
  }
  return *t;
}

std::optional<WallTime> opt_time_field(JsonValue& v, std::string_view key)
{
  return v.null() ? std::nullopt : std::optional(time_field(v, key));
}

constexpr std::array<std::string_view, 7> k_supervisor_keys{
    "pid", "start_time", "boot_id", "parent_pid", "parent_command", "cgroup", "pid_namespace"};

// The supervisor object read over s (which may hold its parent already, read from
// "supervisor_parent"): schema_version 1 files have parent_pid and parent_command here.
SupervisorRecord supervisor_of(JsonValue& v, SupervisorRecord s)
{
  static constexpr KeyOrder order{k_supervisor_keys};
  JsonFields f(k_supervisor_keys, order);
  f.read(v, [&](size_t i, std::string_view k, JsonValue& x) {
    switch (i) {
    case 0:
      s.pid = integer_field<pid_t>(x, k);
      break;
    case 1:
      s.start_time = integer_field<uint64_t>(x, k);
      break;
    case 2:
      s.boot_id = text_field(x, k);
      break;
    case 3:
      s.parent_pid = x.null() ? 0 : integer_field<pid_t>(x, k);
      break;
    case 4:
      s.parent_command = x.null() ? std::string() : text_field(x, k);
      break;
    case 5:
      s.cgroup = x.null() ? std::string() : text_field(x, k);
      break;
    default:
      s.pid_namespace = x.null() ? 0 : integer_field<uint64_t>(x, k);
      break;
    }
  });
  f.check(field_bit(0) | field_bit(1) | field_bit(2));
  return s;
}

constexpr std::array<std::string_view, 11> k_exit_keys{
    "pid",   "code", "signal",     "core_dumped", "runtime_s", "outcome",
    "cause", "at",   "max_rss_kb", "user_cpu_s",  "sys_cpu_s"};

ExitRecord exit_of(JsonValue& v)
{
  static constexpr KeyOrder order{k_exit_keys};
  if (v.kind() != JsonKind::Object) {
    v.skip();
    field_fail("exit record is not an object");
  }
  ExitRecord e;
  std::optional<int> code;
  std::optional<int> sig;
  bool core = false;
  JsonFields f(k_exit_keys, order);
  f.read(v, [&](size_t i, std::string_view k, JsonValue& x) {
    switch (i) {
    case 0:
      e.pid = x.null() ? 0 : integer_field<pid_t>(x, k);
      break;
    case 1:
      code = x.null() ? std::nullopt : std::optional(integer_field<int>(x, k));
      break;
    case 2:
      sig = std::nullopt;
      if (!x.null()) {
        sig = parse_signal(string_field(x, k));
        if (!sig) {
          field_fail(field_message(k, "is not a signal name"));
        }
      }
      break;
    case 3:
      core = !x.null() && bool_field(x, k);
      break;
    case 4:
      e.runtime_s = x.null() ? 0.0 : real_field(x, k);
      break;
    case 5: {
      auto o = outcome_from(string_field(x, k));
      if (!o) {
        field_fail(field_message(k, "is not an outcome"));
      }
      e.outcome = *o;
      break;
    }
    case 6:
      e.cause = x.null() ? std::string() : text_field(x, k);
      break;
    case 7:
      e.at = time_field(x, k);
      break;
    case 8:
      e.max_rss_kb = x.null() ? std::nullopt : std::optional(integer_field<uint64_t>(x, k));
      break;
    case 9:
      e.user_cpu_s = x.null() ? std::nullopt : std::optional(real_field(x, k));
      break;
    default:
      e.sys_cpu_s = x.null() ? std::nullopt : std::optional(real_field(x, k));
      break;
    }
  });
  f.check(field_bit(5) | field_bit(7));
  if (sig) {
    e.status = ExitStatus::killed(*sig, core);
  } else if (code) {
    e.status = ExitStatus::exited(*code);
  }
  return e;
}

constexpr std::array<std::string_view, 6> k_fault_keys{
    "error", "since", "until", "events_queued", "events_dropped", "state_writes_failed"};

StorageFault storage_fault_of(JsonValue& v)
{
  static constexpr KeyOrder order{k_fault_keys};
  if (v.kind() != JsonKind::Object) {
    v.skip();
    field_fail("not an object");
  }
  StorageFault sf;
  JsonFields f(k_fault_keys, order);
  f.read(v, [&](size_t i, std::string_view k, JsonValue& x) {
    switch (i) {
    case 0:
      sf.error = x.null() ? std::string() : text_field(x, k);
      break;
    case 1:
      sf.since = time_field(x, k);
      break;
    case 2:
      sf.until = x.null() ? std::nullopt : std::optional(time_field(x, k));
      break;
    case 3:
      sf.events_queued = x.null() ? 0 : integer_field<uint64_t>(x, k);
      break;
    case 4:
      sf.events_dropped = x.null() ? 0 : integer_field<uint64_t>(x, k);
      break;
    default:
      sf.state_writes_failed = x.null() ? 0 : integer_field<uint64_t>(x, k);
      break;
    }
  });
  f.check(field_bit(1));
  return sf;
}

constexpr std::array<std::string_view, 3> k_handover_keys{"from_pid", "pid", "at"};

Handover handover_of(JsonValue& v)
{
  static constexpr KeyOrder order{k_handover_keys};
  if (v.kind() != JsonKind::Object) {
    v.skip();
    field_fail("missing field 'from_pid'"); // as the field lookup in a non-object finds nothing
  }
  Handover h;
  JsonFields f(k_handover_keys, order);
  f.read(v, [&](size_t i, std::string_view k, JsonValue& x) {
    switch (i) {
    case 0:
      h.from_pid = integer_field<pid_t>(x, k);
      break;
    case 1:
      h.pid = integer_field<pid_t>(x, k);
      break;
    default:
      h.at = time_field(x, k);
      break;
    }
  });
  f.check(field_bit(0) | field_bit(1) | field_bit(2));
  return h;
}

constexpr std::array<std::string_view, 2> k_tree_keys{"pid", "start_time"};

// state.json's "tree": [{"pid": P, "start_time": T}, ...]; the first damaged entry is reported.
std::vector<TreeProcess> tree_of(JsonValue& v)
{
  static constexpr KeyOrder order{k_tree_keys};
  if (v.kind() != JsonKind::Array) {
    v.skip();
    field_fail("field 'tree' is not an array");
  }
  std::vector<TreeProcess> out;
  std::optional<std::string> damage;
  v.items([&](JsonValue& item) {
    if (damage) {
      item.skip();
      return;
    }
    if (item.kind() != JsonKind::Object) {
      item.skip();
      damage = "an entry is not an object";
      return;
    }
    TreeProcess p;
    JsonFields f(k_tree_keys, order);
    f.read(item, [&](size_t i, std::string_view k, JsonValue& x) {
      if (i == 0) {
        p.pid = integer_field<pid_t>(x, k);
      } else {
        p.start_time = integer_field<uint64_t>(x, k);
      }
    });
    try {
      f.check(field_bit(0) | field_bit(1));
      out.push_back(p);
    } catch (FieldError& e) {
      damage = std::move(e.what);
    }
  });
  if (damage) {
    field_fail("field 'tree': " + *damage);
  }
  return out;
}

constexpr std::array<std::string_view, 30> k_state_keys{
    // 0 to 5: identity_field()
    "schema_version", "name", "state", "supervisor", "pid", "run_id",
    // 6 to 14: run_field()
    "started_at", "run_started_at", "run_started_boot_ns", "deadline_at", "next_start_at",
    "restarts", "run", "status_text", "memory_rss_bytes",
    // 15 to 25: record_field()
    "last_exit", "handover", "end_cause", "log_dropped_bytes", "log_drop_error", "storage_error",
    "tree", "definition", "updated_at", "failures_since_ack", "last_ack_at",
    // 26 and 27: record_field()
    "job_cgroup", "failures",
    // 28: the supervisor's parent, {"pid", "command"} (schema_version 1 had them in the
    // supervisor object as parent_pid and parent_command)
    "supervisor_parent",
    // 29: schema_version 1's name of 14
    "memory_rss"};
constexpr size_t k_v1_memory_rss = 29;

constexpr std::array<std::string_view, 2> k_parent_keys{"pid", "command"};

// "supervisor_parent": {"pid": P, "command": "..."} into the supervisor's record.
void supervisor_parent_of(SupervisorRecord& s, JsonValue& v)
{
  static constexpr KeyOrder order{k_parent_keys};
  if (v.kind() != JsonKind::Object) {
    v.skip();
    field_fail("not an object");
  }
  JsonFields f(k_parent_keys, order);
  f.read(v, [&](size_t i, std::string_view k, JsonValue& x) {
    if (i == 0) {
      s.parent_pid = x.null() ? 0 : integer_field<pid_t>(x, k);
    } else {
      s.parent_command = x.null() ? std::string() : text_field(x, k);
    }
  });
  f.check(0);
}

// The state's fields 0 to 5: which job, in which state, under which supervisor.
void identity_field(JobState& s, size_t i, std::string_view k, JsonValue& x)
{
  switch (i) {
  case 0: {
    const int version = integer_field<int>(x, k);
    if (version > k_schema_version) {
      field_fail("schema_version " + std::to_string(version) +
                 " is newer than this pg understands");
    }
    break;
  }
  case 1:
    s.name = text_field(x, k);
    break;
  case 2: {
    auto st = run_state_from(string_field(x, k));
    if (!st) {
      field_fail(field_message(k, "is not a state"));
    }
    s.state = *st;
    break;
  }
  case 3:
    if (x.kind() != JsonKind::Object) {
      x.skip();
      field_fail(field_message(k, "is not an object"));
    }
    s.supervisor = nested_field(k, [&] { return supervisor_of(x, s.supervisor); });
    break;
  case 4:
    s.pid = x.null() ? std::nullopt : std::optional(integer_field<pid_t>(x, k));
    break;
  default:
    s.run_id = x.null() ? std::string() : text_field(x, k);
    break;
  }
}

// The state's fields 6 to 14: the current run's times and counts.
void run_field(JobState& s, size_t i, std::string_view k, JsonValue& x)
{
  switch (i) {
  case 6:
    s.started_at = opt_time_field(x, k);
    break;
  case 7:
    s.run_started_at = opt_time_field(x, k);
    break;
  case 8:
    s.run_started_boot_ns = x.null() ? 0 : integer_field<int64_t>(x, k);
    break;
  case 9:
    s.deadline_at = opt_time_field(x, k);
    break;
  case 10:
    s.next_start_at = opt_time_field(x, k);
    break;
  case 11:
    s.restarts = x.null() ? 0 : integer_field<unsigned>(x, k);
    break;
  case 12:
    s.run = x.null() ? 0 : integer_field<unsigned>(x, k);
    break;
  case 13:
    s.status_text = x.null() ? std::string() : text_field(x, k);
    break;
  default:
    s.memory_rss = x.null() ? std::nullopt : std::optional(integer_field<uint64_t>(x, k));
    break;
  }
}

// The state's fields 15 to 27: how runs ended, what was lost, the tree, the definition, the
// failures since the last acknowledgement and ever (absent from states written before them: 0,
// null).
void record_field(JobState& s, size_t i, std::string_view k, JsonValue& x)
{
  switch (i) {
  case 15:
    s.last_exit =
        x.null() ? std::nullopt : std::optional(nested_field(k, [&] { return exit_of(x); }));
    break;
  case 16:
    s.handover =
        x.null() ? std::nullopt : std::optional(nested_field(k, [&] { return handover_of(x); }));
    break;
  case 17:
    s.end_cause = x.null() ? std::string() : text_field(x, k);
    break;
  case 18:
    s.log_dropped_bytes = x.null() ? 0 : integer_field<uint64_t>(x, k);
    break;
  case 19:
    s.log_drop_error = x.null() ? std::string() : text_field(x, k);
    break;
  case 20:
    s.storage_error = x.null()
                          ? std::nullopt
                          : std::optional(nested_field(k, [&] { return storage_fault_of(x); }));
    break;
  case 21:
    s.tree = x.null() ? std::vector<TreeProcess>() : tree_of(x);
    break;
  case 22:
    if (x.kind() != JsonKind::Object) {
      x.skip();
      field_fail(field_message(k, "is not an object"));
    }
    s.definition = nested_field(k, [&] { return definition_of(x); });
    break;
  case 23:
    s.updated_at = time_field(x, k);
    break;
  case 24:
    s.failures_since_ack = x.null() ? 0 : integer_field<unsigned>(x, k);
    break;
  case 25:
    s.last_ack_at = opt_time_field(x, k);
    break;
  case 26:
    s.job_cgroup = x.null() ? std::vector<std::string>() : strings_field(x, k);
    break;
  default:
    s.failures = x.null() ? std::nullopt : std::optional(integer_field<unsigned>(x, k));
    break;
  }
}

// The members of a state object.
JobState state_of(JsonValue& v)
{
  static constexpr KeyOrder order{k_state_keys};
  JobState s;
  JsonFields f(k_state_keys, order);
  f.read(v, [&](size_t i, std::string_view k, JsonValue& x) {
    if (i <= 5) {
      identity_field(s, i, k, x);
    } else if (i == k_v1_memory_rss) {
      run_field(s, 14, k, x);
    } else if (i == 28) {
      nested_field(k, [&] {
        supervisor_parent_of(s.supervisor, x);
        return 0;
      });
    } else if (i <= 14) {
      run_field(s, i, k, x);
    } else {
      record_field(s, i, k, x);
    }
  });
  f.check(field_bit(0) | field_bit(1) | field_bit(2) | field_bit(3) | field_bit(22) |
          field_bit(23));
  return s;
}

// text's root object through of(); a root of another kind is damage saying not_object.
template <typename T>
T read_text(std::string_view text, std::string_view not_object, T (*of)(JsonValue&))
{
  T out;
  read_json_object(text, not_object, [&](JsonValue& v) { out = of(v); });
  return out;
}

} // namespace

JobState parse_job_state(std::string_view text)
{
  return read_text(text, "state is not a JSON object", state_of);
}

JobDefinition parse_definition(std::string_view text)
{
  return read_text(text, "definition is not an object", definition_of);
}

ExitRecord parse_exit_record(std::string_view text)
{
  return read_text(text, "exit record is not an object", exit_of);
}

StorageFault parse_storage_fault(std::string_view text)
{
  return read_text(text, "not an object", storage_fault_of);
}

// A value read as its text: one reader (state_read.cc) for both.
JobDefinition definition_from_json(const nlohmann::json& j)
{
  return parse_definition(dump_line(j));
}

ExitRecord exit_record_from_json(const nlohmann::json& j)
{
  return parse_exit_record(dump_line(j));
}

StorageFault storage_fault_from_json(const nlohmann::json& j)
{
  return parse_storage_fault(dump_line(j));
}

JobState job_state_from_json(const nlohmann::json& j)
{
  return parse_job_state(dump_line(j));
}

} // namespace pg
