#include "clock.h"

#include <dlfcn.h>
#include <time.h>

#include <cstdio>

namespace pg {

namespace {

using ClockGettime = int (*)(clockid_t, timespec*);

// libc's own clock_gettime (the vDSO's speed), past any preloaded wrapper of it: libfaketime,
// loaded to fake a job's date (`faketime '+1d' pg-run ...`), shifts BOOTTIME and MONOTONIC by
// its wall-clock offset too unless told not to, and pg-run's timers must not see that jump.
ClockGettime libc_clock_gettime()
{
  static const ClockGettime fn = [] {
    void* libc = ::dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    void* sym = libc != nullptr ? ::dlsym(libc, "clock_gettime") : nullptr;
    return sym != nullptr ? reinterpret_cast<ClockGettime>(sym) : &::clock_gettime;
  }();
  return fn;
}

Nanos read_clock(clockid_t id)
{
  timespec ts{};
  libc_clock_gettime()(id, &ts);
  return std::chrono::seconds(ts.tv_sec) + Nanos(ts.tv_nsec);
}

// True when the fields name a real instant (a leap second :60 included); timegm() would
// silently normalise "2026-13-45T99:99:99" into some other time.
bool valid_fields(int year, int month, int day, int hour, int minute, int second)
{
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60) {
    return false;
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= k_days[month - 1] + (month == 2 && leap ? 1 : 0);
}

// "2026-01-02T03:04:05.678Z", the form format_rfc3339 writes, read without sscanf (a listing
// reads thousands); nullopt for any other form, which the general path below reads. The same
// checks and the same result as that path.
std::optional<WallTime> parse_canonical(std::string_view s)
{
  if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != '.' || s[23] != 'Z') {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n, int& out) {
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return false;
      }
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, ms = 0;
  if (!num(0, 4, year) || !num(5, 2, month) || !num(8, 2, day) || !num(11, 2, hour) ||
      !num(14, 2, minute) || !num(17, 2, second) || !num(20, 3, ms) ||
      !valid_fields(year, month, day, hour, minute, second)) {
    return std::nullopt;
  }
  // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil),
  // as timegm counts them (a second of 60 carries into the next minute).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + doe - 719468;
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  if (secs > k_max_time_s || secs < k_min_time_s) {
    return std::nullopt;
  }
  return WallTime(std::chrono::seconds(secs) + std::chrono::milliseconds(ms));
}

} // namespace

Nanos boottime_now()
{
  return read_clock(CLOCK_BOOTTIME);
}

Nanos monotonic_now()
{
  return read_clock(CLOCK_MONOTONIC);
}

WallTime wall_now()
{
  return std::chrono::system_clock::now();
}

std::string format_rfc3339(WallTime t)
{
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  long frac = static_cast<long>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  tm utc{};
  ::gmtime_r(&secs, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, frac);
  return buf;
}

std::optional<WallTime> parse_rfc3339(std::string_view text)
{
  if (auto t = parse_canonical(text)) {
    return t;
  }
  std::string s(text);
  tm t{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  if (!valid_fields(t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)) {
    return std::nullopt;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  std::string_view rest = std::string_view(s).substr(static_cast<size_t>(consumed));
  long ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
      if (digits < 3) {
        ms = ms * 10 + (rest[0] - '0');
      }
      ++digits;
      rest.remove_prefix(1);
    }
    for (; digits < 3; ++digits) {
      ms *= 10;
    }
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int hh = 0;
    int mm = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &hh, &mm) != 2 || hh < 0 ||
        hh > 23 || mm < 0 || mm > 59) {
      return std::nullopt;
    }
    offset = (hh * 3600 + mm * 60) * (rest[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  // The fields were checked above, so -1 is 1969-12-31T23:59:59, not an error.
  time_t secs = ::timegm(&t);
  // Within k_min_time_s to k_max_time_s (see clock.h) neither the conversion to a time point
  // nor the difference of two overflows (both found by fuzz/: UB on hostile files).
  if (secs - offset > k_max_time_s || secs - offset < k_min_time_s) {
    return std::nullopt;
  }
  return WallTime(std::chrono::seconds(secs - offset) + std::chrono::milliseconds(ms));
}

std::string format_local(WallTime t)
{
  time_t secs = std::chrono::system_clock::to_time_t(t);
  tm local{};
  ::localtime_r(&secs, &local);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string format_age(std::chrono::seconds s)
{
  long long v = s.count();
  if (v < 0) {
    v = 0;
  }
  char buf[64];
  if (v < 60) {
    std::snprintf(buf, sizeof buf, "%llds", v);
  } else if (v < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", v / 60, v % 60);
  } else if (v < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", v / 3600, (v % 3600) / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", v / 86400, (v % 86400) / 3600);
  }
  return buf;
}

} // namespace pg
