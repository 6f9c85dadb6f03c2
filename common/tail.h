// A file's tail: the last lines of a log (across its rotated files, read backwards in blocks),
// or the last bytes of a file. pg-ctl logs, pg-ls's detail and pg-run's --wait report read
// tails through these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pg {

// How much of a log one read covers: the tail is read backwards in blocks of this size.
inline constexpr size_t k_log_block = 64 * 1024;

// Reads up to len bytes at offset off into buf and returns how many it read (fewer only at the
// end of the file). Throws std::system_error on a read error.
using ReadAt = std::function<size_t(char* buf, size_t len, uint64_t off)>;

// ReadAt over fd with pread; its errors name the file.
ReadAt pread_at(int fd, std::string name);

// Finds where the last N lines of a log start, reading its files backwards in blocks, newest
// first (LOG, LOG.1, LOG.2, ...), as one stream: a line cut by a rotation is one line, and a
// final newline ends the last line rather than starting an empty one. Never reads more than the
// blocks that hold those lines.
class TailFinder {
public:
  explicit TailFinder(uint64_t lines, size_t block = k_log_block)
      : m_wanted(lines), m_block(block == 0 ? 1 : block)
  {
  }
  // Scans the next older file (size bytes); returns the offset in it where the last lines
  // start, or nullopt when they start in an older file still (all of this one is shown).
  std::optional<uint64_t> scan(uint64_t size, const ReadAt& read);
  // Bytes read so far.
  uint64_t bytes_read() const { return m_read; }

private:
  uint64_t m_wanted; // newlines still to find; the last of them precedes the first line
  size_t m_block;
  bool m_seen_end = false; // the stream's last byte was looked at
  uint64_t m_read = 0;
  std::string m_buf;
};

// The last n lines of one file (without their newlines); empty when it cannot be read or is
// not a regular file.
std::vector<std::string> last_lines(int fd, uint64_t n);

// The end of a file, read with pread from the end.
struct Tail {
  std::string text;
  bool starts_mid_line = false; // the first line of text is cut
  bool whole_file = false;      // text starts at the file's first byte
};

// Reads at most max bytes from the end of fd; nullopt when fd is not a regular file.
std::optional<Tail> read_tail(int fd, size_t max);

} // namespace pg
