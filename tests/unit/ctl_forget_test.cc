#include "ctl_forget.h"

#include <gtest/gtest.h>

namespace pg {
namespace {

TEST(CtlForget, ForgettableFilesAreExactlyThoseOfPg)
{
  for (const char* f : {"state.json", "state.json.tmp.4242", "events.jsonl", "events.jsonl.1",
                        "events.jsonl.9", "lock", "output.log", "output.log.1", "output.log.12"}) {
    EXPECT_TRUE(forgettable_file(f)) << f;
  }
  for (const char* f : {"notes.txt", "state.json.bak", "events.jsonl.old", "output.log.1.gz",
                        "output.log.", "output.logx", "events.jsonl.1a", "lockfile", ""}) {
    EXPECT_FALSE(forgettable_file(f)) << f;
  }
}

} // namespace
} // namespace pg
