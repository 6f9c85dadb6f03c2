// UniqueFd: the one owner of a file descriptor; ::close happens only here.
#pragma once

#include <unistd.h>

#include <optional>
#include <utility>

namespace pg {

class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept
  {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  int release() { return std::exchange(m_fd, -1); }

  // Closes the current descriptor (errors ignored: nothing useful can be done) and owns fd.
  void reset(int fd = -1)
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

// A pipe's two ends, each owned.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// pipe2(flags): both ends, or nothing (errno says why).
inline std::optional<Pipe> make_pipe(int flags)
{
  int p[2];
  if (::pipe2(p, flags) < 0) {
    return std::nullopt;
  }
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

} // namespace pg
