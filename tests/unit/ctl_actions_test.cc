#include "ctl_actions.h"
#include "ctl_logs.h"

#include "control.h"
#include "syscalls.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace pg {
namespace {

ExitRecord stopped_by_signal(int sig, double runtime)
{
  ExitRecord e;
  e.pid = 42;
  e.status = ExitStatus::killed(sig);
  e.runtime_s = runtime;
  e.outcome = Outcome::Stopped;
  e.cause = "requested: stop by pg-ctl (pid 7); signal " + std::to_string(sig);
  return e;
}

JobState final_state(RunState s, std::optional<ExitRecord> last)
{
  JobState st;
  st.name = "bot";
  st.state = s;
  st.last_exit = std::move(last);
  return st;
}

TEST(CtlStopRequest, ZeroMeansTheJobsOwnTimeout)
{
  EXPECT_EQ(stop_request_arg(std::nullopt), 0U);
  EXPECT_EQ(stop_request_arg(Millis(0)), 1U);
  EXPECT_EQ(stop_request_arg(Millis(300)), 301U);
}

TEST(CtlStopRequest, TheLongestTimeoutSurvivesTheRequestEncoding)
{
  auto arg = stop_request_arg(k_max_stop_timeout);
  ASSERT_TRUE(arg);
  auto back = decode_request(encode_request(Request{Verb::Stop, *arg}));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->arg, *arg);
  EXPECT_FALSE(stop_request_arg(k_max_stop_timeout + Millis(1)));
}

TEST(CtlDescribeEnd, SaysTheSignalOrCodeAndTheRuntime)
{
  EXPECT_EQ(describe_end(stopped_by_signal(SIGTERM, 12.34)), "signal SIGTERM after 12.3s");
  ExitRecord e = stopped_by_signal(SIGTERM, 125);
  e.status = ExitStatus::exited(0);
  EXPECT_EQ(describe_end(e), "exit code 0 after 2m05s");
}

TEST(CtlStoppedMessage, ARequestedStopShowsHowTheRunEnded)
{
  auto o = stopped_message(final_state(RunState::Stopped, stopped_by_signal(SIGTERM, 1.25)),
                           std::nullopt);
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.message, "stopped (signal SIGTERM after 1.2s)");
}

TEST(CtlStoppedMessage, AKillAfterTheTimeoutSaysSo)
{
  auto st = final_state(RunState::Stopped, stopped_by_signal(SIGKILL, 13.1));
  auto o = stopped_message(st, Millis(300));
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.message, "stopped (signal SIGKILL after 13.1s; it outlived the 300ms stop timeout)");
  EXPECT_EQ(stopped_message(st, std::nullopt).message, "stopped (signal SIGKILL after 13.1s)");
}

TEST(CtlStoppedMessage, AStopDuringBackoffNamesTheLastRun)
{
  ExitRecord failed;
  failed.status = ExitStatus::exited(1);
  failed.outcome = Outcome::Failed;
  failed.cause = "exit: code 1";
  auto o = stopped_message(final_state(RunState::Stopped, failed), std::nullopt);
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.message, "stopped during backoff (its last run: exit code 1 after 0.0s)");
}

TEST(CtlStoppedMessage, ASupervisorGoneWithoutAnEndIsAFailure)
{
  auto o = stopped_message(final_state(RunState::Running, std::nullopt), std::nullopt);
  EXPECT_FALSE(o.ok);
}

TEST(CtlJson, CarriesTheLastExitForStopOnly)
{
  CtlResult r;
  r.name = "bot";
  r.action = "stop";
  r.ok = true;
  r.message = "stopped (signal SIGTERM after 1.0s)";
  r.state = RunState::Stopped;
  r.last_exit = stopped_by_signal(SIGTERM, 1);
  auto j = to_json(r);
  EXPECT_EQ(j["name"], "bot");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["state"], "stopped");
  EXPECT_TRUE(j["pid"].is_null());
  EXPECT_EQ(j["last_exit"]["signal"], "SIGTERM");
  EXPECT_EQ(j["last_exit"]["outcome"], "stopped");

  r.action = "signal";
  r.pid = 42;
  j = to_json(r);
  EXPECT_EQ(j["pid"], 42);
  EXPECT_FALSE(j.contains("last_exit"));
}

