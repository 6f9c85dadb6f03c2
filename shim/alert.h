// Failure alerts (--on-failure): what an alert says (a one-line message and the PG_*
// variables), when it may be sent (AlertGate, the --alert-cooldown), and Alerter, which ties
// both to the helper process that runs the hooks (alert_helper.h).
#pragma once

#include "alert_helper.h"
#include "clock.h"
#include "state.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pg {

enum class AlertKind { Failed, GaveUp, StoppedOutside };

// PG_EVENT's value: "failed", "gave-up", "stopped-outside".
const char* alert_kind_name(AlertKind k);

// One alert as the supervisor raises it.
struct Alert {
  AlertKind kind = AlertKind::Failed;
  std::optional<int> exit_code; // nullopt when a signal ended the run, or no run ended
  int signal = 0;               // 0 when none
  double runtime_s = 0;
  unsigned restarts = 0;   // restarts of the job so far
  std::string summary;     // "bot failed: exit code 1 after 3.2s, restart 2 in 4s"
  std::string last_output; // the job's last output line, as written
  WallTime at{};           // when it was raised
};

// What the gate lets through: one alert, and how many others it also reports.
struct Outgoing {
  Alert alert;
  unsigned held = 0;     // alerts the cooldown held back that were not sent on their own
  WallTime held_since{}; // when the first of those was raised
};

// The --alert-cooldown: at most one alert per cooldown, nothing dropped. Times are
// CLOCK_BOOTTIME values passed in; the gate reads no clock.
class AlertGate {
public:
  explicit AlertGate(Nanos cooldown) : m_cooldown(cooldown) {}

  // An alert raised at now: sent at once (reporting what was held back before it), or held
  // (nullopt) until the cooldown ends, the latest held one standing for the others. An alert
  // for giving up is never held.
  std::optional<Outgoing> offer(Alert a, Nanos now);
  // Once the cooldown has ended: the latest held-back alert, reporting the others.
  std::optional<Outgoing> due(Nanos now);
  // When due() will send; zero while nothing is held.
  Nanos deadline() const;
  // Whatever is held, cooldown or not (the supervisor is ending).
  std::optional<Outgoing> flush();
  // Alerts held back now.
  unsigned held() const { return m_count; }

private:
  Outgoing release(Nanos now);

  Nanos m_cooldown;
  std::optional<Nanos> m_last_sent;
  std::optional<Alert> m_latest;
  unsigned m_count = 0;
  WallTime m_since{};
};

// What the supervisor knows when it raises an alert.
struct AlertFacts {
  std::string name;
  AlertKind kind = AlertKind::Failed;
  std::optional<ExitRecord> exit;   // the run that ended; nullopt for a stop between runs
  std::string stop_by;              // stopped-outside: who ("SIGTERM from pid 77 (bash, uid 0)")
  std::optional<Millis> restart_in; // failed: the delay before the next run, when one follows
  unsigned restarts = 0;            // restarts so far
  std::string last_output;
  WallTime at{};
};

// The alert for these facts, its summary written out ("bot failed: exit code 1 after 3.2s,
// restart 2 in 4s", "bot gave up: ...", "bot stopped by SIGTERM from pid 77 (...)").
Alert make_alert(const AlertFacts& f);

// The last output line as an alert shows it: control characters become spaces, at most max
// bytes (cut on a UTF-8 boundary, "..." appended).
std::string clean_line(std::string_view line, size_t max = 200);

// PG_MESSAGE: the summary, what was held back, and the last output line, on one line.
std::string alert_message(const Outgoing& o);

// The hook's PG_* variables (PG_NAME, PG_EVENT, PG_EXIT_CODE, PG_SIGNAL, PG_RUNTIME_S,
// PG_RESTARTS, PG_LOG, PG_MESSAGE, PG_HELD) as KEY=VALUE entries.
std::vector<std::string> alert_env(const Outgoing& o, const std::string& name,
                                   const std::string& log);

// The supervisor's side of --on-failure: the gate, the helper, and an event for each step.
class Alerter {
public:
  using Record = std::function<void(nlohmann::json)>;

  Alerter(const JobDefinition& def, std::string name, Record record);

  bool enabled() const { return !m_def.on_failure.empty(); }
  // Starts the helper (before the supervisor becomes a subreaper). Failure is recorded, not
  // thrown: supervision matters more than alerts.
  void start(const std::vector<std::string>& base_env, int job_dirfd);
  // An alert raised at now (CLOCK_BOOTTIME): sent, or held by the cooldown ("alert-held").
  void raise(Alert a, Nanos now);
  // The boot timer fired: sends what the cooldown held back once it has ended.
  void on_timer(Nanos now);
  // When on_timer has work; zero when none.
  Nanos deadline() const { return m_gate.deadline(); }
  // The supervisor ends: sends what is still held, and lets the helper finish on its own.
  void finish();

private:
  void send(const Outgoing& o);

  JobDefinition m_def;
  std::string m_name;
  Record m_record;
  AlertGate m_gate;
  AlertHelper m_helper;
  std::string m_start_error;
  uint64_t m_seq = 0;
};

} // namespace pg
