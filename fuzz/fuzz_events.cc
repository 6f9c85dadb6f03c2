// libFuzzer target: events.jsonl as pg-ls reads it back: --events (parse_events, the table and
// the JSON), the detail view's last exits (exits_from_events, then render_detail's exit lines:
// time, run time, resources) and the output log tail. The input's length picks whether the
// text starts mid-line (a tail cut by its reader).
#include "ls_format.h"
#include "ls_history.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool mid_line = size % 2 == 1;
  std::vector<pg::JobEvent> events = pg::parse_events(text, "job", std::nullopt);
  for (const auto& e : events) {
    (void)pg::describe(e.event);
  }
  pg::merge_events(events);
  (void)pg::render_events(events);
  (void)pg::events_json(events).dump();
  pg::JobHistory history;
  history.exits = pg::exits_from_events(text, mid_line, pg::k_detail_exits);
  pg::LsStyle style;
  for (const auto& e : history.exits) {
    (void)pg::exit_json(e).dump();
    (void)pg::last_exit_summary(e, style.now);
    style.now = e.at; // the next exit's "ago" measured from this one's time
  }
  history.log_lines = pg::last_log_lines(text, mid_line, pg::k_detail_log_lines);
  pg::ListedJob job;
  job.view.name = "job";
  (void)pg::render_detail(job, history, style);
  return 0;
}
