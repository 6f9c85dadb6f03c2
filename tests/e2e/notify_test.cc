// sd_notify (--notify), --watchdog and --stall, end to end with the real clients: systemd-notify
// from a shell script, Debian's python3-sdnotify and python3-systemd (both belong to
// /usr/bin/python3, not to whatever python3 is first on PATH), and a raw socket.
#include "harness.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace pg::e2e {
namespace {

class Notify : public E2e {
protected:
  // An executable /bin/sh script at TMP/name; cores off, so a SIGABRT leaves no file behind.
  std::string script(const std::string& name, const std::string& body)
  {
    const std::string p = path(name);
    write_text(p, "#!/bin/sh\nulimit -c 0\ncd '" + tmp() + "'\n" + body + "\n", 0755);
    return p;
  }
  // pg-run --notify OPTS -n NAME -- SCRIPT
  Args notify_job(const std::string& name, const Args& opts, const std::string& script_path)
  {
    return pg_run(Args{"-n", name, "--notify"} + opts + Args{"--", script_path});
  }
};

bool has_python_clients()
{
  return ::access("/usr/bin/python3", X_OK) == 0;
}

double since(Clock::time_point t0)
{
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

TEST_F(Notify, SystemdNotifyReadyAndStatusFromAShellScript)
{
  const std::string s = script("job.sh", "while [ ! -e go ]; do sleep 0.02; done\n"
                                         "systemd-notify --ready --status='warming up'\n"
                                         "echo ok > notified\n"
                                         "exec sleep 60");
  Result r = run(notify_job("web", {}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "web: starting, pid ")) << r.out;
  EXPECT_TRUE(contains(r.out, "READY=1 not received yet")) << r.out;
  Json st = state("web");
  EXPECT_EQ(st["state"], "starting");
  EXPECT_EQ(st["status_text"], "");

  write_text(path("go"), "");
  st = wait_state(
      "web",
      [](const Json& j) { return j["state"] == "running" && j["status_text"] == "warming up"; },
      "READY=1 and STATUS= are seen");
  // systemd-notify waits for its BARRIER=1 descriptor to be closed: it returned.
  EXPECT_EQ(wait_file(path("notified")), "ok\n");
  EXPECT_EQ(wait_events("web", "ready", 1).size(), 1u);
  EXPECT_TRUE(contains(read_text(state_dir() + "/web/output.log"), "ready: READY=1 from pid"));
  EXPECT_TRUE(events("web", "notify-ignored").empty());
  // pg-ls shows the STATUS= text, in its detail view and its JSON.
  Result detail = run({PG_LS_BIN, "--state-dir", state_dir(), "web"});
  EXPECT_TRUE(contains(detail.out, "warming up")) << detail.out;
  Result json = run({PG_LS_BIN, "--state-dir", state_dir(), "--json"});
  Json list = Json::parse(json.out, nullptr, false);
  ASSERT_TRUE(list.is_array() && list.size() == 1) << json.out;
  EXPECT_EQ(list[0]["status_text"], "warming up");
  EXPECT_EQ(list[0]["state"], "running");
}

TEST_F(Notify, StoppingIsShownAndTheEndClassifiedAsUsual)
{
  const std::string s = script("job.sh", "systemd-notify --ready\n"
                                         "systemd-notify STOPPING=1 --status='draining'\n"
                                         "while [ ! -e go ]; do sleep 0.02; done\n"
                                         "exit 3");
  Result r = run(notify_job("drain", {"--restart", "never"}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  wait_state(
      "drain",
      [](const Json& j) { return j["state"] == "stopping" && j["status_text"] == "draining"; },
      "STOPPING=1 shows the job stopping");
  EXPECT_EQ(wait_events("drain", "stopping", 1).size(), 1u);
  write_text(path("go"), "");
  Json st = wait_end("drain");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["last_exit"]["cause"], "exit: code 3");
  EXPECT_EQ(st["status_text"], "draining"); // kept after the run
}

TEST_F(Notify, WaitReturnsAtReadyWellBeforeItsEnd)
{
  const std::string s = script("job.sh", "sleep 0.2\nsystemd-notify --ready\nexec sleep 60");
  const auto t0 = Clock::now();
  Result r = run(notify_job("api", {"--wait", "20s"}, s));
  const double took = since(t0);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "api: running, pid ")) << r.out;
  EXPECT_LT(took, 10.0);
  EXPECT_EQ(state("api")["state"], "running");
}

TEST_F(Notify, WaitWithoutReadySucceedsButSaysSo)
{
  const std::string s = script("job.sh", "exec sleep 60");
  Result r = run(notify_job("mute", {"--wait", "300ms"}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "mute: starting, pid ")) << r.out;
  EXPECT_TRUE(contains(r.out, "READY=1 not received within the 300ms wait")) << r.out;
  EXPECT_EQ(state("mute")["state"], "starting");
}

TEST_F(Notify, PythonSdnotify)
{
  if (!has_python_clients()) {
    GTEST_SKIP() << "no /usr/bin/python3";
  }
  Result r = run(pg_run({"-n", "py", "--notify", "--wait", "20s", "--", "/usr/bin/python3", "-c",
                         "import sdnotify, time\n"
                         "sdnotify.SystemdNotifier().notify('READY=1\\nSTATUS=serving 3 rooms')\n"
                         "time.sleep(60)\n"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "py: running")) << r.out;
  wait_state(
      "py", [](const Json& j) { return j["status_text"] == "serving 3 rooms"; }, "STATUS= seen");
}

TEST_F(Notify, PythonSystemdDaemonNotify)
{
  if (!has_python_clients()) {
    GTEST_SKIP() << "no /usr/bin/python3";
  }
  Result r = run(pg_run({"-n", "sd", "--notify", "--wait", "20s", "--", "/usr/bin/python3", "-c",
                         "from systemd import daemon\nimport time\n"
                         "assert daemon.notify('READY=1\\nSTATUS=via libsystemd')\n"
                         "time.sleep(60)\n"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "sd: running")) << r.out;
  wait_state(
      "sd", [](const Json& j) { return j["status_text"] == "via libsystemd"; }, "STATUS= seen");
}

TEST_F(Notify, ExtendTimeoutLengthensTheWaitForReady)
{
  const std::string s = script("job.sh", "systemd-notify EXTEND_TIMEOUT_USEC=30000000\n"
                                         "sleep 2\n"
                                         "systemd-notify --ready\n"
                                         "exec sleep 60");
  const auto t0 = Clock::now();
  Result r = run(notify_job("slow", {"--wait", "1s"}, s));
  const double took = since(t0);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "slow: running, pid ")) << r.out; // READY=1 ended the wait
  EXPECT_GE(took, 1.9);
  EXPECT_EQ(wait_events("slow", "extend-timeout", 1).size(), 1u);
}

TEST_F(Notify, AbsurdTimeoutsAreCappedAtTheDurationLimit)
{
  // 2^64 - 1 microseconds is what a job may send: both are taken as the longest duration pg-run
  // takes anywhere (36500d), the job stays up and its state readable.
  const std::string s = script("job.sh", "systemd-notify --ready WATCHDOG_USEC=18446744073709551615"
                                         " EXTEND_TIMEOUT_USEC=18446744073709551615\n"
                                         "exec sleep 60");
  Result r = run(notify_job("far", {"--wait", "30s"}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_events("far", "watchdog-timeout", 1)[0]["detail"],
            "the job set its watchdog timeout to 36500d");
  EXPECT_EQ(wait_events("far", "extend-timeout", 1)[0]["detail"], "the job asked for 36500d more");
  EXPECT_EQ(state("far")["state"], "running");
  EXPECT_EQ(run({PG_LS_BIN, "--state-dir", state_dir(), "--check"}).status, 0);
}

TEST_F(Notify, MainPidTakesOverSignalsPidAndClassification)
{
  // A start script that backgrounds the real daemon, names it and exits 0 (the daemon then is
  // the supervisor's, the tree's subreaper).
  const std::string s = script("job.sh", "sleep 60 &\n"
                                         "echo $! > daemon.tmp && mv daemon.tmp daemon.pid\n"
                                         "systemd-notify --ready MAINPID=$!\n"
                                         "exit 0");
  Result r = run(notify_job("fork", {"--restart", "never"}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  const pid_t daemon = wait_pidfile(path("daemon.pid"));
  auto ev = wait_events("fork", "mainpid", 1);
  EXPECT_EQ(ev[0]["pid"], daemon);
  const pid_t script_pid = ev[0]["previous"].get<pid_t>();
  // The script's exit 0 does not end the run, nor classify it: the daemon is the main process.
  must(wait_until([&] { return !alive(script_pid); }, "the start script exits"));
  wait_state(
      "fork", [&](const Json& j) { return j["pid"] == daemon && j["state"] == "running"; },
      "MAINPID= makes the daemon the main process");
  // SIGUSR1 to the supervisor is forwarded to the main process: now the daemon.
  ASSERT_EQ(::kill(supervisor_pid("fork"), SIGUSR1), 0);
  Json st = wait_end("fork");
  const Json& last = st["last_exit"];
  EXPECT_EQ(last["pid"], daemon);
  EXPECT_EQ(last["signal"], "SIGUSR1");
  EXPECT_EQ(last["outcome"], "failed");
  EXPECT_TRUE(starts_with(last.value("cause", ""), "signal: SIGUSR1")) << last.dump();
}

// Sends text to an abstract NOTIFY_SOCKET ("@name") from this process.
bool send_notify(const std::string& address, const std::string& text)
{
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, address.data() + 1, address.size() - 1);
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  const bool ok = ::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                           len) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

TEST_F(Notify, ALiveProcessOutsideTheTreeIsIgnored)
{
  const std::string s = script(
      "job.sh", "printf %s \"$NOTIFY_SOCKET\" > sock.tmp && mv sock.tmp sock\nexec sleep 60");
  Result r = run(notify_job("guarded", {}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string address = wait_file(path("sock"));
  ASSERT_TRUE(starts_with(address, "@pg-notify/")) << address;
  ASSERT_TRUE(send_notify(address, "READY=1\nSTATUS=spoofed\nWATCHDOG=trigger"));
  auto ev = wait_events("guarded", "notify-ignored", 1);
  EXPECT_EQ(ev[0]["pid"], ::getpid());
  EXPECT_EQ(ev[0]["why"], "not of the job's tree");
  Json st = state("guarded");
  EXPECT_EQ(st["state"], "starting");
  EXPECT_EQ(st["status_text"], "");
  EXPECT_TRUE(events("guarded", "ready").empty());
  EXPECT_TRUE(events("guarded", "watchdog").empty());
}

TEST_F(Notify, DescriptorsPassedWithBarrierAreClosedAtOnce)
{
  if (!has_python_clients()) {
    GTEST_SKIP() << "no /usr/bin/python3";
  }
  // The job hands over a pipe's write end and reads the other end: EOF once we closed ours.
  const std::string py = "import os, socket, time\n"
                         "addr = '\\0' + os.environ['NOTIFY_SOCKET'][1:]\n"
                         "r, w = os.pipe()\n"
                         "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                         "s.connect(addr)\n"
                         "socket.send_fds(s, [b'BARRIER=1'], [w])\n"
                         "os.close(w)\n"
                         "assert os.read(r, 1) == b''\n"
                         "open('eof.tmp', 'w').write('eof')\n"
                         "os.rename('eof.tmp', 'eof')\n"
                         "time.sleep(60)\n";
  StartOptions o;
  o.cwd = tmp();
  Result r = run(pg_run({"-n", "barrier", "--notify", "--", "/usr/bin/python3", "-c", py}), o);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_file(path("eof")), "eof");
  EXPECT_EQ(state("barrier")["state"], "starting"); // still alive, never said READY=1
}

TEST_F(Notify, AsAnOrdinaryUser)
{
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to become uid 65534";
  }
  // uid 65534 ("nobody"): the kernel does not let it claim another pid in its credentials, so
  // systemd-notify's messages carry its own pid. A home for it, which root's temp dir lets it
  // reach; sanitizer reports must be writable too.
  constexpr uid_t k_nobody = 65534;
  ASSERT_EQ(::chmod(tmp().c_str(), 0711), 0);
  const std::string home = path("nobody");
  ASSERT_EQ(::mkdir(home.c_str(), 0700), 0);
  ASSERT_EQ(::chown(home.c_str(), k_nobody, k_nobody), 0);
  ASSERT_EQ(::chown(path("san").c_str(), k_nobody, k_nobody), 0);
  const std::string sd = home + "/state";
  remember_state_dir(sd);
  const std::string s = home + "/job.sh";
  write_text(s,
             "#!/bin/sh\nulimit -c 0\nsystemd-notify --ready --status=\"as $(id -u)\"\n"
             "exec sleep 60\n",
             0755);
  ASSERT_EQ(::chown(s.c_str(), k_nobody, k_nobody), 0);
  StartOptions o;
  o.uid = k_nobody;
  o.gid = k_nobody;
  o.cwd = home;
  o.env = {{"HOME", home}};
  Result r = run(Args{k_pg_run, "--state-dir", sd, "-n", "nob", "--notify", "--wait", "20s", "--",
                      "/bin/sh", s},
                 o);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "nob: running, pid ")) << r.out;
  Json st;
  must(wait_until(
      [&] {
        st = Json::parse(read_text(sd + "/nob/state.json"), nullptr, false);
        return !st.is_discarded() && st.value("status_text", "") == "as 65534";
      },
      "STATUS= from systemd-notify run as nobody is accepted"));
  EXPECT_EQ(st["state"], "running");
  struct stat info {};
  ASSERT_EQ(::stat((sd + "/nob/state.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_uid, k_nobody);
}

class Watchdog : public Notify {};

TEST_F(Watchdog, EnvironmentNamesTheTimeoutAndTheMainProcess)
{
  const std::string s =
      script("job.sh", "printf '%s %s %s' \"$WATCHDOG_USEC\" \"$WATCHDOG_PID\" $$ > env.tmp\n"
                       "mv env.tmp env\nexec sleep 60");
  StartOptions o;
  o.env = {{"WATCHDOG_USEC", "1"}, {"WATCHDOG_PID", "1"}}; // inherited ones never leak through
  Result r = run(notify_job("dog", {"--watchdog", "90s"}, s), o);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string env = wait_file(path("env"));
  const pid_t pid = state("dog")["pid"].get<pid_t>();
  EXPECT_EQ(env, "90000000 " + std::to_string(pid) + " " + std::to_string(pid));

  const std::string s2 = script("job2.sh", "printf '[%s][%s]' \"$WATCHDOG_USEC\" \"$WATCHDOG_PID\""
                                           " > env2.tmp\nmv env2.tmp env2\nexec sleep 60");
  r = run(notify_job("nodog", {}, s2), o);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(wait_file(path("env2")), "[][]");
}

TEST_F(Watchdog, AJobThatStopsPingingIsAbortedAndRestarted)
{
  const std::string s = script("job.sh", "systemd-notify --ready\n"
                                         "for i in 1 2 3; do sleep 0.2; systemd-notify WATCHDOG=1; "
                                         "done\n"
                                         "exec sleep 60");
  Result r = run(notify_job("hung", {"--watchdog", "2s", "--restart-delay", "100ms"}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  auto exits = wait_events("hung", "exit", 1);
  const Json& e = exits[0];
  EXPECT_TRUE(starts_with(e.value("cause", ""), "watchdog: no WATCHDOG=1 for 2s; signal SIGABRT"))
      << e.dump();
  EXPECT_EQ(e["signal"], "SIGABRT");
  EXPECT_EQ(e["outcome"], "failed");
  // The pings counted: the kill came 2s after the last one, not 2s after the start.
  EXPECT_GE(e.value("runtime_s", 0.0), 2.5) << e.dump();
  auto dog = events("hung", "watchdog");
  ASSERT_EQ(dog.size(), 1u);
  EXPECT_TRUE(contains(dog[0].value("detail", ""), "SIGABRT to pid")) << dog[0].dump();
  // The restart policy (on-failure) starts it again.
  wait_events("hung", "start", 2);
  EXPECT_EQ(events("hung", "restart").at(0)["reason"], "failure");
}

TEST_F(Watchdog, TriggerKillsAtOnce)
{
  const std::string s =
      script("job.sh", "systemd-notify --ready\nsystemd-notify WATCHDOG=trigger\nexec sleep 60");
  Result r = run(notify_job("trig", {"--watchdog", "60s", "--restart", "never"}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  Json st = wait_end("trig");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_TRUE(
      starts_with(st["last_exit"].value("cause", ""), "watchdog: WATCHDOG=trigger from pid"))
      << st.dump();
}

TEST_F(Watchdog, TheJobMayChangeItsTimeout)
{
  const std::string s =
      script("job.sh", "systemd-notify --ready WATCHDOG_USEC=500000\nexec sleep 60");
  Result r = run(notify_job("short", {"--watchdog", "60s", "--restart", "never"}, s));
  ASSERT_EQ(r.status, 0) << r.err;
  Json st = wait_end("short");
  EXPECT_TRUE(
      starts_with(st["last_exit"].value("cause", ""), "watchdog: no WATCHDOG=1 for 500ms; "))
      << st.dump();
  EXPECT_LT(st["last_exit"].value("runtime_s", 99.0), 30.0);
  EXPECT_EQ(events("short", "watchdog-timeout").size(), 1u);
}

class Stall : public Notify {};

TEST_F(Stall, NoOutputAbortsTheMainThenStopsTheRestOfTheTree)
{
  // A background child that would outlive the main process: it gets the stop signal once the
  // main process died of SIGABRT, long before the 30s stop timeout.
  const std::string s = script("job.sh", "sleep 60 &\n"
                                         "echo $! > child.tmp && mv child.tmp child.pid\n"
                                         "echo one\nsleep 0.3\necho two\n"
                                         "exec sleep 61");
  Result r = run(pg_run(
      {"-n", "quiet", "--stall", "1s", "--restart", "never", "--stop-timeout", "30s", "--", s}));
  ASSERT_EQ(r.status, 0) << r.err;
  const pid_t child = wait_pidfile(path("child.pid"));
  Json st = wait_end("quiet");
  const Json& e = st["last_exit"];
  EXPECT_TRUE(starts_with(e.value("cause", ""), "stall: no output for 1s; signal SIGABRT"))
      << e.dump();
  EXPECT_EQ(e["signal"], "SIGABRT");
  EXPECT_EQ(st["state"], "failed");
  EXPECT_GE(e.value("runtime_s", 0.0), 1.25) << e.dump(); // counted from the last output
  EXPECT_LT(e.value("runtime_s", 0.0), 25.0) << e.dump();
  EXPECT_TRUE(events("quiet", "kill").empty()); // no SIGKILL was needed
  EXPECT_FALSE(alive(child));
  EXPECT_TRUE(contains(read_text(state_dir() + "/quiet/output.log"), "stall: no output for 1s"));
}

} // namespace
} // namespace pg::e2e
