#include "parse.h"

#include "syscalls.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>

namespace pg {

namespace {

bool is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

} // namespace

std::string escape_control(std::string_view text)
{
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 || b == 0x7f) {
      out += "\\x";
      out += k_hex[b >> 4];
      out += k_hex[b & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string name_problem(std::string_view name)
{
  if (name.empty()) {
    return "a name must not be empty";
  }
  if (name.size() > 64) {
    return "a name is at most 64 characters";
  }
  if (!is_alnum(name[0])) {
    return "a name must start with a letter or digit";
  }
  for (char c : name) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') {
      return "a name may contain only letters, digits, '.', '_' and '-'";
    }
  }
  return {};
}

namespace {

enum class DurationParse { Ok, Malformed, TooLong };

// Checks the whole text's syntax before its size: "99999999999999999999x" is malformed, and
// "99999999999999999999s" too long. Values are kept within k_max_duration + 1 while reading,
// so no digit string or unit multiplies past 64 bits.
DurationParse read_duration(std::string_view text, uint64_t& total)
{
  total = 0;
  if (text.empty()) {
    return DurationParse::Malformed;
  }
  constexpr auto max_ms = static_cast<uint64_t>(k_max_duration.count());
  bool too_long = false;
  bool bare = true;
  std::string_view s = text;
  while (!s.empty()) {
    size_t i = 0;
    uint64_t n = 0;
    while (i < s.size() && is_digit(s[i])) {
      // Saturates past the limit: any larger count is as much too long.
      n = n > max_ms ? n : n * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
    }
    if (i == 0) {
      return DurationParse::Malformed;
    }
    s.remove_prefix(i);
    uint64_t unit_ms = 0;
    if (s.empty()) {
      if (!bare) {
        return DurationParse::Malformed; // "1h30" is ambiguous: refuse it
      }
      unit_ms = 1000;
    } else if (s.starts_with("ms")) {
      unit_ms = 1;
      s.remove_prefix(2);
    } else {
      switch (s[0]) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60'000;
        break;
      case 'h':
        unit_ms = 3'600'000;
        break;
      case 'd':
        unit_ms = 86'400'000;
        break;
      default:
        return DurationParse::Malformed;
      }
      s.remove_prefix(1);
    }
    bare = false;
    if (too_long || n > max_ms / unit_ms || total + n * unit_ms > max_ms) {
      too_long = true; // read on: a malformed rest still makes the whole text malformed
    } else {
      total += n * unit_ms;
    }
  }
  return too_long ? DurationParse::TooLong : DurationParse::Ok;
}

} // namespace

std::optional<Millis> parse_duration(std::string_view text)
{
  uint64_t total = 0;
  if (read_duration(text, total) != DurationParse::Ok) {
    return std::nullopt;
  }
  return Millis(static_cast<Millis::rep>(total));
}

bool duration_too_long(std::string_view text)
{
  uint64_t total = 0;
  return read_duration(text, total) == DurationParse::TooLong;
}

std::string duration_too_long_error(std::string_view option, std::string_view text)
{
  return std::string(option) + ": '" + std::string(text) + "' is longer than the limit of " +
         format_duration(k_max_duration) + " (about 100 years)";
}

std::string format_duration(Millis d)
{
  auto ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const struct {
    long long size;
    const char* unit;
  } units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& u : units) {
    if (ms >= u.size) {
      out += std::to_string(ms / u.size) + u.unit;
      ms %= u.size;
    }
  }
  return out;
}

std::optional<uint64_t> parse_size(std::string_view text)
{
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t mult = 1;
  char last = text.back();
  if (last == 'K' || last == 'k') {
    mult = uint64_t{1} << 10;
  } else if (last == 'M' || last == 'm') {
    mult = uint64_t{1} << 20;
  } else if (last == 'G' || last == 'g') {
    mult = uint64_t{1} << 30;
  }
  if (mult != 1 || last == 'B' || last == 'b') {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return std::nullopt;
  }
  if (n > std::numeric_limits<uint64_t>::max() / mult) {
    return std::nullopt;
  }
  return n * mult;
}

std::string format_size(uint64_t bytes)
{
  constexpr std::pair<int, char> units[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
  for (const auto& [shift, suffix] : units) {
    if (bytes != 0 && bytes % (uint64_t{1} << shift) == 0) {
      return std::to_string(bytes >> shift) + suffix;
    }
  }
  return std::to_string(bytes);
}

std::optional<unsigned> parse_percent(std::string_view text, unsigned max)
{
  if (!text.empty() && text.back() == '%') {
    text.remove_suffix(1);
  }
  unsigned n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || n == 0 || n > max) {
    return std::nullopt;
  }
  return n;
}

bool reserved_env_key(std::string_view key)
{
  return key == "PG_NAME" || key == "PG_RUN_ID" || key == "NOTIFY_SOCKET" ||
         key == "WATCHDOG_USEC" || key == "WATCHDOG_PID";
}

bool valid_env_key(std::string_view key)
{
  if (key.empty() || is_digit(key[0])) {
    return false;
  }
  for (char c : key) {
    if (!is_alnum(c) && c != '_') {
      return false;
    }
  }
  return true;
}

EnvFileResult parse_env_file(std::string_view text)
{
  EnvFileResult result;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = trim(line);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line.starts_with("export ") || line.starts_with("export\t")) {
      line = trim(line.substr(7));
    }
    size_t eq = line.find('=');
    auto fail = [&](const std::string& why) {
      result.vars.clear();
      result.error = "line " + std::to_string(line_no) + ": " + why;
      return result;
    };
    if (eq == std::string_view::npos) {
      return fail("expected KEY=VALUE");
    }
    if (line.find('\0') != std::string_view::npos) {
      return fail("a NUL byte (an environment value cannot hold one)");
    }
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (!valid_env_key(key)) {
      return fail("'" + escape_control(key.substr(0, 64)) + (key.size() > 64 ? "..." : "") +
                  "' is not a valid variable name");
    }
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      char q = value[0];
      if (value.size() < 2 || value.back() != q) {
        return fail("unterminated quoted value");
      }
      value = value.substr(1, value.size() - 2);
      if (value.find(q) != std::string_view::npos) {
        return fail("stray quote inside a quoted value");
      }
    }
    result.vars.emplace_back(std::string(key), std::string(value));
  }
  return result;
}

EnvFileResult load_env_file(const std::string& path)
{
  std::string text;
  if (!read_file(path, text)) {
    return {{}, fmt::format("--env-file {}: {}", path, std::strerror(errno))};
  }
  EnvFileResult parsed = parse_env_file(text);
  if (!parsed.error.empty()) {
    parsed.error = fmt::format("--env-file {}: {}", path, parsed.error);
  }
  return parsed;
}

} // namespace pg
