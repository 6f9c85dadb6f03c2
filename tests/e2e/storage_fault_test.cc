// Storage faults: the state directory on a small tmpfs, mounted in a private mount namespace of
// the test process (root only), fills up or cannot be written under a running job. The job
// goes on, the last good state stays readable, pg-ls warns, and recording resumes in order
// once the fault clears.
#include "harness.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

namespace pg::e2e {
namespace {

class StorageFault : public E2e {
protected:
  void SetUp() override
  {
    E2e::SetUp();
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root: mounts a small tmpfs in a private mount namespace";
    }
    if (::unshare(CLONE_NEWNS) < 0) {
      GTEST_SKIP() << "unshare(CLONE_NEWNS): " << std::strerror(errno);
    }
    // Nothing mounted here may reach the machine's own mount table.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
      GTEST_SKIP() << "mount --make-rprivate /: " << std::strerror(errno);
    }
    ::mkdir(state_dir().c_str(), 0700);
    if (::mount("tmpfs", state_dir().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") <
        0) {
      GTEST_SKIP() << "mount tmpfs: " << std::strerror(errno);
    }
    m_mounted = true;
  }

  void TearDown() override
  {
    E2e::TearDown(); // ends the jobs; the files on the tmpfs are gone with it
    if (m_mounted) {
      ::umount2(state_dir().c_str(), MNT_DETACH);
      std::error_code ec;
      std::filesystem::remove_all(tmp(), ec);
    }
  }

  // Fills the tmpfs with a file until not one byte more fits.
  void fill()
  {
    int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    must(fd >= 0);
    std::string chunk(1 << 16, 'x');
    size_t n = chunk.size();
    while (n > 0) {
      if (::write(fd, chunk.data(), n) < 0) {
        must(errno == ENOSPC || errno == EINTR);
        n = errno == ENOSPC ? n / 2 : n;
      }
    }
    ::close(fd);
  }
  void unfill() { must(::unlink(filler().c_str()) == 0); }
  // Not a job: pg-ls lists no name starting with a dot.
  std::string filler() const { return state_dir() + "/.filler"; }

  // A job that writes its pid to a file out of the tmpfs at each start, then prints a line of
  // 1000 bytes every 50 ms (more than the slack of a log's last page); returns its first pid.
  pid_t launch_ticker(const std::string& name)
  {
    const std::string script = "echo $$ > " + path("pid.tmp") + " && mv " + path("pid.tmp") + " " +
                               path("pid") +
                               "; l=xxxxxxxxxx; l=$l$l$l$l$l$l$l$l$l$l; l=$l$l$l$l$l$l$l$l$l$l"
                               "; while :; do echo $l; sleep 0.05; done";
    Result r = run(pg_run({"-n", name, "--", "/bin/sh", "-c", script}));
    must(r.status == 0);
    Json st = wait_running(name);
    return st["pid"].get<pid_t>();
  }
  pid_t pidfile() const
  {
    std::string text = read_text(path("pid"));
    return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
  }
  std::string job_file(const std::string& name, const std::string& file) const
  {
    return state_dir() + "/" + name + "/" + file;
  }

  // The kinds of events.jsonl, in order, less the relay's log-dropped reports.
  std::vector<std::string> kinds(const std::string& name) const
  {
    std::vector<std::string> out;
    for (const auto& ev : events(name)) {
      if (ev["event"] != "log-dropped") {
        out.push_back(ev["event"].get<std::string>());
      }
    }
    return out;
  }

  bool m_mounted = false;
};

// Whether every complete line of a file is whole JSON (none cut, none glued to another); with
// quiet (no writer), the file must also end in a newline.
bool whole_lines(const std::string& text, bool quiet = false)
{
  if (quiet && !text.empty() && text.back() != '\n') {
    return false;
  }
  size_t pos = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', pos)) {
    if (Json::parse(text.substr(pos, nl - pos), nullptr, false).is_discarded()) {
      return false;
    }
    pos = nl + 1;
  }
  return true;
}

