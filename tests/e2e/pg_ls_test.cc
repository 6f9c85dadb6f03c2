// pg-ls on real jobs started by the built pg-run: the table, --json and its contract fields,
// the detail view, --check (failed, lost, stopped from outside, but not by pg-ctl; failures
// since the last acknowledgement: ack_test.cc), exit statuses, unsafe or missing state
// directories, and colour.
#include "harness.h"

#include "clock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>

namespace pg::e2e {
namespace {

// An RFC 3339 UTC time close to now (the jobs of a test start within a minute).
::testing::AssertionResult is_recent_utc_time(const Json& v)
{
  static const std::regex utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$)");
  if (!v.is_string() || !std::regex_match(v.get<std::string>(), utc)) {
    return ::testing::AssertionFailure() << v.dump() << " is not an RFC 3339 UTC time";
  }
  auto t = parse_rfc3339(v.get<std::string>());
  if (!t) {
    return ::testing::AssertionFailure() << v.dump() << " does not parse";
  }
  const double off = std::chrono::duration<double>(wall_now() - *t).count();
  if (off < -60 || off > 600) {
    return ::testing::AssertionFailure() << v.dump() << " is " << off << " s from now";
  }
  return ::testing::AssertionSuccess();
}

// The rows of a pg-ls table (header and notes left out): NAME -> the cells split on blanks.
std::map<std::string, std::vector<std::string>> table_rows(const std::string& out)
{
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream in(out);
  std::string line;
  bool header = true;
  while (std::getline(in, line) && !line.empty()) {
    std::istringstream words(line);
    std::vector<std::string> cells;
    for (std::string w; words >> w;) {
      cells.push_back(w);
    }
    if (header) {
      EXPECT_EQ(cells.size() >= 2 ? cells[0] + " " + cells[1] : line, "NAME STATE") << out;
      header = false;
      continue;
    }
    if (!cells.empty()) {
      rows[cells[0]] = cells;
    }
  }
  return rows;
}

// The state column of NAME's row, or "(missing)".
std::string table_state(const std::string& out, const std::string& name)
{
  auto rows = table_rows(out);
  auto it = rows.find(name);
  return it == rows.end() || it->second.size() < 2 ? "(missing)" : it->second[1];
}

class PgLs : public E2e {
protected:
  // pg-ls --state-dir STATE ARGS...

  // pg-ls --json NAMES...: expects exit 0 and an array; returns the objects by name.
  std::map<std::string, Json> ls_json(const Args& names = {})
  {
    Result r = pg_ls(Args{"--json"} + names);
    EXPECT_EQ(r.status, 0) << r.err;
    Json all = Json::parse(r.out, nullptr, false);
    EXPECT_TRUE(all.is_array()) << r.out;
    std::map<std::string, Json> by_name;
    if (all.is_array()) {
      for (const auto& j : all) {
        by_name[j.value("name", "")] = j;
      }
      EXPECT_EQ(by_name.size(), all.size()) << "one object per job: " << r.out;
    }
    return by_name;
  }

