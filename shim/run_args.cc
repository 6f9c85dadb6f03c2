#include "run_args.h"

#include "cli_parse.h"
#include "launch.h"
#include "launch_json.h"
#include "parse.h"
#include "relaunch.h"
#include "rlimits.h"
#include "signals.h"
#include "spawn.h"
#include "state_dir.h"
#include "syscalls.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>

namespace pg {

namespace {

const char* k_footer =
    R"(Exit status: 0 the job runs; 1 with --wait: the job ended during the wait, otherwise an
environment error (bad --cwd, unreadable --env-file, unsafe state directory, a --limit that
cannot be set, a cap that cannot be enforced); 2 usage; 3 a job of that name is running (or its lost processes live);
126/127 the command is not executable / not found. With --foreground: the job's last exit status
(its code, or 128+N for signal N).
Durations: 250ms, 90s, 30m, 8h, 2d, 1h30m (a bare number is seconds), at most 36500d.
Sizes: 512K, 10M, 1G (powers of 1024). --limit RES: as core cpu data fsize locks memlock msgqueue
nice nofile nproc rtprio rttime sigpending stack; cpu in seconds, rttime in microseconds.
See pg-run(1).)";

// The validators: each returns "" or what is wrong with the value; CLI11 puts the option's name
// in front ("--duration: 'x' is not a duration ...").
const CLI::Validator k_duration(
    [](std::string& s) -> std::string {
      if (parse_duration(s)) {
        return {};
      }
      if (duration_too_long(s)) {
        return duration_too_long_error("", s).substr(2);
      }
      return "'" + s + "' is not a duration (use 250ms, 90s, 30m, 8h, 2d, 1h30m)";
    },
    "");

CLI::Validator size_validator(const char* examples, bool positive)
{
  return CLI::Validator(
      [examples, positive](std::string& s) -> std::string {
        auto n = parse_size(s);
        if (n && positive && *n == 0) {
          return "must be more than 0";
        }
        return n ? std::string() : "'" + s + "' is not a size (use " + examples + ")";
      },
      "");
}

const CLI::Validator k_limit([](std::string& s) -> std::string { return parse_limit(s).error; },
                             "");

// The most --tasks-cap takes: the kernel's PID_MAX_LIMIT, more than pids.max can ever count.
constexpr uint64_t k_max_tasks = 4'194'304;
// The most --cpu-quota takes: 1000 CPUs.
constexpr unsigned k_max_cpu_quota = 100'000;

const CLI::Validator k_tasks(
    [](std::string& s) -> std::string {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      return !s.empty() && ec == std::errc() && p == s.data() + s.size() && n >= 1 &&
                     n <= k_max_tasks
                 ? std::string()
                 : fmt::format("'{}' is not a number from 1 to {}", s, k_max_tasks);
    },
    "");

const CLI::Validator k_percent(
    [](std::string& s) -> std::string {
      return parse_percent(s, k_max_cpu_quota)
                 ? std::string()
                 : fmt::format("'{}' is not a percentage of one CPU from 1% to {}% (50%, 150%)", s,
                               k_max_cpu_quota);
    },
    "");

const CLI::Validator k_restart_policy(
    [](std::string& s) -> std::string {
      return restart_policy_from(s) ? std::string()
                                    : "'" + s + "' is not on-failure, always or never";
    },
    "");

const CLI::Validator k_max_restarts(
    [](std::string& s) -> std::string {
      char* end = nullptr;
      const unsigned long n = std::strtoul(s.c_str(), &end, 10);
      if (s == "unlimited" || (!s.empty() && *end == '\0' && s[0] != '-' && n <= 1'000'000'000)) {
        return {};
      }
      return "'" + s + "' is not a number or 'unlimited'";
    },
    "");

const CLI::Validator k_stop_signal(
    [](std::string& s) -> std::string {
      auto sig = parse_signal(s);
      return sig && *sig != SIGKILL && *sig != SIGSTOP ? std::string()
                                                       : "'" + s + "' is not a catchable signal";
    },
    "");

const CLI::Validator k_env_pair(
    [](std::string& s) -> std::string {
      const auto eq = s.find('=');
      if (eq == std::string::npos || !valid_env_key(s.substr(0, eq))) {
        return "'" + s + "' is not KEY=VALUE";
      }
      if (reserved_env_key(s.substr(0, eq))) {
        return s.substr(0, eq) + " is set by pg-run for the job itself";
      }
      return {};
    },
    "");

// A duration option: checked by k_duration, then stored.
void add_duration(CLI::App& app, const char* name, Millis& out, const std::string& help)
{
  app.add_option_function<std::string>(
         name, [&out](const std::string& s) { out = *parse_duration(s); }, help)
      ->check(k_duration)
      ->type_name("DURATION");
}

void add_size(CLI::App& app, const char* name, uint64_t& out, const std::string& help,
              const char* examples, bool positive = false)
{
  app.add_option_function<std::string>(
         name, [&out](const std::string& s) { out = *parse_size(s); }, help)
      ->check(size_validator(examples, positive))
      ->type_name("SIZE");
}

// --limit and the caps: what the kernel holds the job to.
void declare_limits(CLI::App& app, JobDefinition& def, std::vector<std::string>& limits)
{
  app.add_option("--limit", limits,
                 "a setrlimit for the job, RES as prlimit names it (nofile=64, core=0, "
                 "as=1G:unlimited; one value sets both; repeatable)")
      ->allow_extra_args(false)
      ->check(k_limit)
      ->type_name("RES=SOFT[:HARD]");
  add_size(app, "--memory-cap", def.memory_cap,
           "the kernel caps the job tree's memory, swap included, at SIZE (K, M, G): OOM kill",
           "512M, 2G", true);
  app.add_option_function<std::string>(
         "--tasks-cap",
         [&def](const std::string& s) { def.tasks_cap = std::strtoull(s.c_str(), nullptr, 10); },
         "at most N processes and threads in the job's tree (kernel-enforced)")
      ->check(k_tasks)
      ->type_name("N");
  app.add_option_function<std::string>(
         "--cpu-quota",
         [&def](const std::string& s) { def.cpu_quota_pct = *parse_percent(s, k_max_cpu_quota); },
         "at most PCT of one CPU for the job's tree (50%; 150% = one and a half)")
      ->check(k_percent)
      ->type_name("PCT");
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
    throw Failure(k_exit_env, "cannot read the current directory: " + ec.message());
  }
  return p.string();
}

// What the parser leaves as strings, and the rules between options.
struct Raw {
  std::string restart, max_restarts, stop_signal, cwd, env_file, log, state_dir;
  std::vector<std::string> envs, limits;
};

void declare(CLI::App& app, Options& opt, Raw& raw)
{
  JobDefinition& def = opt.def;
  app.add_option("-n,--name", opt.name, "job name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")
      ->required()
      ->type_name("NAME");
  app.add_flag("--oneshot", def.oneshot, "a task meant to finish: exit 0 completes it");
  add_duration(app, "--duration", def.duration,
               "planned length of the whole job (0 = indefinite) [0]");
  app.add_option("--restart", raw.restart,
                 "on-failure|always|never [on-failure; never with --oneshot]")
      ->check(k_restart_policy)
      ->type_name("POLICY");
  app.add_option("--max-restarts", raw.max_restarts,
                 "restarts after failures allowed inside --restart-window, or unlimited [5]")
      ->check(k_max_restarts)
      ->type_name("N");
  add_duration(app, "--restart-window", def.restart_window, "window for --max-restarts [1h]");
  add_duration(app, "--restart-delay", def.restart_delay,
               "first backoff, doubled per consecutive failure [1s]");
  add_duration(app, "--restart-delay-max", def.restart_delay_max, "longest backoff [60s]");
  app.add_option("--stop-signal", raw.stop_signal, "graceful stop signal [TERM]")
      ->check(k_stop_signal)
      ->type_name("SIG");
  add_duration(app, "--stop-timeout", def.stop_timeout, "time before SIGKILL on stop [10s]");
  app.add_option("--cwd", raw.cwd, "the job's working directory [current]")->type_name("DIR");
  app.add_option("--env", raw.envs, "K=V for the job's environment (repeatable)")
      ->allow_extra_args(false)
      ->check(k_env_pair)
      ->type_name("K=V");
  app.add_option("--env-file", raw.env_file, "file of KEY=VALUE lines for the job's environment")
      ->type_name("FILE");
  app.add_option("--log", raw.log, "where the job's stdout+stderr go [STATE/NAME/output.log]")
      ->type_name("FILE");
  add_size(app, "--log-max-size", def.log_max_size,
           "rotate the log at SIZE (K, M, G; 0 = never) [10M]", "512K, 10M, 1G");
  app.add_option("--log-keep", def.log_keep, "rotated logs kept (LOG.1 newest) [3]")
      ->type_name("N");
  app.add_flag("--log-timestamps", def.log_timestamps,
               "prefix each output line with an ISO-8601 time");
  app.add_flag("--replace", opt.replace, "stop a running job of the same name first");
  add_duration(app, "--wait", opt.wait,
               "wait up to D for the job to stay up (with --notify: until READY=1); if it "
               "ends first, print its end and last output and exit 1 [0]");
  app.add_flag("--notify", def.notify,
               "give the job a NOTIFY_SOCKET (sd_notify): starting until READY=1; STATUS=, "
               "WATCHDOG=1, STOPPING=1, MAINPID=, EXTEND_TIMEOUT_USEC= understood");
  add_duration(app, "--watchdog", def.watchdog,
               "with --notify: no WATCHDOG=1 for D means hung: SIGABRT, stop, restart policy; "
               "the job gets WATCHDOG_USEC and WATCHDOG_PID");
  add_duration(app, "--stall", def.stall,
               "no output on stdout/stderr for D means hung: SIGABRT, stop, restart policy");
  add_size(app, "--max-memory", def.max_memory,
           "the job tree's summed RSS above SIZE (K, M, G) means leak: stop, restart",
           "512K, 300M, 2G");
  declare_limits(app, def, raw.limits);
  add_duration(app, "--restart-every", def.restart_every, "planned, graceful restart every D");
  app.add_option("--on-failure", def.on_failure,
                 "run /bin/sh -c CMD on a failure, on giving up and on a stop from outside")
      ->type_name("CMD");
  add_duration(app, "--alert-cooldown", def.alert_cooldown,
               "at most one --on-failure run per D; held-back failures are counted [15m]");
  add_duration(app, "--alert-timeout", def.alert_timeout,
               "an --on-failure hook still running after D is killed [60s]");
  app.add_option("--state-dir", raw.state_dir,
                 "state directory [$PG_STATE_DIR, $XDG_STATE_HOME/pg, ~/.local/state/pg]")
      ->type_name("DIR");
  app.add_flag("-f,--foreground", opt.foreground, "supervise without detaching");
  app.add_flag("-q,--quiet", opt.quiet, "print nothing on success");
  app.add_flag("--json", opt.json,
               "print one JSON object on stdout whatever the outcome: the receipt, the end "
               "of a job that ended during --wait, or the error");
}

Failure usage(const std::string& message)
{
  return Failure(k_exit_usage, message);
}

// The command after the options: prefix_command() takes any unknown argument as its start.
std::vector<std::string> job_command(std::vector<std::string> command)
{
  if (!command.empty() && command.front() == "--") {
    command.erase(command.begin());
  } else if (!command.empty() && command.front().size() > 1 && command.front()[0] == '-') {
    // An option-like one is far more likely a typo (or an option of a newer pg-run).
    throw usage(fmt::format("unknown option '{}' (put -- before a command that starts "
                            "with '-')",
                            command.front()));
  }
  if (command.empty()) {
    throw usage("no command given: pg-run --name NAME [--] COMMAND [ARG...]");
  }
  return command;
}

void check_name(const std::string& name)
{
  if (auto why = name_problem(name); !why.empty()) {
    throw usage(fmt::format("--name '{}': {}", escape_control(name), why));
  }
}

// The rules between options, and the values kept as text by the parser.
void apply_rules(Options& opt, const Raw& raw)
{
  JobDefinition& def = opt.def;
  check_name(opt.name);
  if (def.alert_timeout.count() == 0) {
    throw usage("--alert-timeout: must be more than 0 (a hook may never run forever)");
  }
  if (def.watchdog.count() > 0 && !def.notify) {
    throw usage("--watchdog needs --notify (the job pings with WATCHDOG=1)");
  }
  def.restart_delay_max = std::max(def.restart_delay_max, def.restart_delay);
  def.restart = raw.restart.empty()
                    ? (def.oneshot ? RestartPolicy::Never : RestartPolicy::OnFailure)
                    : *restart_policy_from(raw.restart);
  if (raw.max_restarts == "unlimited") {
    def.max_restarts = std::nullopt;
  } else if (!raw.max_restarts.empty()) {
    def.max_restarts = static_cast<unsigned>(std::strtoul(raw.max_restarts.c_str(), nullptr, 10));
  }
  if (!raw.stop_signal.empty()) {
    def.stop_signal = *parse_signal(raw.stop_signal);
  }
  for (const auto& kv : raw.envs) {
    const auto eq = kv.find('=');
    def.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& text : raw.limits) {
    Limit l = *parse_limit(text).limit;
    if (!add_limit(def.limits, l)) {
      throw usage(fmt::format("--limit: {} given twice (one --limit per resource)", l.name));
    }
  }
}

// Where the job runs and with what: its directory, environment file, PATH, umask and log.
void settle(Options& opt, const Raw& raw)
{
  JobDefinition& def = opt.def;
  const std::string here = current_dir();
  opt.state_dir = resolve_state_dir(raw.state_dir);
  def.cwd = raw.cwd.empty() ? here : absolute(raw.cwd, here);
  struct stat st {};
  if (::stat(def.cwd.c_str(), &st) < 0 || !S_ISDIR(st.st_mode) ||
      ::access(def.cwd.c_str(), X_OK) < 0) {
    throw Failure(k_exit_env, fmt::format("--cwd {}: {}", def.cwd,
                                          errno != 0 ? std::strerror(errno) : "not a directory"));
  }
  if (!raw.env_file.empty()) {
    def.env_file = absolute(raw.env_file, here);
    opt.file_env = job_env_file(def.env_file);
  }
  // The job's PATH: --env wins over --env-file, which wins over ours.
  const char* ambient = std::getenv("PATH");
  def.path = ambient != nullptr ? ambient : "/usr/local/bin:/usr/bin:/bin";
  for (const auto* vars : {&opt.file_env, &def.env}) {
    for (const auto& [k, v] : *vars) {
      if (k == "PATH") {
        def.path = v;
      }
    }
  }
  const mode_t mask = ::umask(0);
  ::umask(mask);
  def.umask = mask;
  def.log =
      raw.log.empty() ? opt.state_dir + "/" + opt.name + "/output.log" : absolute(raw.log, here);
  // Decided before detaching, against the job's PATH and cwd: 127 not found, 126 not runnable.
  const Resolved r = resolve_command(def.argv[0], def.path, def.cwd);
  if (r.error != 0) {
    throw Failure(r.error == ENOENT ? 127 : 126,
                  fmt::format("{}: {}: {}", opt.name, def.argv[0],
                              r.error == ENOENT ? "command not found" : std::strerror(r.error)));
  }
  def.resolved = absolute(r.path, def.cwd);
}

// The options about one launch, not the job: a jobs file refuses them.
constexpr std::array<std::string_view, 7> k_launch_options{
    "name", "replace", "wait", "state-dir", "foreground", "quiet", "json"};

// pg-ctl's options, hidden from --help and unknown to a jobs file: the job launched again as
// recorded (pg-ctl start), or revived (pg-ctl revive).
struct Again {
  bool relaunch = false;
  Relaunch how;
  std::string jobs_file; // pg-ctl up: the jobs file the job comes from, kept in its definition
};

void declare_again(CLI::App& app, Again& again)
{
  app.add_flag("--relaunch", again.relaunch, "launch the job recorded as NAME again")->group("");
  app.add_flag("--revive", again.how.revive, "revive the job recorded as NAME")->group("");
  app.add_flag("--update-env", again.how.update_env, "with --relaunch: our environment")->group("");
  app.add_option("--jobs-file", again.jobs_file, "the jobs file the job comes from")->group("");
}

bool about_one_launch(const std::string& option)
{
  return std::find(k_launch_options.begin(), k_launch_options.end(), option) !=
         k_launch_options.end();
}

// The launch of a recorded job: only the options about one launch, and no command.
void from_record(const CLI::App& app, Options& opt, const Raw& raw, const Again& again)
{
  for (const CLI::Option* o : app.get_options()) {
    if (o->count() > 0 && !o->get_lnames().empty() && !o->get_group().empty() &&
        !about_one_launch(o->get_lnames().front())) {
      throw usage(fmt::format("--{} defines the job: --relaunch and --revive launch it as "
                              "recorded",
                              o->get_lnames().front()));
    }
  }
  if (!app.remaining().empty() || !again.jobs_file.empty()) {
    throw usage("--relaunch and --revive launch the recorded job: give no command or jobs file");
  }
  check_name(opt.name);
  relaunch_from_record(opt, raw.state_dir, again.how);
}

// CLI11's usage line, and the command that follows the options (prefix_command takes it).
class RunFormatter : public CLI::Formatter {
public:
  std::string make_usage(const CLI::App* app, std::string name) const override
  {
    std::string line = CLI::Formatter::make_usage(app, std::move(name));
    while (!line.empty() && line.back() == '\n') {
      line.pop_back();
    }
    return line + " [--] COMMAND [ARG...]\n";
  }
  // pg-ctl's options (hidden) form the last group, which CLI11 leaves out but still ends the
  // group before it with a blank line of its own: the help keeps one blank line there.
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override
  {
    std::string help = CLI::Formatter::make_help(app, std::move(name), mode);
    if (const auto at = help.find("\n\n\n"); at != std::string::npos) {
      help.erase(at, 1);
    }
    return help;
  }
};

} // namespace

