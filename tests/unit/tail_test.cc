// The last lines of one file (pg-run's --wait report of an early end) through TailFinder.
#include "fd.h"
#include "tail.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace pg {
namespace {

// A temp file holding text, open for reading.
UniqueFd file_with(const std::string& text)
{
  FILE* f = std::tmpfile();
  EXPECT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fflush(f);
  UniqueFd fd(::dup(fileno(f)));
  std::fclose(f);
  return fd;
}

using Lines = std::vector<std::string>;

TEST(LastLines, TheLastNLinesWithoutTheirNewlines)
{
  EXPECT_EQ(last_lines(file_with("a\nb\nc\n").get(), 2), (Lines{"b", "c"}));
  EXPECT_EQ(last_lines(file_with("a\nb\nc").get(), 2), (Lines{"b", "c"})) << "no final newline";
  EXPECT_EQ(last_lines(file_with("a\nb\n").get(), 10), (Lines{"a", "b"}));
  EXPECT_EQ(last_lines(file_with("a\n\nb\n").get(), 3), (Lines{"a", "", "b"}));
  EXPECT_TRUE(last_lines(file_with("").get(), 3).empty());
  EXPECT_TRUE(last_lines(file_with("a\n").get(), 0).empty());
}

TEST(LastLines, ReadsOnlyTheTailOfALargeFile)
{
  std::string big(3 * k_log_block, 'x');
  big += "\nlast one\n";
  EXPECT_EQ(last_lines(file_with(big).get(), 1), (Lines{"last one"}));
}

TEST(LastLines, NothingFromWhatIsNoRegularFile)
{
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]);
  UniqueFd w(p[1]);
  EXPECT_TRUE(last_lines(r.get(), 3).empty());
}

} // namespace
} // namespace pg
