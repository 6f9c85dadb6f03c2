#include "output.h"

#include "syscalls.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace pg {
namespace {

class OutputLogTest : public ::testing::Test {
protected:
  void SetUp() override
  {
    char tmpl[] = "/tmp/pg-output-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    m_path = m_dir + "/output.log";
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  OutputLog open_log(uint64_t max, unsigned keep, bool stamps, const std::string& path = "")
  {
    const std::string p = path.empty() ? m_path : path;
    const int flags = log_open_flags(true);
    UniqueFd fd(::open(p.c_str(), flags, 0600));
    EXPECT_TRUE(fd.valid()) << p;
    return OutputLog(p, std::move(fd), flags, max, keep, stamps);
  }
  std::string slurp(const std::string& p)
  {
    std::string out;
    read_file(p, out);
    return out;
  }
  bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

  std::string m_dir;
  std::string m_path;
};

TEST_F(OutputLogTest, AppendsWithoutRotationBelowTheLimit)
{
  OutputLog log = open_log(1024, 3, false);
  log.write("one\ntw");
  log.write("o\n");
  EXPECT_EQ(slurp(m_path), "one\ntwo\n");
  EXPECT_FALSE(exists(m_path + ".1"));
}

TEST_F(OutputLogTest, RotatesOnlyAtLineBoundariesAndLosesNothing)
{
  OutputLog log = open_log(20, 2, false);
  std::string all;
  for (int i = 0; i < 30; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    all += line;
    // Split each line across two writes: a rotation must never fall between the halves.
    log.write(std::string_view(line).substr(0, 3));
    log.write(std::string_view(line).substr(3));
  }
  const std::string kept = slurp(m_path + ".2") + slurp(m_path + ".1") + slurp(m_path);
  EXPECT_TRUE(all.ends_with(kept)) << kept;
  for (const auto& f : {m_path, m_path + ".1", m_path + ".2"}) {
    std::string text = slurp(f);
    ASSERT_FALSE(text.empty()) << f;
    EXPECT_EQ(text.back(), '\n') << f;
    EXPECT_EQ(text.substr(0, 5), "line ") << f;
  }
  EXPECT_FALSE(exists(m_path + ".3")); // --log-keep 2: the oldest are dropped
}

TEST_F(OutputLogTest, TimestampsPrefixEveryLine)
{
  OutputLog log = open_log(0, 3, true);
  log.write("a\nb");
  log.write("c\n");
  std::string text = slurp(m_path);
  // "2026-11-21T22:09:19.123Z a\n2026-...Z bc\n"
  ASSERT_EQ(text.size(), 2 * 25 + 5) << text;
  EXPECT_EQ(text[10], 'T');
  EXPECT_EQ(text.substr(23, 3), "Z a");
  EXPECT_EQ(text.substr(27 + 23, 4), "Z bc");
}

TEST_F(OutputLogTest, EveryLineOfAChunkGetsTheSameStampAndNothingElseChanges)
{
  OutputLog log = open_log(0, 3, true);
  std::string chunk;
  for (int i = 0; i < 1000; ++i) {
    chunk += "line " + std::to_string(i) + "\n";
  }
  log.write(chunk);
  log.write(chunk); // the second chunk reuses the first one's buffer
  std::string text = slurp(m_path);
  ASSERT_EQ(text.size(), 2 * (chunk.size() + 1000 * 25));
  std::string_view rest(text);
  for (int pass = 0; pass < 2; ++pass) {
    const std::string stamp(rest.substr(0, 25));
    EXPECT_EQ(stamp[10], 'T');
    EXPECT_TRUE(stamp.ends_with("Z ")) << stamp;
    for (int i = 0; i < 1000; ++i) {
      const std::string want = stamp + "line " + std::to_string(i) + "\n";
      ASSERT_EQ(rest.substr(0, want.size()), want) << "pass " << pass << " line " << i;
      rest.remove_prefix(want.size());
    }
  }
  EXPECT_TRUE(rest.empty());
}

TEST(StampPrefix, IsTheRfc3339TimeAndASpaceByteForByte)
{
  StampPrefix p;
  const WallTime t = *parse_rfc3339("2026-11-21T22:09:19.123Z");
  EXPECT_EQ(p.at(t), "2026-11-21T22:09:19.123Z ");
  EXPECT_EQ(p.at(t + std::chrono::microseconds(999)), format_rfc3339(t) + " ");
  const WallTime before_1970 = *parse_rfc3339("1969-12-31T23:59:59.001Z");
  EXPECT_EQ(p.at(before_1970), "1969-12-31T23:59:59.001Z ");
}

TEST(StampPrefix, FormatsAgainOnlyWhenThePrintedMillisecondChanges)
{
  StampPrefix p;
  const WallTime t = *parse_rfc3339("2026-11-21T22:09:19.998Z");
  EXPECT_EQ(p.at(t), "2026-11-21T22:09:19.998Z ");
  EXPECT_EQ(p.at(t + std::chrono::microseconds(400)), "2026-11-21T22:09:19.998Z ");
  EXPECT_EQ(p.at(t + std::chrono::nanoseconds(999'999)), "2026-11-21T22:09:19.998Z ");
  EXPECT_EQ(p.formats(), 1u);
  EXPECT_EQ(p.at(t + std::chrono::milliseconds(1)), "2026-11-21T22:09:19.999Z ");
  EXPECT_EQ(p.formats(), 2u);
  EXPECT_EQ(p.at(t + std::chrono::milliseconds(2)), "2026-11-21T22:09:20.000Z "); // next second
  EXPECT_EQ(p.formats(), 3u);
  EXPECT_EQ(p.at(t), "2026-11-21T22:09:19.998Z "); // the clock stepped back: formatted again
  EXPECT_EQ(p.formats(), 4u);
}

TEST_F(OutputLogTest, MarksGoOnALineOfTheirOwn)
{
  OutputLog log = open_log(0, 3, false);
  log.write("partial");
  log.mark("exit: code 1");
  log.write("next\n");
  std::string text = slurp(m_path);
  EXPECT_TRUE(text.starts_with("partial\n[pg-run ")) << text;
  EXPECT_TRUE(text.ends_with("] exit: code 1\nnext\n")) << text;
}

TEST_F(OutputLogTest, NeverRotatesWhatIsNotARegularFile)
{
  OutputLog log = open_log(4, 3, false, "/dev/null");
  log.write("more than four bytes\n");
  log.write("again\n");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_FALSE(exists("/dev/null.1"));
  EXPECT_EQ(log.dropped(), 0u);
}

TEST_F(OutputLogTest, LastLineIsTheLastCompleteNonBlankLineOfTheJob)
{
  OutputLog log = open_log(0, 0, true);
  EXPECT_EQ(log.last_line(), "");
  log.write("first\nsec");
  EXPECT_EQ(log.last_line(), "first");
  log.write("ond\n\n  \n");
  EXPECT_EQ(log.last_line(), "second"); // joined across writes, blank lines skipped
  log.write("a\nb\nunfinished");
  EXPECT_EQ(log.last_line(), "b");
  log.mark("exit: pid 1"); // our mark ends the job's line; it is not the job's output
  EXPECT_EQ(log.last_line(), "unfinished");
  log.write(std::string(1000, 'x') + "\n");
  EXPECT_EQ(log.last_line(), std::string(256, 'x'));
}

} // namespace
} // namespace pg
