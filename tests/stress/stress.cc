#include "stress.h"

#include "proc.h"
#include "stress_end.h"
#include "syscalls.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace pg::stress {

namespace {

std::string scale_setting()
{
  const char* s = std::getenv("PG_STRESS_SCALE");
  return s != nullptr ? s : "";
}

long status_field(const std::string& text, const std::string& key)
{
  size_t pos = text.find(key);
  if (pos == std::string::npos) {
    return -1;
  }
  return std::atol(text.c_str() + pos + key.size());
}

} // namespace

bool full_size()
{
  return scale_setting() == "full";
}

long scaled(long ci, long full)
{
  const std::string s = scale_setting();
  if (s == "full") {
    return full;
  }
  if (s.empty() || s == "ci") {
    return ci;
  }
  const double factor = std::atof(s.c_str());
  if (factor <= 0) {
    ADD_FAILURE() << "PG_STRESS_SCALE=" << s << ": expected full, ci or a positive number";
    return ci;
  }
  return std::min(full, std::max(1L, static_cast<long>(static_cast<double>(ci) * factor)));
}

bool sanitized()
{
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

void figure(const std::string& key, const std::string& value)
{
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test =
      info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "?";
  std::cout << "STRESS " << test << ": " << key << " = " << value << std::endl;
  ::testing::Test::RecordProperty(key, value);
}

Usage usage_of(pid_t pid)
{
  Usage u;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::error_code ec;
  long fds = 0;
  for (auto it = std::filesystem::directory_iterator(dir + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    u.fds = fds;
  }
  std::string text;
  if (read_file(dir + "/status", text)) {
    u.rss_kb = status_field(text, "VmRSS:");
  }
  if (read_file(dir + "/smaps_rollup", text)) {
    u.pss_kb = status_field(text, "\nPss:");
  }
  return u;
}

int rotations(const std::string& job_dir)
{
  int n = 0;
  for (int i = 1; i <= 20; ++i) {
    struct stat st {};
    if (::lstat((job_dir + "/events.jsonl." + std::to_string(i)).c_str(), &st) == 0) {
      ++n;
    }
  }
  return n;
}

long for_each_event(const std::string& job_dir, const std::function<void(const Json&)>& fn)
{
  long lines = 0;
  for (int i = 9; i >= 0; --i) {
    const std::string file = job_dir + "/events.jsonl" + (i == 0 ? "" : "." + std::to_string(i));
    std::string text;
    if (!read_file(file, text)) {
      continue;
    }
    size_t pos = 0;
    size_t line_no = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) {
        ADD_FAILURE() << file << " ends in a line without a newline: " << text.substr(pos, 200);
        break;
      }
      ++line_no;
      Json j = Json::parse(text.begin() + static_cast<long>(pos),
                           text.begin() + static_cast<long>(end), nullptr, false);
      if (j.is_discarded()) {
        ADD_FAILURE() << file << " line " << line_no
                      << " does not parse: " << text.substr(pos, std::min<size_t>(end - pos, 200));
      } else {
        fn(j);
      }
      ++lines;
      pos = end + 1;
    }
  }
  return lines;
}

std::vector<Json> all_events(const std::string& job_dir)
{
  std::vector<Json> out;
  for_each_event(job_dir, [&](const Json& j) { out.push_back(j); });
  return out;
}

std::vector<pid_t> zombies_of(pid_t ppid)
{
  std::vector<pid_t> out;
  for (pid_t p : all_pids()) {
    if (auto st = read_proc_stat(p); st && st->ppid == ppid && st->state == 'Z') {
      out.push_back(p);
    }
  }
  return out;
}

std::string env_of(pid_t pid, const std::string& key)
{
  std::string env;
  if (!read_file("/proc/" + std::to_string(pid) + "/environ", env)) {
    return "";
  }
  const std::string prefix = key + "=";
  size_t pos = 0;
  while (pos < env.size()) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) {
      end = env.size();
    }
    if (env.compare(pos, prefix.size(), prefix) == 0) {
      return env.substr(pos + prefix.size(), end - pos - prefix.size());
    }
    pos = end + 1;
  }
  return "";
}

std::vector<pid_t> with_env(const std::string& key, const std::string& value)
{
  std::vector<pid_t> out;
  for (pid_t p : processes_with_env(key, value)) {
    if (e2e::alive(p)) {
      out.push_back(p);
    }
  }
  return out;
}

bool descends_from(pid_t pid, pid_t ancestor)
{
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    auto st = read_proc_stat(pid);
    if (!st) {
      return false;
    }
    if (st->ppid == ancestor) {
      return true;
    }
    pid = st->ppid;
  }
  return false;
}

std::vector<std::string> read_journal(const std::string& path)
{
  std::string text;
  std::vector<std::string> out;
  read_file(path, text);
  if (text.size() % k_journal_line != 0) {
    ADD_FAILURE() << path << " holds a partial line (" << text.size() << " bytes)";
  }
  for (size_t pos = 0; pos + k_journal_line <= text.size(); pos += k_journal_line) {
    const long n = std::atol(text.c_str() + pos);
    if (n != static_cast<long>(out.size())) {
      ADD_FAILURE() << path << ": line " << out.size() << " says run " << n;
    }
    std::string id = text.substr(pos + 11, k_run_id_width);
    while (!id.empty() && id.back() == ' ') {
      id.pop_back();
    }
    out.push_back(id);
  }
  return out;
}

long journal_runs(const std::string& path)
{
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long>(st.st_size) / k_journal_line : 0;
}

e2e::Result Stress::launch_stress(const std::string& name, const e2e::Args& opts,
                                  const e2e::Args& job_args)
{
  e2e::Result r =
      run(pg_run(e2e::Args{"-n", name} + opts + e2e::Args{"--", k_stress_job} + job_args));
  EXPECT_EQ(r.status, 0) << "launch of " << name << " failed; stdout: " << r.out
                         << "; stderr: " << r.err;
  e2e::must(r.status == 0);
  return r;
}

Json Stress::ls_json(const std::string& name)
{
  e2e::Result r = run(e2e::Args{PG_LS_BIN, "--state-dir", state_dir(), "--json", name});
  Json j = Json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.size() != 1) {
    ADD_FAILURE() << "pg-ls --json " << name << " (status " << r.status << "): " << r.out << r.err;
    return Json();
  }
  return j[0];
}

} // namespace pg::stress
