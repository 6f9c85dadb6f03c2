// pg-run's exit statuses, as DESIGN.md defines them: the launcher's, pg-supervise's, and what
// pg-ctl start, revive and up read back from the pg-run they run.
#pragma once

namespace pg {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_env = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_busy = 3;

} // namespace pg