TEST_F(StorageFault, FullDiskSuspendsRecordingThenEverythingIsWrittenInOrder)
{
  const pid_t first = launch_ticker("disk");
  const pid_t sup = supervisor_pid("disk");
  const size_t before = events("disk").size();
  fill();

  // A planned restart while nothing can be written: the job goes on in a new run.
  must(::kill(sup, SIGHUP) == 0);
  ASSERT_TRUE(wait_until([&] { return pidfile() != first && alive(pidfile()); },
                         "the restarted run is up"));
  const pid_t second = pidfile();
  // The last good state stays readable; no temp file is left to take space.
  std::optional<Json> st = try_state("disk");
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["pid"], first);
  EXPECT_EQ((*st)["state"], "running");
  // The supervisor may be between opening a temp file and removing it when the new run is seen
  // (the run writes its pid file before the supervisor tries to record it): wait, with a deadline,
  // for the directory to hold none. A temp file kept for good fails here.
  auto no_temp = [&] {
    for (const auto& e : std::filesystem::directory_iterator(state_dir() + "/disk")) {
      if (starts_with(e.path().filename().string(), "state.json.tmp")) {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(wait_until(no_temp, "no state.json.tmp.* is left in the job's directory"));
  // Lines fit in events.jsonl's last page as long as it has room: never a cut one.
  EXPECT_TRUE(whole_lines(read_text(job_file("disk", "events.jsonl"))));
  EXPECT_TRUE(events("disk", "storage-recovered").empty());

  // pg-ls says so: table, detail, JSON, --check.
  Result table = pg_ls({});
  EXPECT_TRUE(contains(table.out, "warning: the state directory's filesystem is full: recording "
                                  "is suspended"))
      << table.out;
  Result detail = pg_ls({"disk"});
  EXPECT_TRUE(contains(detail.out, "Storage: the state directory's filesystem is full"))
      << detail.out;
  Result js = pg_ls({"--json"});
  ASSERT_EQ(js.status, 0) << js.err;
  EXPECT_EQ(Json::parse(js.out)[0]["storage_fault"], "full") << js.out;
  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1);
  EXPECT_TRUE(contains(check.out, "disk: the state directory's filesystem is full")) << check.out;
  EXPECT_TRUE(alive(second));

  unfill();
  auto rec = wait_events("disk", "storage-recovered", 1);
  // The events of the fault, in order, at their own times, then the recovery.
  std::vector<std::string> k = kinds("disk");
  k.erase(k.begin(), k.begin() + static_cast<long>(before));
  auto at = [&](const std::string& kind) {
    return std::find(k.begin(), k.end(), kind) - k.begin();
  };
  EXPECT_LT(at("stop"), at("exit")) << testing::PrintToString(k);
  EXPECT_LT(at("exit"), at("restart")) << testing::PrintToString(k);
  EXPECT_LT(at("restart"), at("start")) << testing::PrintToString(k);
  EXPECT_LT(at("storage-fault"), at("storage-recovered")) << testing::PrintToString(k);
  EXPECT_EQ(k.back(), "storage-recovered") << testing::PrintToString(k);
  auto starts = events("disk", "start");
  EXPECT_EQ(starts.back()["pid"], second);
  EXPECT_EQ(rec[0]["error"], "No space left on device");
  // The restart's events may all have fit in events.jsonl's last page before the first failed
  // (coalesced) state write opened the fault: none need have waited.
  EXPECT_TRUE(rec[0]["events_queued"].is_number_unsigned()) << rec[0].dump();
  EXPECT_EQ(rec[0]["events_dropped"], 0);
  EXPECT_GE(rec[0]["state_writes_failed"].get<int>(), 1) << rec[0].dump();
  EXPECT_TRUE(whole_lines(read_text(job_file("disk", "events.jsonl"))));

  // state.json catches up, with the fault as history; the log tells it too.
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = try_state("disk");
        return s && (*s)["pid"] == second && !(*s)["storage_error"]["until"].is_null();
      },
      "state.json shows the new run and the fault's end"));
  Json now = state("disk");
  EXPECT_EQ(now["storage_error"]["error"], "No space left on device");
  // Output the log could not take (once its last page was full) is counted, with the reason.
  if (now["log_dropped_bytes"].get<uint64_t>() > 0) {
    EXPECT_EQ(now["log_drop_error"], "No space left on device") << now.dump();
  }
  const std::string log_path = job_file("disk", "output.log");
  ASSERT_TRUE(wait_until([&] { return contains(read_text(log_path), "storage: writing works"); },
                         "the marked log line"));
  const size_t log_size = read_text(log_path).size();
  ASSERT_TRUE(
      wait_until([&] { return read_text(log_path).size() > log_size; }, "output is relayed again"));
  Result after = pg_ls({"--json"});
  Json j = Json::parse(after.out)[0];
  EXPECT_TRUE(j["storage_fault"].is_null()) << after.out;
  EXPECT_EQ(j["storage_error"]["events_queued"], rec[0]["events_queued"]);
  EXPECT_TRUE(contains(pg_ls({"disk"}).out, "Last fault: No space left on device")) << after.out;
  EXPECT_EQ(pg_ls({"--check"}).status, 0);
  EXPECT_TRUE(alive(second));
}

