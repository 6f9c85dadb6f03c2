// Setting up a job's cgroup: where each cap goes, making the directories, the v2 supervisor
// leaf and subtree_control, writing the caps; and the child's join.
#include "cgroup.h"
#include "cgroup_internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace pg {

using namespace cgroup_detail;

namespace {

constexpr uint64_t k_cpu_period_us = 100000;

// The three controllers a cap needs, in the order they are set up.
constexpr std::string_view k_controllers[] = {"memory", "pids", "cpu"};

std::string_view cap_words(std::string_view controller)
{
  return controller == "memory" ? "a memory cap"
         : controller == "pids" ? "a tasks cap"
                                : "a cpu quota";
}

bool asked(const CgroupCaps& caps, std::string_view controller)
{
  return controller == "memory" ? caps.memory_bytes.has_value()
         : controller == "pids" ? caps.tasks.has_value()
                                : caps.cpu_percent.has_value();
}

std::string hint()
{
  return fmt::format("it needs a cgroup pg-run may write: run it as root, or in a delegated "
                     "cgroup v2 subtree ({})",
                     k_cgroup_delegate_hint);
}

// Swap devices in PREFIX/proc/swaps (a header line, then one line per device). Unreadable counts
// as on: a cap that might be escaped through swap is refused rather than trusted.
bool swap_is_on(const std::string& prefix)
{
  std::string text;
  if (!read_file(prefix + "/proc/swaps", text)) {
    return true;
  }
  return std::count(text.begin(), text.end(), '\n') > 1;
}

// One directory to make: a hierarchy and the controllers whose caps it carries there.
struct Placement {
  const CgroupHierarchy* hierarchy = nullptr;
  std::vector<std::string> controllers;
  std::string parent; // the supervisor's cgroup (v2: the one above its leaf, once moved)
  std::string dir;    // parent/name
};

struct Plan {
  std::vector<Placement> places; // v2 (when used) first
  std::string error;
};

std::string no_controller(const CgroupHost& host, std::string_view c,
                          const std::vector<std::string>& v2_available)
{
  std::string where = "no cgroup hierarchy is mounted";
  if (host.v2() != nullptr) {
    const std::string offered = v2_available.empty()
                                    ? std::string("no controller")
                                    : fmt::format("only {}", fmt::join(v2_available, " "));
    where = fmt::format("cgroup v2 offers {} to {} (cgroup.controllers: not delegated), and no "
                        "cgroup v1 {} hierarchy is mounted",
                        offered, host.v2()->own_dir, c);
  } else if (!host.hierarchies.empty()) {
    where = fmt::format("no cgroup v1 {} hierarchy is mounted", c);
  }
  return fmt::format("{} needs the {} controller: {}; {}", cap_words(c), c, where, hint());
}

Plan plan(const CgroupHost& host, const std::string& name, const CgroupCaps& caps)
{
  Plan p;
  const CgroupHierarchy* v2 = host.v2();
  std::vector<std::string> v2_available;
  if (v2 != nullptr) {
    // A supervisor already in its leaf (a second setup) makes the job's cgroup beside it.
    std::string parent = v2->own_dir;
    const std::string leaf = "/" + supervisor_leaf_name(name);
    if (parent.ends_with(leaf)) {
      parent.resize(parent.size() - leaf.size());
    }
    v2_available = split_words(read_text(parent, "cgroup.controllers").value_or(""));
    p.places.push_back({v2, {}, parent, parent + "/" + name});
  }
  for (auto c : k_controllers) {
    if (!asked(caps, c)) {
      continue;
    }
    const std::string cs(c);
    if (v2 != nullptr &&
        std::find(v2_available.begin(), v2_available.end(), cs) != v2_available.end()) {
      p.places[0].controllers.push_back(cs);
      continue;
    }
    const CgroupHierarchy* v1 = host.v1(c);
    if (v1 == nullptr) {
      p.error = no_controller(host, c, v2_available);
      return p;
    }
    auto same = [&](const Placement& pl) { return pl.hierarchy == v1; };
    auto it = std::find_if(p.places.begin(), p.places.end(), same);
    if (it == p.places.end()) {
      p.places.push_back({v1, {cs}, v1->own_dir, v1->own_dir + "/" + name});
    } else {
      it->controllers.push_back(cs);
    }
  }
  // Tracking without v2: one v1 hierarchy (pids counts tasks) when caps chose none.
  if (p.places.empty()) {
    for (auto c : {"pids", "memory", "cpu"}) {
      if (const CgroupHierarchy* v1 = host.v1(c)) {
        p.places.push_back({v1, {}, v1->own_dir, v1->own_dir + "/" + name});
        break;
      }
    }
  }
  return p;
}

// Removes, on destruction, every directory made by this setup unless committed.
class MadeDirs {
public:
  MadeDirs() = default;
  MadeDirs(const MadeDirs&) = delete;
  MadeDirs& operator=(const MadeDirs&) = delete;
  ~MadeDirs()
  {
    for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) {
      fs_rmdir(*it);
    }
  }
  void add(const std::string& dir) { m_dirs.push_back(dir); }
  void commit() { m_dirs.clear(); }

private:
  std::vector<std::string> m_dirs;
};

