// The supervisor's own lines (a request delivered twice, a run's end, storage trouble): one line
// each on stderr, which is the terminal in the foreground and /dev/null once detached.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <utility>

namespace pg {

template <typename... A> void say(fmt::format_string<A...> f, A&&... args)
{
  fmt::print(stderr, "pg-run: {}\n", fmt::format(f, std::forward<A>(args)...));
}

} // namespace pg
