// Waiting on a condition with a deadline, for every test binary: a test never sleeps a fixed
// time and hopes.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace pg::test {

// Polls pred every poll until it holds (true), or deadline has passed and one last look says
// it still does not (false).
inline bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(3))
{
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) {
      return pred();
    }
    std::this_thread::sleep_for(poll);
  }
  return true;
}

} // namespace pg::test
