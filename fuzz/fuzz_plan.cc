// libFuzzer target: the plan pg-supervise reads from its launcher (shim/supervise_plan.h). Any
// bytes are refused with a PlanError or read; what is read writes back to the same plan.
#include "supervise_plan.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  pg::SupervisePlan plan;
  try {
    plan = pg::read_plan(text);
  } catch (const pg::PlanError&) {
    return 0;
  }
  if (pg::read_plan(pg::write_plan(plan)) != plan) {
    std::abort();
  }
  return 0;
}
