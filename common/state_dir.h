// The state directory: where it is, whether it is safe, and the files of each job in it.
#pragma once

#include "fd.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

struct JobState;

// An unusable or unsafe state directory (a symlink, another user's, writable by others...).
class StateDirError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// --state-dir, else $PG_STATE_DIR, else $XDG_STATE_HOME/pg, else ~/.local/state/pg.
std::string resolve_state_dir(const std::string& from_cli);

// A job's directory, STATE/NAME, opened without following links.
class JobDir {
public:
  JobDir(std::string name, std::string path, UniqueFd fd, uint64_t mount_id = 0)
      : m_name(std::move(name)), m_path(std::move(path)), m_fd(std::move(fd)), m_mount_id(mount_id)
  {
  }
  const std::string& name() const { return m_name; }
  const std::string& path() const { return m_path; }
  int fd() const { return m_fd.get(); }
  // The mount the directory is on (statx's mount id), or 0 when unknown.
  uint64_t mount_id() const { return m_mount_id; }

  // Replaces state.json atomically (temp file + rename) with the state's text (state.h);
  // throws std::system_error.
  void write_state(const JobState& state) const;
  // Replaces a file of this directory (state.json, environ) atomically with text, mode 0600:
  // a temp file FILE.tmp.PID, then rename. Throws std::system_error.
  void write_file(const std::string& file, std::string_view text) const;
  // Removes the temp files of write_file left by a writer killed before its rename; returns how
  // many. Only for the lock's holder: no other writer can be under way then.
  int remove_stale_temps() const;
  // Reads a file of this directory (state.json, ...); false when absent. Throws StateDirError
  // for a symlink (never followed), a file that is not regular (a FIFO would block), or one
  // larger than k_max_read (no file pg writes here is read whole at that size).
  static constexpr uint64_t k_max_read = 16 * 1024 * 1024;
  bool read(const std::string& file, std::string& out) const;
  // Opens (creating, 0600) the lock file; refuses a link or another user's file.
  UniqueFd open_lock() const;
  // True when a live supervisor holds the lock (tested with F_OFD_GETLK, never taken).
  bool lock_held() const;

private:
  std::string m_name;
  std::string m_path;
  UniqueFd m_fd;
  uint64_t m_mount_id = 0;
};

class StateDir {
public:
  // Opens STATE, creating it (0700, with parents) when create is set. Throws StateDirError
  // when it is a symlink, not a directory, owned by someone else or writable by others.
  static StateDir open(const std::string& path, bool create);

  const std::string& path() const { return m_path; }
  int fd() const { return m_fd.get(); }

  // Names of the job directories here, sorted.
  std::vector<std::string> job_names() const;
  // Opens STATE/NAME (creating it 0700 when create); nullopt when it does not exist.
  // Throws StateDirError when it is a symlink, not ours, or writable by others, or when name
  // is not a valid job name.
  std::optional<JobDir> job(const std::string& name, bool create) const;
  // A listing's quick read of STATE/NAME/FILE into out, with the mount its directory is on,
  // without opening the directory: five system calls where job() and JobDir::read take seven.
  // False on anything unusual (no such job or file, a link, a directory that job() would
  // refuse, a file that JobDir::read would, a kernel without openat2): job() then tells why.
  bool peek(const std::string& name, const char* file, std::string& out, uint64_t& mount_id) const;
  // STATE/NAME/FILE opened read-only as peek() opens it (openat2, beneath STATE, no link
  // followed); with mount_id, NAME is first checked as peek() checks it and its mount given.
  // Invalid on anything unusual (errno set, unless NAME is refused).
  UniqueFd open_beneath(const std::string& name, const char* file,
                        uint64_t* mount_id = nullptr) const;

private:
  StateDir(std::string path, UniqueFd fd) : m_path(std::move(path)), m_fd(std::move(fd)) {}
  std::string m_path;
  UniqueFd m_fd;
};

// Takes the exclusive OFD lock on an open lock file; false when another holder has it.
bool try_lock(int fd);

// events.jsonl: one JSON object a line, appended, rotated past max_bytes into .1 ... .keep.
class EventLog {
public:
  static constexpr uint64_t k_default_max = 10 * 1024 * 1024;
  static constexpr int k_default_keep = 9;

  explicit EventLog(int dirfd, uint64_t max_bytes = k_default_max, int keep = k_default_keep)
      : m_dirfd(dirfd), m_max(max_bytes), m_keep(keep)
  {
  }
  // Appends one line with a single write(2); throws std::system_error when that fails.
  void append(const nlohmann::json& event);
  // Appends line (one JSON object ending in a newline) the same way. A failed append leaves
  // no part of the line behind (the file is cut back to its last whole line), and a file
  // found not ending in a newline (a write cut by a crash) gets one first: lines stay whole.
  void append_line(std::string_view line);

private:
  void open_file();
  void rotate();
  int m_dirfd;
  uint64_t m_max;
  int m_keep;
  UniqueFd m_fd;
  uint64_t m_size = 0;
  bool m_needs_newline = false; // the file ends in a cut line
};

} // namespace pg
