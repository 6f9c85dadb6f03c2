// Hostile and careless input (issue 6, item 4): bad job names for every tool, unsafe state and
// job directories, links in place of the job's files, damaged state.json, huge or binary
// events.jsonl and logs, malformed env files, durations past the 100-year limit. Each is
// refused or tolerated with a one-line error and the documented exit status; nothing crashes,
// hangs or writes through a link.
//
// Already covered elsewhere, not repeated here:
// - pg-run names "a/b", "..", 65 bytes, "-x": launch_test.cc LaunchStatus.UsageErrorsExitTwo;
// - pg-run on an unsafe STATE or a linked NAME: LaunchStatus.UnsafeStateDirectoryExitsOne;
// - pg-ls on a group-writable or linked STATE: pg_ls_test.cc
//   PgLs.GroupWritableStateDirIsRefused and PgLs.StateDirThatIsASymlinkIsRefused;
// - pg-ctl logs through a linked or special log: pg_ctl_logs_test.cc
//   PgCtlLogs.ALinkInPlaceOfTheLogIsNotFollowed and ALogThatIsNotARegularFileIsRefused;
// - notify from a live process of our user outside the tree: notify_test.cc
//   Notify.ALiveProcessOutsideTheTreeIsIgnored;
// - an env file with one malformed line: LaunchStatus.EnvironmentErrorsExitOne.
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pg::e2e {
namespace {

namespace fs = std::filesystem;

constexpr uid_t k_nobody = 65534;

class Hostile : public E2e {
protected:
  std::string job_file(const std::string& name, const std::string& file) const
  {
    return state_dir() + "/" + name + "/" + file;
  }
  // A job that ran and ended (completed): its directory holds state.json and events.jsonl.
  void ended_job(const std::string& name)
  {
    launch(name, {"--oneshot"}, {"--exit", "0"});
    wait_end(name);
  }
  // A directory of a victim, with one file, that must stay as it is.
  std::string victim()
  {
    const std::string dir = path("victim");
    fs::create_directories(dir);
    write_text(dir + "/keep", "untouched\n");
    return dir;
  }
  void expect_victim_untouched(const std::string& dir)
  {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
      names.push_back(e.path().filename());
    }
    EXPECT_EQ(names, std::vector<std::string>{"keep"});
    EXPECT_EQ(read_text(dir + "/keep"), "untouched\n");
  }
};

// One line on stderr, prefixed by the tool's name (a usage error may add a "Try '... --help'."
// line): a name holding a newline or a terminal escape must not break out of it.
::testing::AssertionResult one_line_error(const Result& r, const std::string& tool)
{
  std::string text = r.err;
  if (size_t hint = text.find("\nTry '"); hint != std::string::npos) {
    text.erase(hint + 1);
  }
  if (text.empty() || text.back() != '\n' || text.find('\n') != text.size() - 1) {
    return ::testing::AssertionFailure() << "not one line: [" << r.err << "]";
  }
  if (!starts_with(text, tool + ": ")) {
    return ::testing::AssertionFailure() << "not prefixed by " << tool << ": [" << r.err << "]";
  }
  if (text.find('\x1b') != std::string::npos) {
    return ::testing::AssertionFailure() << "holds a terminal escape: [" << r.err << "]";
  }
  return ::testing::AssertionSuccess();
}

const std::vector<std::string>& bad_names()
{
  static const std::vector<std::string> names{"",
                                              "a/b",
                                              "..",
                                              ".",
                                              "../x",
                                              "/etc",
                                              std::string(65, 'n'),
                                              "tab\there",
                                              "new\nline",
                                              "esc\x1b[31m",
                                              "del\x7f",
                                              "sp ace",
                                              "-x",
                                              ".hidden",
                                              "\xc3\xa9t\xc3\xa9"};
  return names;
}

TEST_F(Hostile, BadNamesAreUsageErrorsForEveryTool)
{
  ended_job("good");
  for (const std::string& name : bad_names()) {
    Result run_r = run(job(name, {}, {"--sleep", "1h"}));
    EXPECT_EQ(run_r.status, 2) << "pg-run -n [" << name << "]: " << run_r.err;
    EXPECT_TRUE(one_line_error(run_r, "pg-run")) << "[" << name << "]";

    Result ls_r = pg_ls({name});
    EXPECT_EQ(ls_r.status, 2) << "pg-ls [" << name << "]: " << ls_r.out << ls_r.err;
    EXPECT_TRUE(one_line_error(ls_r, "pg-ls")) << "[" << name << "]";

    // Every verb for a few names, two for the rest (each is a process: keep the test short).
    std::vector<Args> verbs{{"stop", name}, {"logs", name}};
    if (name.empty() || name == ".." || name.find('\n') != std::string::npos) {
      verbs = {{"stop", name},   {"restart", name}, {"signal", name, "HUP"}, {"logs", name},
               {"forget", name}, {"revive", name},  {"unit", name}};
    }
    for (const Args& verb : verbs) {
      Result r = pg_ctl(verb);
      EXPECT_EQ(r.status, 2) << "pg-ctl " << verb[0] << " [" << name << "]: " << r.out << r.err;
      EXPECT_TRUE(one_line_error(r, "pg-ctl")) << verb[0] << " [" << name << "]";
    }
  }
  // Nothing was created for any of them: STATE holds the good job only.
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(state_dir())) {
    entries.push_back(e.path().filename());
  }
  EXPECT_EQ(entries, std::vector<std::string>{"good"});
  EXPECT_EQ(pg_ls({"good"}).status, 0);
}

