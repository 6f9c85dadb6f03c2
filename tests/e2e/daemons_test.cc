// Real daemons from Debian under pg-run (issue 16's trials): nginx, redis-server and gunicorn,
// in the foreground (the master is the main process, in the job's process group) and daemonized
// (the start command exits 0 leaving the daemon: a hand-over). A stop reaches each master once,
// the record is the master's, a hand-over is recorded. Each test skips with a note when its
// program is not installed (scripts/deps.sh installs them for CI).
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace pg::e2e {
namespace {

const std::string k_nginx = "/usr/sbin/nginx";
const std::string k_redis = "/usr/bin/redis-server";
const std::string k_python = "/usr/bin/python3";

size_t count_lines_with(const std::string& text, const std::string& part)
{
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    n += contains(line, part) ? 1u : 0u;
  }
  return n;
}

class RealDaemons : public E2e {
protected:
  void TearDown() override
  {
    // These programs rewrite their environment (the test's marker may be gone): end what a
    // pidfile named, by pid and start time, before the harness's own teardown.
    // Its workers too: a SIGKILLed nginx master leaves them behind.
    for (const auto& [pid, start] : m_daemons) {
      if (auto p = proc_info(pid); p && p->start_time == start) {
        ::kill(pid, SIGSTOP); // no new workers while we look
        for (const auto& [child, state] : children_of(pid)) {
          ::kill(child, SIGKILL);
        }
        ::kill(pid, SIGKILL);
      }
    }
    E2e::TearDown();
  }
  // Reads a pidfile the daemon writes (not always atomically) and keeps the pid for teardown.
  pid_t daemon_pid(const std::string& file)
  {
    pid_t pid = 0;
    must(wait_until(
        [&] {
          pid = static_cast<pid_t>(std::atoi(read_text(file).c_str()));
          return pid > 0 && alive(pid);
        },
        "the daemon wrote its pid file " + file));
    m_daemons.emplace_back(pid, proc_info(pid)->start_time);
    return pid;
  }
  std::vector<std::pair<pid_t, unsigned long long>> m_daemons;
};

// How nginx's error log starts a line of process pid: "PID#TID: TEXT".
std::string master_line(pid_t pid, const std::string& text)
{
  return std::to_string(pid) + "#" + std::to_string(pid) + ": " + text;
}

std::string nginx_conf(const std::string& dir, int port, bool daemon)
{
  return "daemon " + std::string(daemon ? "on" : "off") + ";\npid " + dir +
         "/nginx.pid;\nerror_log " + dir + "/error.log notice;\nworker_processes 2;\n" +
         "events { worker_connections 64; }\nhttp {\n  access_log off;\n  client_body_temp_path " +
         dir + "/tmp;\n  server { listen 127.0.0.1:" + std::to_string(port) + "; }\n}\n";
}

TEST_F(RealDaemons, NginxInTheForegroundGetsOneSigtermAndExitsZero)
{
  if (::access(k_nginx.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "nginx is not installed (Debian's nginx-light)";
  }
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string dir = path("nginx" + std::to_string(round));
    must(::mkdir(dir.c_str(), 0755) == 0);
    write_text(dir + "/nginx.conf", nginx_conf(dir, free_port(), false));
    Result r = run(pg_run({"-n", "nginx", "--restart", "never", "--wait", "500ms", "--", k_nginx,
                           "-p", dir, "-c", dir + "/nginx.conf"}));
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    const pid_t master = daemon_pid(dir + "/nginx.pid");
    EXPECT_EQ(state("nginx")["pid"], master);
    ASSERT_EQ(pg_ctl({"stop", "nginx"}).status, 0);
    Json st = wait_end("nginx");
    const std::string log = read_text(dir + "/error.log");
    // The master logs each signal it receives: one SIGTERM, not two.
    EXPECT_EQ(count_lines_with(log, master_line(master, "signal 15 (SIGTERM) received")), 1u)
        << log;
    EXPECT_EQ(st["last_exit"]["pid"], master);
    EXPECT_EQ(st["last_exit"]["code"], 0) << st["last_exit"].dump();
    EXPECT_EQ(st["last_exit"]["outcome"], "stopped");
    EXPECT_TRUE(events("nginx", "kill").empty());
    must(pg_ctl({"forget", "nginx"}).status == 0);
  }
}

TEST_F(RealDaemons, DaemonizedNginxIsAHandOver)
{
  if (::access(k_nginx.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "nginx is not installed (Debian's nginx-light)";
  }
  write_text(path("nginx.conf"), nginx_conf(tmp(), free_port(), true));
  Result r = run(
      pg_run({"-n", "web", "--wait", "1s", "--", k_nginx, "-p", tmp(), "-c", path("nginx.conf")}));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const pid_t master = daemon_pid(path("nginx.pid"));
  // --wait's receipt names the daemon, not the command that exited 0.
  EXPECT_TRUE(contains(r.out, "running, pid " + std::to_string(master) + " ")) << r.out;
  auto ho = wait_events("web", "handover", 1);
  EXPECT_EQ(ho[0]["pid"], master);
  EXPECT_EQ(state("web")["pid"], master);
  EXPECT_EQ(state("web")["state"], "running");
  Result unit = pg_ctl({"unit", "web"});
  EXPECT_TRUE(contains(unit.out, "Type=forking")) << unit.out;
  ASSERT_EQ(pg_ctl({"stop", "web"}).status, 0);
  Json st = wait_end("web");
  EXPECT_FALSE(alive(master));
  EXPECT_EQ(st["last_exit"]["pid"], master);
  EXPECT_EQ(st["last_exit"]["code"], 0) << st["last_exit"].dump();
  EXPECT_EQ(st["last_exit"]["outcome"], "stopped");
  const std::string log = read_text(path("error.log"));
  EXPECT_EQ(count_lines_with(log, master_line(master, "signal 15 (SIGTERM) received")), 1u) << log;
}

TEST_F(RealDaemons, RedisGetsOneSigtermInBothModes)
{
  if (::access(k_redis.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "redis-server is not installed";
  }
  for (const bool daemonize : {false, true}) {
    SCOPED_TRACE(daemonize ? "--daemonize yes" : "foreground");
    const std::string dir = path(daemonize ? "rd" : "rf");
    must(::mkdir(dir.c_str(), 0755) == 0);
    const std::string name = daemonize ? "redis-d" : "redis-f";
    Result r = run(pg_run({"-n",           name,
                           "--restart",    "never",
                           "--wait",       "500ms",
                           "--",           k_redis,
                           "--port",       std::to_string(free_port()),
                           "--bind",       "127.0.0.1",
                           "--save",       "",
                           "--appendonly", "no",
                           "--dir",        dir,
                           "--logfile",    dir + "/redis.log",
                           "--pidfile",    dir + "/redis.pid",
                           "--daemonize",  daemonize ? "yes" : "no"}));
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    const pid_t server = daemon_pid(dir + "/redis.pid");
    ASSERT_TRUE(
        wait_until([&] { return state(name)["pid"] == server; }, "the server is the main process"));
    EXPECT_EQ(events(name, "handover").size(), daemonize ? 1u : 0u);
    ASSERT_EQ(pg_ctl({"stop", name}).status, 0);
    Json st = wait_end(name);
    const std::string log = read_text(dir + "/redis.log");
    EXPECT_EQ(count_lines_with(log, "Received SIGTERM"), 1u) << log;
    EXPECT_EQ(st["last_exit"]["pid"], server);
    EXPECT_EQ(st["last_exit"]["code"], 0) << st["last_exit"].dump();
    EXPECT_EQ(st["last_exit"]["outcome"], "stopped");
  }
}

TEST_F(RealDaemons, GunicornGetsOneSigtermInBothModes)
{
  if (::access(k_python.c_str(), X_OK) != 0 ||
      run({k_python, "-c", "import gunicorn"}).status != 0) {
    GTEST_SKIP() << "gunicorn is not installed for " << k_python << " (python3-gunicorn)";
  }
  write_text(path("app.py"), "def app(environ, start_response):\n"
                             "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                             "    return [b'ok\\n']\n");
  for (const bool daemon : {false, true}) {
    SCOPED_TRACE(daemon ? "--daemon" : "foreground");
    const std::string name = daemon ? "gunicorn-d" : "gunicorn-f";
    const std::string pidfile = path(name + ".pid");
    const std::string errlog = path(name + ".log");
    Args cmd{k_python,
             "-m",
             "gunicorn",
             "--chdir",
             tmp(),
             "-b",
             "127.0.0.1:" + std::to_string(free_port()),
             "-w",
             "1",
             "--pid",
             pidfile,
             "--error-logfile",
             errlog,
             "--log-level",
             "info"};
    if (daemon) {
      cmd.push_back("--daemon");
    }
    cmd.push_back("app:app");
    Result r = run(pg_run(Args{"-n", name, "--restart", "never", "--wait", "500ms", "--"} + cmd));
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    const pid_t arbiter = daemon_pid(pidfile);
    ASSERT_TRUE(wait_until([&] { return state(name)["pid"] == arbiter; },
                           "the arbiter is the main process"));
    ASSERT_TRUE(wait_until([&] { return contains(read_text(errlog), "Booting worker"); },
                           "gunicorn booted a worker"));
    EXPECT_EQ(events(name, "handover").empty(), !daemon);
    ASSERT_EQ(pg_ctl({"stop", name}).status, 0);
    Json st = wait_end(name);
    const std::string log = read_text(errlog);
    EXPECT_EQ(count_lines_with(log, "Handling signal: term"), 1u) << log;
    EXPECT_EQ(st["last_exit"]["pid"], arbiter);
    EXPECT_EQ(st["last_exit"]["code"], 0) << st["last_exit"].dump();
    EXPECT_EQ(st["last_exit"]["outcome"], "stopped");
  }
}

} // namespace
} // namespace pg::e2e