std::string errno_text(std::string_view what, const std::string& path, int err)
{
  return fmt::format("{} {}: {}", what, path, std::strerror(err));
}

// Makes dir, or reuses an existing one that holds no process (*reused set then).
std::string make_dir(const std::string& dir, MadeDirs& made, bool* reused = nullptr)
{
  if (fs_mkdir(dir, 0755) == 0) {
    made.add(dir);
    return "";
  }
  const int err = errno;
  if (err != EEXIST) {
    return errno_text("cannot create cgroup", dir, err);
  }
  std::vector<pid_t> in = cgroup_members(dir);
  if (!in.empty()) {
    return fmt::format("cgroup {} exists and holds processes (pid {}{}), left by an earlier run: "
                       "end them first",
                       dir, in[0], in.size() > 1 ? fmt::format(" and {} more", in.size() - 1) : "");
  }
  if (reused != nullptr) {
    *reused = true;
  }
  return "";
}

std::string write_subtree(const std::string& parent, const std::string& add);

// cgroup v2: enable the controllers of place in its parent (the supervisor's cgroup), first
// moving the supervisor into its own leaf when that parent is not the root (no internal
// processes). Sets leaf to the leaf made.
std::string enable_v2(const Placement& place, const std::string& name, MadeDirs& made,
                      std::string& leaf)
{
  const CgroupHierarchy& h = *place.hierarchy;
  std::vector<std::string> on =
      split_words(read_text(place.parent, "cgroup.subtree_control").value_or(""));
  std::string add;
  for (const auto& c : place.controllers) {
    if (std::find(on.begin(), on.end(), c) == on.end()) {
      add += (add.empty() ? "+" : " +") + c;
    }
  }
  if (place.parent != h.mount_point) {
    leaf = place.parent + "/" + supervisor_leaf_name(name);
    if (h.own_dir != leaf) { // not moved there by an earlier setup
      std::string why = make_dir(leaf, made);
      if (why.empty()) {
        why = write_text(leaf, "cgroup.procs", "0");
      }
      if (!why.empty()) {
        return fmt::format("cannot move the supervisor out of {} (cgroup v2 enables controllers "
                           "only for a cgroup without processes of its own): {}",
                           place.parent, why);
      }
    }
  }
  return add.empty() ? "" : write_subtree(place.parent, add);
}

