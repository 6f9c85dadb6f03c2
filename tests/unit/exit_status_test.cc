#include "exit_status.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace pg {
namespace {

siginfo_t child_info(int code, int status)
{
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  info.si_signo = SIGCHLD;
  info.si_code = code;
  info.si_pid = 4242;
  info.si_status = status;
  return info;
}

// Runs f in a child and returns waitid's siginfo for its end.
template <typename F> siginfo_t real_end(F f)
{
  const pid_t pid = ::fork();
  if (pid == 0) {
    f();
    ::_exit(99);
  }
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) < 0 && errno == EINTR) {
  }
  return info;
}

TEST(ExitStatus, FromSiginfoReadsAnExitCode)
{
  EXPECT_EQ(ExitStatus::from_siginfo(child_info(CLD_EXITED, 3)), ExitStatus::exited(3));
  EXPECT_EQ(ExitStatus::from_siginfo(child_info(CLD_EXITED, 0)), ExitStatus::exited(0));
  EXPECT_EQ(ExitStatus::from_siginfo(child_info(CLD_EXITED, 255)), ExitStatus::exited(255));
}

TEST(ExitStatus, FromSiginfoReadsAKillingSignal)
{
  ExitStatus s = ExitStatus::from_siginfo(child_info(CLD_KILLED, SIGTERM));
  EXPECT_EQ(s.code, -1);
  EXPECT_EQ(s.signal, SIGTERM);
  EXPECT_FALSE(s.core_dumped);
}

TEST(ExitStatus, FromSiginfoReadsACoreDump)
{
  ExitStatus s = ExitStatus::from_siginfo(child_info(CLD_DUMPED, SIGSEGV));
  EXPECT_EQ(s.code, -1);
  EXPECT_EQ(s.signal, SIGSEGV);
  EXPECT_TRUE(s.core_dumped);
}

TEST(ExitStatus, FromSiginfoOfARealChildThatExited)
{
  siginfo_t info = real_end([] { ::_exit(7); });
  EXPECT_EQ(ExitStatus::from_siginfo(info), ExitStatus::exited(7));
}

TEST(ExitStatus, FromSiginfoOfARealChildThatWasKilled)
{
  siginfo_t info = real_end([] {
    signal(SIGKILL, SIG_DFL);
    ::raise(SIGKILL);
  });
  EXPECT_EQ(ExitStatus::from_siginfo(info), ExitStatus::killed(SIGKILL, false));
}

TEST(ExitStatus, SuccessOnlyForExitZero)
{
  EXPECT_TRUE(ExitStatus::exited(0).success());
  EXPECT_FALSE(ExitStatus::exited(1).success());
  EXPECT_FALSE(ExitStatus::killed(SIGTERM).success());
  EXPECT_FALSE(ExitStatus{}.success()); // the default is "no status yet", not success
}

TEST(ExitStatus, ShellStatusIsTheCodeOr128PlusTheSignal)
{
  EXPECT_EQ(ExitStatus::exited(0).shell_status(), 0);
  EXPECT_EQ(ExitStatus::exited(3).shell_status(), 3);
  EXPECT_EQ(ExitStatus::exited(255).shell_status(), 255);
  EXPECT_EQ(ExitStatus::killed(SIGKILL).shell_status(), 137);
  EXPECT_EQ(ExitStatus::killed(SIGTERM).shell_status(), 143);
  EXPECT_EQ(ExitStatus::killed(SIGSEGV, true).shell_status(), 139);
}

TEST(ExitStatus, DescribesCodesAndSignalsExactly)
{
  EXPECT_EQ(ExitStatus::exited(0).describe(), "exit code 0");
  EXPECT_EQ(ExitStatus::exited(3).describe(), "exit code 3");
  EXPECT_EQ(ExitStatus::killed(SIGTERM).describe(), "signal SIGTERM");
  EXPECT_EQ(ExitStatus::killed(SIGSEGV, true).describe(), "signal SIGSEGV (core dumped)");
  EXPECT_EQ(ExitStatus::killed(SIGRTMIN + 2).describe(), "signal SIGRTMIN+2");
}

TEST(ExitStatus, EqualityComparesEveryField)
{
  EXPECT_EQ(ExitStatus::killed(SIGSEGV, true), ExitStatus::killed(SIGSEGV, true));
  EXPECT_NE(ExitStatus::killed(SIGSEGV, true), ExitStatus::killed(SIGSEGV, false));
  EXPECT_NE(ExitStatus::exited(1), ExitStatus::exited(2));
  EXPECT_NE(ExitStatus::exited(9), ExitStatus::killed(9));
}

} // namespace
} // namespace pg
