// pg-ctl logs on real jobs started by the built pg-run: the last lines (-n, across rotated
// files), errors (unknown job, a log that is not a regular file, a link in the job's directory),
// --json, and -f: following what the job writes, across a rotation (done by hand here, as
// pg-run would), ending with the supervisor, on SIGINT and SIGTERM, and when stdout is closed.
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <sstream>

namespace pg::e2e {
namespace {

const std::string k_pg_ctl = PG_CTL_BIN;

// The last n lines of text (a last line without a newline counts), as tail(1) prints them.
std::string last_lines(const std::string& text, size_t n)
{
  size_t start = text.size();
  size_t end = !text.empty() && text.back() == '\n' ? text.size() - 1 : text.size();
  for (size_t found = 0; found < n; ++found) {
    const size_t nl = end == 0 ? std::string::npos : text.rfind('\n', end - 1);
    if (nl == std::string::npos) {
      return text;
    }
    start = nl + 1;
    end = nl;
  }
  return n == 0 ? "" : text.substr(start);
}

size_t count_lines(const std::string& text)
{
  size_t n = 0;
  for (char c : text) {
    n += c == '\n' ? 1 : 0;
  }
  return n;
}

class PgCtlLogs : public E2e {
protected:
  // pg-ctl --state-dir STATE ARGS...

  std::string log_of(const std::string& name) const
  {
    return state_dir() + "/" + name + "/output.log";
  }

  // A running fake_job that printed lines "line1" ... "lineN", then sleeps; returns once its
  // log holds them all.
  void start_printer(const std::string& name, int lines, const Args& opts = {},
                     const std::string& log = "")
  {
    Args prints;
    for (int i = 1; i <= lines; ++i) {
      prints = prints + Args{"--print", "line" + std::to_string(i)};
    }
    const std::string pidfile = path(name + ".pid");
    launch(name, opts, prints + Args{"--pidfile", pidfile, "--sleep", "1h"});
    wait_pidfile(pidfile);
    wait_running(name);
    const std::string file = log.empty() ? log_of(name) : log;
    const std::string last = "line" + std::to_string(lines) + "\n";
    must(wait_until([&] { return contains(read_text(file), last); }, file + " holds " + last));
  }

  // pg-ctl ARGS... with its stdout going to the file out (so the test can watch it grow).
  std::unique_ptr<Child> start_to_file(const Args& args, const std::string& out)
  {
    return start(Args{"/bin/sh", "-c", "out=$1; shift; exec \"$@\" >\"$out\"", "sh", out} +
                 ctl(args));
  }

  bool wait_text(const std::string& file, const std::string& part)
  {
    return wait_until([&] { return contains(read_text(file), part); },
                      file + " holds '" + part + "'");
  }