TEST_F(Hostile, UnsafeStateDirIsRefusedByPgCtlAndPgLs)
{
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a directory to uid 65534";
  }
  ended_job("web");
  // The three unsafe shapes: another user's, writable by others, a symlink.
  const std::string link = path("link");
  ASSERT_EQ(::symlink(state_dir().c_str(), link.c_str()), 0);
  struct Case {
    std::string what;
    std::string dir;
    std::function<void()> make, undo;
  };
  const std::vector<Case> cases{
      {"a symlink", link, [] {}, [] {}},
      {"writable by others", state_dir(), [&] { ::chmod(state_dir().c_str(), 0702); },
       [&] { ::chmod(state_dir().c_str(), 0700); }},
      {"another user's", state_dir(),
       [&] { ASSERT_EQ(::chown(state_dir().c_str(), k_nobody, k_nobody), 0); },
       [&] { ASSERT_EQ(::chown(state_dir().c_str(), 0, 0), 0); }},
  };
  for (const Case& c : cases) {
    c.make();
    for (const Args& verb : {Args{"stop", "web"}, Args{"logs", "web"}, Args{"forget", "web"},
                             Args{"revive"}, Args{"unit", "web"}}) {
      Result r = run(Args{PG_CTL_BIN, "--state-dir", c.dir} + verb);
      EXPECT_EQ(r.status, 4) << c.what << ": pg-ctl " << verb[0] << ": " << r.err;
      EXPECT_TRUE(one_line_error(r, "pg-ctl")) << c.what << " " << verb[0];
    }
    for (const Args& args : {Args{}, Args{"web"}, Args{"--events"}, Args{"--prometheus"}}) {
      Result r = run(Args{k_pg_ls, "--state-dir", c.dir} + args);
      EXPECT_EQ(r.status, 4) << c.what << ": pg-ls: " << r.out << r.err;
      EXPECT_TRUE(one_line_error(r, "pg-ls")) << c.what;
    }
    c.undo();
  }
  // Nothing was forgotten through any of them.
  EXPECT_TRUE(fs::exists(job_file("web", "state.json")));
}

