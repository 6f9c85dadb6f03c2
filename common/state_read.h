// The one reader of state.json (state_read.cc) in two parts: a job's definition, the largest of
// its objects, is read in state_read_definition.cc. Internal to those two files.
#pragma once

#include "json_reader.h"
#include "state.h"

namespace pg {

// The members of a definition object; its damage is a FieldError naming the field.
JobDefinition definition_of(JsonValue& v);

} // namespace pg
