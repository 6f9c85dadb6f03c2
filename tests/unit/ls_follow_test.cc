#include "ls_follow.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace pg {
namespace {

class EventsTailTest : public ::testing::Test {
protected:
  void SetUp() override
  {
    char tmpl[] = "/tmp/pg-follow-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    m_fd = ::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(m_fd, 0);
  }
  void TearDown() override
  {
    ::close(m_fd);
    std::filesystem::remove_all(m_dir);
  }
  void append(const std::string& file, const std::string& text)
  {
    std::ofstream(m_dir + "/" + file, std::ios::app) << text;
  }
  static std::string line(const std::string& kind, int second)
  {
    return "{\"event\":\"" + kind + "\",\"at\":\"2026-12-06T10:00:0" + std::to_string(second) +
           "Z\"}\n";
  }
  static std::string kinds(const std::vector<JobEvent>& events)
  {
    std::string out;
    for (const auto& e : events) {
      out += (out.empty() ? "" : " ") + e.event["event"].get<std::string>();
    }
    return out;
  }

  std::string m_dir;
  int m_fd = -1;
};

TEST_F(EventsTailTest, StartsAtTheEndAndReadsOnlyCompleteAppendedLines)
{
  append("events.jsonl", line("start", 1));
  EventsTail tail(m_fd, "bot");
  EXPECT_EQ(kinds(tail.poll()), "");
  append("events.jsonl", line("exit", 2) + "{\"event\":\"sta");
  const auto got = tail.poll();
  EXPECT_EQ(kinds(got), "exit");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].job, "bot");
  append("events.jsonl", "rt\",\"at\":\"2026-12-06T10:00:03Z\"}\n");
  EXPECT_EQ(kinds(tail.poll()), "start");
}

TEST_F(EventsTailTest, FollowsAcrossRotationWithoutLosingTheOldFilesLastLines)
{
  EventsTail tail(m_fd, "bot"); // no file yet: followed from its start once it appears
  append("events.jsonl", line("start", 1));
  EXPECT_EQ(kinds(tail.poll()), "start");
  append("events.jsonl", line("exit", 2));
  std::filesystem::rename(m_dir + "/events.jsonl", m_dir + "/events.jsonl.1");
  EXPECT_EQ(kinds(tail.poll()), "exit"); // rotated, no new file yet
  append("events.jsonl", line("restart", 3) + line("start", 4));
  EXPECT_EQ(kinds(tail.poll()), "restart start");
  EXPECT_EQ(kinds(tail.poll()), "");
}

TEST_F(EventsTailTest, ALineLeftUnendedByARotatedFileIsDropped)
{
  append("events.jsonl", line("start", 1));
  EventsTail tail(m_fd, "bot");
  append("events.jsonl", "{\"event\":\"cut");
  std::filesystem::rename(m_dir + "/events.jsonl", m_dir + "/events.jsonl.1");
  append("events.jsonl", line("exit", 2));
  EXPECT_EQ(kinds(tail.poll()), "exit");
}

} // namespace
} // namespace pg
