#include "ctl_pg_run.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pg {
namespace {

TEST(CtlPgRun, AChildsExitStatusIsReturned)
{
  EXPECT_EQ(run_and_wait({"/bin/sh", "-c", "exit 3"}, ChildOutput::None), 3);
  EXPECT_EQ(run_and_wait({"/bin/sh", "-c", "kill -TERM $$"}, ChildOutput::None), 128 + 15);
}

// exec takes C strings: an argument with a NUL byte would run cut short there ("exit 0" of
// "exit 0\0; exit 9"). It is refused before anything runs, and said.
TEST(CtlPgRun, AnArgumentHoldingANulByteIsNotRun)
{
  const std::string cut("exit 0\0; exit 9", 15);
  testing::internal::CaptureStderr();
  const int status = run_and_wait({"/bin/sh", "-c", cut}, ChildOutput::None);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 127);
  EXPECT_EQ(err, "pg-ctl: cannot run /bin/sh: an argument holds a NUL byte\n");
}

} // namespace
} // namespace pg