TEST(CtlExitStatus, UnreadableBeatsFailedBeatsDone)
{
  CtlResult done;
  done.ok = true;
  CtlResult failed;
  CtlResult unreadable;
  unreadable.unreadable = true;
  EXPECT_EQ(ctl_exit_status({done, done}), k_ctl_exit_ok);
  EXPECT_EQ(ctl_exit_status({done, failed}), k_ctl_exit_failed);
  EXPECT_EQ(ctl_exit_status({failed, unreadable, done}), k_ctl_exit_state_dir);
}

TEST(CtlNames, KeepsTheFirstOfEachName)
{
  EXPECT_EQ(unique_names({"b", "a", "b", "c", "a"}), (std::vector<std::string>{"b", "a", "c"}));
}

// ---- logs

ReadAt string_reader(const std::string& text, uint64_t* reads = nullptr)
{
  return [&text, reads](char* buf, size_t len, uint64_t off) {
    if (reads != nullptr) {
      ++*reads;
    }
    const size_t n = off >= text.size() ? 0 : std::min<size_t>(len, text.size() - off);
    std::memcpy(buf, text.data() + off, n);
    return n;
  };
}

// The last n lines of files (newest first, as LOG, LOG.1, ...), as pg-ctl logs prints them.
std::string tail_of(const std::vector<std::string>& files, uint64_t n, size_t block)
{
  TailFinder finder(n, block);
  size_t from = files.size();
  uint64_t offset = 0;
  for (size_t k = 0; k < files.size(); ++k) {
    if (auto at = finder.scan(files[k].size(), string_reader(files[k]))) {
      from = k;
      offset = *at;
      break;
    }
  }
  if (from == files.size()) {
    from = files.size() - 1; // all of every file
  }
  std::string out = files[from].substr(offset);
  for (size_t k = from; k-- > 0;) {
    out += files[k];
  }
  return out;
}

// Every block size gives the same answer: 1 byte, odd sizes, and the real 64 KiB.
void expect_tail(const std::vector<std::string>& files, uint64_t n, const std::string& want)
{
  for (size_t block : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, k_log_block}) {
    EXPECT_EQ(tail_of(files, n, block), want) << "n=" << n << " block=" << block;
  }
}

TEST(CtlLogsTail, TheLastLinesOfOneFile)
{
  expect_tail({"a\nb\nc\n"}, 2, "b\nc\n");
  expect_tail({"a\nb\nc\n"}, 3, "a\nb\nc\n");
  expect_tail({"a\nb\nc\n"}, 10, "a\nb\nc\n");
  expect_tail({"a\nb\nc\n"}, 1, "c\n");
}

TEST(CtlLogsTail, ALastLineWithoutNewlineCountsAsALine)
{
  expect_tail({"a\nb\nc"}, 2, "b\nc");
  expect_tail({"abc"}, 1, "abc");
  expect_tail({"abc"}, 5, "abc");
}

TEST(CtlLogsTail, ZeroLinesIsNothing)
{
  expect_tail({"a\nb\n"}, 0, "");
  expect_tail({"a\nb"}, 0, "");
  expect_tail({"", "a\n"}, 0, "");
}

TEST(CtlLogsTail, EmptyLinesAreLines)
{
  expect_tail({"\n\n\n"}, 2, "\n\n");
  expect_tail({"a\n\n"}, 1, "\n");
  expect_tail({"\n"}, 1, "\n");
  expect_tail({""}, 3, "");
}

TEST(CtlLogsTail, FewerLinesInTheLogAreTakenFromTheRotatedFilesInOrder)
{
  const std::vector<std::string> files{"e\nf\n", "c\nd\n", "a\nb\n"}; // LOG, LOG.1, LOG.2
  expect_tail(files, 2, "e\nf\n");
  expect_tail(files, 3, "d\ne\nf\n");
  expect_tail(files, 5, "b\nc\nd\ne\nf\n");
  expect_tail(files, 6, "a\nb\nc\nd\ne\nf\n");
  expect_tail(files, 100, "a\nb\nc\nd\ne\nf\n");
}

TEST(CtlLogsTail, ALineCutByARotationIsOneLine)
{
  // The supervisor cuts a line longer than its slack: its start is in LOG.1, its end in LOG.
  const std::vector<std::string> files{"rest\nx\n", "a\nhalf-"};
  expect_tail(files, 2, "half-rest\nx\n");
  expect_tail(files, 3, "a\nhalf-rest\nx\n");
}

