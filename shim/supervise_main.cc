// pg-supervise: the detached supervisor of one job, exec'd by pg-run's launcher (launch.cc) with
// the plan of its launch in a descriptor: `pg-supervise PLAN_FD NAME` (NAME only for ps). It
// links no command-line parser, no JSON reader and no logger, so that the process beside every
// job for its whole life is small (bench/RESULTS.md, "The supervisor's memory"). It answers the
// launcher on the report pipe once the job has exec'd (or when --wait is over), then supervises.
#include "run_status.h"
#include "supervise_plan.h"
#include "supervisor.h"
#include "syscalls.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

// std::terminate's default handler, as libstdc++'s says it but for the demangling of the
// exception's type: libstdc++'s links its demangler (37 kB of text, resident in every
// supervisor) for a line that no supervisor should ever write. Defined here, this one is linked
// instead of libstdc++'s (with the static libstdc++ of a release build; a sanitizer build's
// shared one may keep its own).
namespace __gnu_cxx {
void __verbose_terminate_handler()
{
  auto say = [](const char* s) { (void)!::write(STDERR_FILENO, s, std::strlen(s)); };
  static bool terminating = false;
  if (terminating) { // what() broke its noexcept: no second rethrow
    say("pg-supervise: terminate called recursively\n");
    std::abort();
  }
  terminating = true;
  say("pg-supervise: terminate called");
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      say(" after throwing: ");
      say(x.what());
    } catch (...) {
      say(" after throwing an exception that is no std::exception");
    }
  }
  say("\n");
  std::abort();
}
} // namespace __gnu_cxx

namespace {

std::string read_all(int fd)
{
  std::string text;
  char buf[4096]; // a plan is a few kB: the supervisor's stack stays small for its whole life
  for (;;) {
    const ssize_t n = pg::retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n <= 0) {
      return text;
    }
    text.append(buf, static_cast<size_t>(n));
  }
}

[[noreturn]] void supervise(pg::SupervisePlan& plan)
{
  using namespace pg;
  for (int fd : {plan.job_fd, plan.lock_fd, plan.log_fd, plan.report_fd}) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC); // the job and the hooks inherit none of them
  }
  const std::string name = plan.opt.name;
  const Millis wait = plan.opt.wait;
  UniqueFd report(plan.report_fd);
  std::string msg;
  bool started = false;
  Supervisor sup(std::move(plan.opt), std::move(plan.prior),
                 JobDir(name, plan.job_path, UniqueFd(plan.job_fd), plan.job_mount_id),
                 UniqueFd(plan.lock_fd), UniqueFd(plan.log_fd), false);
  try {
    if (auto err = sup.start()) {
      const std::string why = after_replace(plan.replaced, err->second);
      msg = fmt::format("fail\t{}\t{}\n", err->first, why);
    } else {
      started = true;
      if (wait.count() == 0) {
        msg = "ok\t" + dump_line(sup.receipt()) + "\n";
      }
    }
  } catch (const std::exception& e) {
    msg = fmt::format("fail\t1\t{}\n", e.what());
  }
  if (msg.empty()) {
    sup.report_after_wait(std::move(report), wait); // the loop answers the launcher
  } else {
    write_all(report.get(), msg);
    report.reset();
  }
  if (started) {
    try {
      sup.loop();
    } catch (const std::exception& e) {
      // Nobody above catches it here: on record, then out.
      sup.fatal(e.what());
      ::_exit(k_exit_env);
    }
  }
  std::exit(0);
}

} // namespace

int main(int argc, char** argv)
{
  int fd = -1;
  const std::string_view arg = argc == 3 ? argv[1] : "";
  if (auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), fd);
      argc != 3 || ec != std::errc() || p != arg.data() + arg.size() || fd < 3) {
    std::fputs("pg-supervise: the supervisor pg-run starts for a detached job; run pg-run\n",
               stderr);
    return pg::k_exit_usage;
  }
  pg::SupervisePlan plan;
  try {
    // The plan's text is freed before the supervision starts: it never returns here.
    const std::string text = read_all(fd);
    ::close(fd);
    plan = pg::read_plan(text);
  } catch (const std::exception& e) {
    // Not pg-run's plan: nothing to answer on (the launcher says the supervisor died).
    std::fprintf(stderr, "pg-supervise: %s\n", e.what());
    return pg::k_exit_usage;
  }
  if (plan.opt.name.empty() || plan.opt.def.argv.empty() || plan.job_fd < 0 || plan.lock_fd < 0 ||
      plan.log_fd < 0 || plan.report_fd < 0) {
    std::fputs("pg-supervise: not a plan pg-run wrote (no job, or no descriptors)\n", stderr);
    return pg::k_exit_usage;
  }
  supervise(plan);
}
