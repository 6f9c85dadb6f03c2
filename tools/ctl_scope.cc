#include "ctl_scope.h"

#include "ctl_pg_run.h"

#include <unistd.h>

#include <fmt/format.h>

#include <array>

namespace pg {

namespace {

std::vector<std::string> systemd_run(const std::string& unit, const std::string& description,
                                     const std::vector<std::string>& argv)
{
  std::vector<std::string> out = {"systemd-run", "--user", "--scope", "--quiet", "--collect"};
  if (!unit.empty()) {
    out.push_back("--unit=" + unit);
  }
  if (!description.empty()) {
    out.push_back("--description=" + description);
  }
  out.emplace_back("--");
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

} // namespace

std::string scope_unit_name(const std::string& job, long long now_s, int pid)
{
  return fmt::format("pg-job-{}-{}-{}.scope", job, now_s, pid);
}

bool scopes_available(const std::string& self, std::string& why)
{
  const int status = run_and_wait(systemd_run("", "", {self, "--version"}), ChildOutput::None);
  if (status == 0) {
    return true;
  }
  why = status == 127 ? "systemd-run is not on PATH"
                      : fmt::format("systemd-run --user --scope failed (status {}): no user "
                                    "manager to ask",
                                    status);
  return false;
}

int run_in_scope(const std::string& unit, const std::string& description,
                 const std::vector<std::string>& argv)
{
  return run_and_wait(systemd_run(unit, description, argv), ChildOutput::NoStdout);
}

std::string self_exe()
{
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) {
    return "pg-ctl";
  }
  return std::string(buf.data(), static_cast<size_t>(n));
}

} // namespace pg
