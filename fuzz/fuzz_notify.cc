// libFuzzer target: one sd_notify datagram's text, as the supervisor parses it.
#include "notify.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = pg::parse_notify_message(text);
  if (m.has_value() != (text.find('\0') == std::string_view::npos)) {
    std::abort(); // dropped whole exactly when it holds a NUL byte
  }
  if (m && m->main_pid && *m->main_pid <= 0) {
    std::abort();
  }
  if (m && m->status && m->status->size() > text.size()) {
    std::abort();
  }
  return 0;
}
