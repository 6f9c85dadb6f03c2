// The supervisor's resource watch: each run's usage from the kernel's accounting, the
// --max-memory sample of the job's tree, and --restart-every's planned restarts. Both limits
// are deadlines of the supervisor's timers (rearm_timers), checked from on_timers.
#include "supervisor.h"

#include "clock.h"
#include "tree_memory.h"

#include <unistd.h>

namespace pg {

namespace {

// How often --max-memory samples the tree (CLOCK_MONOTONIC: a suspend is no time of the job's).
constexpr Nanos k_memory_sample = std::chrono::seconds(2);

} // namespace

void Supervisor::on_run_start(bool spawned)
{
  m_usage = RunUsage{};
  m_pub.memory_rss.reset();
  m_memory_at_mono = Nanos(0);
  m_planned_at_boot = Nanos(0);
  if (!spawned) {
    return;
  }
  if (m_opt.def.max_memory > 0) {
    m_memory_at_mono = monotonic_now() + k_memory_sample;
  }
  if (m_opt.def.restart_every.count() > 0) {
    // A duration of the run's age, so on CLOCK_BOOTTIME like --duration.
    m_planned_at_boot = m_run_start_boot + m_opt.def.restart_every;
  }
}

void Supervisor::check_limits()
{
  if (m_done || !m_run_active) {
    return;
  }
  const JobDefinition& def = m_opt.def;
  if (m_planned_at_boot.count() > 0 && boottime_now() >= m_planned_at_boot) {
    m_planned_at_boot = Nanos(0);
    if (m_stop.kind == StopKind::None) {
      planned_restart("--restart-every " + format_duration(def.restart_every));
    }
  }
  if (m_memory_at_mono.count() == 0 || monotonic_now() < m_memory_at_mono) {
    return;
  }
  m_memory_at_mono = monotonic_now() + k_memory_sample;
  if (m_stop.kind != StopKind::None) {
    return; // already on its way down
  }
  // Every live process below us is the job's: we are their parent or their subreaper.
  const TreeMemory tree = tree_memory(::getpid());
  const bool changed = m_pub.memory_rss != tree.rss_bytes;
  m_pub.memory_rss = tree.rss_bytes;
  if (tree.rss_bytes > def.max_memory) {
    event({{"event", "memory"},
           {"rss_bytes", tree.rss_bytes},
           {"limit_bytes", def.max_memory},
           {"processes", tree.processes}});
    begin_stop(StopKind::Memory, memory_limit_detail(tree.rss_bytes, def.max_memory),
               def.stop_timeout);
  } else if (changed) {
    publish();
  }
}

} // namespace pg