TEST_F(Hostile, UnsafeJobDirIsShownRefusedAndNeverWrittenThrough)
{
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give a directory to uid 65534";
  }
  ended_job("web");
  const std::string victim_dir = victim();
  // A NAME that is a link to the victim's directory.
  ASSERT_EQ(::symlink(victim_dir.c_str(), (state_dir() + "/linked").c_str()), 0);
  // A NAME directory of another user, and one writable by others.
  ASSERT_EQ(::mkdir((state_dir() + "/theirs").c_str(), 0700), 0);
  write_text(state_dir() + "/theirs/state.json", read_text(job_file("web", "state.json")), 0600);
  ASSERT_EQ(::chown((state_dir() + "/theirs").c_str(), k_nobody, k_nobody), 0);
  ASSERT_EQ(::mkdir((state_dir() + "/open").c_str(), 0700), 0);
  ASSERT_EQ(::chmod((state_dir() + "/open").c_str(), 0777), 0);

  // The listing shows each one with why, and still lists the good job.
  Result table = pg_ls({});
  EXPECT_EQ(table.status, 0) << table.err;
  EXPECT_TRUE(contains(table.out, "web")) << table.out;
  EXPECT_TRUE(contains(table.out, "symlink")) << table.out;
  EXPECT_TRUE(contains(table.out, "uid 65534")) << table.out;
  EXPECT_TRUE(contains(table.out, "writable by group or others")) << table.out;
  for (const char* name : {"linked", "theirs", "open"}) {
    // pg-ls lists it, refused, with why (exit 0: it was listed); --check flags it.
    Result one = pg_ls({name});
    EXPECT_EQ(one.status, 0) << name << ": " << one.out << one.err;
    EXPECT_TRUE(contains(one.out, "refusing it") || contains(one.out, "uid 65534") ||
                contains(one.out, "writable"))
        << name << ": " << one.out;
    EXPECT_EQ(pg_ls({"--check", name}).status, 1) << name;
    // pg-ctl acts on nothing there: 4, the job's part of the state directory cannot be read.
    for (const Args& verb : {Args{"stop", name}, Args{"restart", name}, Args{"logs", name},
                             Args{"forget", name}, Args{"revive", name}, Args{"unit", name}}) {
      Result r = pg_ctl(verb);
      EXPECT_EQ(r.status, 4) << "pg-ctl " << verb[0] << " " << name << ": " << r.out << r.err;
      EXPECT_TRUE(contains(r.err, name)) << verb[0] << " " << name << ": " << r.err;
    }
    // pg-run refuses to start a job there (exit 1, the environment).
    Result start = run(job(name, {}, {"--sleep", "1h"}));
    EXPECT_EQ(start.status, 1) << name << ": " << start.err;
    EXPECT_TRUE(one_line_error(start, "pg-run")) << name;
  }
  expect_victim_untouched(victim_dir);
  EXPECT_TRUE(fs::is_empty(state_dir() + "/open"));
  EXPECT_TRUE(fs::is_symlink(state_dir() + "/linked"));
}

TEST_F(Hostile, LinksInPlaceOfStateAndEventsAreRefusedNotFollowed)
{
  ended_job("web");
  const std::string secret = path("secret.json");
  const std::string secret_text = read_text(job_file("web", "state.json"));
  write_text(secret, secret_text, 0600);
  const std::string events_victim = path("victim-events");
  write_text(events_victim, "untouched\n", 0600);
  fs::remove(job_file("web", "state.json"));
  fs::remove(job_file("web", "events.jsonl"));
  ASSERT_EQ(::symlink(secret.c_str(), job_file("web", "state.json").c_str()), 0);
  ASSERT_EQ(::symlink(events_victim.c_str(), job_file("web", "events.jsonl").c_str()), 0);

  // Readers say it is a link and read nothing through it.
  Result one = pg_ls({"web"});
  EXPECT_EQ(one.status, 0) << one.err;
  EXPECT_TRUE(contains(one.out, "symlink")) << one.out;
  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1) << check.out;
  EXPECT_TRUE(contains(check.out, "symlink")) << check.out;
  Result events = pg_ls({"--events"});
  EXPECT_EQ(events.status, 0) << events.err;
  EXPECT_FALSE(contains(events.out, "untouched")) << events.out;
  Result stop = pg_ctl({"stop", "web"});
  EXPECT_EQ(stop.status, 1) << stop.err;
  EXPECT_TRUE(contains(stop.err, "symlink")) << stop.err;

  // A new run of the name replaces the state link (rename, never a write through it) and
  // leaves the events' victim as it was.
  launch("web", {"--oneshot"}, {"--exit", "0"});
  wait_end("web");
  EXPECT_FALSE(fs::is_symlink(job_file("web", "state.json")));
  EXPECT_EQ(read_text(events_victim), "untouched\n");
  EXPECT_EQ(read_text(secret), secret_text);
  EXPECT_EQ(pg_ls({"web"}).status, 0);
}

