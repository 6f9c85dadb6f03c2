// stress_job: the supervised job of the stress suite. Each run appends one fixed-width line
// "N RUN_ID" to JOURNAL, N being the number of lines already there (the run's number, from 0),
// then ends as end_of_run(N) in stress_end.h says, so a test knows every run's exact status.
//   stress_job JOURNAL [--mixed] [--hold MS] [--storm N PIDS] [--live-from R]
//   --mixed       statuses mix exit codes 0..255 and signals; otherwise nonzero exit codes only
//   --hold MS     every other run (drawn from the run id) ignores SIGTERM (a parent-death
//                 signal does not end it) and lives a pseudo-random 0..MS ms before ending;
//                 the others end at once
//   --storm N PIDS  before ending, fork a child that forks N grandchildren and exits at once
//                 (they are orphaned to the nearest subreaper: the supervisor), write their
//                 pids to PIDS.RUN, then release them all at the same moment: each exits
//   --live-from R runs numbered R and later sleep until killed instead of ending
// Usage errors exit 64; an unexpected failure 70. Statically linked outside sanitized builds,
// so a run costs next to nothing beyond the supervisor's own work.
#include "stress_end.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

constexpr int k_usage = 64;
constexpr int k_failure = 70;

void sleep_ms(long ms)
{
  timespec left{ms / 1000, (ms % 1000) * 1'000'000};
  while (::nanosleep(&left, &left) < 0 && errno == EINTR) {
  }
}

bool write_whole(int fd, const char* data, size_t len)
{
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Appends this run's line; returns its number.
long journal(const char* path, const char* run_id)
{
  int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) < 0) {
    ::_exit(k_failure);
  }
  const long n = static_cast<long>(st.st_size) / pg::stress::k_journal_line % 10'000'000'000;
  char line[64];
  std::snprintf(line, sizeof line, "%010ld %-*.*s\n", n, pg::stress::k_run_id_width,
                pg::stress::k_run_id_width, run_id);
  if (!write_whole(fd, line, pg::stress::k_journal_line)) {
    ::_exit(k_failure);
  }
  ::close(fd);
  return n;
}

// N grandchildren orphaned to the supervisor, their pids in pids_path, then all released.
void storm(long count, const char* pids_path)
{
  int go[2];
  int pids[2];
  if (::pipe(go) < 0 || ::pipe(pids) < 0) {
    ::_exit(k_failure);
  }
  const pid_t mid = ::fork();
  if (mid < 0) {
    ::_exit(k_failure);
  }
  if (mid == 0) {
    ::close(go[1]);
    ::close(pids[0]);
    for (long i = 0; i < count; ++i) {
      const pid_t p = ::fork();
      if (p == 0) {
        ::close(pids[1]); // else the job would wait for the end of this pipe as long as we live
        char c = 0;
        while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(static_cast<int>(i % 4)); // EOF: the job let go of the pipe
      }
      if (p < 0 || !write_whole(pids[1], reinterpret_cast<const char*>(&p), sizeof p)) {
        ::_exit(k_failure);
      }
    }
    ::_exit(0); // the grandchildren are orphans now
  }
  ::close(go[0]);
  ::close(pids[1]);
  std::string text;
  pid_t p = 0;
  for (;;) {
    ssize_t n = ::read(pids[0], &p, sizeof p);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n != static_cast<ssize_t>(sizeof p)) {
      break;
    }
    text += std::to_string(p) + "\n";
  }
  int ws = 0;
  while (::waitpid(mid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
    ::_exit(k_failure);
  }
  const std::string tmp = std::string(pids_path) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || !write_whole(fd, text.data(), text.size()) || ::close(fd) < 0 ||
      ::rename(tmp.c_str(), pids_path) < 0) {
    ::_exit(k_failure);
  }
  ::close(go[1]); // every grandchild reads EOF and exits, all at once
}

[[noreturn]] void end(const pg::stress::End& e)
{
  if (e.signal == 0) {
    ::_exit(e.code);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(e.signal, &dfl, nullptr);
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, e.signal);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(e.signal);
  ::_exit(125);
}

[[noreturn]] void usage()
{
  std::fputs("usage: stress_job JOURNAL [--mixed] [--hold MS] [--storm N PIDS] [--live-from R]\n",
             stderr);
  ::_exit(k_usage);
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 2) {
    usage();
  }
  bool mixed = false;
  long hold_ms = -1;
  long storm_count = 0;
  const char* storm_pids = nullptr;
  long live_from = -1;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mixed") == 0) {
      mixed = true;
    } else if (std::strcmp(argv[i], "--hold") == 0 && i + 1 < argc) {
      hold_ms = std::atol(argv[++i]);
    } else if (std::strcmp(argv[i], "--storm") == 0 && i + 2 < argc) {
      storm_count = std::atol(argv[++i]);
      storm_pids = argv[++i];
    } else if (std::strcmp(argv[i], "--live-from") == 0 && i + 1 < argc) {
      live_from = std::atol(argv[++i]);
    } else {
      usage();
    }
  }
  const char* run_id = std::getenv("PG_RUN_ID");
  const long n = journal(argv[1], run_id != nullptr ? run_id : "-");
  if (live_from >= 0 && n >= live_from) {
    for (;;) {
      ::pause();
    }
  }
  if (hold_ms >= 0) {
    unsigned long h = 5381;
    for (const char* c = run_id != nullptr ? run_id : ""; *c != '\0'; ++c) {
      h = h * 33 + static_cast<unsigned char>(*c);
    }
    if (h % 2 == 0) {
      ::signal(SIGTERM, SIG_IGN);
      sleep_ms(static_cast<long>((h / 2) % static_cast<unsigned long>(hold_ms + 1)));
    }
  }
  if (storm_count > 0) {
    storm(storm_count, (std::string(storm_pids) + "." + std::to_string(n)).c_str());
  }
  end(pg::stress::end_of_run(n, mixed));
}
