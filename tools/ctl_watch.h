// How pg-ctl waits for a job: on its directory (inotify: state.json is renamed into place), on
// its supervisor's pidfd, and on a deadline, never by a fixed sleep.
#pragma once

#include "clock.h"
#include "fd.h"
#include "parse.h"
#include "state_dir.h"

#include <poll.h>

#include <vector>

namespace pg {

// Now plus d, on CLOCK_MONOTONIC.
Nanos deadline_after(Millis d);

// Polls fds until one is readable or deadline passes; revents tell which. EINTR counts as a
// wake-up: callers re-check their conditions anyway.
void poll_until(std::vector<pollfd>& fds, Nanos deadline);

// Wakes when a file of a watched job directory is replaced (state.json is renamed into place).
// Without inotify (a full watch table), wait() degrades to a short sleep, so callers re-read.
class DirWatch {
public:
  DirWatch();

  // Watches dir through its open fd, so a renamed or replaced path cannot redirect the watch.
  void add(const JobDir& dir);
  // A pollfd for the watch, or for nothing (fd -1 is ignored by poll) without one.
  pollfd poll_entry() const { return pollfd{m_fd ? m_fd.get() : -1, POLLIN, 0}; }
  // The latest moment to wake up when there is no watch: the deadline, or 50 ms from now.
  Nanos cap(Nanos deadline) const;
  // Consumes pending events.
  void drain() const;
  // Waits for a change or the deadline.
  void wait(Nanos deadline) const;

private:
  UniqueFd m_fd;
};

} // namespace pg
