// pg-ls's views on real jobs: --state, --sort, the CPU and MEM columns, --watch (piped, and on
// a terminal through tmux), --color, --events --follow, --timeline (piped, and through tmux).
#include "harness.h"

#include "clock.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace pg::e2e {
namespace {

// The rows of a pg-ls table in order, each split on blanks; the header line first.
std::vector<std::vector<std::string>> table_lines(const std::string& out)
{
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line) && !line.empty();) {
    std::istringstream words(line);
    std::vector<std::string> cells;
    for (std::string w; words >> w;) {
      cells.push_back(w);
    }
    lines.push_back(std::move(cells));
  }
  return lines;
}

// The jobs' names in the table's order, space-separated.
std::string row_names(const std::string& out)
{
  std::string names;
  auto lines = table_lines(out);
  for (size_t i = 1; i < lines.size(); ++i) {
    names += (names.empty() ? "" : " ") + lines[i].at(0);
  }
  return names;
}

// "1.5K", "64M", "2.0G", "512B" back to bytes; -1 when not such a size.
double size_cell_bytes(const std::string& cell)
{
  if (cell.empty()) {
    return -1;
  }
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  const std::string unit(end);
  const std::map<std::string, double> scale{
      {"B", 1}, {"K", 1024}, {"M", 1024.0 * 1024}, {"G", 1024.0 * 1024 * 1024}};
  auto it = scale.find(unit);
  return end == cell.c_str() || it == scale.end() ? -1 : v * it->second;
}

class PgLsViews : public E2e {
protected:
  void start_running(const std::string& name, const Args& fake_args = {"--sleep", "1h"})
  {
    launch(name, {}, fake_args);
    wait_running(name);
  }
  void start_failed(const std::string& name)
  {
    launch(name, {"--restart", "never"}, {"--exit", "3"});
    wait_end(name);
  }
  void start_completed(const std::string& name)
  {
    launch(name, {"--oneshot"}, {"--exit", "0"});
    wait_end(name);
  }
};

