#include "tail.h"

#include "syscalls.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace pg {

ReadAt pread_at(int fd, std::string name)
{
  return [fd, name = std::move(name)](char* buf, size_t len, uint64_t off) {
    size_t got = 0;
    while (got < len) {
      const ssize_t n = retry_eintr(
          [&] { return ::pread(fd, buf + got, len - got, static_cast<off_t>(off + got)); });
      if (n < 0) {
        throw std::system_error(errno, std::generic_category(), "read " + name);
      }
      if (n == 0) {
        break; // shorter than it was: the reader scans what there is
      }
      got += static_cast<size_t>(n);
    }
    return got;
  };
}

std::optional<uint64_t> TailFinder::scan(uint64_t size, const ReadAt& read)
{
  if (m_wanted == 0) {
    return size; // no lines: the output starts at the very end
  }
  m_buf.resize(m_block);
  uint64_t end = size;
  while (end > 0) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(m_block, end));
    const uint64_t off = end - len;
    size_t i = read(m_buf.data(), len, off);
    m_read += i;
    if (!m_seen_end && i > 0) {
      m_seen_end = true;
      if (m_buf[i - 1] == '\n') {
        --i; // the newline that ends the last line
      }
    }
    while (i > 0) {
      const void* nl = ::memrchr(m_buf.data(), '\n', i);
      if (nl == nullptr) {
        break;
      }
      i = static_cast<size_t>(static_cast<const char*>(nl) - m_buf.data());
      if (--m_wanted == 0) {
        return off + i + 1;
      }
    }
    end = off;
  }
  return std::nullopt;
}

std::vector<std::string> last_lines(int fd, uint64_t n)
{
  std::vector<std::string> lines;
  struct stat st {};
  if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    return lines;
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  try {
    TailFinder finder(n);
    const ReadAt read = pread_at(fd, "the log");
    const uint64_t from = finder.scan(size, read).value_or(0);
    std::string text(static_cast<size_t>(size - from), '\0');
    text.resize(read(text.data(), text.size(), from));
    if (!text.empty() && text.back() == '\n') {
      text.pop_back();
    }
    size_t pos = 0;
    while (n > 0 && pos <= text.size() && !text.empty()) {
      const size_t nl = text.find('\n', pos);
      lines.push_back(text.substr(pos, nl == std::string::npos ? nl : nl - pos));
      if (nl == std::string::npos) {
        break;
      }
      pos = nl + 1;
    }
  } catch (const std::system_error&) {
    lines.clear(); // unreadable: no lines to show
  }
  return lines;
}

std::optional<Tail> read_tail(int fd, size_t max)
{
  struct stat st {};
  if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  // One byte more than asked, to learn whether the tail starts on a line boundary.
  const uint64_t start = size > max ? size - max - 1 : 0;
  Tail tail;
  tail.text.resize(static_cast<size_t>(size - start));
  size_t got = 0;
  while (got < tail.text.size()) {
    ssize_t n = pg::retry_eintr([&] {
      return ::pread(fd, tail.text.data() + got, tail.text.size() - got,
                     static_cast<off_t>(start + got));
    });
    if (n <= 0) {
      break; // truncated (rotated) under us, or unreadable: show what we have
    }
    got += static_cast<size_t>(n);
  }
  tail.text.resize(got);
  tail.whole_file = start == 0;
  if (start > 0 && !tail.text.empty()) {
    tail.starts_mid_line = tail.text.front() != '\n';
    tail.text.erase(0, 1);
  }
  return tail;
}

} // namespace pg
