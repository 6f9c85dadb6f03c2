#include "parse.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace pg {
namespace {

using Vars = std::vector<std::pair<std::string, std::string>>;

// ---- name_problem ----

TEST(NameProblem, AcceptsLettersDigitsDotsUnderscoresAndDashes)
{
  EXPECT_EQ(name_problem("a"), "");
  EXPECT_EQ(name_problem("Z"), "");
  EXPECT_EQ(name_problem("7"), "");
  EXPECT_EQ(name_problem("bot"), "");
  EXPECT_EQ(name_problem("my-bot_v1.2"), "");
  EXPECT_EQ(name_problem("a..b"), ""); // dots inside a name are harmless: it is one component
  EXPECT_EQ(name_problem("0day"), "");
}

TEST(NameProblem, AcceptsSixtyFourCharactersAndRefusesSixtyFive)
{
  EXPECT_EQ(name_problem(std::string(64, 'x')), "");
  EXPECT_NE(name_problem(std::string(65, 'x')), "");
  EXPECT_NE(name_problem("a" + std::string(64, '1')), "");
}

TEST(NameProblem, RefusesEmptyName)
{
  EXPECT_NE(name_problem(""), "");
}

TEST(NameProblem, RefusesPathSeparatorsAndDotDirectories)
{
  EXPECT_NE(name_problem("a/b"), "");
  EXPECT_NE(name_problem("/etc"), "");
  EXPECT_NE(name_problem(".."), "");
  EXPECT_NE(name_problem("."), "");
  EXPECT_NE(name_problem("../x"), "");
  EXPECT_NE(name_problem("x/.."), "");
}

TEST(NameProblem, RefusesLeadingDotDashOrUnderscore)
{
  EXPECT_NE(name_problem(".hidden"), "");
  EXPECT_NE(name_problem("-rf"), "");
  EXPECT_NE(name_problem("_x"), "");
}

TEST(NameProblem, RefusesControlCharactersSpacesAndNonAscii)
{
  EXPECT_NE(name_problem("a\nb"), "");
  EXPECT_NE(name_problem("a\tb"), "");
  EXPECT_NE(name_problem(std::string("a\0b", 3)), "");
  EXPECT_NE(name_problem("a\x01"), "");
  EXPECT_NE(name_problem("a\x7f"), "");
  EXPECT_NE(name_problem("a b"), "");
  EXPECT_NE(name_problem("caf\xc3\xa9"), "");
  EXPECT_NE(name_problem("a*"), "");
  EXPECT_NE(name_problem("a:b"), "");
}

TEST(NameProblem, ExplainsTheProblem)
{
  EXPECT_NE(name_problem(std::string(65, 'x')).find("64"), std::string::npos);
  EXPECT_NE(name_problem("a/b").find("letters"), std::string::npos);
}

// ---- parse_duration ----

TEST(ParseDuration, AcceptsEveryUnitAndCombinations)
{
  EXPECT_EQ(parse_duration("250ms"), Millis(250));
  EXPECT_EQ(parse_duration("90s"), Millis(90'000));
  EXPECT_EQ(parse_duration("30m"), Millis(1'800'000));
  EXPECT_EQ(parse_duration("8h"), Millis(28'800'000));
  EXPECT_EQ(parse_duration("2d"), Millis(172'800'000));
  EXPECT_EQ(parse_duration("1h30m"), Millis(5'400'000));
  EXPECT_EQ(parse_duration("15"), Millis(15'000));
  EXPECT_EQ(parse_duration("0"), Millis(0));
}

TEST(ParseDuration, CombinesEveryUnitInOneText)
{
  EXPECT_EQ(parse_duration("1d2h3m4s5ms"),
            Millis(86'400'000 + 2 * 3'600'000 + 3 * 60'000 + 4 * 1000 + 5));
  EXPECT_EQ(parse_duration("1m30s"), Millis(90'000));
  EXPECT_EQ(parse_duration("2s500ms"), Millis(2500));
}

TEST(ParseDuration, AcceptsZeroWithAUnit)
{
  EXPECT_EQ(parse_duration("0s"), Millis(0));
  EXPECT_EQ(parse_duration("0ms"), Millis(0));
  EXPECT_EQ(parse_duration("0d"), Millis(0));
}

TEST(ParseDuration, RefusesMalformedText)
{
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_FALSE(parse_duration("h"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("1h30"));
  EXPECT_FALSE(parse_duration("1.5h"));
}

TEST(ParseDuration, RefusesSpacesSignsAndUnknownUnits)
{
  EXPECT_FALSE(parse_duration(" 5s"));
  EXPECT_FALSE(parse_duration("5s "));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("+5s"));
  EXPECT_FALSE(parse_duration("5S"));
  EXPECT_FALSE(parse_duration("5H"));
  EXPECT_FALSE(parse_duration("5w"));
  EXPECT_FALSE(parse_duration("5sec"));
  EXPECT_FALSE(parse_duration("5mss"));
  EXPECT_FALSE(parse_duration("ms"));
  EXPECT_FALSE(parse_duration("1h-30m"));
}

TEST(ParseDuration, AcceptsExactlyTheLimit)
{
  EXPECT_EQ(k_max_duration, Millis(3'153'600'000'000)); // 36500 days
  EXPECT_EQ(parse_duration("36500d"), k_max_duration);
  EXPECT_EQ(parse_duration("876000h"), k_max_duration);
  EXPECT_EQ(parse_duration("52560000m"), k_max_duration);
  EXPECT_EQ(parse_duration("3153600000"), k_max_duration);
  EXPECT_EQ(parse_duration("3153600000000ms"), k_max_duration);
  EXPECT_EQ(parse_duration("36499d23h59m59s1000ms"), k_max_duration);
  EXPECT_EQ(parse_duration("36499d23h59m59s999ms"), k_max_duration - Millis(1));
  EXPECT_EQ(parse_duration("0000000000000000000000000036500d"), k_max_duration);
  EXPECT_EQ(format_duration(k_max_duration), "36500d");
  EXPECT_FALSE(duration_too_long("36500d"));
}

TEST(ParseDuration, RefusesLongerThanTheLimitAsTooLong)
{
  for (const char* text :
       {"36501d", "36500d1ms", "3153600000001ms", "3153600001", "876001h", "18250d18251d",
        "100000d", "106752d", "4503599627371s", "99999999999999999999", "18446744073709551616ms",
        "18446744073709551615d", "999999999999999999999999999999999999999d1ms",
        "36500d36500d36500d"}) {
    EXPECT_FALSE(parse_duration(text)) << text;
    EXPECT_TRUE(duration_too_long(text)) << text;
  }
}

TEST(ParseDuration, TellsMalformedFromTooLong)
{
  // Malformed anywhere wins: the size of a malformed text means nothing.
  for (const char* text : {"", "5x", "-5s", "1.5h", "1h30", "99999999999999999999x", "36501d-",
                           "36501d 1s", "36501d5", "-36501d", "36501w", "d36501", "36501dd"}) {
    EXPECT_FALSE(parse_duration(text)) << text;
    EXPECT_FALSE(duration_too_long(text)) << text;
  }
  for (const char* text : {"0", "1s", "90s", "36500d"}) {
    EXPECT_TRUE(parse_duration(text)) << text;
    EXPECT_FALSE(duration_too_long(text)) << text;
  }
}

// ---- format_duration ----

TEST(FormatDuration, RendersTheShortestExactForm)
{
  EXPECT_EQ(format_duration(Millis(0)), "0s");
  EXPECT_EQ(format_duration(Millis(250)), "250ms");
  EXPECT_EQ(format_duration(Millis(1000)), "1s");
  EXPECT_EQ(format_duration(Millis(90'000)), "1m30s");
  EXPECT_EQ(format_duration(Millis(5'400'000)), "1h30m");
  EXPECT_EQ(format_duration(Millis(3'600'000)), "1h");
  EXPECT_EQ(format_duration(Millis(172'800'000)), "2d");
  EXPECT_EQ(format_duration(Millis(86'400'000 + 3'600'000 + 60'000 + 1000 + 1)), "1d1h1m1s1ms");
  EXPECT_EQ(format_duration(Millis(1500)), "1s500ms");
}

TEST(FormatDuration, MarksNegativeDurations)
{
  EXPECT_EQ(format_duration(Millis(-1500)), "-1s500ms");
}

TEST(FormatDuration, RoundTripsThroughParseDuration)
{
  for (long long ms :
       {0LL, 1LL, 999LL, 1000LL, 59'999LL, 60'000LL, 3'599'999LL, 5'400'000LL, 86'399'999LL,
        86'400'000LL, 123'456'789'012LL, 3'153'599'999'999LL, 3'153'600'000'000LL}) {
    const std::string text = format_duration(Millis(ms));
    EXPECT_EQ(parse_duration(text), Millis(ms)) << text;
  }
}

// ---- parse_size ----

TEST(ParseSize, AcceptsBareBytesAndPowersOf1024)
{
  EXPECT_EQ(parse_size("0"), 0U);
  EXPECT_EQ(parse_size("512"), 512U);
  EXPECT_EQ(parse_size("10K"), 10U * 1024);
  EXPECT_EQ(parse_size("10M"), 10U * 1024 * 1024);
  EXPECT_EQ(parse_size("1G"), uint64_t{1} << 30);
  EXPECT_EQ(parse_size("3G"), uint64_t{3} << 30);
}

TEST(ParseSize, AcceptsLowercaseUnitsAndABytesSuffix)
{
  EXPECT_EQ(parse_size("10k"), 10U * 1024);
  EXPECT_EQ(parse_size("2m"), 2U * 1024 * 1024);
  EXPECT_EQ(parse_size("1g"), uint64_t{1} << 30);
  EXPECT_EQ(parse_size("100B"), 100U);
}

TEST(ParseSize, RefusesMalformedText)
{
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("K"));
  EXPECT_FALSE(parse_size("B"));
  EXPECT_FALSE(parse_size("-1"));
  EXPECT_FALSE(parse_size("-1K"));
  EXPECT_FALSE(parse_size("1.5M"));
  EXPECT_FALSE(parse_size("10T"));
  EXPECT_FALSE(parse_size(" 10K"));
  EXPECT_FALSE(parse_size("10 K"));
  EXPECT_FALSE(parse_size("1KK"));
  EXPECT_FALSE(parse_size("0x10"));
}

TEST(ParseSize, RefusesOverflow)
{
  EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_size("18446744073709551616"));
  EXPECT_EQ(parse_size("17179869183G"), uint64_t{17'179'869'183} << 30);
  EXPECT_FALSE(parse_size("17179869184G")); // exactly 2^64
  EXPECT_FALSE(parse_size("18014398509481984K"));
}

// ---- valid_env_key ----

TEST(ValidEnvKey, AcceptsShellVariableNames)
{
  EXPECT_TRUE(valid_env_key("A"));
  EXPECT_TRUE(valid_env_key("_"));
  EXPECT_TRUE(valid_env_key("_A1"));
  EXPECT_TRUE(valid_env_key("path"));
  EXPECT_TRUE(valid_env_key("PG_NAME"));
}

TEST(ReservedEnvKey, OnlyWhatPgRunSetsForTheJob)
{
  for (const char* k : {"PG_NAME", "PG_RUN_ID", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) {
    EXPECT_TRUE(reserved_env_key(k)) << k;
  }
  for (const char* k : {"PG_STATE_DIR", "PATH", "pg_name", "WATCHDOG", "NOTIFY_SOCKET2", ""}) {
    EXPECT_FALSE(reserved_env_key(k)) << k;
  }
}

TEST(ValidEnvKey, RefusesEmptyLeadingDigitAndPunctuation)
{
  EXPECT_FALSE(valid_env_key(""));
  EXPECT_FALSE(valid_env_key("1A"));
  EXPECT_FALSE(valid_env_key("A-B"));
  EXPECT_FALSE(valid_env_key("A.B"));
  EXPECT_FALSE(valid_env_key("A B"));
  EXPECT_FALSE(valid_env_key("A=B"));
  EXPECT_FALSE(valid_env_key("\xc3\x84"));
}

// ---- parse_env_file ----

TEST(ParseEnvFile, ReadsKeyValueLinesInOrder)
{
  auto r = parse_env_file("A=1\nB=two\nC=three four\n");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.vars, (Vars{{"A", "1"}, {"B", "two"}, {"C", "three four"}}));
}

TEST(ParseEnvFile, AcceptsALastLineWithoutNewlineAndCrlf)
{
  EXPECT_EQ(parse_env_file("A=1\r\nB=2").vars, (Vars{{"A", "1"}, {"B", "2"}}));
}

TEST(ParseEnvFile, SkipsCommentsAndBlankLines)
{
  auto r = parse_env_file("# a comment\n\n   \n  # indented comment\nA=1\n\t\nB=2\n");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.vars, (Vars{{"A", "1"}, {"B", "2"}}));
}

TEST(ParseEnvFile, AcceptsAnExportPrefix)
{
  auto r = parse_env_file("export A=1\nexport\tB=2\n");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.vars, (Vars{{"A", "1"}, {"B", "2"}}));
}

TEST(ParseEnvFile, TreatsExportWithoutASpaceAsAKey)
{
  EXPECT_EQ(parse_env_file("export=yes\n").vars, (Vars{{"export", "yes"}}));
  EXPECT_EQ(parse_env_file("exporter=1\n").vars, (Vars{{"exporter", "1"}}));
}

TEST(ParseEnvFile, StripsQuotesWithoutExpansion)
{
  auto r = parse_env_file("A=\"hello world\"\n"
                          "B='single quoted'\n"
                          "C=\"$HOME ${USER} `id` \\n\"\n"
                          "D='$HOME'\n"
                          "E=\"it's\"\n"
                          "F='say \"hi\"'\n");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.vars, (Vars{{"A", "hello world"},
                          {"B", "single quoted"},
                          {"C", "$HOME ${USER} `id` \\n"},
                          {"D", "$HOME"},
                          {"E", "it's"},
                          {"F", "say \"hi\""}}));
}

TEST(ParseEnvFile, KeepsEmptyValuesAndEqualsSignsInValues)
{
  auto r = parse_env_file("A=\nB=\"\"\nC=''\nD=x=y==z\nURL=http://h/?a=1&b=2\n");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.vars,
            (Vars{{"A", ""}, {"B", ""}, {"C", ""}, {"D", "x=y==z"}, {"URL", "http://h/?a=1&b=2"}}));
}

TEST(ParseEnvFile, KeepsUnquotedValuesVerbatim)
{
  auto r = parse_env_file("A=$HOME\nB=a'b\nC=#not a comment\n");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.vars, (Vars{{"A", "$HOME"}, {"B", "a'b"}, {"C", "#not a comment"}}));
}

TEST(ParseEnvFile, AnEmptyFileHasNoVariables)
{
  auto r = parse_env_file("");
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.vars.empty());
}

TEST(ParseEnvFile, ALineWithoutEqualsIsAnErrorNamingItsLine)
{
  auto r = parse_env_file("A=1\nnot a variable\nB=2\n");
  EXPECT_EQ(r.error.rfind("line 2: ", 0), 0U) << r.error;
  EXPECT_TRUE(r.vars.empty());
}

TEST(EscapeControl, ShowsControlBytesAsHexAndKeepsTheRest)
{
  EXPECT_EQ(escape_control("plain \xc3\xa9"), "plain \xc3\xa9");
  EXPECT_EQ(escape_control(std::string_view("a\nb\x1b[31m\x7f\0", 10)),
            "a\\x0ab\\x1b[31m\\x7f\\x00");
}

TEST(ParseEnvFile, ANulByteIsAnErrorNotATruncatedValue)
{
  auto r = parse_env_file(std::string_view("A=1\nB=x\0y\n", 10));
  EXPECT_EQ(r.error.rfind("line 2: a NUL byte", 0), 0U) << r.error;
  EXPECT_TRUE(r.vars.empty());
}

TEST(ParseEnvFile, ABadKeyIsShownWithItsControlBytesEscaped)
{
  auto r = parse_env_file("\x1b[31mRED=1\n");
  EXPECT_EQ(r.error, "line 1: '\\x1b[31mRED' is not a valid variable name");
}

TEST(ParseEnvFile, LineNumbersCountCommentsAndBlankLines)
{
  auto r = parse_env_file("# comment\n\nA=1\n\n# another\nBROKEN\n");
  EXPECT_EQ(r.error.rfind("line 6: ", 0), 0U) << r.error;
}

TEST(ParseEnvFile, AnInvalidKeyIsAnErrorNamingTheKey)
{
  auto r = parse_env_file("1A=x\n");
  EXPECT_EQ(r.error.rfind("line 1: ", 0), 0U) << r.error;
  EXPECT_NE(r.error.find("'1A'"), std::string::npos) << r.error;
  EXPECT_EQ(parse_env_file("A-B=1\n").error.rfind("line 1: ", 0), 0U);
  EXPECT_EQ(parse_env_file("=value\n").error.rfind("line 1: ", 0), 0U);
  EXPECT_EQ(parse_env_file("export\n").error.rfind("line 1: ", 0), 0U);
}

TEST(ParseEnvFile, AnUnterminatedOrStrayQuoteIsAnError)
{
  EXPECT_EQ(parse_env_file("A=1\nB=\"abc\n").error.rfind("line 2: ", 0), 0U);
  EXPECT_EQ(parse_env_file("A='abc\n").error.rfind("line 1: ", 0), 0U);
  EXPECT_EQ(parse_env_file("A=\"\n").error.rfind("line 1: ", 0), 0U);
  EXPECT_EQ(parse_env_file("A='\n").error.rfind("line 1: ", 0), 0U);
  EXPECT_EQ(parse_env_file("A=\"a\"b\"\n").error.rfind("line 1: ", 0), 0U);
  EXPECT_EQ(parse_env_file("A='a'b'\n").error.rfind("line 1: ", 0), 0U);
}

} // namespace
} // namespace pg
