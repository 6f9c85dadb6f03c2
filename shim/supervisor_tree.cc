// What a supervisor keeps on disk so that its death loses nothing (DESIGN: "Leftovers survive
// nothing unseen", "A lost run is recorded"):
//
// - state.json's tree: the (pid, start time) of every process of the job's tree, as the
//   supervisor last saw it: the main process at each run's start, and after every reap round
//   (a hand-over, an orphan reparented to us). A killed supervisor's daemon that rewrote its
//   environment, and so lost PG_RUN_ID, is still found through it (common/leftovers.cc). Costs:
//   a reap round that ends with nothing left (ECHILD, every run of a crash loop) empties the
//   list without looking at /proc; otherwise the list is marked stale and looked up once, when
//   state.json is next written (at most every k_state_every), so a storm of reaped orphans
//   costs a /proc scan per write, not per reap.
// - the run numbering: start events' "run" goes on from the history's last run.
// - the exit record of a lost run: the previous supervisor's, written before our launch event.
// - the failures heard since the last acknowledgement (failures.h): a revival carries them on
//   (its lost run one more), a launch acknowledges them.
#include "failures.h"
#include "supervisor.h"
#include "tree_memory.h"

#include <unistd.h>

namespace pg {

void Supervisor::adopt_history()
{
  // What the launcher read from the previous supervisor's state.json and events, under the
  // lock we hold now (launch.cc, prior_runs).
  m_run_base = m_prior.run_base;
  // The failures ever recorded go on like the run numbers.
  m_pub.failures = m_prior.failures;
  if (m_opt.keep_ack) {
    // A revival: the failures heard since the last acknowledgement go on.
    m_pub.failures_since_ack = m_prior.failures_since_ack;
    m_pub.last_ack_at = m_prior.last_ack_at;
  }
  if (m_prior.lost) {
    // events.jsonl, and a marked line in the log. A failure heard, unless the lost state was
    // acknowledged (pg-ctl ack) after the dead supervisor's last write.
    record_exit(*m_prior.lost, m_prior.lost_heard);
  }
  if (!m_opt.keep_ack) {
    pg::acknowledge(m_pub, wall_now()); // a launch acknowledges everything up to it
  }
}

void Supervisor::tree_run_started(pid_t main)
{
  m_pub.tree.clear();
  m_tree_stale = false;
  if (auto st = read_proc_stat(main)) {
    m_pub.tree.push_back({main, st->start_time});
  }
}

void Supervisor::tree_after_reap(bool tree_left)
{
  if (!tree_left) {
    m_tree_stale = false;
    m_tree_reaped = false;
    if (!m_pub.tree.empty()) {
      // ECHILD: nothing of the tree is left, no need to look. Written with the run's end, which
      // follows (Lifecycle::after_reap), or by the loop within k_state_idle.
      m_pub.tree.clear();
      publish_later();
    }
    return;
  }
  // A process the tree names is gone: look again at the next write, which comes soon. The
  // short-lived children of a shell loop are not in it: reaping them writes nothing.
  m_tree_stale = true;
  if (m_tree_reaped) {
    publish();
  }
  m_tree_reaped = false;
}

void Supervisor::tree_refresh()
{
  if (!m_tree_stale) {
    return;
  }
  m_tree_stale = false;
  std::vector<TreeProcess> now;
  for (const ProcStat& st : tree_stats(::getpid(), true)) { // the tree only, not all of /proc
    if (st.state != 'Z' && st.state != 'X') {
      now.push_back({st.pid, st.start_time});
    }
  }
  m_pub.tree = std::move(now);
}

} // namespace pg
