// libFuzzer target: what users type: job names, durations, sizes, signals, RFC 3339 times and
// env files (common/parse.h, signals.h, clock.h).
#include "clock.h"
#include "parse.h"
#include "signals.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

bool valid_name_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // A name accepted is a single path component of the allowed bytes: never "", ".", "..",
  // nor anything with '/', a control character or more than 64 bytes.
  if (pg::name_problem(text).empty()) {
    if (text.empty() || text.size() > 64 || text == "." || text == ".." || text[0] == '.' ||
        text[0] == '-') {
      std::abort();
    }
    for (char c : text) {
      if (!valid_name_char(c)) {
        std::abort();
      }
    }
  }

  // A duration parsed is within the limit and renders back to one that parses to the same
  // value; one refused is too long or malformed, never both.
  if (auto d = pg::parse_duration(text)) {
    if (d->count() < 0 || *d > pg::k_max_duration || pg::duration_too_long(text)) {
      std::abort();
    }
    auto again = pg::parse_duration(pg::format_duration(*d));
    if (!again || *again != *d) {
      std::abort();
    }
  }

  (void)pg::parse_size(text);
  (void)pg::parse_signal(text);
  if (auto t = pg::parse_rfc3339(text)) {
    auto again = pg::parse_rfc3339(pg::format_rfc3339(*t));
    if (!again || *again != *t) {
      std::abort();
    }
  }

  auto env = pg::parse_env_file(text);
  if (env.error.empty()) {
    for (const auto& [key, value] : env.vars) {
      if (!pg::valid_env_key(key)) {
        std::abort();
      }
    }
  }
  return 0;
}
