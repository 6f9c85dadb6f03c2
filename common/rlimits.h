// --limit RES=SOFT[:HARD]: a setrlimit(2) for the job, RES as prlimit(1) names it. Pure: the
// resources' table, the parser of the option's text, its writing back, and the names RLIMIT_*
// and systemd's LimitXXX= give the same limit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <vector>

namespace pg {

// A limit's value; nullopt is unlimited (RLIM_INFINITY).
using LimitValue = std::optional<uint64_t>;

// What a resource's value counts: bytes take K/M/G (powers of 1024); the others a plain number.
enum class LimitUnit { Bytes, Count, Seconds, Microseconds };

struct LimitResource {
  std::string_view name;    // prlimit(1)'s: "nofile"
  int resource;             // RLIMIT_NOFILE
  std::string_view systemd; // "LimitNOFILE"
  LimitUnit unit;
  std::string_view what; // "open files"
};

// One resource limit of the job. With one value given, soft and hard are both that value (as
// prlimit(1) does).
struct Limit {
  std::string name; // a LimitResource's name
  LimitValue soft;
  LimitValue hard;

  bool operator==(const Limit&) const = default;
};

// The resources --limit takes, by name (rss, which Linux ignores, is not one of them).
std::span<const LimitResource> limit_resources();
// The resource named name, or nullptr.
const LimitResource* limit_resource(std::string_view name);
// Their names, space-separated: "as core cpu ...".
std::string limit_names();

// "nofile=64:128", "core=0", "as=1G:unlimited"; nullopt and why (without the option's name)
// when it is not one: an unknown resource, rss, a malformed value, soft above hard.
struct LimitParse {
  std::optional<Limit> limit;
  std::string error;
};
LimitParse parse_limit(std::string_view text);

// One value as parse_limit reads it for the resource: "unlimited", "1G" (bytes), "64".
LimitParse parse_limit_value(const LimitResource& r, std::string_view text);

// Why soft exceeds hard, or "" when it does not (unlimited is above every number).
std::string limit_order_problem(const Limit& l);

// A value in the option's words: "unlimited", "512M" for bytes when exact, else the number.
std::string limit_value_text(const LimitResource& r, LimitValue v);
// "64:128", or "64" when soft and hard are the same.
std::string limit_values_text(const Limit& l);
// "nofile=64:128": what --limit takes back.
std::string limit_text(const Limit& l);
// "LimitNOFILE=64:128": systemd's setting (infinity for unlimited).
std::string systemd_limit(const Limit& l);
// The setrlimit(2) arguments.
int limit_resource_id(const Limit& l);
struct rlimit to_rlimit(const Limit& l);

// Puts l among limits (kept sorted by name); false when its resource is there already.
bool add_limit(std::vector<Limit>& limits, Limit l);

} // namespace pg
