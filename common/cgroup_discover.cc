// Finding the cgroup hierarchies (/proc/self/cgroup, /proc/self/mountinfo), naming a job's
// cgroup, and checking that a recorded path is one pg made; plus the small file helpers.
#include "cgroup.h"
#include "cgroup_internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace pg {

namespace cgroup_detail {

namespace {
const CgroupFsOps* g_fs_ops = nullptr;
} // namespace

int fs_mkdir(const std::string& path, mode_t mode)
{
  return g_fs_ops != nullptr ? g_fs_ops->mkdir(path.c_str(), mode) : ::mkdir(path.c_str(), mode);
}

int fs_rmdir(const std::string& path)
{
  return g_fs_ops != nullptr ? g_fs_ops->rmdir(path.c_str()) : ::rmdir(path.c_str());
}

std::optional<std::string> read_text(const std::string& dir, std::string_view file, int* err)
{
  std::string out;
  if (!read_kernel_file(dir + "/" + std::string(file), out)) {
    if (err != nullptr) {
      *err = errno;
    }
    return std::nullopt;
  }
  return out;
}

std::string write_text(const std::string& dir, std::string_view file, std::string_view value,
                       int* err)
{
  const std::string path = dir + "/" + std::string(file);
  UniqueFd fd(retry_eintr([&] { return ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC); }));
  if (!fd || !write_all(fd.get(), value)) {
    const int e = errno;
    if (err != nullptr) {
      *err = e;
    }
    return fmt::format("write {}: {}", path, std::strerror(e));
  }
  return "";
}

bool file_exists(const std::string& dir, std::string_view file)
{
  return ::access((dir + "/" + std::string(file)).c_str(), F_OK) == 0;
}

