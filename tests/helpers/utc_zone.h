// A test fixture base for output in local time (tables, the timeline's axis): the process's
// zone is UTC for each test and put back after it, so the goldens hold anywhere.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace pg::test {

class UtcZone : public ::testing::Test {
protected:
  void SetUp() override
  {
    if (const char* tz = std::getenv("TZ")) {
      m_old_tz = tz;
    }
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override
  {
    if (m_old_tz) {
      ::setenv("TZ", m_old_tz->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

private:
  std::optional<std::string> m_old_tz;
};

} // namespace pg::test
