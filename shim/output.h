// The job's output log: appended, optionally time-stamped per line, rotated at line boundaries
// (LOG -> LOG.1 -> ... -> LOG.keep), with the supervisor's own marked lines in between, so
// reading the log tells the whole story. Write failures (a full disk) drop data, never block.
#pragma once

#include "clock.h"
#include "fd.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pg {

// The "TIME " prefix of a stamped line, formatted again only when the printed millisecond
// changes: formatting it for every line (gmtime_r and snprintf) cost the supervisor ~60x the
// CPU of a job writing short lines.
class StampPrefix {
public:
  // format_rfc3339(t) and a space: "2026-11-21T22:09:19.123Z ".
  std::string_view at(WallTime t);
  // How many times a prefix was formatted since the start.
  uint64_t formats() const { return m_formats; }

private:
  std::optional<int64_t> m_ms; // the millisecond m_text shows
  std::string m_text;
  uint64_t m_formats = 0;
};

class OutputLog {
public:
  // fd is the log opened for appending (by the launcher, so errors surface before detaching).
  OutputLog(std::string path, UniqueFd fd, int open_flags, uint64_t max_size, unsigned keep,
            bool timestamps);

  // Appends the job's output: whole lines stay in one file; stamped when asked, every line of
  // one chunk with the same clock reading.
  void write(std::string_view data);
  // Appends "[pg-run TIME] text" on a line of its own (ending the job's partial line first).
  void mark(std::string_view text);
  // Bytes that could not be written (disk full, I/O error) since the start.
  uint64_t dropped() const { return m_dropped; }
  // Why the last bytes were dropped ("No space left on device"), or "" when none were.
  const std::string& drop_error() const { return m_drop_error; }
  // The job's last complete non-blank line (not a marked one), at most ~256 bytes of it.
  const std::string& last_line() const { return m_last_line; }

private:
  bool needs_rotation(uint64_t pending) const;
  void rotate();
  void put(std::string_view data);
  void track_last_line(std::string_view data);

  std::string m_path;
  UniqueFd m_fd;
  int m_flags;
  uint64_t m_max;
  unsigned m_keep;
  bool m_timestamps;
  bool m_rotatable = false; // only regular files rotate (--log /dev/null must stay /dev/null)
  bool m_line_start = true;
  uint64_t m_size = 0;
  uint64_t m_dropped = 0;
  std::string m_drop_error;
  std::string m_last_line;
  std::string m_partial; // the start of the job's unfinished line
  StampPrefix m_stamp;
  std::string m_buf; // a stamped chunk, kept so its capacity is reused
};

// The flags every open of a log uses; O_NOFOLLOW when the log lives in the job's directory.
int log_open_flags(bool in_job_dir);

} // namespace pg
