// When state.json is written: the scheduling layer around Supervisor::flush_state().
//
// A transition is written at once unless state.json was written less than k_state_every ago.
// Then it is marked dirty, and the loop writes it as soon as it has been idle for k_state_idle
// (epoll_wait timed out), or once k_state_every has passed since the last write, whichever
// comes first; and always before the supervisor exits or answers its launcher. A crash loop
// with no restart delay thus rewrites state.json about 20 times a second instead of at every
// run (each rewrite is a temp file renamed over state.json: ext4 flushes the new file's data
// at such a rename, the largest cost of a restart), while every exit still goes to
// events.jsonl at once. A reader never sees a torn file, and the state never lags the
// supervisor by more than k_state_every. An exit followed at once by the next run (no restart
// delay) is not written on its own: the next run's state, written after its spawn, holds it.
#include "clock.h"
#include "supervisor.h"

namespace pg {

void Supervisor::publish()
{
  m_pub.state = m_life.published(m_pub.state); // the one place the published state is set
  publish_later();
  // A run that starts again at once is written with the new run's state, after its spawn: the
  // exit is in events.jsonl already, and the write (a rename, at which ext4 flushes the new
  // file) stays off the way from the exit to the next exec.
  if (m_life.phase() != Phase::Restarting) {
    flush_state_if_due(false);
  }
}

void Supervisor::flush_state_if_due(bool now)
{
  if (!m_state_dirty) {
    return;
  }
  if (now || m_state_written_mono.count() == 0 ||
      monotonic_now() - m_state_written_mono >= k_state_every) {
    flush_state();
  }
}

int Supervisor::state_wait_ms()
{
  if (!m_state_dirty) {
    return -1;
  }
  Nanos left = m_state_written_mono + k_state_every - monotonic_now();
  if (left.count() <= 0) {
    flush_state();
    return -1;
  }
  left = std::min(left, k_state_idle);
  return static_cast<int>((left.count() + 999'999) / 1'000'000);
}

} // namespace pg
