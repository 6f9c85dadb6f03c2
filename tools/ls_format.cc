#include "ls_format.h"

#include "events.h"
#include "ls_history.h"
#include "ls_text.h"
#include "parse.h"
#include "signals.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace pg {

namespace {

constexpr size_t k_max_line = 512; // bytes of one output line shown before it is cut

// "exit 3", "SIGTERM", "SIGSEGV+core": the status alone, compactly.
std::string short_status(const ExitRecord& e)
{
  if (!e.status) {
    return "?";
  }
  if (e.status->signal != 0) {
    return signal_name(e.status->signal) + (e.status->core_dumped ? "+core" : "");
  }
  return fmt::format("exit {}", e.status->code);
}

} // namespace

std::string duration_bar(double done, int width)
{
  if (!std::isfinite(done)) {
    done = 0;
  }
  done = std::clamp(done, 0.0, 1.0);
  width = std::max(width, 1);
  // Floor, so a bar is full and says 100% only once the duration is really over.
  const int filled = static_cast<int>(std::floor(done * width));
  const int percent = static_cast<int>(std::floor(done * 100.0));
  return fmt::format("[{}{}] {}%", std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(width - filled), '-'), percent);
}

std::string shell_join(const std::vector<std::string>& argv)
{
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
    });
    if (plain) {
      out += word;
      continue;
    }
    out += '\'';
    for (char c : word) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

std::string last_exit_summary(const ExitRecord& e, WallTime now)
{
  std::string kw = cause_keyword(e.cause);
  std::string why = kw.empty() || kw == "exit" || kw == "signal" ? "" : " (" + kw + ")";
  return fmt::format("{}: {}{}, {} ago", to_string(e.outcome), short_status(e), why,
                     format_age(age(e.at, now)));
}

std::string resource_summary(const ExitRecord& e)
{
  std::string out;
  if (e.max_rss_kb) {
    // A damaged record may say any uint64_t: the bytes saturate rather than wrap.
    const uint64_t kb = *e.max_rss_kb;
    constexpr uint64_t max_kb = std::numeric_limits<uint64_t>::max() / 1024;
    out = "rss " + short_bytes(kb > max_kb ? std::numeric_limits<uint64_t>::max() : kb * 1024);
  }
  if (e.user_cpu_s || e.sys_cpu_s) {
    const double cpu = e.user_cpu_s.value_or(0) + e.sys_cpu_s.value_or(0);
    out += fmt::format("{}cpu {:.2f}s", out.empty() ? "" : " ", cpu);
  }
  return out.empty() ? "-" : out;
}

std::string short_bytes(uint64_t bytes)
{
  constexpr std::array<const char*, 4> units{"K", "M", "G", "T"};
  if (bytes < 1024) {
    return fmt::format("{}B", bytes);
  }
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < units.size()) {
    v /= 1024.0;
    ++u;
  }
  return v < 10 ? fmt::format("{:.1f}{}", v, units[u]) : fmt::format("{:.0f}{}", v, units[u]);
}

std::string format_runtime(double seconds)
{
  // Any double: a damaged state.json or events line may say 1e75 (found by fuzz_state), and
  // converting that to an integer is undefined. No run is longer than the longest duration.
  const double longest = std::chrono::duration<double>(k_max_duration).count();
  if (!std::isfinite(seconds) || seconds < 0) {
    seconds = 0;
  }
  if (seconds < 60) {
    return fmt::format("{:.1f}s", seconds);
  }
  return format_age(std::chrono::seconds(static_cast<long long>(std::min(seconds, longest))));
}

