// pg-run: start and babysit one job. Parses the command line into Options; launch() does the rest.
#include "launch.h"
#include "launch_json.h"
#include "options.h"
#include "parse.h"
#include "signals.h"
#include "spawn.h"
#include "state_dir.h"
#include "syscalls.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace {

using pg::Millis;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct EnvError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Millis duration_arg(const std::string& opt, const std::string& text)
{
  auto d = pg::parse_duration(text);
  if (!d && pg::duration_too_long(text)) {
    throw UsageError(pg::duration_too_long_error(opt, text));
  }
  if (!d) {
    throw UsageError(
        fmt::format("{}: '{}' is not a duration (use 250ms, 90s, 30m, 8h, 2d, 1h30m)", opt, text));
  }
  return *d;
}

std::string absolute(const std::string& p, const std::string& base)
{
  std::filesystem::path path(p);
  if (path.is_relative()) {
    path = std::filesystem::path(base) / path;
  }
  std::string s = path.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

std::string current_dir()
{
  std::error_code ec;
  auto p = std::filesystem::current_path(ec);
  if (ec) {
    throw EnvError("cannot read the current directory: " + ec.message());
  }
  return p.string();
}

// An error before anything started: "pg-run: error: MSG" on stderr, and with --json
// {"name", "error", "status"} on stdout. Returns status.
int fail(bool json, const std::string& name, int status, const std::string& msg)
{
  fmt::print(stderr, "pg-run: error: {}\n", msg);
  if (json) {
    fmt::print("{}\n", pg::dump_line(pg::launch_error_json(name, msg, status)));
  }
  return status;
}

const char* k_footer =
    R"(Exit status: 0 the job runs; 1 with --wait: the job ended during the wait, otherwise an
environment error (bad --cwd, unreadable --env-file, unsafe state directory); 2 usage; 3 a job of that name is running (or its lost processes live);
126/127 the command is not executable / not found. With --foreground: the job's last exit status
(its code, or 128+N for signal N).
Durations: 250ms, 90s, 30m, 8h, 2d, 1h30m (a bare number is seconds), at most 36500d.
See pg-run(1).)";

} // namespace

