#include "ls_table.h"

#include "ls_format.h"
#include "ls_text.h"

#include <fmt/format.h>

#include <algorithm>

namespace pg {

namespace {

// A job's STATUS= text for a table cell: one line, at most k_status_cell characters.
constexpr size_t k_status_cell = 40;

std::string status_cell(std::string_view text)
{
  // One line: the first one; then at most k_status_cell characters (UTF-8 sequences whole).
  size_t nl = text.find('\n');
  bool cut = nl != std::string_view::npos;
  text = text.substr(0, nl);
  size_t chars = 0;
  size_t keep = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) {
      continue;
    }
    if (chars == k_status_cell - 1) {
      keep = i; // where a cut text ends, to leave room for the ellipsis
    }
    if (++chars > k_status_cell) {
      cut = true;
      break;
    }
  }
  if (!cut) {
    return terminal_safe(text);
  }
  return terminal_safe(text.substr(0, std::min(keep, text.size()))) + "\u2026";
}

// "0.4%", "12%", "250%": a percent of one CPU, in at most four characters up to 999%.
std::string cpu_cell(double percent)
{
  return percent < 9.95 ? fmt::format("{:.1f}%", percent) : fmt::format("{:.0f}%", percent);
}

} // namespace

std::string render_table(const std::vector<ListedJob>& jobs, const LsStyle& style)
{
  TableBuilder table(style);
  for (const auto& job : jobs) {
    table.add(job);
  }
  return table.text();
}

void TableBuilder::cell(std::string_view text)
{
  const size_t column = m_ends.size() % k_columns;
  m_widths[column] = std::max(m_widths[column], text.size());
  m_cells += text;
  m_ends.push_back(m_cells.size());
}

void TableBuilder::add(const ListedJob& job)
{
  const JobView& v = job.view;
  const JobState* st = v.state ? &*v.state : nullptr;
  auto pid = live_pid(job);
  cell(v.name);
  cell(shown_state(job));
  cell(pid ? std::to_string(*pid) : "-");
  cell(job.cpu_percent ? cpu_cell(*job.cpu_percent) : "-");
  cell(job.memory_bytes ? short_bytes(*job.memory_bytes) : "-");
  cell(job.uptime ? format_age(*job.uptime) : "-");
  cell(st ? std::to_string(st->restarts) : "-");
  cell(st && st->last_exit ? last_exit_summary(*st->last_exit, m_style.now) : "-");
  cell(job.duration_done ? duration_bar(*job.duration_done) : "-");
  // STATUS (the jobs' sd_notify STATUS= text) is shown only when some job has one.
  const bool status = st && !st->status_text.empty();
  m_any_status = m_any_status || status;
  cell(status ? status_cell(st->status_text) : "-");
  m_states.push_back(v.shown);
  m_any_live = m_any_live || v.supervisor_alive;
  if (v.shown == RunState::Lost) {
    m_lost_notes +=
        fmt::format("{}: lost: {}{}\n", v.name, terminal_safe(lost_why(v)), leftovers_note(v));
    return;
  }
  // A full or read-only filesystem concerns every job on it: said once, under the notes.
  const std::string& kind = v.storage_fault;
  if (kind == "write-error") {
    m_fault_notes += fmt::format("{}: {}\n", v.name, storage_fault_text(kind));
  } else if (!kind.empty() &&
             std::find(m_fs_faults.begin(), m_fs_faults.end(), kind) == m_fs_faults.end()) {
    m_fs_faults.push_back(kind);
  }
}

// Left-aligned columns separated by two spaces, the last one not padded; the STATE cells in
// their row's colour.
std::string TableBuilder::text() const
{
  static constexpr std::array<std::string_view, k_columns> header{
      "NAME",   "STATE",    "PID",       "CPU",      "MEM",
      "UPTIME", "RESTARTS", "LAST EXIT", "DURATION", "STATUS"};
  const size_t columns = m_any_status ? k_columns : k_columns - 1;
  std::array<size_t, k_columns> widths{};
  for (size_t i = 0; i < columns; ++i) {
    widths[i] = std::max(m_widths[i], header[i].size());
  }
  std::string out;
  out.reserve(m_cells.size() + (m_states.size() + 1) * (columns * 2 + 1) + m_lost_notes.size() +
              m_fault_notes.size() + 256);
  auto row = [&](auto cell_at, const RunState* state) {
    const size_t start = out.size();
    for (size_t i = 0; i < columns; ++i) {
      const std::string_view text = cell_at(i);
      if (i == 1 && state != nullptr) {
        out += paint(text, *state, m_style.colour);
      } else {
        out += text;
      }
      if (i + 1 < columns) {
        out.append(widths[i] - text.size() + 2, ' ');
      }
    }
    while (out.size() > start && out.back() == ' ') {
      out.pop_back();
    }
    out += '\n';
  };
  row([&](size_t i) { return header[i]; }, nullptr);
  for (size_t r = 0; r < m_states.size(); ++r) {
    row(
        [&](size_t i) {
          const size_t n = r * k_columns + i;
          const size_t from = n == 0 ? 0 : m_ends[n - 1];
          return std::string_view(m_cells).substr(from, m_ends[n] - from);
        },
        &m_states[r]);
  }
  std::string notes = m_lost_notes + m_fault_notes;
  for (const auto& kind : m_fs_faults) {
    notes += m_any_live ? "warning: " + storage_fault_text(kind) +
                              " (the jobs go on; pg-ls shows the state last written)\n"
                        : "warning: the state directory's filesystem is " + kind +
                              ": nothing can be recorded there (no launch, no revive)\n";
  }
  if (!notes.empty()) {
    out += "\n" + notes;
  }
  return out;
}

} // namespace pg
