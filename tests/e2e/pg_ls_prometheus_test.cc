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

class PgLsPrometheus : public E2e {
protected:
  std::string metrics()
  {
    Result r = run({k_pg_ls, "--state-dir", state_dir(), "--prometheus"});
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
};

TEST_F(PgLsPrometheus, PromtoolAcceptsTheMetrics)
{
  ASSERT_EQ(::access(k_promtool.c_str(), X_OK), 0) << "promtool (Debian package prometheus)";
  some_jobs();
  const std::string file = path("pg.prom");
  write_text(file, metrics());
  Result r = run({"/bin/sh", "-c", k_promtool + " check metrics < " + file});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "promtool has remarks";
}

TEST_F(PgLsPrometheus, NodeExporterServesThemFromItsTextfileDirectory)
{
  ASSERT_EQ(::access(k_exporter.c_str(), X_OK), 0) << "Debian package prometheus-node-exporter";
  some_jobs();
  const std::string dir = path("textfile");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  // Written as the man page says: a temp file, then a rename into place.
  write_text(dir + "/pg.prom.tmp", metrics());
  ASSERT_EQ(::rename((dir + "/pg.prom.tmp").c_str(), (dir + "/pg.prom").c_str()), 0);

  std::optional<std::string> body;
  for (int attempt = 0; attempt < 3 && !body; ++attempt) {
    const int port = free_port();
    ASSERT_GT(port, 0);
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
    exporter->finish();
  }
  ASSERT_TRUE(body) << "node_exporter never answered";
  EXPECT_TRUE(contains(*body, "pg_job_state{name=\"svc\",state=\"running\"} 1\n")) << *body;
  EXPECT_TRUE(contains(*body, "pg_job_last_exit_code{name=\"bad\"} 4\n")) << *body;
  EXPECT_TRUE(contains(*body, "node_textfile_scrape_error 0\n")) << *body;
}

} // namespace
} // namespace pg::e2e