TEST(CtlLogsTail, AnEmptyLogJustAfterARotationShowsTheRotatedFile)
{
  expect_tail({"", "a\nb\nc\n"}, 2, "b\nc\n");
  expect_tail({"", "", "a\nb\n"}, 1, "b\n");
}

TEST(CtlLogsTail, ReadsOnlyTheBlocksThatHoldTheLines)
{
  // A 100 MB log of 100-byte lines: ten lines are in the last block.
  constexpr uint64_t size = 100ULL * 1024 * 1024;
  uint64_t reads = 0;
  ReadAt read = [&reads](char* buf, size_t len, uint64_t off) {
    ++reads;
    for (size_t i = 0; i < len; ++i) {
      buf[i] = (off + i) % 100 == 99 ? '\n' : 'x';
    }
    return len;
  };
  TailFinder finder(10);
  auto at = finder.scan(size, read);
  ASSERT_TRUE(at);
  EXPECT_EQ(*at, size - 1000);
  EXPECT_EQ(reads, 1U);
  EXPECT_LE(finder.bytes_read(), k_log_block);

  // Two thousand lines need the blocks that hold them, no more.
  TailFinder more(2000);
  reads = 0;
  at = more.scan(size, read);
  ASSERT_TRUE(at);
  EXPECT_EQ(*at, size - 200'000);
  EXPECT_EQ(reads, (200'000 + k_log_block - 1) / k_log_block);
}

TEST(CtlLogsCount, AcceptsDigitsOnly)
{
  EXPECT_EQ(parse_line_count("0"), 0U);
  EXPECT_EQ(parse_line_count("10"), 10U);
  EXPECT_EQ(parse_line_count("007"), 7U);
  EXPECT_EQ(parse_line_count("18446744073709551615"), UINT64_MAX);
  for (const char* bad :
       {"", "-1", "+1", "1.5", "x", "1e3", " 1", "1 ", "all", "18446744073709551616"}) {
    EXPECT_FALSE(parse_line_count(bad)) << bad;
  }
}

// A job directory in a fresh temporary directory, and the log files in it.
class CtlLogsFiles : public ::testing::Test {
protected:
  void SetUp() override
  {
    char templ[] = "/tmp/pg-logs-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    m_tmp = templ;
    m_job = m_tmp + "/job";
    ASSERT_EQ(::mkdir(m_job.c_str(), 0700), 0);
    m_dir.emplace("job", m_job, UniqueFd(::open(m_job.c_str(), O_RDONLY | O_DIRECTORY)));
  }
  void TearDown() override
  {
    std::error_code ec;
    std::filesystem::remove_all(m_tmp, ec);
  }

  std::string log() const { return m_job + "/output.log"; }
  void write(const std::string& file, const std::string& text, bool append = false)
  {
    std::ofstream(m_job + "/" + file, append ? std::ios::app : std::ios::trunc) << text;
  }
  // As the supervisor rotates: LOG.(keep-1) -> LOG.keep, ..., LOG -> LOG.1, then a new LOG.
  void rotate(unsigned keep, const std::string& first_text)
  {
    for (unsigned i = keep; i >= 2; --i) {
      ::rename((log() + "." + std::to_string(i - 1)).c_str(),
               (log() + "." + std::to_string(i)).c_str());
    }
    ASSERT_EQ(::rename(log().c_str(), (log() + ".1").c_str()), 0);
    write("output.log", first_text);
  }

  // write_log without following, its output captured.
  LogsResult tail(const std::string& path, uint64_t lines, std::string& out, bool json = false)
  {
    UniqueFd mem(::memfd_create("out", MFD_CLOEXEC));
    LogsOptions opt;
    opt.lines = lines;
    opt.json = json;
    LogsResult r = write_log(*m_dir, path, opt, -1, mem.get());
    out.clear();
    char buf[4096];
    ssize_t n = 0;
    for (off_t off = 0; (n = ::pread(mem.get(), buf, sizeof buf, off)) > 0; off += n) {
      out.append(buf, static_cast<size_t>(n));
    }
    return r;
  }

  std::string m_tmp;
  std::string m_job;
  std::optional<JobDir> m_dir;
};

TEST_F(CtlLogsFiles, TheTailSpansTheRotatedFiles)
{
  write("output.log", "7\n8\n");
  write("output.log.1", "4\n5\n6\n");
  write("output.log.2", "1\n2\n3\n");
  std::string out;
  EXPECT_EQ(tail(log(), 2, out).status, k_ctl_exit_ok);
  EXPECT_EQ(out, "7\n8\n");
  tail(log(), 4, out);
  EXPECT_EQ(out, "5\n6\n7\n8\n");
  LogsResult r = tail(log(), 10, out);
  EXPECT_EQ(r.status, k_ctl_exit_ok) << r.error;
  EXPECT_EQ(out, "1\n2\n3\n4\n5\n6\n7\n8\n");
  tail(log(), 0, out);
  EXPECT_EQ(out, "");
}

TEST_F(CtlLogsFiles, TheHistoryEndsAtTheFirstMissingRotatedFile)
{
  write("output.log", "3\n");
  write("output.log.2", "stale\n"); // no LOG.1: LOG.2 is left from an older history
  std::string out;
  tail(log(), 10, out);
  EXPECT_EQ(out, "3\n");
}

TEST_F(CtlLogsFiles, AnAbsentLogJustAfterARotationShowsLogDot1)
{
  write("output.log.1", "1\n2\n");
  std::string out;
  LogsResult r = tail(log(), 1, out);
  EXPECT_EQ(r.status, k_ctl_exit_ok) << r.error;
  EXPECT_EQ(out, "2\n");
}

TEST_F(CtlLogsFiles, AMissingLogIsAnError)
{
  std::string out;
  LogsResult r = tail(log(), 10, out);
  EXPECT_EQ(r.status, k_ctl_exit_failed);
  EXPECT_EQ(r.error, log() + " does not exist");
}

TEST_F(CtlLogsFiles, ALogThatIsNotARegularFileIsAnError)
{
  std::string out;
  LogsResult r = tail("/dev/null", 10, out);
  EXPECT_EQ(r.status, k_ctl_exit_failed);
  EXPECT_EQ(r.error, "/dev/null is not a regular file");
  ASSERT_EQ(::mkfifo((m_tmp + "/fifo").c_str(), 0600), 0);
  r = tail(m_tmp + "/fifo", 10, out); // opened without blocking, then refused
  EXPECT_EQ(r.status, k_ctl_exit_failed);
  EXPECT_EQ(r.error, m_tmp + "/fifo is not a regular file");
}

TEST_F(CtlLogsFiles, ALinkInTheJobDirectoryIsNotFollowed)
{
  std::ofstream(m_tmp + "/secret") << "secret\n";
  ASSERT_EQ(::symlink((m_tmp + "/secret").c_str(), log().c_str()), 0);
  std::string out;
  LogsResult r = tail(log(), 10, out);
  EXPECT_EQ(r.status, k_ctl_exit_failed);
  EXPECT_NE(r.error.find("cannot open " + log()), std::string::npos) << r.error;
  EXPECT_EQ(out, "");
}

TEST_F(CtlLogsFiles, ALogChosenElsewhereIsOpenedAsItsPathSays)
{
  std::ofstream(m_tmp + "/real.log") << "a\nb\n";
  ASSERT_EQ(::symlink((m_tmp + "/real.log").c_str(), (m_tmp + "/chosen.log").c_str()), 0);
  std::string out;
  LogsResult r = tail(m_tmp + "/chosen.log", 1, out);
  EXPECT_EQ(r.status, k_ctl_exit_ok) << r.error;
  EXPECT_EQ(out, "b\n");
}

TEST_F(CtlLogsFiles, JsonHoldsTheLinesWithInvalidUtf8Replaced)
{
  write("output.log", "a\nb\xff\nlast without newline");
  std::string out;
  LogsResult r = tail(log(), 2, out, true);
  EXPECT_EQ(r.status, k_ctl_exit_ok) << r.error;
  EXPECT_EQ(out, "");
  ASSERT_TRUE(r.json.is_object());
  EXPECT_EQ(r.json["log"], log());
  ASSERT_EQ(r.json["lines"].size(), 2U);
  EXPECT_EQ(r.json["lines"][1], "last without newline");
  EXPECT_NE(dump_line(r.json).find("b\xef\xbf\xbd"), std::string::npos) << dump_line(r.json);
}

// A process standing in for a supervisor: pause() until killed.
struct FakeSupervisor {
  FakeSupervisor()
  {
    pid = ::fork();
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    pidfd = pidfd_open(pid);
  }
  ~FakeSupervisor() { end(); }
  void end()
  {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  pid_t pid = -1;
  UniqueFd pidfd;
};

// Reads fd until got holds want (or more), for up to 10 s.
bool read_until(int fd, std::string& got, const std::string& want)
{
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.size() < want.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      return false;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return got == want;
}

TEST_F(CtlLogsFiles, FollowingGoesOnAcrossRotationsAndDrainsAfterTheSupervisorExits)
{
  write("output.log", "old\na\n");
  FakeSupervisor sup;
  ASSERT_TRUE(sup.pidfd);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]);
  UniqueFd wr(p[1]);
  LogsResult res;
  LogsOptions opt;
  opt.lines = 1;
  opt.follow = true;
  std::thread follower([&] { res = write_log(*m_dir, log(), opt, sup.pidfd.get(), wr.get()); });

  std::string got;
  const bool tail_seen = read_until(rd.get(), got, "a\n");
  // Appends, one rotation, then two in a row: whenever the follower looks, nothing is lost.
  write("output.log", "b\n", true);
  rotate(3, "c\n");
  const bool first_seen = read_until(rd.get(), got, "a\nb\nc\n");
  write("output.log", "d\n", true);
  rotate(3, "e\n");
  rotate(3, "f\n");
  write("output.log", "g\n", true);
  const bool all_seen = read_until(rd.get(), got, "a\nb\nc\nd\ne\nf\ng\n");
  write("output.log", "h\n", true); // written before the supervisor's end: still shown
  sup.end();
  follower.join();
  wr.reset();
  char buf[256];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;) {
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_TRUE(tail_seen && first_seen && all_seen) << got;
  EXPECT_EQ(got, "a\nb\nc\nd\ne\nf\ng\nh\n");
  EXPECT_EQ(res.status, k_ctl_exit_ok) << res.error;
}

TEST_F(CtlLogsFiles, FollowingStartsOverWhenTheLogIsTruncated)
{
  write("output.log", "a\nb\n");
  FakeSupervisor sup;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]);
  UniqueFd wr(p[1]);
  LogsResult res;
  LogsOptions opt;
  opt.follow = true;
  std::thread follower([&] { res = write_log(*m_dir, log(), opt, sup.pidfd.get(), wr.get()); });
  std::string got;
  const bool tail_seen = read_until(rd.get(), got, "a\nb\n");
  write("output.log", "c\n"); // truncated (as `: > LOG` does), then written from 0
  const bool new_seen = read_until(rd.get(), got, "a\nb\nc\n");
  sup.end();
  follower.join();
  EXPECT_TRUE(tail_seen && new_seen) << got;
  EXPECT_EQ(res.status, k_ctl_exit_ok) << res.error;
}

TEST_F(CtlLogsFiles, FollowingEndsQuietlyWhenTheReaderIsGone)
{
  write("output.log", "a\n");
  FakeSupervisor sup;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]);
  UniqueFd wr(p[1]);
  LogsResult res;
  LogsOptions opt;
  opt.follow = true;
  std::thread follower([&] { res = write_log(*m_dir, log(), opt, sup.pidfd.get(), wr.get()); });
  std::string got;
  EXPECT_TRUE(read_until(rd.get(), got, "a\n"));
  rd.reset();      // as `pg-ctl logs -f job | head -1` does once it has its line
  follower.join(); // ends although the log is quiet and the supervisor lives
  EXPECT_EQ(res.status, k_ctl_exit_ok) << res.error;
  EXPECT_TRUE(res.error.empty());
}

TEST_F(CtlLogsFiles, WithoutASupervisorThereIsNoFollowing)
{
  write("output.log", "a\n");
  UniqueFd mem(::memfd_create("out", MFD_CLOEXEC));
  LogsOptions opt;
  opt.follow = true;
  LogsResult r = write_log(*m_dir, log(), opt, -1, mem.get()); // returns at once
  EXPECT_EQ(r.status, k_ctl_exit_ok);
}

} // namespace
} // namespace pg