TEST_F(Hostile, AFifoInPlaceOfStateJsonDoesNotHangReaders)
{
  ended_job("web");
  fs::remove(job_file("web", "state.json"));
  ASSERT_EQ(::mkfifo(job_file("web", "state.json").c_str(), 0600), 0);
  Result one = run(Args{k_pg_ls, "--state-dir", state_dir(), "web"}, {}, 5'000ms);
  EXPECT_EQ(one.status, 0) << one.err;
  EXPECT_TRUE(contains(one.out, "not a regular file")) << one.out;
  Result stop = run(ctl({"stop", "web"}), {}, 5'000ms);
  EXPECT_EQ(stop.status, 1) << stop.err;
  EXPECT_TRUE(contains(stop.err, "not a regular file")) << stop.err;
  fs::remove(job_file("web", "state.json")); // the harness's teardown reads state files
}

TEST_F(Hostile, DamagedStateJsonIsShownRefusedAndReplacedByANewRun)
{
  ended_job("web");
  const std::string good = read_text(job_file("web", "state.json"));
  const std::vector<std::pair<std::string, std::string>> damages{
      {"truncated", good.substr(0, good.size() / 2)},
      {"empty", ""},
      {"binary", std::string("\x00\xff\xfe\x01garbage\x00", 12)},
      {"wrong types", R"({"schema_version":1,"name":"web","state":42})"},
      {"from the future", R"({"schema_version":99})"},
      {"a time out of range",
       std::string(good).replace(good.find("\"updated_at\":\"") + 14, 4, "9999")},
  };
  for (const auto& [what, text] : damages) {
    write_text(job_file("web", "state.json"), text, 0600);
    // pg-ls lists it as lost with why (exit 0); the detail view too; --check flags it.
    Result table = pg_ls({});
    EXPECT_EQ(table.status, 0) << what << ": " << table.err;
    EXPECT_TRUE(contains(table.out, "lost")) << what << ": " << table.out;
    EXPECT_TRUE(contains(table.out, "state.json is damaged") ||
                contains(table.out, "no state.json"))
        << what << ": " << table.out;
    Result json = pg_ls({"--json"});
    EXPECT_EQ(json.status, 0) << what;
    EXPECT_FALSE(Json::parse(json.out, nullptr, false).is_discarded()) << what << json.out;
    EXPECT_EQ(pg_ls({"web"}).status, 0) << what;
    EXPECT_EQ(pg_ls({"--check"}).status, 1) << what;
    // pg-ctl refuses to act on what it cannot read (exit 1, one line naming the job).
    for (const Args& verb :
         {Args{"stop", "web"}, Args{"restart", "web"}, Args{"signal", "web", "HUP"},
          Args{"revive", "web"}, Args{"unit", "web"}}) {
      Result r = pg_ctl(verb);
      EXPECT_EQ(r.status, 1) << what << ": pg-ctl " << verb[0] << ": " << r.out << r.err;
      EXPECT_TRUE(contains(r.err, "web")) << what << ": " << verb[0] << ": " << r.err;
    }
  }
  // pg-run of the same name starts afresh and writes a good state over the damage.
  launch("web", {"--oneshot"}, {"--exit", "0"});
  Json st = wait_end("web");
  EXPECT_EQ(st["state"], "completed");
  EXPECT_EQ(pg_ls({"--check"}).status, 0);
}

// Durations are capped at 36500 days (k_max_duration): longer ones would overflow the deadline
// arithmetic. pg-run refuses one longer with one line and exit 2, telling it from a malformed
// one; exactly the limit runs; a state.json holding one out of range is damage naming the field.
TEST_F(Hostile, DurationsPastTheLimitAreRefusedAndOutOfRangeInStateJsonIsDamage)
{
  for (const char* opt : {"--duration", "--restart-window", "--restart-delay",
                          "--restart-delay-max", "--stop-timeout", "--wait", "--watchdog",
                          "--stall", "--restart-every", "--alert-cooldown", "--alert-timeout"}) {
    for (const char* text : {"36501d", "36500d1ms", "99999999999999999999999999d"}) {
      Result r = run(job("web", {opt, text}, {"--sleep", "1h"}));
      EXPECT_EQ(r.status, 2) << opt << " " << text << ": " << r.err;
      EXPECT_EQ(r.err, std::string("pg-run: error: ") + opt + ": '" + text +
                           "' is longer than the limit of 36500d (about 100 years)\n");
    }
    Result bad = run(job("web", {opt, "36501x"}, {"--sleep", "1h"}));
    EXPECT_EQ(bad.status, 2) << opt << ": " << bad.err;
    EXPECT_TRUE(contains(bad.err, "'36501x' is not a duration")) << bad.err;
    EXPECT_TRUE(one_line_error(bad, "pg-run"));
  }
  EXPECT_FALSE(fs::exists(state_dir() + "/web"));
  Result since = pg_ls({"--events", "--since", "36501d"});
  EXPECT_EQ(since.status, 2) << since.err;
  EXPECT_TRUE(starts_with(since.err, "pg-ls: error: --since: '36501d' is longer than the limit "
                                     "of 36500d (about 100 years)\n"))
      << since.err;
  Result timeout = pg_ctl({"stop", "web", "--timeout", "36501d"});
  EXPECT_EQ(timeout.status, 2) << timeout.err;
  EXPECT_TRUE(contains(timeout.err, "--timeout: at most")) << timeout.err;

  // Exactly the limit: the job runs, its deadline 100 years on; pg-ls and pg-ctl read its state.
  launch("web", {"--duration", "36500d", "--restart-delay-max", "36500d"}, {"--sleep", "1h"});
  wait_running("web");
  Json st = state("web");
  EXPECT_EQ(st["definition"]["duration_s"], 3153600000.0);
  Result listed = pg_ls({"--json", "web"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  Json shown = Json::parse(listed.out, nullptr, false);
  ASSERT_FALSE(shown.is_discarded()) << listed.out;
  const Json& row = shown.is_array() ? shown.at(0) : shown;
  EXPECT_EQ(row.value("state", ""), "running") << listed.out;
  EXPECT_TRUE(row.value("error", Json()).is_null()) << listed.out;
  EXPECT_EQ(pg_ctl({"stop", "web"}).status, 0);
  wait_end("web");

  // Out of range in state.json: past the limit, negative, huge. The reader's error names the
  // field.
  const std::string good = read_text(job_file("web", "state.json"));
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"duration_s", "3153600000.001"}, {"restart_delay_s", "-1"}, {"stall_s", "1e300"}}) {
    std::string text = good;
    const std::string key = "\"" + field + "\":";
    const size_t at = text.find(key) + key.size();
    text.replace(at, text.find_first_of(",}", at) - at, value);
    write_text(job_file("web", "state.json"), text, 0600);
    Result r = pg_ls({"--json", "web"});
    EXPECT_EQ(r.status, 0) << field << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "state.json is damaged: field 'definition': field '" + field +
                                    "' is out of range"))
        << field << " = " << value << ": " << r.out;
    Result revive = pg_ctl({"revive", "web"});
    EXPECT_EQ(revive.status, 1) << field << ": " << revive.out << revive.err;
  }
}