namespace {

// Today's problems of a job, without its name: its current state when it is failed, lost or
// stopped from outside (unless that state was acknowledged since: failures.h), or a live
// job's directory that cannot be written.
std::optional<std::string> state_problem(const JobView& v)
{
  const bool acknowledged = v.state && state_acknowledged(*v.state);
  if (v.shown == RunState::Lost) {
    if (acknowledged) {
      return std::nullopt;
    }
    return fmt::format("lost: {}{}", terminal_safe(lost_why(v)), leftovers_note(v));
  }
  if (!v.state) {
    return std::nullopt;
  }
  const std::optional<ExitRecord>& last = v.state->last_exit;
  if (v.shown == RunState::Failed && !acknowledged) {
    if (!last) {
      return "failed (no exit recorded)";
    }
    return fmt::format("failed: {} at {}; {}", exit_text(*last), format_rfc3339(last->at),
                       terminal_safe(last->cause));
  }
  // A stop nobody asked pg-ctl for: a shutdown, a session cleanup, an agent's kill.
  // The job's end cause says who stopped it, also when the stop came between runs.
  if (v.shown == RunState::Stopped && is_outside_stop(v.state->end_cause) && !acknowledged) {
    return "stopped by an outside signal: " + terminal_safe(v.state->end_cause);
  }
  if (!v.storage_fault.empty() && v.supervisor_alive) {
    return storage_fault_text(v.storage_fault);
  }
  return std::nullopt;
}

// What a job with failures heard does now, when that is no problem of its own.
std::string doing_now(RunState shown)
{
  switch (shown) {
  case RunState::Starting:
    return "starting again";
  case RunState::Running:
    return "running again";
  case RunState::Backoff:
    return "in backoff";
  default:
    return to_string(shown); // stopping, stopped, completed; failed and lost once acknowledged
  }
}

// "premature exit code 0 after 33m00s", "lost (no exit status known) after 5m00s": a failed
// run by its cause's keyword and its exact end.
std::string failure_summary(const ExitRecord& e)
{
  const std::string kw = cause_keyword(e.cause);
  const std::string status = exit_text(e);
  std::string what = status;
  if (!e.status) {
    what = kw.empty() ? status : kw + " (" + status + ")";
  } else if (!kw.empty() && kw != "exit" && kw != "signal") {
    what = kw + " " + status;
  }
  return what + " after " + format_runtime(e.runtime_s);
}

// "2 failures since 2026-12-06 21:04:10 (last: premature exit code 0 after 33m00s)": since the
// last acknowledgement, else since the job's first start.
std::string failures_text(const JobState& st)
{
  const unsigned n = st.failures_since_ack;
  std::string out = fmt::format("{} {}", n, n == 1 ? "failure" : "failures");
  if (const std::optional<WallTime> since = st.last_ack_at ? st.last_ack_at : st.started_at) {
    out += " since " + format_local(*since);
  }
  if (const ExitRecord* last = last_failure(st)) {
    out += " (last: " + failure_summary(*last) + ")";
  }
  return out;
}

} // namespace

std::optional<std::string> check_problem(const ListedJob& job)
{
  const JobView& v = job.view;
  std::optional<std::string> problem = state_problem(v);
  if (v.state && v.state->failures_since_ack > 0) {
    // Heard until acknowledged, even when the job runs again.
    return fmt::format("{}: {}; {}", v.name, failures_text(*v.state),
                       problem ? *problem : doing_now(v.shown));
  }
  if (problem) {
    return v.name + ": " + *problem;
  }
  return std::nullopt;
}

std::vector<ExitRecord> exits_from_events(std::string_view tail, bool starts_mid_line, size_t max)
{
  std::vector<ExitRecord> out;
  const EventText how{
      .starts_mid_line = starts_mid_line, .unended_last_line = true, .kind = "exit"};
  for (JobEvent& e : parse_events(tail, {}, std::nullopt, how)) {
    if (e.exit) {
      out.push_back(std::move(*e.exit)); // a damaged line says nothing reliable
    }
  }
  if (out.size() > max) {
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(max));
  }
  return out;
}

std::vector<std::string> last_log_lines(std::string_view tail, bool starts_mid_line, size_t max)
{
  if (starts_mid_line) {
    // The first line is cut; with no newline at all the tail is the end of one long line
    // (a progress bar redrawn with \r, say), which is still worth showing.
    size_t nl = tail.find('\n');
    if (nl != std::string_view::npos) {
      tail = tail.substr(nl + 1);
    }
  }
  if (!tail.empty() && tail.back() == '\n') {
    tail.remove_suffix(1);
  }
  std::vector<std::string_view> lines;
  if (!tail.empty()) {
    size_t pos = 0;
    for (;;) {
      size_t nl = tail.find('\n', pos);
      lines.push_back(tail.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
      if (nl == std::string_view::npos) {
        break;
      }
      pos = nl + 1;
    }
  }
  if (lines.size() > max) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max));
  }
  std::vector<std::string> out;
  for (std::string_view line : lines) {
    while (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    // A terminal shows only what follows the last carriage return.
    if (size_t cr = line.rfind('\r'); cr != std::string_view::npos) {
      line.remove_prefix(cr + 1);
    }
    std::string cut;
    if (line.size() > k_max_line) {
      size_t keep = k_max_line;
      // Cut before a UTF-8 sequence, not inside it.
      while (keep > 0 && (static_cast<unsigned char>(line[keep]) & 0xC0) == 0x80) {
        --keep;
      }
      cut = fmt::format(" [... {} more bytes]", line.size() - keep);
      line = line.substr(0, keep);
    }
    out.push_back(terminal_safe(line) + cut);
  }
  return out;
}

} // namespace pg
