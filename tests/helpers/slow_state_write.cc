// A fault to inject, for the end-to-end tests (LD_PRELOAD): each renameat(2) onto the name
// "state.json" (relative to a directory descriptor, as pg writes its state) first waits
// PG_TEST_SLOW_STATE_MS milliseconds. A supervisor's state write then
// takes that long, so whatever it does before its write is done shows: a launcher answered
// before the final state was written returns while state.json still says "running".
// No part of process-guardian knows of it; it only wraps libc's renameat.
#include <dlfcn.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace {

using Renameat = int (*)(int, const char*, int, const char*);
std::atomic<Renameat> next_renameat{nullptr}; // looked up at the first call, not at load

} // namespace

extern "C" int renameat(int old_dirfd, const char* old_path, int new_dirfd, const char* new_path)
{
  Renameat next = next_renameat.load();
  if (next == nullptr) {
    next = reinterpret_cast<Renameat>(::dlsym(RTLD_NEXT, "renameat"));
    if (next == nullptr) {
      errno = ENOSYS;
      return -1;
    }
    next_renameat.store(next);
  }
  const char* ms = std::getenv("PG_TEST_SLOW_STATE_MS");
  if (ms != nullptr && new_path != nullptr && std::string_view(new_path) == "state.json") {
    const long n = std::strtol(ms, nullptr, 10);
    timespec ts{n / 1000, (n % 1000) * 1'000'000};
    while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
  }
  return next(old_dirfd, old_path, new_dirfd, new_path);
}