TEST_F(Hostile, HugeAndBinaryEventsAndLogsAreReadInBoundedTimeAndMemory)
{
  ended_job("web");
  const std::string ev = job_file("web", "events.jsonl");
  const std::string kept = read_text(ev);
  {
    // 50 MB of one line, then a binary tail, then the real history again.
    std::ofstream out(ev, std::ios::trunc | std::ios::binary);
    std::string chunk(1 << 20, 'x');
    out << "{\"event\":\"exit\",\"at\":\"2026-01-01T00:00:00Z\",\"cause\":\"";
    for (int i = 0; i < 50; ++i) {
      out << chunk;
    }
    out << "\"}\n";
    for (int i = 0; i < 4096; ++i) {
      out << static_cast<char>(i * 7 % 256);
    }
    out << "\n" << kept;
  }
  {
    // An 8 MB output line, binary.
    std::ofstream out(job_file("web", "output.log"), std::ios::app | std::ios::binary);
    for (int i = 0; i < 8 * 1024; ++i) {
      out << std::string(1024, static_cast<char>(i % 256));
    }
  }
  // Bounded memory: under a 1 GiB address-space limit (ASan reserves terabytes of virtual
  // memory, so the sanitizer build runs without it).
#if defined(__SANITIZE_ADDRESS__)
  const std::string limit = "true";
#else
  const std::string limit = "ulimit -v 1048576";
#endif
  for (const Args& args : {Args{"--events"}, Args{"--events", "--json"}, Args{"web"},
                           Args{"--json"}, Args{"--prometheus"}}) {
    const auto t0 = Clock::now();
    Result r = run(
        Args{"/bin/sh", "-c", limit + "; exec \"$@\"", "sh", k_pg_ls, "--state-dir", state_dir()} +
            args,
        {}, 20'000ms);
    EXPECT_EQ(r.status, 0) << args[0] << ": " << r.err;
    EXPECT_LT(Clock::now() - t0, 15s) << args[0];
    if (args[0] == "--events") {
      // The real events after the damage are still listed.
      EXPECT_TRUE(contains(r.out, "exit")) << r.out.substr(0, 2000);
    }
  }
  for (const Args& args :
       {Args{"logs", "web"}, Args{"logs", "-n", "1000", "web"}, Args{"logs", "--json", "web"}}) {
    Result r = run(Args{"/bin/sh", "-c", limit + "; exec \"$@\"", "sh", PG_CTL_BIN, "--state-dir",
                        state_dir()} +
                       args,
                   {}, 20'000ms);
    EXPECT_EQ(r.status, 0) << args[0] << ": " << r.err;
    EXPECT_LT(r.out.size(), 4u << 20) << args[0] << ": a long line is cut, not printed whole";
  }
}

TEST_F(Hostile, MalformedEnvFilesAreRefusedNamingTheLine)
{
  const std::vector<std::pair<std::string, std::string>> files{
      {"no equals sign", "A=1\nJUSTAKEY\n"},
      {"a bad key", "A=1\n1BAD=x\n"},
      {"a key with a space", "MY KEY=x\n"},
      {"an unterminated quote", "A=\"open\n"},
      {"a NUL byte", std::string("A=1\nB=x\0y\n", 10)},
      {"binary", std::string("\xff\xfe\x00\x01=\x02\n", 7)},
      {"a terminal escape in a key", "\x1b]0;owned\x07KEY=1\n"},
      {"a reserved variable", "NOTIFY_SOCKET=@evil\n"},
  };
  for (const auto& [what, text] : files) {
    write_text(path("bad.env"), text, 0600);
    Result r = run(job("envjob", {"--env-file", path("bad.env")}, {"--sleep", "1h"}));
    EXPECT_EQ(r.status, 1) << what << ": " << r.err;
    EXPECT_TRUE(one_line_error(r, "pg-run")) << what;
    EXPECT_TRUE(contains(r.err, what == "a reserved variable" ? "set by pg-run" : "line "))
        << what << ": " << r.err;
    EXPECT_FALSE(contains(r.err, "\x1b")) << what << ": the error holds no terminal escape";
    EXPECT_FALSE(lock_held("envjob")) << what;
  }
}

TEST_F(Hostile, NotifyFromAnotherUserIsIgnored)
{
  // (A live process of our own user outside the tree: notify_test's
  // Notify.ALiveProcessOutsideTheTreeIsIgnored.) Here, uid 65534 sends to a root job's socket,
  // which any process of the network namespace can reach (it is abstract).
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to become uid 65534";
  }
  write_text(path("job.sh"),
             "#!/bin/sh\nprintf %s \"$NOTIFY_SOCKET\" > sock.tmp && mv sock.tmp sock\n"
             "exec sleep 60\n",
             0755);
  Result r = run(pg_run({"-n", "guarded", "--notify", "--cwd", tmp(), "--", path("job.sh")}));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string address = wait_file(path("sock"));
  StartOptions nobody;
  nobody.uid = k_nobody;
  nobody.gid = k_nobody;
  nobody.cwd = "/";
  nobody.env = {{"NOTIFY_SOCKET", address}};
  Result sent = run({"/usr/bin/systemd-notify", "--ready", "--status=spoofed by nobody"}, nobody);
  ASSERT_EQ(sent.status, 0) << sent.err;
  auto ev = wait_events("guarded", "notify-ignored", 1);
  EXPECT_TRUE(ev[0]["why"] == "not of the job's tree" || ev[0]["why"] == "gone, another user")
      << ev[0].dump();
  Json st = state("guarded");
  EXPECT_EQ(st["state"], "starting");
  EXPECT_EQ(st["status_text"], "");
  EXPECT_TRUE(events("guarded", "ready").empty());
}

} // namespace
} // namespace pg::e2e
