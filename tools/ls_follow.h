// pg-ls --events --follow: each job's events.jsonl read as it grows, across its rotation.
#pragma once

#include "fd.h"
#include "ls_history.h"
#include "ls_watch.h"
#include "state_dir.h"

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pg {

// One job's events.jsonl, followed from where it ended when the tail was made. The supervisor
// rotates it by renaming it events.jsonl.1 and creating a new one: the old file stays open
// here, so what was written to it before the rename is still read, then the new one from its
// start.
class EventsTail {
public:
  // Follows DIRFD/events.jsonl (dirfd stays the caller's) from its present end (from its
  // start with from_start: a job that appeared while followed); a file that does not exist
  // yet is followed from its start once it appears.
  EventsTail(int dirfd, std::string job, bool from_start = false);

  // The events of the complete lines appended since the last call, oldest first.
  std::vector<JobEvent> poll();

private:
  void read_to_end(std::string& text);
  bool reopen(); // true when events.jsonl is now another file than the one followed

  int m_dirfd;
  std::string m_job;
  UniqueFd m_fd;
  dev_t m_dev = 0;
  ino_t m_ino = 0;
  off_t m_offset = 0;
  std::string m_partial; // a line not yet ended by its newline
};

// A followed job: its directory (kept open) and its tail.
struct FollowedJob {
  FollowedJob(JobDir d, const std::string& name, bool from_start)
      : dir(std::move(d)), tail(dir.fd(), name, from_start)
  {
  }
  JobDir dir;
  EventsTail tail;
};
using FollowedJobs = std::vector<std::unique_ptr<FollowedJob>>;

// One new event's text as --follow prints it: a table row (the columns of render_events()
// without its header), or with json one compact object per line.
std::string follow_text(std::vector<JobEvent>& events, bool json);

// Prints what the jobs' events files get, as it comes, until SIGINT or SIGTERM (stop is made
// before anything is printed, so a signal is never missed). Every tick (a quarter second, or
// sooner on a signal) each file is read to its end, and discover() may add jobs that appeared.
void follow_loop(const StopSignals& stop, FollowedJobs& jobs,
                 const std::function<void(FollowedJobs&)>& discover, bool json);

} // namespace pg
