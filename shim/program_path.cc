#include "program_path.h"

#include <unistd.h>

#include <vector>

namespace pg {

std::optional<std::string> find_pg_program(const std::string& name)
{
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    return std::nullopt;
  }
  std::string dir(buf, static_cast<size_t>(n));
  dir.erase(dir.rfind('/'));
  std::vector<std::string> places{dir + "/" + name, dir + "/" PG_LIBEXEC_FROM_BIN "/" + name};
  if (const std::string build = PG_BUILD_DIR; dir.starts_with(build + "/")) {
    places.push_back(build + "/shim/" + name);
  }
  for (const std::string& p : places) {
    if (::access(p.c_str(), X_OK) == 0) {
      return p;
    }
  }
  return std::nullopt;
}

} // namespace pg