TEST_F(StorageFault, CrashLoopOnAFullDiskLosesNoRun)
{
  // A job that fails at once, restarted every 10 ms, while the disk is full: every run's start
  // and exit reach events.jsonl once it clears, in order, whole lines only.
  const std::string count = path("count");
  Result r = run(pg_run({"-n", "loop", "--restart", "always", "--max-restarts", "unlimited",
                         "--restart-delay", "10ms", "--restart-delay-max", "10ms", "--", "/bin/sh",
                         "-c", "echo x >> " + count + "; exit 3"}));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_events("loop", "exit", 3);
  fill();
  auto runs = [&] {
    const std::string t = read_text(count);
    return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
  };
  const size_t at_fill = runs();
  ASSERT_TRUE(wait_until([&] { return runs() >= at_fill + 30; }, "30 runs on the full disk"));
  EXPECT_TRUE(whole_lines(read_text(job_file("loop", "events.jsonl"))));
  unfill();
  auto rec = wait_events("loop", "storage-recovered", 1);
  EXPECT_GT(rec[0]["events_queued"].get<uint64_t>(), 0u);
  EXPECT_EQ(rec[0]["events_dropped"], 0);
  Result stop = pg_ctl({"stop", "loop"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  wait_end("loop");
  EXPECT_TRUE(whole_lines(read_text(job_file("loop", "events.jsonl")), true));
  // Runs numbered without a gap, each start followed by its exit, times in order.
  unsigned expect_run = 1;
  pid_t open_pid = 0;
  std::string last_at;
  for (const auto& ev : events("loop")) {
    EXPECT_LE(last_at, ev["at"].get<std::string>()) << ev.dump();
    last_at = ev["at"].get<std::string>();
    if (ev["event"] == "start") {
      EXPECT_EQ(ev["run"].get<unsigned>(), expect_run++) << ev.dump();
      EXPECT_EQ(open_pid, 0) << ev.dump();
      open_pid = ev["pid"].get<pid_t>();
    } else if (ev["event"] == "exit") {
      EXPECT_EQ(ev["pid"], open_pid) << ev.dump();
      if (ev["outcome"] != "stopped") { // the last run may be ended by the stop
        EXPECT_EQ(ev["code"], 3) << ev.dump();
      }
      open_pid = 0;
    }
  }
  EXPECT_GE(expect_run, at_fill + 30);
}

TEST_F(StorageFault, WriteErrorOnAFilesystemThatLooksFineIsFlaggedByTheSupervisor)
{
  // An immutable job directory: state.json cannot be replaced (EPERM) though the filesystem is
  // neither full nor read-only. Only the supervisor knows: pg-ls reads its flag on the lock.
  const pid_t first = launch_ticker("imm");
  const pid_t sup = supervisor_pid("imm");
  int dir = ::open((state_dir() + "/imm").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  int flags = 0;
  ASSERT_EQ(::ioctl(dir, FS_IOC_GETFLAGS, &flags), 0) << std::strerror(errno);
  int immutable = flags | FS_IMMUTABLE_FL;
  if (::ioctl(dir, FS_IOC_SETFLAGS, &immutable) < 0) {
    ::close(dir);
    GTEST_SKIP() << "chattr +i on tmpfs: " << std::strerror(errno);
  }
  must(::kill(sup, SIGHUP) == 0);
  ASSERT_TRUE(wait_until([&] { return pidfile() != first && alive(pidfile()); },
                         "the restarted run is up"));
  ASSERT_TRUE(wait_until([&] { return contains(pg_ls({}).out, "imm: pg-run cannot write"); },
                         "pg-ls shows the supervisor's flag"));
  Result js = pg_ls({"--json", "imm"});
  EXPECT_EQ(Json::parse(js.out)[0]["storage_fault"], "write-error") << js.out;
  EXPECT_EQ(Json::parse(js.out)[0]["state"], "running") << js.out;
  EXPECT_EQ(pg_ls({"--check"}).status, 1);
  ASSERT_EQ(::ioctl(dir, FS_IOC_SETFLAGS, &flags), 0);
  ::close(dir);
  auto rec = wait_events("imm", "storage-recovered", 1);
  EXPECT_EQ(rec[0]["error"], "Operation not permitted");
  ASSERT_TRUE(
      wait_until([&] { return try_state("imm") && (*try_state("imm"))["pid"] == pidfile(); },
                 "state.json catches up"));
  EXPECT_FALSE(contains(pg_ls({}).out, "cannot write"));
  EXPECT_EQ(pg_ls({"--check"}).status, 0);
}

TEST_F(StorageFault, ReadOnlyStateDirectoryIsReported)
{
  // The kernel refuses to remount read-only a filesystem with files open for writing, and a
  // running pg-run always has some (its lock, events.jsonl, the log): only the kernel's own
  // emergency remount (after I/O errors) makes it read-only under a job, and then pg-run takes
  // the write-error path of the tests above. Here: refused while the job runs, then reported
  // once it is read-only.
  launch_ticker("ro");
  EXPECT_LT(::mount(nullptr, state_dir().c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
  EXPECT_EQ(errno, EBUSY);
  Result stop = pg_ctl({"stop", "ro"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  wait_end("ro");
  ASSERT_EQ(::mount(nullptr, state_dir().c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  Result table = pg_ls({});
  EXPECT_TRUE(contains(table.out, "warning: the state directory's filesystem is read-only"))
      << table.out;
  EXPECT_EQ(Json::parse(pg_ls({"--json"}).out)[0]["storage_fault"], "read-only");
  EXPECT_TRUE(
      contains(pg_ls({"ro"}).out, "Storage: the state directory's filesystem is read-only"));
  // A launch there fails with a clear error, before anything is started.
  Result r = run(pg_run({"-n", "other", "--", "/bin/true"}));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r.err;
  ASSERT_EQ(::mount(nullptr, state_dir().c_str(), nullptr, MS_REMOUNT, nullptr), 0);
  EXPECT_FALSE(contains(pg_ls({}).out, "warning"));
}

} // namespace
} // namespace pg::e2e