std::vector<std::string> split_words(std::string_view text)
{
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) {
      ++i;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') {
      ++j;
    }
    if (j > i) {
      out.emplace_back(text.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

std::vector<pid_t> parse_pid_lines(std::string_view text)
{
  std::vector<pid_t> out;
  for (const auto& w : split_words(text)) {
    if (w.find_first_not_of("0123456789") == std::string::npos && w.size() < 10) {
      out.push_back(static_cast<pid_t>(std::stol(w)));
    }
  }
  return out;
}

} // namespace cgroup_detail

using namespace cgroup_detail;

void set_cgroup_fs_ops_for_test(const CgroupFsOps* ops)
{
  cgroup_detail::g_fs_ops = ops;
}

namespace {

std::vector<std::string> split(std::string_view text, char sep)
{
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(sep, start);
    out.emplace_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) {
      return out;
    }
    start = at + 1;
  }
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s)
{
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The kernel's controller names among a v1 mount's super options ("rw,cpu,cpuacct").
std::vector<std::string> v1_controllers(std::string_view super_options)
{
  static constexpr std::string_view k_not_controllers[] = {
      "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"};
  std::vector<std::string> out;
  for (auto& opt : split(super_options, ',')) {
    bool skip = opt.empty() || opt.starts_with("release_agent=");
    for (auto n : k_not_controllers) {
      skip = skip || opt == n;
    }
    if (!skip) {
      out.push_back(opt);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool is_ancestor_or_self(std::string_view dir, std::string_view of)
{
  return of == dir || (of.starts_with(dir) && of.size() > dir.size() && of[dir.size()] == '/');
}

// "pg-<uid>-<8 hex>-<job>", as job_cgroup_name makes them.
bool well_formed_name(std::string_view name)
{
  if (!name.starts_with("pg-")) {
    return false;
  }
  name.remove_prefix(3);
  const size_t dash = name.find('-');
  if (dash == 0 || dash == std::string_view::npos ||
      name.substr(0, dash).find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  name.remove_prefix(dash + 1);
  return name.size() > 9 && name[8] == '-' &&
         name.substr(0, 8).find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

} // namespace

std::vector<CgroupMembership> parse_proc_cgroup(std::string_view text)
{
  std::vector<CgroupMembership> out;
  for (auto& line : split(text, '\n')) {
    // "ID:CONTROLLERS:PATH"; PATH may itself hold ':'.
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string::npos || c1 == 0 || line[c2 + 1] != '/') {
      continue;
    }
    std::string id = line.substr(0, c1);
    if (id.find_first_not_of("0123456789") != std::string::npos || id.size() > 6) {
      continue;
    }
    CgroupMembership m;
    m.hierarchy_id = std::stoi(id);
    if (c2 > c1 + 1) {
      m.controllers = split(std::string_view(line).substr(c1 + 1, c2 - c1 - 1), ',');
      std::sort(m.controllers.begin(), m.controllers.end());
    }
    m.path = line.substr(c2 + 1);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo)
{
  std::vector<CgroupMount> out;
  for (auto& line : split(mountinfo, '\n')) {
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
    std::vector<std::string> f = split(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 7 || dash == f.end() || dash - f.begin() < 6 || f.end() - dash < 4) {
      continue;
    }
    const std::string& fstype = dash[1];
    if (fstype != "cgroup" && fstype != "cgroup2") {
      continue;
    }
    CgroupMount m;
    m.version = fstype == "cgroup2" ? CgroupVersion::V2 : CgroupVersion::V1;
    m.root = unescape_octal(f[3]);
    m.mount_point = unescape_octal(f[4]);
    if (m.version == CgroupVersion::V1) {
      m.controllers = v1_controllers(dash[3]);
    }
    out.push_back(std::move(m));
  }
  return out;
}

bool CgroupHierarchy::has_controller(std::string_view c) const
{
  return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
}

const CgroupHierarchy* CgroupHost::v2() const
{
  for (const auto& h : hierarchies) {
    if (h.version == CgroupVersion::V2) {
      return &h;
    }
  }
  return nullptr;
}

const CgroupHierarchy* CgroupHost::v1(std::string_view c) const
{
  for (const auto& h : hierarchies) {
    if (h.version == CgroupVersion::V1 && h.has_controller(c)) {
      return &h;
    }
  }
  return nullptr;
}

CgroupHost describe_cgroup_host(std::string_view proc_cgroup, std::string_view mountinfo,
                                const std::string& prefix)
{
  CgroupHost host;
  host.prefix = prefix;
  host.mounts = parse_cgroup_mounts(mountinfo);
  for (auto& mount : host.mounts) {
    mount.mount_point = prefix + mount.mount_point;
  }
  for (const auto& m : parse_proc_cgroup(proc_cgroup)) {
    const CgroupVersion v =
        m.hierarchy_id == 0 && m.controllers.empty() ? CgroupVersion::V2 : CgroupVersion::V1;
    for (const auto& mount : host.mounts) {
      if (mount.version != v || (v == CgroupVersion::V1 && mount.controllers != m.controllers)) {
        continue;
      }
      // The mount shows the hierarchy from mount.root down: our cgroup must be below it.
      std::string rel;
      if (mount.root == "/") {
        rel = m.path;
      } else if (is_ancestor_or_self(mount.root, m.path)) {
        rel = m.path.substr(mount.root.size());
      } else {
        continue;
      }
      CgroupHierarchy h{v, m.controllers, mount.mount_point, mount.mount_point};
      if (rel != "/" && !rel.empty()) {
        h.own_dir += rel;
      }
      host.hierarchies.push_back(std::move(h));
      break;
    }
  }
  return host;
}

CgroupHost discover_cgroup_host(const std::string& prefix)
{
  std::string cg;
  std::string mi;
  read_file(prefix + "/proc/self/cgroup", cg);
  read_file(prefix + "/proc/self/mountinfo", mi);
  return describe_cgroup_host(cg, mi, prefix);
}

uint32_t cgroup_name_hash(std::string_view text)
{
  uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a 64 offset basis
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL; // FNV-1a 64 prime
  }
  return static_cast<uint32_t>(h >> 32) ^ static_cast<uint32_t>(h);
}

std::string job_cgroup_name(uid_t uid, std::string_view state_dir, std::string_view job)
{
  return fmt::format("pg-{}-{:08x}-{}", uid, cgroup_name_hash(state_dir), job);
}

std::string supervisor_leaf_name(std::string_view job_cgroup_name)
{
  return std::string(job_cgroup_name) + "@sup";
}

std::vector<std::string> JobCgroup::recorded_paths() const
{
  std::vector<std::string> out = dirs;
  if (!supervisor_leaf.empty()) {
    out.push_back(supervisor_leaf);
  }
  return out;
}

JobCgroup JobCgroup::from_recorded(std::string name, const std::vector<std::string>& paths)
{
  JobCgroup cg;
  cg.name = std::move(name);
  for (const auto& p : paths) {
    if (p.ends_with("@sup")) {
      cg.supervisor_leaf = p;
    } else {
      cg.dirs.push_back(p);
    }
  }
  return cg;
}

std::string check_job_cgroup_path(const CgroupHost& host, const std::string& path,
                                  const std::string& name)
{
  const std::string base = path.substr(path.rfind('/') + 1);
  if (path.empty() || path[0] != '/' || path.find("//") != std::string::npos ||
      path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
      base == "." || base == "..") {
    return fmt::format("cgroup {}: not an absolute, normalized path", path);
  }
  if (!well_formed_name(name) || (base != name && base != supervisor_leaf_name(name))) {
    return fmt::format("cgroup {}: not this job's (its name should be {})", path, name);
  }
  const CgroupMount* mount = nullptr;
  for (const auto& m : host.mounts) {
    if (is_ancestor_or_self(m.mount_point, path) && path != m.mount_point) {
      mount = &m;
    }
  }
  if (mount == nullptr) {
    return fmt::format("cgroup {}: not below a cgroup mount", path);
  }
  for (const auto& h : host.hierarchies) {
    if (is_ancestor_or_self(path, h.own_dir)) {
      return fmt::format("cgroup {}: this process's own cgroup or one of its parents", path);
    }
  }
  return "";
}

std::string check_job_cgroup(const CgroupHost& host, const JobCgroup& cg, const std::string& name)
{
  for (const auto& d : cg.dirs) {
    std::string why = check_job_cgroup_path(host, d, name);
    if (!why.empty()) {
      return why;
    }
  }
  return "";
}

} // namespace pg