  // A running service, waited for; returns its state.
  Json start_running(const std::string& name, const Args& opts = {})
  {
    launch(name, opts, {"--sleep", "1h"});
    return wait_running(name);
  }
  // A service that exits 3 once and is not restarted: failed.
  Json start_failed(const std::string& name)
  {
    launch(name, {"--restart", "never"}, {"--exit", "3"});
    return wait_end(name);
  }
  // A oneshot task that exits 0: completed.
  Json start_completed(const std::string& name)
  {
    launch(name, {"--oneshot"}, {"--exit", "0"});
    return wait_end(name);
  }
  // A service that failed once and waits an hour before its next run.
  Json start_backoff(const std::string& name)
  {
    launch(name, {"--restart-delay", "1h"}, {"--exit", "1"});
    Json st;
    must(wait_until(
        [&] {
          auto s = try_state(name);
          return s && (st = *s).value("state", "") == "backoff";
        },
        name + " waits in backoff"));
    return st;
  }
  // A running service stopped with pg-ctl stop.
  Json start_stopped_by_ctl(const std::string& name)
  {
    start_running(name);
    Result r = pg_ctl({"stop", name});
    EXPECT_EQ(r.status, 0) << r.err;
    return wait_end(name);
  }
  // A job whose supervisor got SIGTERM from this test (not from pg-ctl); ends stopped.
  Json stop_from_outside(const std::string& name)
  {
    EXPECT_EQ(::kill(supervisor_pid(name), SIGTERM), 0);
    return wait_end(name);
  }
};

TEST_F(PgLs, TableListsEveryJobWithItsState)
{
  const pid_t running_pid = start_running("web")["pid"].get<pid_t>();
  start_failed("broken");
  start_completed("task");
  start_backoff("resting");
  start_stopped_by_ctl("halted");

  Result r = pg_ls({});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto rows = table_rows(r.out);
  EXPECT_EQ(rows.size(), 5u) << r.out;
  EXPECT_EQ(table_state(r.out, "web"), "running") << r.out;
  EXPECT_EQ(table_state(r.out, "broken"), "failed") << r.out;
  EXPECT_EQ(table_state(r.out, "task"), "completed") << r.out;
  EXPECT_EQ(table_state(r.out, "resting"), "backoff") << r.out;
  EXPECT_EQ(table_state(r.out, "halted"), "stopped") << r.out;
  ASSERT_GE(rows["web"].size(), 3u);
  EXPECT_EQ(rows["web"][2], std::to_string(running_pid)) << r.out;
  const std::string header = r.out.substr(0, r.out.find('\n'));
  for (const char* column : {"NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT"}) {
    EXPECT_TRUE(contains(header, column)) << column << " missing from " << header;
  }
  // The LAST EXIT column says how the failed job ended.
  EXPECT_TRUE(contains(r.out.substr(r.out.find("broken")), "exit 3")) << r.out;
}

TEST_F(PgLs, JsonHasEveryContractFieldWithTheRightValuesAndTypes)
{
  const Json web = start_running("web", {"--cwd", tmp(), "--duration", "1h"});
  start_failed("broken");
  start_completed("task");
  start_backoff("resting");
  start_stopped_by_ctl("halted");

  auto jobs = ls_json();
  ASSERT_EQ(jobs.size(), 5u);
  for (const auto& [name, j] : jobs) {
    for (const char* key :
         {"name", "state", "supervisor_pid", "pid", "command", "cwd", "started_at", "uptime_s",
          "duration_s", "restarts", "restart_policy", "status_text", "log", "last_exit"}) {
      EXPECT_TRUE(j.contains(key)) << key << " missing from " << j.dump();
    }
    EXPECT_TRUE(j["command"].is_array()) << j.dump();
    EXPECT_TRUE(j["cwd"].is_string()) << j.dump();
    EXPECT_TRUE(is_recent_utc_time(j["started_at"])) << name;
    EXPECT_TRUE(j["duration_s"].is_number()) << j.dump();
    EXPECT_TRUE(j["restarts"].is_number_integer()) << j.dump();
    EXPECT_EQ(j["restarts"], 0) << j.dump();
    EXPECT_TRUE(j["status_text"].is_string()) << j.dump();
    EXPECT_EQ(j["log"], state_dir() + "/" + name + "/output.log") << j.dump();
    if (name != "web") {
      EXPECT_TRUE(j["pid"].is_null()) << "no process runs: " << j.dump();
      const Json& e = j["last_exit"];
      ASSERT_TRUE(e.is_object()) << j.dump();
      for (const char* key :
           {"code", "signal", "core_dumped", "runtime_s", "outcome", "cause", "at"}) {
        EXPECT_TRUE(e.contains(key)) << key << " missing from " << e.dump();
      }
      EXPECT_TRUE(e["core_dumped"].is_boolean()) << e.dump();
      EXPECT_EQ(e["core_dumped"], false) << e.dump();
      EXPECT_TRUE(e["runtime_s"].is_number()) << e.dump();
      EXPECT_GE(e["runtime_s"].get<double>(), 0.0) << e.dump();
      EXPECT_TRUE(e["cause"].is_string()) << e.dump();
      EXPECT_TRUE(is_recent_utc_time(e["at"])) << name;
    }
  }

  const Json& w = jobs["web"];
  EXPECT_EQ(w["state"], "running");
  EXPECT_EQ(w["supervisor_pid"], web["supervisor"]["pid"]);
  EXPECT_TRUE(w["supervisor_pid"].is_number_integer()) << w.dump();
  EXPECT_EQ(w["pid"], web["pid"]);
  EXPECT_TRUE(w["pid"].is_number_integer()) << w.dump();
  ASSERT_EQ(w["command"].size(), 3u) << w.dump();
  EXPECT_EQ(w["command"][0], web["definition"]["command"][0]);
  EXPECT_TRUE(contains(w["command"][0].get<std::string>(), "fake_job")) << w.dump();
  EXPECT_EQ(w["command"][1], "--sleep");
  EXPECT_EQ(w["command"][2], "1h");
  EXPECT_EQ(w["cwd"], tmp());
  EXPECT_EQ(w["started_at"], web["started_at"]);
  EXPECT_TRUE(w["uptime_s"].is_number()) << w.dump();
  EXPECT_GE(w["uptime_s"].get<double>(), 0.0);
  EXPECT_LT(w["uptime_s"].get<double>(), 600.0);
  EXPECT_EQ(w["duration_s"].get<double>(), 3600.0);
  EXPECT_EQ(w["restart_policy"], "on-failure");
  EXPECT_EQ(w["status_text"], "");
  EXPECT_TRUE(w["last_exit"].is_null()) << w.dump();

  const Json& b = jobs["broken"];
  EXPECT_EQ(b["state"], "failed");
  EXPECT_EQ(b["restart_policy"], "never");
  EXPECT_EQ(b["duration_s"].get<double>(), 0.0);
  EXPECT_EQ(b["last_exit"]["code"], 3);
  EXPECT_TRUE(b["last_exit"]["code"].is_number_integer());
  EXPECT_TRUE(b["last_exit"]["signal"].is_null());
  EXPECT_EQ(b["last_exit"]["outcome"], "failed");
  EXPECT_TRUE(starts_with(b["last_exit"].value("cause", ""), "exit")) << b.dump();

  const Json& t = jobs["task"];
  EXPECT_EQ(t["state"], "completed");
  EXPECT_EQ(t["restart_policy"], "never");
  EXPECT_EQ(t["last_exit"]["code"], 0);
  EXPECT_EQ(t["last_exit"]["outcome"], "completed");

  const Json& r = jobs["resting"];
  EXPECT_EQ(r["state"], "backoff");
  EXPECT_EQ(r["restart_policy"], "on-failure");
  EXPECT_EQ(r["last_exit"]["code"], 1);
  EXPECT_EQ(r["last_exit"]["outcome"], "failed");

  const Json& h = jobs["halted"];
  EXPECT_EQ(h["state"], "stopped");
  EXPECT_TRUE(h["last_exit"]["code"].is_null()) << h.dump();
  EXPECT_EQ(h["last_exit"]["signal"], "SIGTERM");
  EXPECT_EQ(h["last_exit"]["outcome"], "stopped");
  EXPECT_TRUE(starts_with(h["last_exit"].value("cause", ""), "requested")) << h.dump();

  // One name: still an array, of one object.
  Result one = pg_ls({"--json", "web"});
  ASSERT_EQ(one.status, 0) << one.err;
  Json arr = Json::parse(one.out, nullptr, false);
  ASSERT_TRUE(arr.is_array()) << one.out;
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["name"], "web");
}