// (run_args.h)
std::vector<std::pair<std::string, std::string>> job_env_file(const std::string& path)
{
  auto parsed = load_env_file(path);
  if (!parsed.error.empty()) {
    throw Failure(k_exit_env, parsed.error);
  }
  for (const auto& [k, v] : parsed.vars) {
    if (reserved_env_key(k)) {
      throw Failure(k_exit_env,
                    fmt::format("--env-file {}: {} is set by pg-run for the job itself", path, k));
    }
  }
  return std::move(parsed.vars);
}

std::vector<RunOption> run_options()
{
  CLI::App app;
  Options opt;
  Raw raw;
  declare(app, opt, raw);
  std::vector<RunOption> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_lnames().empty() || o == app.get_help_ptr()) {
      continue;
    }
    const std::string& name = o->get_lnames().front();
    RunOption r;
    r.key = name;
    std::replace(r.key.begin(), r.key.end(), '-', '_');
    r.flag = o->get_expected_max() == 0; // a flag takes no value
    r.defines_job = !about_one_launch(name);
    out.push_back(std::move(r));
  }
  return out;
}

bool parse_run_args(int argc, char** argv, Options& opt)
{
  CLI::App app{"Start a job detached from this session and babysit it for its whole life.",
               "pg-run"};
  app.footer(k_footer);
  app.formatter(std::make_shared<RunFormatter>());
  app.prefix_command();
  app.set_version_flag("--version", std::string("pg-run ") + PG_VERSION);
  Raw raw;
  declare(app, opt, raw);
  Again again;
  declare_again(app, again);
  try {
    if (!parse_cli(app, argc, argv, "pg-run")) {
      return false;
    }
  } catch (const CLI::ParseError& e) {
    // The parser stopped short of the options' values: look at the arguments themselves.
    const ArgsPeek peek = peek_args(std::vector<std::string>(argv + 1, argv + argc));
    opt.json = peek.json;
    opt.name = peek.name;
    // A value a validator refused is one line that says it all; a malformed command line
    // (an option without its value, a missing --name) gets the way to the help too.
    const bool value = dynamic_cast<const CLI::ValidationError*>(&e) != nullptr;
    throw Failure(k_exit_usage, e.what(), value ? "" : "Try 'pg-run --help'.");
  }
  if (again.relaunch || again.how.revive) {
    from_record(app, opt, raw, again);
    return true;
  }
  if (again.how.update_env) {
    throw usage("--update-env goes with --relaunch");
  }
  if (!again.jobs_file.empty()) {
    opt.def.jobs_file = absolute(again.jobs_file, current_dir());
  }
  opt.def.argv = job_command(app.remaining());
  apply_rules(opt, raw);
  settle(opt, raw);
  return true;
}

std::string receipt_text(const std::string& log, Millis wait, bool starting, pid_t pid,
                         pid_t supervisor)
{
  if (starting) {
    // --notify: the job has not sent READY=1 (yet); with --wait it survived the wait without.
    return fmt::format(
        "starting, pid {} (supervisor {}), log {}; READY=1 not received{}", pid, supervisor, log,
        wait.count() > 0 ? " within the " + format_duration(wait) + " wait" : " yet");
  }
  return fmt::format("running, pid {} (supervisor {}), log {}", pid, supervisor, log);
}

int report_failure(const Options& opt, const Failure& f)
{
  fmt::print(stderr, "pg-run: error: {}\n", f.what());
  if (opt.json) {
    const bool exec = f.status() == 126 || f.status() == 127;
    fmt::print("{}\n", dump_line(exec ? exec_failure_json(opt.name, f.what(), f.status(), nullptr)
                                      : launch_error_json(opt.name, f.what(), f.status())));
  }
  if (!f.hint().empty()) {
    fmt::print(stderr, "{}\n", f.hint());
  }
  return f.status();
}

} // namespace pg
