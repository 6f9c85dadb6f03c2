// bench_job: the supervised job of the benchmarks, the same binary for pg and for every peer.
//   bench_job stamp FILE   append "MONOTONIC_NS PID\n" to FILE (one write), then sleep forever
//   bench_job crash FILE   append one byte to FILE (one write), then exit 1 at once
//   bench_job write BYTES [LINE]  write BYTES to stdout in ~64 KiB writes of LINE-byte lines
//                          (128 by default; each write ends a line), exit 0
// The stamp is taken first thing in main, so it marks the moment the job has exec'd. No C++
// runtime and, outside sanitized builds, linked statically: the job's own start costs next to
// nothing, so what is measured is the supervisor (a dynamically linked C++ job spent more time
// in ld.so than its supervisor spent on it).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace {

int append(const char* path, const char* data, size_t len)
{
  int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, data, len) != static_cast<ssize_t>(len))
    return 70;
  ::close(fd);
  return 0;
}

int write_out(unsigned long long bytes, size_t line)
{
  static char buf[64 * 1024];
  if (line == 0 || line > sizeof buf)
    return 64;
  const size_t len = sizeof buf / line * line; // whole lines in every write
  std::memset(buf, 'x', len);
  for (size_t i = line - 1; i < len; i += line)
    buf[i] = '\n'; // log-like lines, not one 64 KiB line per write
  while (bytes > 0) {
    size_t n = bytes < len ? static_cast<size_t>(bytes) : len;
    size_t off = 0;
    while (off < n) {
      ssize_t w = ::write(1, buf + off, n - off);
      if (w < 0)
        return 70;
      off += static_cast<size_t>(w);
    }
    bytes -= n;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const char* mode = argc > 1 ? argv[1] : "";
  if (argc != 3 && !(argc == 4 && std::strcmp(mode, "write") == 0)) {
    std::fputs("usage: bench_job stamp FILE | crash FILE | write BYTES [LINE]\n", stderr);
    return 64;
  }
  if (std::strcmp(mode, "crash") == 0)
    return append(argv[2], "x", 1) == 0 ? 1 : 70;
  if (std::strcmp(mode, "write") == 0)
    return write_out(std::strtoull(argv[2], nullptr, 10),
                     argc == 4 ? std::strtoul(argv[3], nullptr, 10) : 128);
  if (std::strcmp(mode, "stamp") != 0)
    return 64;
  char line[64];
  int len = std::snprintf(line, sizeof line, "%lld %d\n",
                          static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec,
                          static_cast<int>(::getpid()));
  if (append(argv[2], line, static_cast<size_t>(len)) != 0)
    return 70;
  for (;;)
    ::pause();
}
