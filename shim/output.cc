#include "output.h"

#include <cstring>

#include "clock.h"
#include "syscalls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pg {

namespace {

// A line longer than this past the size limit is cut by a rotation rather than grow forever.
constexpr uint64_t k_long_line_slack = 1 << 20;

// How much of a line last_line() keeps: alerts show 200 bytes of it.
constexpr size_t k_last_line_max = 256;

bool blank(std::string_view line)
{
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

void append_capped(std::string& to, std::string_view data)
{
  if (to.size() < k_last_line_max) {
    to.append(data.substr(0, k_last_line_max - to.size()));
  }
}

} // namespace

std::string_view StampPrefix::at(WallTime t)
{
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  if (m_ms != ms) {
    m_text = format_rfc3339(t);
    m_text += ' ';
    m_ms = ms;
    ++m_formats;
  }
  return m_text;
}

int log_open_flags(bool in_job_dir)
{
  return O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (in_job_dir ? O_NOFOLLOW : 0);
}

OutputLog::OutputLog(std::string path, UniqueFd fd, int open_flags, uint64_t max_size,
                     unsigned keep, bool timestamps)
    : m_path(std::move(path)), m_fd(std::move(fd)), m_flags(open_flags), m_max(max_size),
      m_keep(keep), m_timestamps(timestamps)
{
  struct stat st {};
  if (m_fd && ::fstat(m_fd.get(), &st) == 0 && S_ISREG(st.st_mode)) {
    m_rotatable = true;
    m_size = static_cast<uint64_t>(st.st_size);
  }
}

bool OutputLog::needs_rotation(uint64_t pending) const
{
  return m_rotatable && m_max > 0 && m_size + pending >= m_max;
}

void OutputLog::write(std::string_view data)
{
  if (data.empty()) {
    return;
  }
  track_last_line(data);
  // The common case, one write(2) for the whole chunk: no stamps, no rotation due.
  if (!m_timestamps && !needs_rotation(data.size())) {
    put(data);
    m_line_start = data.back() == '\n';
    return;
  }
  // One clock reading per chunk (a vDSO call), one formatting per millisecond at most.
  const std::string_view stamp = m_timestamps ? m_stamp.at(wall_now()) : std::string_view();
  std::string& buf = m_buf;
  buf.clear();
  while (!data.empty()) {
    const uint64_t pending = buf.size();
    if (m_line_start ? needs_rotation(pending)
                     : needs_rotation(pending) && m_size + pending >= m_max + k_long_line_slack) {
      put(buf);
      buf.clear();
      rotate();
    }
    if (m_line_start) {
      buf.append(stamp);
    }
    size_t nl = data.find('\n');
    std::string_view piece = nl == std::string_view::npos ? data : data.substr(0, nl + 1);
    buf.append(piece);
    m_line_start = nl != std::string_view::npos;
    data.remove_prefix(piece.size());
  }
  put(buf);
}

void OutputLog::track_last_line(std::string_view data)
{
  const size_t last_nl = data.rfind('\n');
  if (last_nl == std::string_view::npos) {
    append_capped(m_partial, data);
    return;
  }
  // The last non-blank line that ends in this chunk; the first one continues m_partial.
  size_t end = last_nl;
  for (;;) {
    const size_t nl = end == 0 ? std::string_view::npos : data.rfind('\n', end - 1);
    const size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    std::string_view line = data.substr(start, end - start);
    if (nl == std::string_view::npos) {
      append_capped(m_partial, line);
      if (!blank(m_partial)) {
        m_last_line = m_partial;
      }
      break;
    }
    if (!blank(line)) {
      m_last_line = line.substr(0, k_last_line_max);
      break;
    }
    end = nl;
  }
  m_partial.clear();
  append_capped(m_partial, data.substr(last_nl + 1));
}

void OutputLog::mark(std::string_view text)
{
  if (!m_line_start && !blank(m_partial)) {
    m_last_line = m_partial; // our mark ends the job's unfinished line
  }
  m_partial.clear();
  std::string line = m_line_start ? "" : "\n";
  line += "[pg-run " + format_rfc3339(wall_now()) + "] ";
  line += text;
  line += '\n';
  if (needs_rotation(line.size())) {
    put(m_line_start ? "" : "\n");
    rotate();
    line.erase(0, m_line_start ? 0 : 1);
  }
  put(line);
  m_line_start = true;
}

void OutputLog::rotate()
{
  // LOG.keep is dropped first, then oldest first, so each rename lands on a name just freed:
  // renaming onto an existing file makes ext4 (auto_da_alloc) start writing the renamed file
  // back at once, 10 MiB of I/O submission in our loop at every rotation of a busy log.
  if (m_keep > 0) {
    ::unlink((m_path + "." + std::to_string(m_keep)).c_str());
  }
  for (unsigned i = m_keep; i >= 2; --i) {
    std::string from = m_path + "." + std::to_string(i - 1);
    std::string to = m_path + "." + std::to_string(i);
    ::rename(from.c_str(), to.c_str());
  }
  if (m_keep > 0) {
    ::rename(m_path.c_str(), (m_path + ".1").c_str());
  } else {
    ::unlink(m_path.c_str());
  }
  UniqueFd fresh(retry_eintr([&] { return ::open(m_path.c_str(), m_flags, 0600); }));
  if (fresh) {
    m_fd = std::move(fresh);
    m_size = 0;
  }
  // If the new file cannot be made, keep appending to the renamed one: nothing is lost.
}

void OutputLog::put(std::string_view data)
{
  if (data.empty()) {
    return;
  }
  if (m_fd && write_all(m_fd.get(), data)) {
    m_size += data.size();
  } else {
    m_drop_error = m_fd ? std::strerror(errno) : "the log could not be reopened";
    m_dropped += data.size();
  }
}

} // namespace pg
