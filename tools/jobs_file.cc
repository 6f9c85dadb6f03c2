#include "jobs_file.h"

#include "ctl_actions.h"
#include "run_args.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#define TOML_HEADER_ONLY 1
#define TOML_ENABLE_FORMATTERS 1
#include <toml++/toml.h>

namespace pg {

namespace {

namespace fs = std::filesystem;

enum class Kind { Flag, Text, Path, Env, Command, Limits };

struct Key {
  std::string name;
  Kind kind;
};

// The keys of a [jobs.NAME] table: `command`, and pg-run's options that define a job ('-'
// written '_'), taken from pg-run's own declarations so that a new option is a key at once.
// Values are option values, but for the paths (relative to the file's folder), env and limit
// (tables: one --env K=V, one --limit RES=VALUE per entry) and the flags (true or false).
const std::vector<RunOption>& pg_run_options()
{
  static const std::vector<RunOption> options = run_options();
  return options;
}

const std::vector<Key>& job_keys()
{
  static const std::vector<Key> keys = [] {
    std::vector<Key> out{{"command", Kind::Command}};
    for (const RunOption& o : pg_run_options()) {
      if (!o.defines_job) {
        continue;
      }
      Kind kind = o.flag ? Kind::Flag : Kind::Text;
      if (o.key == "cwd" || o.key == "env_file" || o.key == "log") {
        kind = Kind::Path;
      } else if (o.key == "env") {
        kind = Kind::Env;
      } else if (o.key == "limit") {
        kind = Kind::Limits; // limit = { nofile = 4096, as = "1G:unlimited" }
      }
      out.push_back({o.key, kind});
    }
    return out;
  }();
  return keys;
}

// pg-run's options that are about one launch, not the job.
bool is_launch_option(std::string_view key)
{
  for (const RunOption& o : pg_run_options()) {
    if (o.key == key) {
      return !o.defines_job;
    }
  }
  return false;
}

Failure file_error(const std::string& file, unsigned line, const std::string& key,
                   const std::string& why)
{
  return Failure(k_ctl_exit_usage, key.empty()
                                       ? fmt::format("{}:{}: {}", file, line, why)
                                       : fmt::format("{}:{}: {}: {}", file, line, key, why));
}

std::string option_of(std::string_view key)
{
  std::string o = "--" + std::string(key);
  std::replace(o.begin(), o.end(), '_', '-');
  return o;
}

std::string absolute_in(const std::string& p, const std::string& folder)
{
  fs::path path(p);
  return (path.is_relative() ? fs::path(folder) / path : path).lexically_normal().string();
}

// A scalar as pg-run's option value: a string, or an integer (a bare number of seconds, a count).
std::optional<std::string> scalar_text(const toml::node& v)
{
  if (auto s = v.value_exact<std::string>()) {
    return *s;
  }
  if (auto n = v.value_exact<int64_t>()) {
    return std::to_string(*n);
  }
  return std::nullopt;
}

// Where each of pg-run's options came from in the file, to name it in an error.
struct Origin {
  std::string option; // "--duration"
  std::string key;    // "jobs.bot.duration"
  unsigned line = 0;
};

struct Built {
  std::vector<std::string> args;
  std::vector<Origin> origins;
  bool has_cwd = false;
};

struct Ctx {
  const std::string& file; // as given, for the messages
  const std::string& folder;
};

void add_command(const Ctx& c, const toml::node& v, const std::string& key, unsigned line,
                 std::vector<std::string>& command)
{
  if (auto s = v.value_exact<std::string>()) {
    command = {"/bin/sh", "-c", *s};
    return;
  }
  const toml::array* a = v.as_array();
  if (a == nullptr || a->empty()) {
    throw file_error(c.file, line, key,
                     "must be a string (run by /bin/sh -c) or an array of "
                     "strings (argv)");
  }
  for (const auto& e : *a) {
    auto s = e.value_exact<std::string>();
    if (!s) {
      throw file_error(c.file, line, key, "must be an array of strings");
    }
    command.push_back(*s);
  }
}

// A table whose entries are one option each: env = { KEY = "value" } gives --env=KEY=value per
// entry, limit = { nofile = 4096, as = "1G:unlimited" } one --limit=RES=VALUE.
void add_entries(const Ctx& c, const toml::node& v, const std::string& key, unsigned line,
                 const std::string& opt, std::string_view table_hint, std::string_view entry_hint,
                 Built& b)
{
  const toml::table* t = v.as_table();
  if (t == nullptr) {
    throw file_error(c.file, line, key, fmt::format("must be a table ({})", table_hint));
  }
  for (const auto& [name, value] : *t) {
    auto text = scalar_text(value);
    if (!text) {
      throw file_error(c.file, name.source().begin.line, key + "." + std::string(name.str()),
                       std::string(entry_hint));
    }
    b.args.push_back(fmt::format("{}={}={}", opt, name.str(), *text));
  }
}

void add_key(const Ctx& c, const Key& k, const toml::node& v, const std::string& key, unsigned line,
             Built& b)
{
  const std::string opt = option_of(k.name);
  b.origins.push_back({opt, key, line});
  if (k.kind == Kind::Limits) {
    add_entries(c, v, key, line, opt, "limit = { nofile = 4096, as = \"1G:unlimited\" }",
                "must be a number or a string (\"SOFT:HARD\", \"unlimited\")", b);
  } else if (k.kind == Kind::Flag) {
    auto on = v.value_exact<bool>();
    if (!on) {
      throw file_error(c.file, line, key, "must be true or false");
    }
    if (*on) {
      b.args.push_back(opt);
    }
  } else if (k.kind == Kind::Env) {
    add_entries(c, v, key, line, opt, "env = { KEY = \"value\" }", "must be a string", b);
  } else {
    auto text = scalar_text(v);
    if (!text) {
      throw file_error(c.file, line, key, "must be a string");
    }
    b.has_cwd = b.has_cwd || k.name == "cwd";
    b.args.push_back(opt + "=" + (k.kind == Kind::Path ? absolute_in(*text, c.folder) : *text));
  }
}

const Key* key_named(std::string_view name)
{
  for (const auto& k : job_keys()) {
    if (k.name == name) {
      return &k;
    }
  }
  return nullptr;
}

// One [jobs.NAME] table as pg-run's arguments (without --state-dir).
Built table_args(const Ctx& c, const std::string& name, const toml::table& t, unsigned line)
{
  Built b;
  b.args = {"--name=" + name};
  std::vector<std::string> command;
  for (const auto& [k, v] : t) {
    const std::string key = fmt::format("jobs.{}.{}", name, k.str());
    const unsigned at = k.source().begin.line;
    if (is_launch_option(k.str())) {
      throw file_error(c.file, at, key, "not a key of a jobs file (it is about one launch)");
    }
    const Key* known = key_named(k.str());
    if (known == nullptr) {
      throw file_error(c.file, at, key, "unknown key");
    }
    if (known->kind == Kind::Command) {
      add_command(c, v, key, at, command);
      b.origins.push_back({"", key, at});
    } else {
      add_key(c, *known, v, key, at, b);
    }
  }
  if (command.empty()) {
    throw file_error(c.file, line, fmt::format("jobs.{}", name), "no command");
  }
  if (!b.has_cwd) {
    b.args.push_back("--cwd=" + c.folder); // the file's folder
  }
  b.args.emplace_back("--");
  b.args.insert(b.args.end(), command.begin(), command.end());
  return b;
}

// The origin of a pg-run error: the option its message starts with, else the command for a
// command pg-run cannot run, else the job's table.
Origin origin_of(const Failure& f, const Built& b, const std::string& name, unsigned line)
{
  const std::string_view what = f.what();
  for (const auto& o : b.origins) {
    if (!o.option.empty() && what.substr(0, o.option.size()) == o.option &&
        (what.size() == o.option.size() || what[o.option.size()] == ':' ||
         what[o.option.size()] == ' ')) {
      return o;
    }
  }
  if (f.status() == 126 || f.status() == 127) {
    for (const auto& o : b.origins) {
      if (o.option.empty()) {
        return o;
      }
    }
  }
  return {"", fmt::format("jobs.{}", name), line};
}

// "--duration: 'x' is not a duration": the reason without the option pg-run names.
std::string reason(const Failure& f, const Origin& o)
{
  std::string why = f.what();
  if (!o.option.empty() && why.rfind(o.option + ": ", 0) == 0) {
    why.erase(0, o.option.size() + 2);
  }
  return why;
}

// A file that runs commands: refused when another user owns it or group or others may write it.
void check_owner(const std::string& path, const std::string& shown)
{
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) {
    return; // its reader says what is wrong
  }
  if (st.st_uid != ::geteuid()) {
    throw Failure(k_ctl_exit_usage,
                  fmt::format("{}: refused: owned by uid {}, not by you (it runs commands)", shown,
                              st.st_uid));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Failure(k_ctl_exit_usage,
                  fmt::format("{}: refused: writable by group or others (it runs commands); "
                              "chmod go-w {}",
                              shown, path));
  }
}

FileJob parse_job(const Ctx& c, const std::string& name, Built b, unsigned line,
                  const std::string& state_dir)
{
  for (const auto& a : b.args) {
    if (a.rfind("--env-file=", 0) == 0) {
      check_owner(a.substr(11), a.substr(11));
    }
    if (a == "--") {
      break;
    }
  }
  FileJob j;
  j.name = name;
  j.line = line;
  j.args = b.args;
  j.args.insert(j.args.begin(), "--state-dir=" + state_dir);
  std::vector<std::string> argv = j.args;
  argv.insert(argv.begin(), "pg-run");
  std::vector<char*> ptrs;
  for (auto& a : argv) {
    ptrs.push_back(a.data());
  }
  ptrs.push_back(nullptr);
  try {
    parse_run_args(static_cast<int>(argv.size()), ptrs.data(), j.opt);
  } catch (const Failure& f) {
    const Origin o = origin_of(f, b, name, line);
    throw file_error(c.file, o.line, o.key, reason(f, o));
  }
  return j;
}

std::string read_text(const std::string& path, const std::string& shown)
{
  std::ifstream in(path);
  if (!in) {
    throw Failure(k_ctl_exit_usage,
                  fmt::format("{}: cannot read: {}", shown, std::strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "\u0000" is valid TOML, but no argument of pg-run can hold a NUL byte: it would end the
// argument early on its way to pg-run (a log path cut short names another file). Refused where
// it is, as every other mistake of the file.
void refuse_nul(const Ctx& c, const toml::node& v, const std::string& key)
{
  if (const toml::table* t = v.as_table()) {
    for (const auto& [k, x] : *t) {
      if (k.str().find('\0') != std::string_view::npos) {
        throw file_error(c.file, k.source().begin.line, key, "a key holds a NUL byte");
      }
      refuse_nul(c, x, key.empty() ? std::string(k.str()) : fmt::format("{}.{}", key, k.str()));
    }
  } else if (const toml::array* a = v.as_array()) {
    for (const auto& x : *a) {
      refuse_nul(c, x, key);
    }
  } else if (const auto* s = v.as_string(); s && s->get().find('\0') != std::string::npos) {
    throw file_error(c.file, v.source().begin.line, key, "holds a NUL byte");
  }
}

std::vector<std::pair<Built, unsigned>> toml_jobs(const Ctx& c, const std::string& text,
                                                  std::vector<std::string>& names)
{
  toml::table root;
  try {
    root = toml::parse(text, c.file);
  } catch (const toml::parse_error& e) {
    throw file_error(c.file, e.source().begin.line, "", std::string(e.description()));
  }
  refuse_nul(c, root, "");
  std::vector<std::pair<Built, unsigned>> out;
  for (const auto& [k, v] : root) {
    if (k.str() != "jobs") {
      throw file_error(c.file, k.source().begin.line, std::string(k.str()),
                       "unknown key (a jobs file holds [jobs.NAME] tables)");
    }
    const toml::table* jobs = v.as_table();
    if (jobs == nullptr) {
      throw file_error(c.file, k.source().begin.line, "jobs", "must hold [jobs.NAME] tables");
    }
    for (const auto& [name, t] : *jobs) {
      const unsigned line = name.source().begin.line;
      if (!t.is_table()) {
        throw file_error(c.file, line, fmt::format("jobs.{}", name.str()), "must be a table");
      }
      names.emplace_back(name.str());
      out.emplace_back(table_args(c, names.back(), *t.as_table(), line), line);
    }
  }
  return out;
}

std::vector<std::pair<Built, unsigned>> procfile_jobs(const Ctx& c, const std::string& text,
                                                      std::vector<std::string>& names)
{
  std::vector<std::pair<Built, unsigned>> out;
  std::istringstream in(text);
  std::string line;
  const std::string env = c.folder + "/.env";
  unsigned n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find('\0') != std::string::npos) {
      throw file_error(c.file, n, "", "holds a NUL byte");
    }
    const auto p = procfile_line(line);
    if (!p) {
      continue;
    }
    if (line.find(':') == std::string::npos || p->name.empty() || p->command.empty()) {
      throw file_error(c.file, n, "", "not 'name: command'");
    }
    Built b;
    b.args = {"--name=" + p->name, "--cwd=" + c.folder};
    if (::access(env.c_str(), F_OK) == 0) {
      b.args.push_back("--env-file=" + env);
    }
    b.args.insert(b.args.end(), {"--", "/bin/sh", "-c", p->command});
    b.origins.push_back({"", p->name, n});
    names.push_back(p->name);
    out.emplace_back(std::move(b), n);
  }
  return out;
}

} // namespace

std::optional<ProcfileLine> procfile_line(const std::string& raw)
{
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\r");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  const std::string line = trim(raw);
  if (line.empty() || line[0] == '#') {
    return std::nullopt;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) {
    return ProcfileLine{line, ""};
  }
  return ProcfileLine{trim(line.substr(0, colon)), trim(line.substr(colon + 1))};
}

std::vector<std::string> toml_job_args(const std::string& toml_text, const std::string& name,
                                       const std::string& folder)
{
  const std::string file = "pg.toml";
  const Ctx c{file, folder};
  std::vector<std::string> names;
  for (auto& [b, line] : toml_jobs(c, toml_text, names)) {
    if (b.args.front() == "--name=" + name) {
      return b.args;
    }
  }
  return {};
}

std::string default_jobs_file()
{
  for (const char* f : {"pg.toml", "Procfile"}) {
    if (::access(f, F_OK) == 0) {
      return f;
    }
  }
  throw Failure(k_ctl_exit_usage, "no pg.toml or Procfile here; name one with -f FILE");
}

JobsFile read_jobs_file(const std::string& path, const std::string& state_dir)
{
  JobsFile out;
  out.path = fs::absolute(path).lexically_normal().string();
  const std::string folder = fs::path(out.path).parent_path().string();
  check_owner(out.path, path);
  const std::string text = read_text(out.path, path);
  const Ctx c{path, folder};
  std::vector<std::string> names;
  const bool procfile = fs::path(out.path).filename() == "Procfile";
  auto built = procfile ? procfile_jobs(c, text, names) : toml_jobs(c, text, names);
  std::sort(built.begin(), built.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  for (auto& [b, line] : built) {
    std::string name = b.args.front().substr(7);
    if (std::count(names.begin(), names.end(), name) > 1) {
      throw file_error(path, line, name, "a second job of that name");
    }
    out.jobs.push_back(parse_job(c, name, std::move(b), line, state_dir));
    out.jobs.back().opt.def.jobs_file = out.path;
  }
  return out;
}

} // namespace pg