int main(int argc, char** argv)
{
  CLI::App app{"Start a job detached from this session and babysit it for its whole life.",
               "pg-run"};
  app.footer(k_footer);
  app.prefix_command();
  app.set_version_flag("--version", std::string("pg-run ") + PG_VERSION);

  // Our own lines go to stderr: in the foreground, stdout carries the job's output.
  spdlog::set_default_logger(spdlog::stderr_logger_st("pg-run"));
  spdlog::set_pattern("pg-run: %v");
  pg::Options opt;
  std::string duration = "0", restart, max_restarts = "5", window = "1h", delay = "1s",
              delay_max = "60s", stop_signal = "TERM", stop_timeout = "10s", cwd, env_file, log,
              state_dir;
  std::vector<std::string> envs;
  app.add_option("-n,--name", opt.name, "job name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")->required();
  app.add_flag("--oneshot", opt.def.oneshot, "a task meant to finish: exit 0 completes it");
  app.add_option("--duration", duration, "planned length of the whole job (0 = indefinite) [0]");
  app.add_option("--restart", restart,
                 "on-failure|always|never [on-failure; never with --oneshot]");
  app.add_option("--max-restarts", max_restarts,
                 "restarts after failures allowed inside --restart-window, or unlimited [5]");
  app.add_option("--restart-window", window, "window for --max-restarts [1h]");
  app.add_option("--restart-delay", delay, "first backoff, doubled per consecutive failure [1s]");
  app.add_option("--restart-delay-max", delay_max, "longest backoff [60s]");
  app.add_option("--stop-signal", stop_signal, "graceful stop signal [TERM]");
  app.add_option("--stop-timeout", stop_timeout, "time before SIGKILL on stop [10s]");
  app.add_option("--cwd", cwd, "the job's working directory [current]");
  app.add_option("--env", envs, "K=V for the job's environment (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--env-file", env_file, "file of KEY=VALUE lines for the job's environment");
  app.add_option("--log", log, "where the job's stdout+stderr go [STATE/NAME/output.log]");
  std::string log_max_size = "10M";
  unsigned log_keep = 3;
  app.add_option("--log-max-size", log_max_size,
                 "rotate the log at SIZE (K, M, G; 0 = never) [10M]");
  app.add_option("--log-keep", log_keep, "rotated logs kept (LOG.1 newest) [3]");
  app.add_flag("--log-timestamps", opt.def.log_timestamps,
               "prefix each output line with an ISO-8601 time");
  app.add_flag("--replace", opt.replace, "stop a running job of the same name first");
  std::string wait = "0";
  app.add_option("--wait", wait,
                 "wait up to D for the job to stay up (with --notify: until READY=1); if it "
                 "ends first, print its end and last output and exit 1 [0]");
  app.add_flag("--notify", opt.def.notify,
               "give the job a NOTIFY_SOCKET (sd_notify): starting until READY=1; STATUS=, "
               "WATCHDOG=1, STOPPING=1, MAINPID=, EXTEND_TIMEOUT_USEC= understood");
  std::string watchdog = "0", stall = "0", max_memory = "0", restart_every = "0",
              alert_cooldown = "15m";
  app.add_option("--watchdog", watchdog,
                 "with --notify: no WATCHDOG=1 for D means hung: SIGABRT, stop, restart policy; "
                 "the job gets WATCHDOG_USEC and WATCHDOG_PID");
  app.add_option("--stall", stall,
                 "no output on stdout/stderr for D means hung: SIGABRT, stop, restart policy");
  app.add_option("--max-memory", max_memory,
                 "the job tree's summed RSS above SIZE (K, M, G) means leak: stop, restart");
  app.add_option("--restart-every", restart_every, "planned, graceful restart every D");
  app.add_option("--on-failure", opt.def.on_failure,
                 "run /bin/sh -c CMD on a failure, on giving up and on a stop from outside");
  app.add_option("--alert-cooldown", alert_cooldown,
                 "at most one --on-failure run per D; held-back failures are counted [15m]");
  std::string alert_timeout = "60s";
  app.add_option("--alert-timeout", alert_timeout,
                 "an --on-failure hook still running after D is killed [60s]");
  app.add_option("--state-dir", state_dir, "state directory [$PG_STATE_DIR, ~/.local/state/pg]");
  app.add_flag("-f,--foreground", opt.foreground, "supervise without detaching");
  app.add_flag("-q,--quiet", opt.quiet, "print nothing on success");
  app.add_flag("--json", opt.json,
               "print one JSON object on stdout whatever the outcome: the receipt, the end "
               "of a job that ended during --wait, or the error");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::CallForVersion&) {
    fmt::print("pg-run {}\n", PG_VERSION);
    return 0;
  } catch (const CLI::ParseError& e) {
    // The parser stopped short of the options' values: look at the arguments themselves.
    const pg::ArgsPeek peek = pg::peek_args(std::vector<std::string>(argv + 1, argv + argc));
    fail(peek.json, peek.name, pg::k_exit_usage, e.what());
    fmt::print(stderr, "Try 'pg-run --help'.\n");
    return pg::k_exit_usage;
  }

  try {
    std::vector<std::string> command = app.remaining();
    if (!command.empty() && command.front() == "--") {
      command.erase(command.begin());
    } else if (!command.empty() && command.front().size() > 1 && command.front()[0] == '-') {
      // prefix_command() takes any unknown argument as the command's start: an option-like
      // one is far more likely a typo (or an option of a newer pg-run) than a command.
      throw UsageError(fmt::format("unknown option '{}' (put -- before a command that starts "
                                   "with '-')",
                                   command.front()));
    }
    if (command.empty()) {
      throw UsageError("no command given: pg-run --name NAME [--] COMMAND [ARG...]");
    }
    if (auto why = pg::name_problem(opt.name); !why.empty()) {
      throw UsageError(fmt::format("--name '{}': {}", pg::escape_control(opt.name), why));
    }
    pg::JobDefinition& def = opt.def;
    def.argv = command;
    def.duration = duration_arg("--duration", duration);
    def.restart_window = duration_arg("--restart-window", window);
    def.restart_delay = duration_arg("--restart-delay", delay);
    def.restart_delay_max = duration_arg("--restart-delay-max", delay_max);
    def.stop_timeout = duration_arg("--stop-timeout", stop_timeout);
    opt.wait = duration_arg("--wait", wait);
    def.watchdog = duration_arg("--watchdog", watchdog);
    def.stall = duration_arg("--stall", stall);
    def.restart_every = duration_arg("--restart-every", restart_every);
    def.alert_cooldown = duration_arg("--alert-cooldown", alert_cooldown);
    def.alert_timeout = duration_arg("--alert-timeout", alert_timeout);
    if (def.alert_timeout.count() == 0) {
      throw UsageError("--alert-timeout: must be more than 0 (a hook may never run forever)");
    }
    if (def.watchdog.count() > 0 && !def.notify) {
      throw UsageError("--watchdog needs --notify (the job pings with WATCHDOG=1)");
    }
    if (auto mem = pg::parse_size(max_memory)) {
      def.max_memory = *mem;
    } else {
      throw UsageError(
          fmt::format("--max-memory: '{}' is not a size (use 512K, 300M, 2G)", max_memory));
    }
    if (def.restart_delay_max < def.restart_delay) {
      def.restart_delay_max = def.restart_delay;
    }
    if (restart.empty()) {
      def.restart = def.oneshot ? pg::RestartPolicy::Never : pg::RestartPolicy::OnFailure;
    } else if (auto p = pg::restart_policy_from(restart)) {
      def.restart = *p;
    } else {
      throw UsageError(fmt::format("--restart: '{}' is not on-failure, always or never", restart));
    }
    if (max_restarts == "unlimited") {
      def.max_restarts = std::nullopt;
    } else {
      char* end = nullptr;
      unsigned long n = std::strtoul(max_restarts.c_str(), &end, 10);
      if (max_restarts.empty() || *end != '\0' || max_restarts[0] == '-' || n > 1'000'000'000) {
        throw UsageError(
            fmt::format("--max-restarts: '{}' is not a number or 'unlimited'", max_restarts));
      }
      def.max_restarts = static_cast<unsigned>(n);
    }
    auto sig = pg::parse_signal(stop_signal);
    if (!sig || *sig == SIGKILL || *sig == SIGSTOP) {
      throw UsageError(fmt::format("--stop-signal: '{}' is not a catchable signal", stop_signal));
    }
    def.stop_signal = *sig;
    for (const auto& kv : envs) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || !pg::valid_env_key(kv.substr(0, eq))) {
        throw UsageError(fmt::format("--env: '{}' is not KEY=VALUE", kv));
      }
      if (pg::reserved_env_key(kv.substr(0, eq))) {
        throw UsageError(
            fmt::format("--env: {} is set by pg-run for the job itself", kv.substr(0, eq)));
      }
      def.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }

    const std::string here = current_dir();
    opt.state_dir = pg::resolve_state_dir(state_dir);
    def.cwd = cwd.empty() ? here : absolute(cwd, here);
    struct stat st {};
    if (::stat(def.cwd.c_str(), &st) < 0 || !S_ISDIR(st.st_mode) ||
        ::access(def.cwd.c_str(), X_OK) < 0) {
      throw EnvError(fmt::format("--cwd {}: {}", def.cwd,
                                 errno != 0 ? std::strerror(errno) : "not a directory"));
    }
    if (!env_file.empty()) {
      def.env_file = absolute(env_file, here);
      std::string text;
      if (!pg::read_file(def.env_file, text)) {
        throw EnvError(fmt::format("--env-file {}: {}", def.env_file, std::strerror(errno)));
      }
      auto parsed = pg::parse_env_file(text);
      if (!parsed.error.empty()) {
        throw EnvError(fmt::format("--env-file {}: {}", def.env_file, parsed.error));
      }
      for (const auto& [k, v] : parsed.vars) {
        if (pg::reserved_env_key(k)) {
          throw EnvError(fmt::format("--env-file {}: {} is set by pg-run for the job itself",
                                     def.env_file, k));
        }
      }
      opt.file_env = std::move(parsed.vars);
    }
    // The job's PATH: --env wins over --env-file, which wins over ours.
    const char* ambient = std::getenv("PATH");
    def.path = ambient != nullptr ? ambient : "/usr/local/bin:/usr/bin:/bin";
    for (const auto& [k, v] : opt.file_env) {
      if (k == "PATH") {
        def.path = v;
      }
    }
    for (const auto& [k, v] : def.env) {
      if (k == "PATH") {
        def.path = v;
      }
    }
    mode_t mask = ::umask(0);
    ::umask(mask);
    def.umask = mask;
    auto size = pg::parse_size(log_max_size);
    if (!size) {
      throw UsageError(
          fmt::format("--log-max-size: '{}' is not a size (use 512K, 10M, 1G)", log_max_size));
    }
    def.log_max_size = *size;
    def.log_keep = log_keep;
    def.log = log.empty() ? opt.state_dir + "/" + opt.name + "/output.log" : absolute(log, here);

    // Decided before detaching, against the job's PATH and cwd: 127 not found, 126 not runnable.
    pg::Resolved r = pg::resolve_command(command[0], def.path, def.cwd);
    if (r.error != 0) {
      const std::string msg =
          fmt::format("{}: {}: {}", opt.name, command[0],
                      r.error == ENOENT ? "command not found" : std::strerror(r.error));
      const int status = r.error == ENOENT ? 127 : 126;
      fmt::print(stderr, "pg-run: error: {}\n", msg);
      if (opt.json) {
        fmt::print("{}\n", pg::dump_line(pg::exec_failure_json(opt.name, msg, status, nullptr)));
      }
      return status;
    }
    def.command = absolute(r.path, def.cwd);
    return pg::launch(opt);
  } catch (const UsageError& e) {
    return fail(opt.json, opt.name, pg::k_exit_usage, e.what());
  } catch (const EnvError& e) {
    return fail(opt.json, opt.name, pg::k_exit_env, e.what());
  } catch (const pg::StateDirError& e) {
    return fail(opt.json, opt.name, pg::k_exit_env, e.what());
  } catch (const std::exception& e) {
    return fail(opt.json, opt.name, pg::k_exit_env, e.what());
  }
}
