// format_rfc3339 for a stream of events close in time: the "YYYY-MM-DDTHH:MM:SS" part is
// formatted once per second and only the milliseconds are added per call (a crash loop stamps
// thousands of events a second). The text is exactly format_rfc3339's.
#pragma once

#include "clock.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace pg {

class Rfc3339Cache {
public:
  std::string format(WallTime t)
  {
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    int64_t secs = ms / 1000;
    int64_t frac = ms % 1000;
    if (frac < 0) {
      frac += 1000;
      --secs;
    }
    if (!m_valid || secs != m_secs) {
      std::string whole = format_rfc3339(WallTime(std::chrono::seconds(secs)));
      m_prefix = whole.substr(0, whole.size() - 5); // less ".000Z"
      m_secs = secs;
      m_valid = true;
    }
    std::string out;
    out.reserve(m_prefix.size() + 5);
    out = m_prefix;
    out += '.';
    out += static_cast<char>('0' + frac / 100);
    out += static_cast<char>('0' + frac / 10 % 10);
    out += static_cast<char>('0' + frac % 10);
    out += 'Z';
    return out;
  }

private:
  bool m_valid = false;
  int64_t m_secs = 0;
  std::string m_prefix;
};

} // namespace pg
