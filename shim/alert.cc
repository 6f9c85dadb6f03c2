#include "alert.h"

#include "events.h"
#include "signals.h"
#include "state.h"

#include <fmt/format.h>

#include <cstring>

namespace pg {

const char* alert_kind_name(AlertKind k)
{
  switch (k) {
  case AlertKind::Failed:
    return "failed";
  case AlertKind::GaveUp:
    return "gave-up";
  case AlertKind::StoppedOutside:
    return "stopped-outside";
  }
  return "failed";
}

// ---- AlertGate

std::optional<Outgoing> AlertGate::offer(Alert a, Nanos now)
{
  const bool cooling = m_last_sent && now < *m_last_sent + m_cooldown;
  if (cooling && a.kind != AlertKind::GaveUp) {
    if (m_count == 0) {
      m_since = a.at;
    }
    ++m_count;
    m_latest = std::move(a);
    return std::nullopt;
  }
  // Sent now; whatever was held is reported by this one.
  Outgoing o{std::move(a), m_count, m_count > 0 ? m_since : WallTime{}};
  m_count = 0;
  m_latest.reset();
  m_last_sent = now;
  return o;
}

Outgoing AlertGate::release(Nanos now)
{
  Outgoing o{std::move(*m_latest), m_count - 1, m_since};
  if (o.held == 0) {
    o.held_since = WallTime{};
  }
  m_latest.reset();
  m_count = 0;
  m_last_sent = now;
  return o;
}

std::optional<Outgoing> AlertGate::due(Nanos now)
{
  if (m_count == 0 || now < deadline()) {
    return std::nullopt;
  }
  return release(now);
}

Nanos AlertGate::deadline() const
{
  if (m_count == 0 || !m_last_sent) {
    return Nanos(0);
  }
  const Nanos at = *m_last_sent + m_cooldown;
  return at.count() > 0 ? at : Nanos(1);
}

std::optional<Outgoing> AlertGate::flush()
{
  if (m_count == 0) {
    return std::nullopt;
  }
  return release(m_last_sent.value_or(Nanos(0)));
}

// ---- the message

namespace {

std::string seconds_text(double s)
{
  return fmt::format("{:.1f}s", s);
}

bool starts_with(const std::string& s, const char* prefix)
{
  return s.rfind(prefix, 0) == 0;
}

// Control characters (a newline, an escape sequence) would break the one-line promise.
std::string one_line(std::string_view text)
{
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

} // namespace

Alert make_alert(const AlertFacts& f)
{
  Alert a;
  a.kind = f.kind;
  a.restarts = f.restarts;
  a.last_output = f.last_output;
  a.at = f.at;
  if (f.exit) {
    a.exit_code = f.exit->exit_code();
    a.signal = f.exit->exit_signal().value_or(0);
    a.runtime_s = f.exit->runtime_s;
  }
  std::string s = f.name;
  switch (f.kind) {
  case AlertKind::Failed:
  case AlertKind::GaveUp:
    s += f.kind == AlertKind::Failed ? " failed" : " gave up";
    if (f.exit) {
      s += ": " + exit_text(*f.exit) + " after " + seconds_text(f.exit->runtime_s);
      // Exit codes and signals say it all; other causes (watchdog, stall, memory, premature,
      // exec, gave-up) say what the status does not.
      if (!starts_with(f.exit->cause, "exit:") && !starts_with(f.exit->cause, "signal:")) {
        s += " (" + f.exit->cause + ")";
      }
    }
    if (f.kind == AlertKind::Failed) {
      s += f.restart_in
               ? fmt::format(", restart {} in {}", f.restarts + 1, format_duration(*f.restart_in))
               : std::string(", not restarted");
    }
    break;
  case AlertKind::StoppedOutside:
    s += " stopped by " + (f.stop_by.empty() ? std::string("a signal from outside") : f.stop_by);
    if (f.exit) {
      s += "; " + exit_text(*f.exit) + " after " + seconds_text(f.exit->runtime_s);
    } else {
      s += " between runs";
    }
    break;
  }
  a.summary = s;
  return a;
}

std::string clean_line(std::string_view line, size_t max)
{
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  if (line.size() <= max) {
    return one_line(line);
  }
  size_t cut = max;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return one_line(line.substr(0, cut)) + "...";
}

std::string alert_message(const Outgoing& o)
{
  std::string m = one_line(o.alert.summary);
  if (o.held > 0) {
    m += fmt::format("; {} more failure{} held back by the cooldown since {}", o.held,
                     o.held == 1 ? "" : "s", format_rfc3339(o.held_since));
  }
  if (std::string last = clean_line(o.alert.last_output); !last.empty()) {
    m += "; last output: " + last;
  }
  return m;
}

std::vector<std::string> alert_env(const Outgoing& o, const std::string& name,
                                   const std::string& log)
{
  const Alert& a = o.alert;
  return {
      "PG_NAME=" + name,
      std::string("PG_EVENT=") + alert_kind_name(a.kind),
      "PG_EXIT_CODE=" + (a.exit_code ? std::to_string(*a.exit_code) : std::string()),
      "PG_SIGNAL=" + (a.signal != 0 ? signal_name(a.signal) : std::string()),
      fmt::format("PG_RUNTIME_S={:.3f}", a.runtime_s),
      "PG_RESTARTS=" + std::to_string(a.restarts),
      "PG_LOG=" + log,
      "PG_MESSAGE=" + alert_message(o),
      "PG_HELD=" + std::to_string(o.held),
  };
}

// ---- Alerter

Alerter::Alerter(const JobDefinition& def, std::string name, Record record)
    : m_def(def), m_name(std::move(name)), m_record(std::move(record)), m_gate(def.alert_cooldown)
{
}

void Alerter::start(const std::vector<std::string>& base_env, int job_dirfd)
{
  if (!enabled()) {
    return;
  }
  HookSpec spec{m_def.on_failure, base_env, m_def.cwd, m_def.umask, m_def.alert_timeout};
  try {
    m_helper.start(spec, job_dirfd);
  } catch (const std::exception& e) {
    m_start_error = std::string("cannot start the alert helper: ") + e.what();
    m_record(ev::AlertError{m_start_error});
  }
}

void Alerter::raise(Alert a, Nanos now)
{
  if (!enabled()) {
    return;
  }
  const std::string kind = alert_kind_name(a.kind);
  if (auto o = m_gate.offer(std::move(a), now)) {
    send(*o);
  } else {
    m_record(ev::AlertHeld{kind, m_gate.held(),
                           static_cast<double>(m_def.alert_cooldown.count()) / 1000.0});
  }
}

void Alerter::on_timer(Nanos now)
{
  if (auto o = m_gate.due(now)) {
    send(*o);
  }
}

void Alerter::finish()
{
  if (auto o = m_gate.flush()) {
    send(*o);
  }
  m_helper.close();
}

void Alerter::send(const Outgoing& o)
{
  const uint64_t seq = ++m_seq;
  const std::string kind = alert_kind_name(o.alert.kind);
  const std::string message = alert_message(o);
  m_record(ev::Alert{kind, seq, o.held, message});
  std::string error = m_start_error;
  if (error.empty()) {
    error = m_helper.request(seq, kind, alert_env(o, m_name, m_def.log)).value_or("");
  }
  if (!error.empty()) {
    ev::AlertResult r;
    r.seq = seq;
    r.alert = kind;
    r.error = error;
    m_record(r);
  }
}

} // namespace pg