  void stop(const std::string& name)
  {
    Result r = pg_ctl({"stop", name});
    EXPECT_EQ(r.status, 0) << r.err;
    wait_end(name);
  }
};

TEST_F(PgCtlLogs, ShowsTheLastLinesOfTheLog)
{
  start_printer("talker", 15);
  const std::string log = read_text(log_of("talker"));
  ASSERT_GE(count_lines(log), 15U);

  Result r = pg_ctl({"logs", "talker"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, last_lines(log, 10));
  EXPECT_EQ(r.err, "");

  r = pg_ctl({"logs", "talker", "-n", "3"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "line13\nline14\nline15\n");

  r = pg_ctl({"logs", "--lines", "1", "talker"});
  EXPECT_EQ(r.out, "line15\n");

  r = pg_ctl({"logs", "-n", "0", "talker"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");

  r = pg_ctl({"logs", "-n", "1000", "talker"});
  EXPECT_EQ(r.out, log);
}

TEST_F(PgCtlLogs, AWrongCountOrCommandLineIsAUsageError)
{
  start_printer("talker", 1);
  for (const char* bad : {"x", "-1", "1.5", "", "+3", "10k"}) {
    Result r = pg_ctl({"logs", "talker", "-n", bad});
    EXPECT_EQ(r.status, 2) << "-n '" << bad << "': " << r.out << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(pg_ctl({"logs"}).status, 2);
  EXPECT_EQ(pg_ctl({"logs", "talker", "other"}).status, 2);
  EXPECT_EQ(pg_ctl({"logs", "../talker"}).status, 2);
  Result r = pg_ctl({"logs", "--json", "-f", "talker"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--json")) << r.err;
}

TEST_F(PgCtlLogs, AnUnknownJobIsAnError)
{
  start_printer("talker", 1); // the state directory exists
  for (const Args& args : {Args{"logs", "ghost"}, Args{"logs", "-f", "ghost"}}) {
    Result r = pg_ctl(args);
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(starts_with(r.err, "pg-ctl: ghost: no such job")) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(PgCtlLogs, TheLastLinesComeFromTheRotatedFilesWhenTheLogHoldsFewer)
{
  start_printer("rot", 1);
  stop("rot");
  const std::string log = log_of("rot");
  write_text(log + ".2", "1\n2\n3\n", 0600);
  write_text(log + ".1", "4\n5\n6", 0600); // a line the rotation cut ...
  write_text(log, "-end\n7\n8\n", 0600);   // ... ends in the new file

  Result r = pg_ctl({"logs", "rot", "-n", "2"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "7\n8\n");
  r = pg_ctl({"logs", "rot", "-n", "4"});
  EXPECT_EQ(r.out, "5\n6-end\n7\n8\n");
  r = pg_ctl({"logs", "rot"});
  EXPECT_EQ(r.out, "1\n2\n3\n4\n5\n6-end\n7\n8\n");
}

TEST_F(PgCtlLogs, JsonPrintsOneObjectWithTheLines)
{
  start_printer("talker", 5);
  Result r = pg_ctl({"logs", "talker", "-n", "2", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  Json j = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["name"], "talker");
  EXPECT_EQ(j["log"], log_of("talker"));
  EXPECT_EQ(j["lines"], Json::array({"line4", "line5"}));
}

TEST_F(PgCtlLogs, ALogThatIsNotARegularFileIsRefused)
{
  const std::string pidfile = path("null.pid");
  launch("null", {"--log", "/dev/null"},
         {"--print", "gone", "--pidfile", pidfile, "--sleep", "1h"});
  wait_pidfile(pidfile);
  for (const Args& args : {Args{"logs", "null"}, Args{"logs", "-f", "null"}}) {
    Result r = pg_ctl(args);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "pg-ctl: null: /dev/null is not a regular file\n");
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(PgCtlLogs, ALinkInPlaceOfTheLogIsNotFollowed)
{
  start_printer("linked", 1);
  stop("linked");
  write_text(path("secret"), "secret\n", 0600);
  ASSERT_EQ(::unlink(log_of("linked").c_str()), 0);
  ASSERT_EQ(::symlink(path("secret").c_str(), log_of("linked").c_str()), 0);
  Result r = pg_ctl({"logs", "linked"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(starts_with(r.err, "pg-ctl: linked: cannot open " + log_of("linked"))) << r.err;
  EXPECT_FALSE(contains(r.out, "secret"));
}

TEST_F(PgCtlLogs, FollowingAJobThatIsNotRunningPrintsTheTailAndSaysSo)
{
  start_printer("ended", 3);
  stop("ended");
  const std::string log = read_text(log_of("ended"));
  Result r = pg_ctl({"logs", "-f", "-n", "2", "ended"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, last_lines(log, 2));
  EXPECT_EQ(r.err, "pg-ctl: ended: not running; not following\n");
}

TEST_F(PgCtlLogs, FollowPrintsWhatTheJobWritesUntilItsSupervisorEnds)
{
  for (const bool own_log : {false, true}) {
    SCOPED_TRACE(own_log ? "--log elsewhere" : "default log");
    const std::string name = own_log ? "elsewhere" : "talk";
    const std::string fifo = path(name + ".fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
    const std::string log = own_log ? path(name + ".log") : log_of(name);
    Args opts{"-n", name};
    if (own_log) {
      opts = opts + Args{"--log", log};
    }
    const std::string script =
        "echo first; read line <\"$1\"; echo \"$line\"; exec \"$2\" --sleep 1h";
    Result launched = run(pg_run(opts + Args{"/bin/sh", "-c", script, "sh", fifo, k_fake}));
    ASSERT_EQ(launched.status, 0) << launched.err;
    must(wait_text(log, "first\n"));

    const std::string out = path(name + ".out");
    auto follower = start_to_file({"logs", "-f", name}, out);
    must(wait_text(out, "first\n"));

    // The job is blocked in its read until the test writes: then it prints the line.
    int fd = -1;
    must(wait_until(
        [&] {
          fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
          return fd >= 0;
        },
        "the job opens its FIFO"));
    EXPECT_EQ(::write(fd, "second\n", 7), 7);
    ::close(fd);
    must(wait_text(out, "first\nsecond\n"));

    stop(name); // the supervisor's exit ends the follow, once its last lines are printed
    Result r = follower->finish();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(read_text(out), read_text(log)); // less than 10 lines at the start: all of it
  }
}

TEST_F(PgCtlLogs, FollowGoesOnAcrossARotation)
{
  start_printer("rot", 1);
  const std::string log = log_of("rot");
  const std::string before = read_text(log);
  ASSERT_LT(count_lines(before), 10U);

  const std::string out = path("rot.out");
  auto follower = start_to_file({"logs", "-f", "rot"}, out);
  must(wait_text(out, "line1\n"));

  // As pg-run rotates: LOG -> LOG.1, then a new LOG. The last lines of the old file, written
  // just before the rename, come first; then the new file from its start.
  auto append = [](const std::string& file, const std::string& text) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << file << ": " << std::strerror(errno);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  };
  append(log, "two\n");
  must(wait_text(out, "line1\ntwo\n"));
  append(log, "three\n");
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);
  append(log, "four\n");
  append(log, "five\n");
  must(wait_text(out, "five\n"));
  // And once more, twice in a row, whenever pg-ctl happens to look.
  append(log, "six\n");
  ASSERT_EQ(::rename((log + ".1").c_str(), (log + ".2").c_str()), 0);
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);
  append(log, "seven\n");
  ASSERT_EQ(::rename((log + ".2").c_str(), (log + ".3").c_str()), 0);
  ASSERT_EQ(::rename((log + ".1").c_str(), (log + ".2").c_str()), 0);
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);
  append(log, "eight\n");
  must(wait_text(out, "eight\n"));
  EXPECT_EQ(read_text(out), before + "two\nthree\nfour\nfive\nsix\nseven\neight\n");

  // The supervisor still writes to the file it holds (now LOG.3): its end is not in LOG.
  stop("rot");
  Result r = follower->finish();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_text(out), before + "two\nthree\nfour\nfive\nsix\nseven\neight\n");
}

TEST_F(PgCtlLogs, FollowEndsWhenItsOutputIsClosed)
{
  start_printer("talker", 5);
  // head exits after three lines while the job is quiet: pg-ctl must see the closed pipe.
  const std::string cmd =
      "{ \"$0\" --state-dir \"$1\" logs -f -n 3 talker; echo \"ctl=$?\" >&2; } | head -3";
  Result r = run({"/bin/sh", "-c", cmd, k_pg_ctl, state_dir()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "line3\nline4\nline5\n");
  EXPECT_EQ(r.err, "ctl=0\n");
}

TEST_F(PgCtlLogs, FollowEndsCleanlyOnSigintAndSigterm)
{
  start_printer("talker", 2);
  for (const int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig == SIGINT ? "SIGINT" : "SIGTERM");
    const std::string out = path("talker.out." + std::to_string(sig));
    auto follower = start_to_file({"logs", "-f", "talker"}, out);
    must(wait_text(out, "line2\n")); // handlers are in place before the tail is printed
    ASSERT_EQ(::kill(follower->pid(), sig), 0);
    Result r = follower->finish();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
  }
}

} // namespace
} // namespace pg::e2e