// Writes "+c ..." to parent's cgroup.subtree_control; why it failed otherwise.
std::string write_subtree(const std::string& parent, const std::string& add)
{
  int err = 0;
  if (write_text(parent, "cgroup.subtree_control", add, &err).empty()) {
    return "";
  }
  if (err == EBUSY) {
    std::vector<pid_t> others = parse_pid_lines(read_text(parent, "cgroup.procs").value_or(""));
    return fmt::format("cannot enable {} in {}: other processes share the supervisor's cgroup "
                       "({} of them: cgroup v2 enables controllers only for a cgroup without "
                       "processes of its own); start pg-run in a cgroup of its own ({})",
                       add, parent, others.size(), k_cgroup_delegate_hint);
  }
  return errno_text(fmt::format("cannot enable {} in", add), parent, err);
}

struct CapWriter {
  const std::string& prefix;
  JobCgroup& out;

  std::string put(const std::string& dir, std::string_view file, const std::string& value)
  {
    std::string why = write_text(dir, file, value);
    if (why.empty()) {
      out.enforce.push_back(fmt::format("{}={}", file, value));
    }
    return why;
  }

  // Swap cannot be capped (no memsw / memory.swap.max: swap accounting off): acceptable only
  // when there is no swap to escape to.
  std::string swap_uncapped(const std::string& dir, std::string_view file)
  {
    if (swap_is_on(prefix)) {
      return fmt::format("a memory cap cannot include swap here: {}/{} is missing (swap "
                         "accounting is off) and swap is on; boot with swapaccount=1 or turn "
                         "swap off",
                         dir, file);
    }
    out.enforce.push_back("swap=none on the host");
    return "";
  }

  std::string memory(const Placement& pl, uint64_t bytes)
  {
    const std::string v = std::to_string(bytes);
    if (pl.hierarchy->version == CgroupVersion::V2) {
      std::string why = put(pl.dir, "memory.max", v);
      if (why.empty()) {
        why = file_exists(pl.dir, "memory.swap.max") ? put(pl.dir, "memory.swap.max", "0")
                                                     : swap_uncapped(pl.dir, "memory.swap.max");
      }
      return why;
    }
    // v1: memsw >= limit at every step, so unlimit memsw, set the limit, then memsw to it.
    const bool memsw = file_exists(pl.dir, "memory.memsw.limit_in_bytes");
    std::string why = memsw ? write_text(pl.dir, "memory.memsw.limit_in_bytes", "-1") : "";
    if (why.empty()) {
      why = put(pl.dir, "memory.limit_in_bytes", v);
    }
    if (why.empty()) {
      why = memsw ? put(pl.dir, "memory.memsw.limit_in_bytes", v)
                  : swap_uncapped(pl.dir, "memory.memsw.limit_in_bytes");
    }
    return why;
  }

  std::string cpu(const Placement& pl, uint32_t percent)
  {
    const uint64_t quota = uint64_t{percent} * k_cpu_period_us / 100;
    if (pl.hierarchy->version == CgroupVersion::V2) {
      return put(pl.dir, "cpu.max", fmt::format("{} {}", quota, k_cpu_period_us));
    }
    std::string why = put(pl.dir, "cpu.cfs_period_us", std::to_string(k_cpu_period_us));
    return why.empty() ? put(pl.dir, "cpu.cfs_quota_us", std::to_string(quota)) : why;
  }

  // A reused directory (a crashed supervisor's) may still carry caps not asked for now.
  static void reset_unasked(const Placement& pl)
  {
    static constexpr std::pair<std::string_view, std::string_view> k_defaults[] = {
        {"memory.max", "max"},
        {"memory.swap.max", "max"},
        {"pids.max", "max"},
        {"cpu.max", "max 100000"},
        {"memory.memsw.limit_in_bytes", "-1"},
        {"memory.limit_in_bytes", "-1"},
        {"cpu.cfs_quota_us", "-1"}};
    const auto& on = pl.controllers;
    for (auto [file, value] : k_defaults) {
      const std::string c(file.substr(0, file.find('.')));
      if (std::find(on.begin(), on.end(), c) == on.end() && file_exists(pl.dir, file)) {
        write_text(pl.dir, file, value);
      }
    }
  }

