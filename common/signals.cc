#include "signals.h"

#include <csignal>
#include <cstring>

#include <array>
#include <charconv>

namespace pg {

namespace {

struct Named {
  int number;
  const char* name; // without "SIG"
};

const std::array<Named, 31> k_signals{{
    {SIGHUP, "HUP"},   {SIGINT, "INT"},       {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"}, {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},
    {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"},     {SIGTERM, "TERM"}, {SIGSTKFLT, "STKFLT"},
    {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"},     {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"}, {SIGTTOU, "TTOU"},     {SIGURG, "URG"},   {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"}, {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},     {SIGPWR, "PWR"},       {SIGSYS, "SYS"},
}};

std::optional<int> parse_int(std::string_view s)
{
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

bool iequals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
    if (x != b[i]) {
      return false;
    }
  }
  return true;
}

} // namespace

std::string signal_name(int sig)
{
  for (const auto& s : k_signals) {
    if (s.number == sig) {
      return std::string("SIG") + s.name;
    }
  }
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    return sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  }
  return "SIG" + std::to_string(sig);
}

std::optional<int> parse_signal(std::string_view text)
{
  if (auto n = parse_int(text)) {
    if (*n > 0 && *n <= SIGRTMAX) {
      return n;
    }
    return std::nullopt;
  }
  if (text.size() > 3 && iequals(text.substr(0, 3), "SIG")) {
    text.remove_prefix(3);
    // "SIG32": how signal_name() writes a signal without a name, so records read back.
    if (auto n = parse_int(text)) {
      return *n > 0 && *n <= SIGRTMAX ? n : std::nullopt;
    }
  }
  for (const auto& s : k_signals) {
    if (iequals(text, s.name)) {
      return s.number;
    }
  }
  if (text.size() >= 5 && iequals(text.substr(0, 5), "RTMIN")) {
    std::string_view rest = text.substr(5);
    int off = 0;
    if (!rest.empty()) {
      if (rest[0] != '+') {
        return std::nullopt;
      }
      auto n = parse_int(rest.substr(1));
      if (!n || *n < 0) {
        return std::nullopt;
      }
      off = *n;
    }
    if (off <= SIGRTMAX - SIGRTMIN) { // not SIGRTMIN + off: that overflows for a huge off
      return SIGRTMIN + off;
    }
  }
  return std::nullopt;
}

int control_signal()
{
  return SIGRTMIN + 4;
}

} // namespace pg
