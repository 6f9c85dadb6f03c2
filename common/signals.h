// Signal names and numbers, as users write them and as records store them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pg {

// "SIGTERM" for 15, "SIGRTMIN+3" for real-time signals, "SIG<n>" when unknown.
std::string signal_name(int sig);

// Accepts "TERM", "SIGTERM", "sigterm", "15", "SIG32", "RTMIN+2"; nullopt when it is not a
// signal. Reads back every name signal_name() writes.
std::optional<int> parse_signal(std::string_view text);

// The real-time signal pg-ctl queues to a supervisor, carrying a request in its value.
int control_signal();

} // namespace pg