  std::string apply(const Placement& pl, const CgroupCaps& caps)
  {
    for (const auto& c : pl.controllers) {
      std::string why = c == "memory" ? memory(pl, *caps.memory_bytes)
                        : c == "pids" ? put(pl.dir, "pids.max", std::to_string(*caps.tasks))
                                      : cpu(pl, *caps.cpu_percent);
      if (!why.empty()) {
        return why;
      }
    }
    return "";
  }
};

std::string cap_failure(const Placement& pl, const std::string& why)
{
  std::string caps;
  for (const auto& c : pl.controllers) {
    caps += (caps.empty() ? "" : ", ") + std::string(cap_words(c));
  }
  return fmt::format("{} cannot be enforced: {}; {}", caps.empty() ? "the job's cgroup" : caps, why,
                     hint());
}

} // namespace

CgroupSetup setup_job_cgroup(const CgroupHost& host, const std::string& name,
                             const CgroupCaps& caps)
{
  CgroupSetup r;
  Plan p = plan(host, name, caps);
  if (!p.error.empty()) {
    r.error = p.error;
    return r;
  }
  MadeDirs made;
  JobCgroup cg;
  cg.name = name;
  CapWriter writer{host.prefix, cg};
  std::vector<std::string> skipped;
  for (const auto& pl : p.places) {
    std::string why;
    if (pl.hierarchy->version == CgroupVersion::V2 && !pl.controllers.empty()) {
      why = enable_v2(pl, name, made, cg.supervisor_leaf);
    }
    bool reused = false;
    if (why.empty()) {
      why = make_dir(pl.dir, made, &reused);
    }
    if (why.empty() && reused) {
      CapWriter::reset_unasked(pl);
    }
    if (why.empty()) {
      why = writer.apply(pl, caps);
    }
    if (why.empty()) {
      cg.dirs.push_back(pl.dir);
    } else if (pl.controllers.empty() && !caps.any()) {
      skipped.push_back(why); // tracking only: do without this hierarchy
    } else if (pl.controllers.empty()) {
      skipped.push_back(why); // v2 for tracking beside v1 caps: not needed for them
    } else {
      r.error = cap_failure(pl, why);
      return r;
    }
  }
  if (cg.dirs.empty()) {
    r.note = skipped.empty() ? "no cgroup hierarchy is mounted"
                             : fmt::format("no cgroup for tracking: {}", fmt::join(skipped, "; "));
    return r;
  }
  made.commit();
  r.cgroup = std::move(cg);
  return r;
}

CgroupJoin CgroupJoin::open(const JobCgroup& cg, std::string& error)
{
  CgroupJoin j;
  error.clear();
  for (const auto& d : cg.dirs) {
    const std::string path = d + "/cgroup.procs";
    UniqueFd fd(retry_eintr([&] { return ::open(path.c_str(), O_WRONLY | O_CLOEXEC); }));
    if (!fd) {
      error = errno_text("open", path, errno);
      return {};
    }
    struct statfs fs {};
    if (!j.m_into && ::statfs(d.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
      // Without it the child joins by cgroup.procs, as on a kernel without clone3.
      j.m_into = UniqueFd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      j.m_into_index = j.m_raw.size();
    }
    j.m_raw.push_back(fd.get());
    j.m_fds.push_back(std::move(fd));
  }
  return j;
}

// Runs in spawn's CLONE_VM child on a stack ASan does not know: not instrumented, as there.
__attribute__((no_sanitize("address"))) int cgroup_join_fds(const int* fds, size_t count,
                                                            size_t skip) noexcept
{
  for (size_t i = 0; i < count; ++i) {
    if (i == skip) {
      continue;
    }
    ssize_t n;
    do {
      n = ::write(fds[i], "0", 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
      return n < 0 ? errno : EIO;
    }
  }
  return 0;
}

} // namespace pg
