#include "ls_follow.h"

#include "syscalls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace pg {

namespace {

UniqueFd open_events(int dirfd)
{
  return UniqueFd(retry_eintr([&] {
    return ::openat(dirfd, "events.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  }));
}

} // namespace

EventsTail::EventsTail(int dirfd, std::string job, bool from_start)
    : m_dirfd(dirfd), m_job(std::move(job))
{
  m_fd = open_events(m_dirfd);
  struct stat st {};
  if (m_fd && ::fstat(m_fd.get(), &st) == 0) {
    m_dev = st.st_dev;
    m_ino = st.st_ino;
    m_offset = from_start ? 0 : st.st_size;
  }
}

void EventsTail::read_to_end(std::string& text)
{
  if (!m_fd) {
    return;
  }
  char buf[65536];
  for (;;) {
    const ssize_t got = retry_eintr([&] { return ::pread(m_fd.get(), buf, sizeof buf, m_offset); });
    if (got <= 0) {
      return;
    }
    text.append(buf, static_cast<size_t>(got));
    m_offset += got;
  }
}

bool EventsTail::reopen()
{
  UniqueFd now = open_events(m_dirfd);
  struct stat st {};
  if (!now || ::fstat(now.get(), &st) != 0) {
    return false; // rotated away and not created again yet: the next poll looks again
  }
  if (m_fd && st.st_dev == m_dev && st.st_ino == m_ino) {
    if (st.st_size < m_offset) {
      m_offset = 0; // cut short (a write the disk refused was undone): read again from the start
      m_partial.clear();
    }
    return false;
  }
  m_fd = std::move(now);
  m_dev = st.st_dev;
  m_ino = st.st_ino;
  m_offset = 0;
  return true;
}

std::vector<JobEvent> EventsTail::poll()
{
  std::string text = std::exchange(m_partial, {});
  read_to_end(text); // the file followed so far, to its end (the rotated one, if so)
  if (reopen()) {
    // A line the old file left unended was cut by its writer: dropped, not glued to the next.
    const size_t nl = text.rfind('\n');
    text.erase(nl == std::string::npos ? 0 : nl + 1);
    read_to_end(text);
  }
  const size_t nl = text.rfind('\n');
  m_partial = text.substr(nl == std::string::npos ? 0 : nl + 1);
  text.erase(nl == std::string::npos ? 0 : nl + 1);
  return parse_events(text, m_job, std::nullopt);
}

std::string follow_text(std::vector<JobEvent>& events, bool json)
{
  merge_events(events);
  if (json) {
    std::string out;
    for (const auto& j : events_json(events)) {
      out += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    }
    return out;
  }
  if (events.empty()) {
    return "";
  }
  std::string table = render_events(events);
  return table.substr(table.find('\n') + 1);
}

void follow_loop(const StopSignals& stop, FollowedJobs& jobs,
                 const std::function<void(FollowedJobs&)>& discover, bool json)
{
  // A quarter second between looks: events come a few a minute, and the wait ends at once on
  // a stop signal.
  constexpr int k_tick_ms = 250;
  while (!wait_for_stop(stop, k_tick_ms)) {
    discover(jobs);
    std::vector<JobEvent> events;
    for (auto& job : jobs) {
      auto got = job->tail.poll();
      events.insert(events.end(), std::make_move_iterator(got.begin()),
                    std::make_move_iterator(got.end()));
    }
    const std::string text = follow_text(events, json);
    if (!text.empty() && !write_all(STDOUT_FILENO, text)) {
      throw_errno("writing the events");
    }
  }
}

} // namespace pg
