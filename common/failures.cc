#include "failures.h"

#include <algorithm>

namespace pg {

std::string cause_keyword(std::string_view cause)
{
  size_t n = 0;
  while (n < cause.size() && ((cause[n] >= 'a' && cause[n] <= 'z') || cause[n] == '-')) {
    ++n;
  }
  return std::string(cause.substr(0, n));
}

bool is_failed_exit(const ExitRecord& e)
{
  return e.outcome == Outcome::Failed;
}

bool is_outside_stop(std::string_view end_cause)
{
  return cause_keyword(end_cause) == "outside-signal";
}

bool is_heard_failure(const ExitRecord& e)
{
  return is_failed_exit(e) || (e.outcome == Outcome::Stopped && is_outside_stop(e.cause));
}

const ExitRecord* last_failure(const JobState& s)
{
  if (!s.last_exit) {
    return nullptr;
  }
  return is_heard_failure(*s.last_exit) ? &*s.last_exit : nullptr;
}

unsigned acknowledge(JobState& s, WallTime at)
{
  const unsigned n = s.failures_since_ack;
  s.failures_since_ack = 0;
  s.last_ack_at = at;
  return n;
}

bool state_acknowledged(const JobState& s)
{
  return s.last_ack_at && *s.last_ack_at > s.updated_at;
}

WallTime ack_time(const JobState& s, WallTime now)
{
  using std::chrono::milliseconds;
  // state.json keeps milliseconds: compared there, "later" must hold in milliseconds.
  const WallTime after_write = std::chrono::floor<milliseconds>(s.updated_at) + milliseconds(1);
  const WallTime at = std::chrono::floor<milliseconds>(now);
  return std::max(at, after_write);
}

WallTime supervisor_time(const JobState& s, WallTime now)
{
  return s.last_ack_at ? std::max(now, *s.last_ack_at) : now;
}

} // namespace pg
