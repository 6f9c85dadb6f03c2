// pg-ls's views on real jobs: --state, --sort, the CPU and MEM columns.
#include "harness.h"

#include <cmath>
#include <cstdlib>
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

} // namespace
} // namespace pg::e2e
