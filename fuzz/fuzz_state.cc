// libFuzzer target: state.json as pg-ls, pg-ctl and revive read it (common/job_view.cc's
// read_state), then everything pg-ls renders from the result. The fast reader pg-ls tries
// first (state_fast.cc) may only decline or agree with the full reader, on the input and on
// what the full reader writes back.
#include "job_view.h"
#include "ls_format.h"
#include "ls_history.h"
#include "state.h"
#include "state_fast.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace {

// What pg-ls makes of one parsed state: its table row, detail view, JSON and --check line.
void render(const pg::JobState& s, pg::RunState shown)
{
  pg::ListedJob job;
  job.view.name = s.name;
  job.view.state = s;
  job.view.shown = shown;
  job.view.supervisor_alive = shown != pg::RunState::Lost;
  job.view.lost_reason = shown == pg::RunState::Lost ? "fuzz" : "";
  job.uptime = std::chrono::seconds(7);
  job.duration_done = 0.5;
  pg::LsStyle style;
  style.now = s.updated_at;
  style.colour = shown == pg::RunState::Lost;
  pg::JobHistory history;
  if (s.last_exit) {
    history.exits.push_back(*s.last_exit);
  }
  (void)pg::render_table({job}, style);
  (void)pg::render_detail(job, history, style);
  (void)pg::job_json(job).dump();
  (void)pg::check_problem(job);
  (void)pg::render_prometheus({job}, style.now);
}

// Whatever the fast reader accepts, the full reader accepts too (full, or nullopt when it
// refused the text), as the same state: pg-ls falls back to the full reader only on a decline.
void check_fast(std::string_view text, const std::optional<pg::JobState>& full)
{
  auto fast = pg::fast_job_state(text);
  if (fast && (!full || *fast != *full)) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    check_fast(text, std::nullopt);
    return 0;
  }
  pg::JobState s;
  try {
    s = pg::job_state_from_json(j);
  } catch (const std::runtime_error&) {
    check_fast(text, std::nullopt);
    return 0; // pg-ls: "state.json is damaged: ..."; pg-ctl refuses
  } catch (const nlohmann::json::exception&) {
    check_fast(text, std::nullopt);
    return 0;
  }
  check_fast(text, s);
  // What was accepted must write back and read again as the same state (the supervisor of a
  // revived job rewrites it), by both readers.
  const std::string again = pg::dump_line(pg::to_json(s));
  if (pg::job_state_from_json(nlohmann::json::parse(again)) != s) {
    std::abort();
  }
  check_fast(again, s);
  render(s, s.state);
  render(s, pg::RunState::Lost);
  return 0;
}
