// A fast reader of state.json for listing many jobs (pg-ls): one pass over the text, no JSON
// document built. It accepts only what it is sure of (plain ASCII strings, the known keys with
// the expected types, valid values) and says nullopt for anything else, so that the caller
// falls back to job_state_from_json(nlohmann::json::parse(text)): the result, or the error
// naming the damaged field, is then exactly the full reader's.
#pragma once

#include "state.h"

#include <optional>
#include <string_view>

namespace pg {

// The JobState that job_state_from_json(json::parse(text)) would return, or nullopt when this
// reader cannot tell (damage, an unusual but valid encoding, a newer schema): parse fully then.
std::optional<JobState> fast_job_state(std::string_view text);

} // namespace pg