TEST_F(PgLsViews, StateKeepsOnlyTheJobsInThoseStates)
{
  start_running("web");
  start_failed("broken");
  start_completed("task");

  Result r = pg_ls({"--state", "running,failed"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(row_names(r.out), "broken web") << r.out;

  Result json = pg_ls({"--state", "completed", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Json all = Json::parse(json.out, nullptr, false);
  ASSERT_TRUE(all.is_array()) << json.out;
  ASSERT_EQ(all.size(), 1u) << json.out;
  EXPECT_EQ(all[0]["name"], "task");

  Result none = pg_ls({"--state", "lost"});
  EXPECT_EQ(none.status, 0) << none.err;
  EXPECT_TRUE(contains(none.out, "no lost jobs in")) << none.out;

  // With names: only those of the names in the states asked for.
  Result named = pg_ls({"--state", "running", "web", "broken"});
  EXPECT_EQ(named.status, 0) << named.err;
  EXPECT_EQ(row_names(named.out), "web") << named.out;
}

TEST_F(PgLsViews, AnUnknownStateOrSortKeyIsAUsageErrorInOneLine)
{
  for (const Args& args :
       {Args{"--state", "running,sleeping"}, Args{"--state", ""}, Args{"--sort", "cpu"}}) {
    Result r = pg_ls(args);
    EXPECT_EQ(r.status, 2) << args[0] << " " << args[1] << ": " << r.out << r.err;
    EXPECT_EQ(r.out, "");
    const std::string bad = args[1].substr(args[1].rfind(',') + 1); // the word refused
    EXPECT_TRUE(starts_with(r.err, "pg-ls: error: " + args[0] + ": '" + bad + "' is not")) << r.err;
    EXPECT_EQ(r.err.substr(r.err.find('\n') + 1), "Try 'pg-ls --help'.\n") << r.err;
  }
}

TEST_F(PgLsViews, SortOrdersTheTableAndTheJson)
{
  start_failed("a-broken");
  start_running("b-web");
  start_completed("c-task");
  start_running("d-api");

  auto order = [&](const std::string& key) {
    Result r = pg_ls({"--sort", key});
    EXPECT_EQ(r.status, 0) << r.err;
    return row_names(r.out);
  };
  EXPECT_EQ(order("name"), "a-broken b-web c-task d-api");
  EXPECT_EQ(order("state"), "c-task a-broken b-web d-api");  // completed, failed, running
  EXPECT_EQ(order("uptime"), "b-web d-api a-broken c-task"); // b-web started first
  // Only the running jobs have a memory; they come first.
  const std::string by_memory = order("memory");
  EXPECT_TRUE(by_memory.ends_with("a-broken c-task")) << by_memory;

  Result json = pg_ls({"--sort", "state", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Json all = Json::parse(json.out, nullptr, false);
  ASSERT_TRUE(all.is_array() && all.size() == 4u) << json.out;
  EXPECT_EQ(all[0]["name"], "c-task");
  EXPECT_EQ(all[3]["name"], "d-api");
}

TEST_F(PgLsViews, CpuAndMemColumnsShowTheLiveTreesFigures)
{
  const std::string pidfile = path("busy.pid");
  start_running("busy",
                {"--alloc-mb", "64", "--burn", "1500ms", "--pidfile", pidfile, "--sleep", "1h"});
  wait_pidfile(pidfile);
  start_failed("broken");

  Result r = pg_ls({});
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = table_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  const std::vector<std::string> head(lines[0].begin(), lines[0].begin() + 6);
  EXPECT_EQ(head, (std::vector<std::string>{"NAME", "STATE", "PID", "CPU", "MEM", "UPTIME"}))
      << r.out;
  const auto& broken = lines[1];
  const auto& busy = lines[2];
  ASSERT_EQ(busy.at(0), "busy") << r.out;
  ASSERT_EQ(broken.at(0), "broken") << r.out;
  EXPECT_EQ(broken.at(3), "-") << r.out;
  EXPECT_EQ(broken.at(4), "-") << r.out;
  // 1.5 s of CPU over a run of at most a minute or so; at least the 64 MiB it touched.
  ASSERT_TRUE(busy.at(3).ends_with("%")) << r.out;
  EXPECT_GT(std::strtod(busy.at(3).c_str(), nullptr), 1.0) << r.out;
  EXPECT_GE(size_cell_bytes(busy.at(4)), 64.0 * 1024 * 1024) << r.out;
}

// Lines of out that start with prefix: the headers of the tables printed ("NAME ", or "TIME "
// for the --events table).
size_t lines_starting(const std::string& out, const std::string& prefix = "NAME ")
{
  size_t n = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    n += starts_with(line, prefix) ? 1U : 0U;
  }
  return n;
}

TEST_F(PgLsViews, WatchPipedPrintsAWholeTablePerTickAndExitsZeroOnSigtermOrSigint)
{
  start_running("web");
  for (int sig : {SIGTERM, SIGINT}) {
    auto child = start(ls({"--watch", "0.2"}));
    must(wait_until([&] { return lines_starting(child->read_out(Millis(20))) >= 2; },
                    "two tables printed"));
    ASSERT_EQ(::kill(child->pid(), sig), 0);
    Result r = child->finish();
    EXPECT_EQ(r.status, 0) << strsignal(sig) << ": " << r.err;
    EXPECT_FALSE(contains(r.out, "\x1b")) << r.out;
    // Every table is whole: its header and the job's row.
    EXPECT_EQ(lines_starting(r.out, "web "), lines_starting(r.out)) << r.out;
  }
}

TEST_F(PgLsViews, WatchRefusesAnotherViewAndABadInterval)
{
  for (const Args& args : {Args{"--watch", "0.2", "--json"}, Args{"--watch", "0.2", "--check"},
                           Args{"--watch", "0.01"}, Args{"--watch", "soon"}}) {
    Result r = pg_ls(args);
    EXPECT_EQ(r.status, 2) << args[1] << ": " << r.out << r.err;
    EXPECT_TRUE(starts_with(r.err, "pg-ls: error: --watch")) << r.err;
  }
}

// tmux on a private socket: a real terminal for --watch, ended by its socket.
class Tmux {
public:
  Tmux(E2e& test, std::string socket) : m_socket(std::move(socket)) { (void)test; }
  ~Tmux()
  {
    if (m_started) {
      std::system(("tmux -S '" + m_socket + "' kill-server >/dev/null 2>&1").c_str());
    }
  }
  // A session of width columns running command (tmux -u: UTF-8 whatever the locale).
  bool start(const std::string& command, int width = 120)
  {
    m_started = true;
    const std::string cmd = "tmux -u -S '" + m_socket + "' new-session -d -s views -x " +
                            std::to_string(width) + " -y 30 \"" + command + "\"";
    return std::system(cmd.c_str()) == 0;
  }
  std::string capture() const
  {
    std::string out;
    FILE* p = ::popen(
        ("tmux -u -S '" + m_socket + "' capture-pane -p -t views 2>/dev/null").c_str(), "r");
    if (p == nullptr) {
      return out;
    }
    char buf[4096];
    for (size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;) {
      out.append(buf, got);
    }
    ::pclose(p);
    return out;
  }

private:
  std::string m_socket;
  bool m_started = false;
};

TEST_F(PgLsViews, WatchOnATerminalRedrawsInPlace)
{
  if (std::system("command -v tmux >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tmux is not installed (scripts/deps.sh installs it)";
  }
  start_running("web");
  const std::string pidfile = path("watch.pid");
  const std::string status = path("watch.status");
  // The inner shell records pg-ls's pid (exec keeps it), for the test to signal it by pid; the
  // outer one its exit status.
  write_text(path("watch.sh"),
             "#!/bin/sh\nsh -c 'echo $$ > " + pidfile + "; exec " + k_pg_ls + " --state-dir " +
                 state_dir() + " --watch 0.2'\necho $? > " + status + ".tmp\nmv " + status +
                 ".tmp " + status + "\n",
             0755);
  Tmux tmux(*this, path("tmux.sock"));
  ASSERT_TRUE(tmux.start(path("watch.sh")));
  const pid_t pid = wait_pidfile(pidfile);
  std::string screen;
  must(wait_until(
      [&] {
        screen = tmux.capture();
        return contains(screen, "Every 200ms") && contains(screen, "web ");
      },
      "the table on the terminal"));
  // Redrawn in place: one table on the screen, not one under the other.
  EXPECT_EQ(lines_starting(screen), 1u) << screen;
  const std::string first_title = screen.substr(0, screen.find('\n'));
  must(wait_until([&] { return tmux.capture().substr(0, first_title.size()) != first_title; },
                  "the title's clock to move on a redraw", Millis(5000)));
  screen = tmux.capture();
  EXPECT_EQ(lines_starting(screen), 1u) << screen;
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_EQ(wait_file(status), "0\n");
}

TEST_F(PgLsViews, ColorAlwaysPaintsEvenInAPipeAndNeverNotEvenOnATerminal)
{
  start_running("web");
  start_failed("broken");
  StartOptions pipe;
  pipe.env = {{"NO_COLOR", "1"}, {"TERM", "xterm-256color"}};
  Result always = pg_ls({"--color", "always"}, pipe);
  EXPECT_EQ(always.status, 0) << always.err;
  EXPECT_TRUE(contains(always.out, "\x1b[32mrunning\x1b[0m")) << always.out;
  EXPECT_TRUE(contains(always.out, "\x1b[31mfailed\x1b[0m")) << always.out;

  StartOptions tty;
  tty.stdout_pty = true;
  tty.env = {{"TERM", "xterm-256color"}};
  tty.unset_env = {"NO_COLOR"};
  Result never = pg_ls({"--color", "never"}, tty);
  EXPECT_EQ(never.status, 0) << never.err;
  EXPECT_TRUE(contains(never.out, "web")) << never.out;
  EXPECT_FALSE(contains(never.out, "\x1b")) << never.out;
  Result autotty = pg_ls({"--color", "auto"}, tty);
  EXPECT_TRUE(contains(autotty.out, "\x1b[32m")) << autotty.out;

  // auto: not in a pipe, and not with NO_COLOR on a terminal.
  pipe.env = {{"TERM", "xterm-256color"}};
  pipe.unset_env = {"NO_COLOR"};
  EXPECT_FALSE(contains(pg_ls({"--color", "auto"}, pipe).out, "\x1b"));
  tty.env.emplace_back("NO_COLOR", "1");
  EXPECT_FALSE(contains(pg_ls({"--color", "auto"}, tty).out, "\x1b"));

  Result bad = pg_ls({"--color", "sometimes"});
  EXPECT_EQ(bad.status, 2) << bad.out << bad.err;
  EXPECT_TRUE(starts_with(bad.err, "pg-ls: error: --color: 'sometimes' is not")) << bad.err;
}

TEST_F(PgLsViews, EventsFollowPrintsNewEventsAsTheyComeUntilSigterm)
{
  start_running("web");
  auto child = start(ls({"--events", "--follow"}));
  // The history first (web's start), then what comes.
  must(wait_until([&] { return contains(child->read_out(Millis(20)), " start"); },
                  "the history printed"));
  const size_t before = child->read_out(Millis(0)).size();
  Result stop = pg_ctl({"stop", "web"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  must(wait_until(
      [&] {
        const std::string& out = child->read_out(Millis(20));
        return out.size() > before && contains(out.substr(before), "web") &&
               contains(out.substr(before), " exit");
      },
      "the stop's exit event followed"));
  ASSERT_EQ(::kill(child->pid(), SIGTERM), 0);
  Result r = child->finish();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines_starting(r.out, "TIME "), 1u) << r.out;
}

TEST_F(PgLsViews, EventsFollowJsonPrintsOneObjectPerLine)
{
  start_running("web");
  auto child = start(ls({"--events", "--follow", "--json", "web"}));
  must(wait_until([&] { return contains(child->read_out(Millis(20)), "\"start\""); },
                  "the history printed"));
  ASSERT_EQ(pg_ctl({"stop", "web"}).status, 0);
  must(wait_until([&] { return contains(child->read_out(Millis(20)), "\"exit\""); },
                  "the exit event followed"));
  ASSERT_EQ(::kill(child->pid(), SIGINT), 0);
  Result r = child->finish();
  EXPECT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << line;
    EXPECT_EQ(j.value("name", ""), "web") << line;
  }
}

TEST_F(PgLsViews, FollowNeedsEvents)
{
  Result r = pg_ls({"--follow"});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_TRUE(starts_with(r.err, "pg-ls: error: --follow needs --events")) << r.err;
}

// Characters (UTF-8 code points) of a line: the columns it takes.
size_t columns_of(const std::string& line)
{
  size_t n = 0;
  for (char c : line) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1U : 0U;
  }
  return n;
}

// The line of out starting with prefix ("" when none).
std::string line_starting(const std::string& out, const std::string& prefix)
{
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (starts_with(line, prefix)) {
      return line;
    }
  }
  return "";
}

size_t count_of(const std::string& text, const std::string& part)
{
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++n;
  }
  return n;
}

class PgLsTimeline : public PgLsViews {
protected:
  // flaky: three runs of 700ms failing with exit 3, 300ms of backoff between them, then it
  // gives up (failed).
  void start_flaky()
  {
    launch("flaky",
           {"--restart", "on-failure", "--restart-delay", "300ms", "--restart-delay-max", "300ms",
            "--max-restarts", "2"},
           {"--sleep", "700ms", "--exit", "3"});
    wait_end("flaky");
    ASSERT_EQ(events("flaky", "exit").size(), 3u);
  }
};

TEST_F(PgLsTimeline, PipedItDrawsEachJobsBarWithItsFailuresAndTheAxisWithoutEscapes)
{
  start_flaky();
  start_running("web");
  // A cell shows the phase held longest in it: web's last cell is up only once it has been up
  // for longer than its launch took (launch to start). Waited for, on the recorded times.
  const auto at = [&](const char* kind) {
    return parse_rfc3339(events("web", kind).at(0).value("at", "")).value();
  };
  const WallTime launched = at("launch");
  const WallTime started = at("start");
  ASSERT_TRUE(wait_until([&] { return wall_now() - started > 2 * (started - launched); },
                         "web has been up twice as long as its launch took"));
  StartOptions pipe;
  pipe.env = {{"LC_ALL", "C.UTF-8"}, {"COLUMNS", "90"}, {"TERM", "xterm-256color"}};
  pipe.unset_env = {"NO_COLOR"};
  Result r = pg_ls({"--timeline", "1h"}, pipe);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(contains(r.out, "\x1b")) << r.out;
  const std::string flaky = line_starting(r.out, "flaky ");
  const std::string web = line_starting(r.out, "web   ");
  EXPECT_EQ(columns_of(flaky), 90u) << r.out;
  EXPECT_EQ(columns_of(web), 90u) << r.out;
  EXPECT_TRUE(contains(flaky, "\u2573")) << r.out; // the failures, all in the last cells
  EXPECT_TRUE(web.ends_with("\u2588")) << r.out;   // running: up to the right edge
  EXPECT_TRUE(contains(r.out, "\u2575")) << r.out; // the axis's ticks
  EXPECT_TRUE(contains(r.out, "one cell \u2248 43s (last 1h)")) << r.out;

  // A minute in ASCII (the C locale), flaky alone: its three failures in three cells of 0.7s,
  // and down after the last.
  pipe.env = {{"LC_ALL", "C"}, {"COLUMNS", "90"}};
  Result minute = pg_ls({"--timeline", "1m", "flaky"}, pipe);
  ASSERT_EQ(minute.status, 0) << minute.err;
  const std::string bar = line_starting(minute.out, "flaky ");
  EXPECT_EQ(bar.size(), 90u) << minute.out;
  EXPECT_EQ(count_of(bar, "X"), 3u) << minute.out;
  EXPECT_TRUE(contains(bar, "#")) << minute.out;
  EXPECT_EQ(bar.find_first_not_of('.', bar.rfind('X') + 1), std::string::npos) << minute.out;
  EXPECT_TRUE(line_starting(minute.out, "web ").empty()) << minute.out;
  EXPECT_TRUE(contains(minute.out, "|")) << minute.out;
}

TEST_F(PgLsTimeline, ColourAlwaysPaintsTheFailuresRed)
{
  start_flaky();
  StartOptions pipe;
  pipe.env = {{"LC_ALL", "C"}, {"COLUMNS", "78"}};
  Result r = pg_ls({"--timeline", "--color", "always"}, pipe);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\x1b[31mX")) << r.out;
  EXPECT_TRUE(contains(r.out, "one cell = 20m (last 1d)"))
      << r.out; // 24h in 72 cells (after "flaky ")
}

TEST_F(PgLsTimeline, OnATerminalTheBarIsAsWideAsThePane)
{
  if (std::system("command -v tmux >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tmux is not installed (scripts/deps.sh installs it)";
  }
  start_flaky();
  start_running("web");
  const std::string status = path("timeline.status");
  // pg-ls's exit status recorded, then the pane kept (read waits) until the server ends.
  write_text(path("timeline.sh"),
             "#!/bin/sh\nunset NO_COLOR\nLC_ALL=C.UTF-8 " + k_pg_ls + " --state-dir " +
                 state_dir() + " --timeline 1h\necho $? > " + status + ".tmp\nmv " + status +
                 ".tmp " + status + "\nread line\n",
             0755);
  Tmux tmux(*this, path("tmux.sock"));
  ASSERT_TRUE(tmux.start(path("timeline.sh"), 100));
  EXPECT_EQ(wait_file(status), "0\n");
  std::string screen;
  must(wait_until(
      [&] {
        screen = tmux.capture();
        return contains(screen, "one cell");
      },
      "the timeline on the terminal"));
  const std::string web = line_starting(screen, "web   ");
  EXPECT_EQ(columns_of(web), 100u) << screen;
  EXPECT_TRUE(web.ends_with("\u2588")) << screen;
  EXPECT_TRUE(contains(line_starting(screen, "flaky "), "\u2573")) << screen;
  EXPECT_TRUE(contains(screen, "\u2575")) << screen;
}

TEST_F(PgLsTimeline, RefusesAnotherViewAndABadWindow)
{
  for (const Args& args :
       {Args{"--timeline", "1h", "--json"}, Args{"--timeline", "1h", "--check"},
        Args{"--timeline", "1h", "--events"}, Args{"--timeline", "1h", "--prometheus"},
        Args{"--timeline", "1h", "--watch"}, Args{"--timeline", "500ms"},
        Args{"--timeline", "soon"}}) {
    Result r = pg_ls(args);
    EXPECT_EQ(r.status, 2) << args[1] << ": " << r.out << r.err;
    EXPECT_TRUE(starts_with(r.err, "pg-ls: error: --timeline")) << r.err;
    EXPECT_EQ(r.err.substr(r.err.find('\n') + 1), "Try 'pg-ls --help'.\n") << r.err;
  }
}

} // namespace
} // namespace pg::e2e
