#include "rlimits.h"

#include "parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace pg {

namespace {

// prlimit(1)'s names, sorted; systemd.exec(5)'s settings. rss is left out: Linux has not
// enforced RLIMIT_RSS since 2.6, so a job "limited" by it would not be.
constexpr std::array<LimitResource, 15> k_resources{{
    {"as", RLIMIT_AS, "LimitAS", LimitUnit::Bytes, "address space"},
    {"core", RLIMIT_CORE, "LimitCORE", LimitUnit::Bytes, "core file size"},
    {"cpu", RLIMIT_CPU, "LimitCPU", LimitUnit::Seconds, "CPU time"},
    {"data", RLIMIT_DATA, "LimitDATA", LimitUnit::Bytes, "data segment"},
    {"fsize", RLIMIT_FSIZE, "LimitFSIZE", LimitUnit::Bytes, "file size"},
    {"locks", RLIMIT_LOCKS, "LimitLOCKS", LimitUnit::Count, "file locks"},
    {"memlock", RLIMIT_MEMLOCK, "LimitMEMLOCK", LimitUnit::Bytes, "locked memory"},
    {"msgqueue", RLIMIT_MSGQUEUE, "LimitMSGQUEUE", LimitUnit::Bytes, "POSIX message queues"},
    {"nice", RLIMIT_NICE, "LimitNICE", LimitUnit::Count, "nice ceiling (20 - nice)"},
    {"nofile", RLIMIT_NOFILE, "LimitNOFILE", LimitUnit::Count, "open files"},
    {"nproc", RLIMIT_NPROC, "LimitNPROC", LimitUnit::Count, "processes of the user"},
    {"rtprio", RLIMIT_RTPRIO, "LimitRTPRIO", LimitUnit::Count, "real-time priority"},
    {"rttime", RLIMIT_RTTIME, "LimitRTTIME", LimitUnit::Microseconds, "real-time CPU time"},
    {"sigpending", RLIMIT_SIGPENDING, "LimitSIGPENDING", LimitUnit::Count, "pending signals"},
    {"stack", RLIMIT_STACK, "LimitSTACK", LimitUnit::Bytes, "stack size"},
}};

LimitParse fail(std::string why)
{
  return {std::nullopt, std::move(why)};
}

bool below_or_equal(LimitValue a, LimitValue b)
{
  return !b || (a && *a <= *b);
}

} // namespace

std::span<const LimitResource> limit_resources()
{
  return k_resources;
}

const LimitResource* limit_resource(std::string_view name)
{
  for (const auto& r : k_resources) {
    if (r.name == name) {
      return &r;
    }
  }
  return nullptr;
}

std::string limit_names()
{
  std::string out;
  for (const auto& r : k_resources) {
    out += (out.empty() ? "" : " ") + std::string(r.name);
  }
  return out;
}

LimitParse parse_limit_value(const LimitResource& r, std::string_view text)
{
  Limit l{std::string(r.name), std::nullopt, std::nullopt};
  if (text == "unlimited" || text == "infinity") {
    return {l, ""};
  }
  if (r.unit == LimitUnit::Bytes) {
    if (auto n = parse_size(text); n && *n != RLIM_INFINITY) {
      l.soft = *n;
      return {l, ""};
    }
    return fail(fmt::format("{}: '{}' is not a size (use 0, 4096, 512K, 10M, 1G) or unlimited",
                            r.name, text));
  }
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || n == RLIM_INFINITY) {
    const char* unit = r.unit == LimitUnit::Seconds        ? "a number of seconds"
                       : r.unit == LimitUnit::Microseconds ? "a number of microseconds"
                                                           : "a number";
    return fail(fmt::format("{}: '{}' is not {} or unlimited", r.name, text, unit));
  }
  l.soft = n;
  return {l, ""};
}

std::string limit_order_problem(const Limit& l)
{
  if (below_or_equal(l.soft, l.hard)) {
    return {};
  }
  const LimitResource* r = limit_resource(l.name);
  return fmt::format("{}: the soft limit {} is above the hard limit {}", l.name,
                     r ? limit_value_text(*r, l.soft) : "?",
                     r ? limit_value_text(*r, l.hard) : "?");
}

LimitParse parse_limit(std::string_view text)
{
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    return fail(fmt::format("'{}' is not RES=SOFT[:HARD] (RES: {})", text, limit_names()));
  }
  const std::string_view name = text.substr(0, eq);
  const LimitResource* r = limit_resource(name);
  if (r == nullptr) {
    if (name == "rss") {
      return fail("rss has no effect on Linux (the kernel ignores RLIMIT_RSS); "
                  "use --memory-cap or --max-memory");
    }
    return fail(fmt::format("'{}' is not a resource (use one of: {})", name, limit_names()));
  }
  const std::string_view values = text.substr(eq + 1);
  const auto colon = values.find(':');
  LimitParse soft = parse_limit_value(*r, values.substr(0, colon));
  if (!soft.limit) {
    return soft;
  }
  Limit l = *soft.limit;
  l.hard = l.soft;
  if (colon != std::string_view::npos) {
    LimitParse hard = parse_limit_value(*r, values.substr(colon + 1));
    if (!hard.limit) {
      return hard;
    }
    l.hard = hard.limit->soft;
  }
  if (std::string why = limit_order_problem(l); !why.empty()) {
    return fail(why);
  }
  return {l, ""};
}

std::string limit_value_text(const LimitResource& r, LimitValue v)
{
  if (!v) {
    return "unlimited";
  }
  return r.unit == LimitUnit::Bytes ? format_size(*v) : std::to_string(*v);
}

std::string limit_values_text(const Limit& l)
{
  const LimitResource* r = limit_resource(l.name);
  if (r == nullptr) {
    return "?";
  }
  if (l.soft == l.hard) {
    return limit_value_text(*r, l.soft);
  }
  return limit_value_text(*r, l.soft) + ":" + limit_value_text(*r, l.hard);
}

std::string limit_text(const Limit& l)
{
  return l.name + "=" + limit_values_text(l);
}

std::string systemd_limit(const Limit& l)
{
  const LimitResource* r = limit_resource(l.name);
  if (r == nullptr) {
    return {};
  }
  // systemd reads sizes with the same K/M/G (1024) and a bare number of seconds for LimitCPU,
  // of microseconds for LimitRTTIME; "infinity" is its unlimited.
  auto value = [r](LimitValue v) { return v ? limit_value_text(*r, v) : std::string("infinity"); };
  return fmt::format("{}={}", r->systemd,
                     l.soft == l.hard ? value(l.soft) : value(l.soft) + ":" + value(l.hard));
}

int limit_resource_id(const Limit& l)
{
  const LimitResource* r = limit_resource(l.name);
  return r ? r->resource : -1;
}

struct rlimit to_rlimit(const Limit& l)
{
  struct rlimit out {};
  out.rlim_cur = l.soft ? static_cast<rlim_t>(*l.soft) : RLIM_INFINITY;
  out.rlim_max = l.hard ? static_cast<rlim_t>(*l.hard) : RLIM_INFINITY;
  return out;
}

bool add_limit(std::vector<Limit>& limits, Limit l)
{
  auto at = std::lower_bound(limits.begin(), limits.end(), l.name,
                             [](const Limit& a, const std::string& n) { return a.name < n; });
  if (at != limits.end() && at->name == l.name) {
    return false;
  }
  limits.insert(at, std::move(l));
  return true;
}

} // namespace pg