TEST_F(PgLs, DetailShowsTheCommandTheLastExitsWithCauseAndTheLastOutputLines)
{
  Args prints;
  for (int i = 1; i <= 12; ++i) {
    prints = prints + Args{"--print", "line-" + std::to_string(100 + i)};
  }
  // Two runs that exit 3: a failure, a restart, then the budget is spent (gave-up).
  launch("chatty", {"--restart-delay", "50ms", "--max-restarts", "1"},
         prints + Args{"--exit", "3"});
  Json st = wait_end("chatty");
  ASSERT_EQ(st["state"], "failed");
  ASSERT_EQ(events("chatty", "exit").size(), 2u);

  Result r = pg_ls({"chatty"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string& out = r.out;
  EXPECT_TRUE(starts_with(out, "chatty: failed")) << out;
  // The command, as the user wrote it.
  std::string command_line;
  for (std::istringstream in(out); std::getline(in, command_line);) {
    if (contains(command_line, "Command:")) {
      break;
    }
  }
  EXPECT_TRUE(contains(command_line, "fake_job --print line-101")) << out;
  EXPECT_TRUE(contains(command_line, "--exit 3")) << out;
  // The last exits, with their exact status and cause.
  const size_t exits_at = out.find("Last exits");
  ASSERT_NE(exits_at, std::string::npos) << out;
  const size_t output_at = out.find("Last output", exits_at);
  ASSERT_NE(output_at, std::string::npos) << out;
  const std::string exits = out.substr(exits_at, output_at - exits_at);
  EXPECT_TRUE(contains(exits, "exit code 3")) << out;
  EXPECT_TRUE(contains(exits, "exit: code 3")) << out;
  EXPECT_TRUE(contains(exits, "gave-up")) << out;
  // The last 10 lines of the log (the job's line-103 .. line-112 of its second run, and any
  // line the supervisor itself wrote there), in order, and nothing before them.
  std::vector<std::string> log_lines;
  std::istringstream log(read_text(state_dir() + "/chatty/output.log"));
  for (std::string line; std::getline(log, line);) {
    log_lines.push_back(line);
  }
  ASSERT_GE(log_lines.size(), 10u);
  log_lines.erase(log_lines.begin(), log_lines.end() - 10);
  std::vector<std::string> shown;
  std::istringstream tail(out.substr(output_at));
  std::string line;
  std::getline(tail, line); // "Last output:"
  while (std::getline(tail, line) && starts_with(line, "  ")) {
    shown.push_back(line.substr(2));
  }
  EXPECT_EQ(shown, log_lines) << out;
  const std::string output = out.substr(output_at);
  EXPECT_TRUE(contains(output, "line-112")) << output;
  EXPECT_FALSE(contains(output, "line-101")) << "only the last 10 lines: " << output;
  EXPECT_FALSE(contains(output, "line-102")) << "only the last 10 lines: " << output;
}

TEST_F(PgLs, CheckIsSilentAndSucceedsWhenEveryJobIsHealthy)
{
  start_running("web");
  start_completed("task");
  // In backoff after a failure: heard until acknowledged (ack_test.cc), then healthy.
  start_backoff("resting");
  EXPECT_EQ(pg_ls({"--check"}).status, 1);
  ASSERT_EQ(pg_ctl({"ack", "resting"}).status, 0);
  Result r = pg_ls({"--check"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST_F(PgLs, CheckFlagsAFailedJob)
{
  start_running("web");
  start_failed("broken");
  Result r = pg_ls({"--check"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.out, "broken")) << r.out;
  EXPECT_FALSE(contains(r.out, "web")) << "only problems are printed: " << r.out;
}

TEST_F(PgLs, LostJobIsShownLostAndFlaggedByCheck)
{
  start_running("web");
  start_running("orphan");
  make_lost("orphan");
  ASSERT_EQ(state("orphan")["state"], "running") << "the state file still says running";

  Result table = pg_ls({});
  EXPECT_EQ(table.status, 0) << table.err;
  EXPECT_EQ(table_state(table.out, "orphan"), "lost") << table.out;
  EXPECT_EQ(table_state(table.out, "web"), "running") << table.out;

  auto jobs = ls_json();
  EXPECT_EQ(jobs["orphan"]["state"], "lost") << jobs["orphan"].dump();
  EXPECT_EQ(jobs["web"]["state"], "running");

  Result check = pg_ls({"--check"});
  EXPECT_EQ(check.status, 1) << check.err;
  EXPECT_TRUE(contains(check.out, "orphan")) << check.out;
  EXPECT_TRUE(contains(check.out, "lost")) << check.out;
  EXPECT_FALSE(contains(check.out, "web")) << check.out;
}

TEST_F(PgLs, CheckFlagsAStopFromOutsideDuringARun)
{
  start_running("web");
  start_running("victim");
  Json st = stop_from_outside("victim");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_TRUE(starts_with(st.value("end_cause", ""), "outside-signal")) << st.dump();

  Result r = pg_ls({"--check"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.out, "victim")) << r.out;
  EXPECT_FALSE(contains(r.out, "web")) << r.out;
}

TEST_F(PgLs, CheckFlagsAStopFromOutsideDuringBackoff)
{
  start_backoff("resting");
  Json st = stop_from_outside("resting");
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_TRUE(starts_with(st.value("end_cause", ""), "outside-signal")) << st.dump();
  EXPECT_EQ(events("resting", "start").size(), 1u);

  Result r = pg_ls({"--check"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.out, "resting")) << r.out;
}

TEST_F(PgLs, CheckDoesNotFlagAStopByPgCtl)
{
  Json during_run = start_stopped_by_ctl("halted");
  EXPECT_EQ(during_run["state"], "stopped");
  EXPECT_TRUE(starts_with(during_run.value("end_cause", ""), "requested")) << during_run.dump();

  start_backoff("resting");
  ASSERT_EQ(pg_ctl({"ack", "resting"}).status, 0); // its failure, heard: not the stop's
  Result stop = pg_ctl({"stop", "resting"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  Json during_backoff = wait_end("resting");
  EXPECT_EQ(during_backoff["state"], "stopped");
  EXPECT_TRUE(starts_with(during_backoff.value("end_cause", ""), "requested"))
      << during_backoff.dump();

  Result r = pg_ls({"--check"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(PgLs, NamedJobThatDoesNotExistExitsOneAndTheOthersAreStillListed)
{
  start_running("web");
  start_completed("task");
  Result r = pg_ls({"web", "ghost", "task"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "ghost")) << r.err;
  EXPECT_EQ(table_state(r.out, "web"), "running") << r.out;
  EXPECT_EQ(table_state(r.out, "task"), "completed") << r.out;
  EXPECT_FALSE(contains(r.out, "ghost")) << r.out;

  Result json = pg_ls({"--json", "ghost", "web"});
  EXPECT_EQ(json.status, 1);
  Json arr = Json::parse(json.out, nullptr, false);
  ASSERT_TRUE(arr.is_array()) << json.out;
  ASSERT_EQ(arr.size(), 1u) << json.out;
  EXPECT_EQ(arr[0]["name"], "web");

  Result alone = pg_ls({"ghost"});
  EXPECT_EQ(alone.status, 1);
  EXPECT_TRUE(contains(alone.err, "ghost")) << alone.err;
}

TEST_F(PgLs, UnknownOptionIsAUsageError)
{
  start_running("web");
  for (const Args& args : {Args{"--bogus"}, Args{"--check", "--no-such-thing", "web"}}) {
    Result r = pg_ls(args);
    EXPECT_EQ(r.status, 2) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err, "");
  }
}

TEST_F(PgLs, GroupWritableStateDirIsRefused)
{
  start_running("web");
  ASSERT_EQ(::chmod(state_dir().c_str(), 0770), 0);
  for (const Args& args : {Args{}, Args{"--json"}, Args{"--check"}, Args{"web"}}) {
    Result r = pg_ls(args);
    EXPECT_EQ(r.status, 4) << r.out << r.err;
    EXPECT_NE(r.err, "");
  }
  ASSERT_EQ(::chmod(state_dir().c_str(), 0700), 0);
  EXPECT_EQ(pg_ls({}).status, 0);
}

TEST_F(PgLs, StateDirThatIsASymlinkIsRefused)
{
  start_running("web");
  const std::string link = path("link");
  ASSERT_EQ(::symlink(state_dir().c_str(), link.c_str()), 0);
  for (const Args& args : {Args{}, Args{"--json"}, Args{"--check"}}) {
    Result r = run(Args{k_pg_ls, "--state-dir", link} + args);
    EXPECT_EQ(r.status, 4) << r.out << r.err;
    EXPECT_NE(r.err, "");
  }
}

TEST_F(PgLs, MissingStateDirHoldsNoJobs)
{
  const std::string missing = path("never-created");
  Result table = run({k_pg_ls, "--state-dir", missing});
  EXPECT_EQ(table.status, 0) << table.err;
  EXPECT_TRUE(contains(table.out, "no jobs")) << table.out;

  Result json = run({k_pg_ls, "--state-dir", missing, "--json"});
  EXPECT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(Json::parse(json.out, nullptr, false), Json::array()) << json.out;

  Result check = run({k_pg_ls, "--state-dir", missing, "--check"});
  EXPECT_EQ(check.status, 0) << check.err;
  EXPECT_EQ(check.out, "");
  EXPECT_FALSE(std::filesystem::exists(missing)) << "pg-ls creates nothing";
}

TEST_F(PgLs, NoColourWhenStdoutIsAPipe)
{
  start_running("web");
  start_failed("broken");
  StartOptions pipe;
  pipe.env = {{"TERM", "xterm-256color"}};
  pipe.unset_env = {"NO_COLOR"};
  for (const Args& args : {Args{}, Args{"web"}, Args{"--check"}}) {
    Result r = pg_ls(args, pipe);
    EXPECT_FALSE(contains(r.out, "\x1b")) << r.out;
  }
}

TEST_F(PgLs, ColourOnATerminalOnlyWithoutNoColor)
{
  start_running("web");
  start_failed("broken");
  StartOptions tty;
  tty.stdout_pty = true;
  tty.env = {{"TERM", "xterm-256color"}};
  tty.unset_env = {"NO_COLOR"};
  // On a terminal the states are painted: the control for the NO_COLOR case below.
  Result coloured = pg_ls({}, tty);
  EXPECT_EQ(coloured.status, 0) << coloured.err;
  EXPECT_TRUE(contains(coloured.out, "\x1b[")) << coloured.out;
  EXPECT_TRUE(contains(coloured.out, "web")) << coloured.out;

  tty.env.emplace_back("NO_COLOR", "1");
  for (const Args& args : {Args{}, Args{"web"}}) {
    Result r = pg_ls(args, tty);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "web")) << r.out;
    EXPECT_FALSE(contains(r.out, "\x1b")) << r.out;
  }
}

} // namespace
} // namespace pg::e2e
