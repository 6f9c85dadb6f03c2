// libFuzzer target: state.json as pg-ls, pg-ctl, pg-run and revive read it (parse_job_state,
// the one reader), then everything pg-ls renders from the result. The reader refuses as not
// JSON what nlohmann refuses, reads the rest as nlohmann's value of it says, and what it accepts
// writes back, byte for byte as the DOM writer that the streaming one replaced wrote it
// (tests/helpers/state_json_oracle.h), and reads again as the same state.
#include "job_view.h"
#include "json_reader.h"
#include "ls_format.h"
#include "ls_history.h"
#include "state.h"
#include "state_json_oracle.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
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
  (void)pg::render_prometheus({job}, "/state");
}

// True when the reader refused text only for nesting deeper than it reads (nlohmann reads any).
bool too_deep(const std::string& error)
{
  return error.find("nested deeper than") != std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<pg::JobState> s;
  std::string error;
  bool syntax = false;
  try {
    s = pg::parse_job_state(text); // pg-ls: "state.json is damaged: ..." when it throws
  } catch (const pg::JsonSyntaxError& e) {
    syntax = true;
    error = e.what();
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  // nlohmann is the reference of JSON's grammar: the reader refuses as not JSON what nlohmann
  // refuses, and reads the rest as the value nlohmann parses says (the same state or error).
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() != syntax && !too_deep(error)) {
    std::abort();
  }
  if (!j.is_discarded() && !syntax) {
    try {
      if (pg::job_state_from_json(j) != s) {
        std::abort();
      }
    } catch (const std::runtime_error& e) {
      if (s || e.what() != error) {
        std::abort();
      }
    }
  }
  if (!s) {
    return 0;
  }
  // What was accepted must write back and read again as the same state (the supervisor of a
  // revived job rewrites it).
  std::string written;
  pg::append_state_line(written, *s);
  if (written != pg::oracle::state_line(*s) || pg::parse_job_state(written) != *s) {
    std::abort();
  }
  render(*s, s->state);
  render(*s, pg::RunState::Lost);
  return 0;
}
