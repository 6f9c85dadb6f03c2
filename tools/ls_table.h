// pg-ls's table of jobs, one row per job, built one job at a time.
#pragma once

#include "ls_job.h"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// The job table (NAME STATE PID CPU MEM UPTIME RESTARTS LAST EXIT DURATION, and STATUS when
// some job has sd_notify STATUS= text, cut to one short line), one row per job, with a note
// under it for every lost or unreadable job; widths fit the content. CPU and MEM are the job's
// measured figures (measure_tree(), ls_views.h), "-" when not measured.
std::string render_table(const std::vector<ListedJob>& jobs, const LsStyle& style);

// render_table() one job at a time: add() each job in order, then text(). It keeps each row's
// cells (the columns' widths need every row) and the notes, not the jobs.
class TableBuilder {
public:
  explicit TableBuilder(const LsStyle& style) : m_style(style) {}
  void add(const ListedJob& job);
  size_t rows() const { return m_states.size(); }
  std::string text() const;

private:
  static constexpr size_t k_columns = 10; // STATUS last, shown when some job has one
  void cell(std::string_view text);

  LsStyle m_style;
  std::string m_cells;        // every cell's text, one after the other
  std::vector<size_t> m_ends; // where each cell ends in m_cells, k_columns a row
  std::array<size_t, k_columns> m_widths{};
  std::vector<RunState> m_states;       // each row's state, for its colour
  bool m_any_status = false;            // some job has STATUS= text
  bool m_any_live = false;              // some job's supervisor lives
  std::string m_lost_notes;             // "NAME: lost: why" lines, in the rows' order
  std::string m_fault_notes;            // "NAME: pg-run cannot write..." lines, after those
  std::vector<std::string> m_fs_faults; // "full", "read-only": said once under the notes
};

} // namespace pg
