// pg-ls --prometheus against the real tools: Debian's promtool accepts the text, and a real
// prometheus-node-exporter, started by the test on a loopback port with its textfile
// collector pointed at a directory of ours, serves our metrics without a scrape error.
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pg::e2e {
namespace {

const std::string k_promtool = "/usr/bin/promtool";
const std::string k_exporter = "/usr/bin/prometheus-node-exporter";

// GET path from 127.0.0.1:port; the body, or nullopt when nothing answers.
std::optional<std::string> http_get(int port, const std::string& path)
{
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t body = resp.find("\r\n\r\n");
  if (!resp.starts_with("HTTP/1.") || body == std::string::npos) {
    return std::nullopt;
  }
  return resp.substr(body + 4);
}

// Absent tools skip the test with a note: both come from Debian packages (scripts/deps.sh).
#define PG_NEED(tool, package)                                                                     \
  if (::access((tool).c_str(), X_OK) != 0) {                                                       \
    GTEST_SKIP() << (tool) << " is missing (Debian package " package "; scripts/deps.sh)";         \
  }

class PgLsPrometheus : public E2e {
protected:
  std::string metrics(const std::string& dir = "")
  {
    Result r = run({k_pg_ls, "--state-dir", dir.empty() ? state_dir() : dir, "--prometheus"});
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  }
  void some_jobs()
  {
    launch("svc", {"--duration", "1h"}, {"--sleep", "1h"});
    wait_running("svc");
    launch("bad", {"--oneshot"}, {"--exit", "4"});
    wait_end("bad");
  }
  // The labels every series of job name in the test's state directory carries.
  std::string labels(const std::string& name, const std::string& dir = "") const
  {
    return "name=\"" + name + "\",state_dir=\"" + (dir.empty() ? state_dir() : dir) + "\"";
  }
  // promtool check metrics on text: its remarks, "" when it has none.
  std::string promtool_remarks(const std::string& text)
  {
    const std::string file = path("pg.prom");
    write_text(file, text);
    Result r = run({"/bin/sh", "-c", k_promtool + " check metrics < " + file});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    return r.out + r.err;
  }
  // node_exporter with its textfile collector on dir, on a free loopback port: its /metrics.
  // Started and ended (by its pid, waited for) here.
  std::optional<std::string> scrape_textfiles(const std::string& dir)
  {
    std::optional<std::string> body;
    for (int attempt = 0; attempt < 3 && !body; ++attempt) {
      const int port = free_port(); // bound to port 0 and closed: free a moment ago
      EXPECT_GT(port, 0);
      auto exporter = start({k_exporter, "--web.listen-address=127.0.0.1:" + std::to_string(port),
                             "--collector.disable-defaults", "--collector.textfile",
                             "--collector.textfile.directory=" + dir});
      remember(exporter->pid());
      wait_until(
          [&] {
            body = http_get(port, "/metrics");
            return body.has_value() || !alive(exporter->pid());
          },
          "node_exporter answers on port " + std::to_string(port));
      ::kill(exporter->pid(), SIGTERM);
      exporter->finish(); // waits for it, with the harness's deadline
    }
    return body;
  }
  // Writes text into dir/file as the man page says: a temp file, then a rename into place.
  static void install_textfile(const std::string& dir, const std::string& file,
                               const std::string& text)
  {
    write_text(dir + "/" + file + ".tmp", text);
    ASSERT_EQ(::rename((dir + "/" + file + ".tmp").c_str(), (dir + "/" + file).c_str()), 0);
  }
};

TEST_F(PgLsPrometheus, PromtoolAcceptsTheMetrics)
{
  PG_NEED(k_promtool, "prometheus");
  some_jobs();
  const std::string text = metrics();
  EXPECT_EQ(promtool_remarks(text), "") << "promtool has remarks";
}

TEST_F(PgLsPrometheus, CountersEndInTotalAndCarryOverRelaunches)
{
  launch("bad", {"--oneshot"}, {"--exit", "4"});
  wait_end("bad");
  launch("bad", {"--oneshot"}, {"--exit", "4"});
  wait_end("bad");
  launch("bad", {"--oneshot"}, {"--exit", "0"});
  wait_end("bad");
  EXPECT_EQ(state("bad").value("failures", -1), 2);
  const std::string text = metrics();
  for (const std::string& line : std::vector<std::string>{
           "# TYPE pg_job_runs_total counter\n", "pg_job_runs_total{" + labels("bad") + "} 3\n",
           "# TYPE pg_job_failures_total counter\n",
           "pg_job_failures_total{" + labels("bad") + "} 2\n", "# TYPE pg_job_restarts gauge\n",
           "pg_job_state{" + labels("bad") + ",state=\"completed\"} 1\n"}) {
    EXPECT_TRUE(contains(text, line)) << line << text;
  }
  EXPECT_FALSE(contains(text, "_age_seconds")) << text;
  EXPECT_FALSE(contains(text, "pg_job_uptime_seconds")) << text;
}

TEST_F(PgLsPrometheus, ALostRunCountsAsAFailure)
{
  launch("svc", {}, {"--sleep", "1h"});
  wait_running("svc");
  make_lost("svc");
  // The next launch records the lost run, a failure, before its own.
  launch("svc", {"--oneshot"}, {"--exit", "0"});
  wait_end("svc");
  const std::string text = metrics();
  EXPECT_TRUE(contains(text, "pg_job_failures_total{" + labels("svc") + "} 1\n")) << text;
  EXPECT_TRUE(contains(text, "pg_job_runs_total{" + labels("svc") + "} 2\n")) << text;
}

TEST_F(PgLsPrometheus, NodeExporterServesThemFromItsTextfileDirectory)
{
  PG_NEED(k_exporter, "prometheus-node-exporter");
  some_jobs();
  const std::string dir = path("textfile");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  install_textfile(dir, "pg.prom", metrics());
  const std::optional<std::string> body = scrape_textfiles(dir);
  ASSERT_TRUE(body) << "node_exporter never answered";
  // node_exporter writes the labels sorted by name.
  EXPECT_TRUE(contains(*body, "pg_job_state{name=\"svc\",state=\"running\",state_dir=\"" +
                                  state_dir() + "\"} 1\n"))
      << *body;
  EXPECT_TRUE(contains(*body, "pg_job_last_exit_code{" + labels("bad") + "} 4\n")) << *body;
  EXPECT_TRUE(contains(*body, "node_textfile_scrape_error 0\n")) << *body;
}

TEST_F(PgLsPrometheus, TwoStateDirectoriesJobsOfOneNameDoNotCollide)
{
  PG_NEED(k_exporter, "prometheus-node-exporter");
  const std::string other = path("other-state");
  remember_state_dir(other);
  launch("bad", {"--oneshot"}, {"--exit", "4"});
  wait_end("bad");
  Result r =
      run(Args{k_pg_run, "--state-dir", other, "-n", "bad", "--oneshot", k_fake, "--exit", "3"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string theirs;
  wait_until(
      [&] {
        theirs = metrics(other);
        return contains(theirs, "pg_job_failures_total{" + labels("bad", other) + "} 1\n");
      },
      "the other state directory's job failed");
  const std::string dir = path("textfile");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  install_textfile(dir, "pg-a.prom", metrics());
  install_textfile(dir, "pg-b.prom", theirs);
  const std::optional<std::string> body = scrape_textfiles(dir);
  ASSERT_TRUE(body) << "node_exporter never answered";
  EXPECT_TRUE(contains(*body, "pg_job_last_exit_code{" + labels("bad") + "} 4\n")) << *body;
  EXPECT_TRUE(contains(*body, "pg_job_last_exit_code{" + labels("bad", other) + "} 3\n")) << *body;
  EXPECT_TRUE(contains(*body, "node_textfile_scrape_error 0\n")) << *body;
}

TEST_F(PgLsPrometheus, PromtoolAcceptsTheExampleAlertingRules)
{
  PG_NEED(k_promtool, "prometheus");
  const std::string rules = std::string(PG_SOURCE_DIR) + "/contrib/prometheus/pg-alerts.rules.yml";
  Result r = run({k_promtool, "check", "rules", rules});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "SUCCESS")) << r.out;
}

} // namespace
} // namespace pg::e2e
