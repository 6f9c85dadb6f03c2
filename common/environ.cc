#include "environ.h"

#include "parse.h"

#include <array>

extern char** environ;

namespace pg {

namespace {

std::string_view key_of(std::string_view entry)
{
  return entry.substr(0, entry.find('='));
}

bool well_formed(std::string_view entry)
{
  const size_t eq = entry.find('=');
  return eq != std::string_view::npos && eq > 0 && entry.find('\0') == std::string_view::npos;
}

} // namespace

bool session_bound_env_key(std::string_view key)
{
  static constexpr std::array<std::string_view, 12> k_keys{
      "SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_CONNECTION", "SSH_CLIENT",
      "SSH_TTY",       "WINDOWID",      "TMUX",           "TMUX_PANE",
      "STY",           "OLDPWD",        "SHLVL",          "_"};
  for (auto k : k_keys) {
    if (key == k) {
      return true;
    }
  }
  return key.starts_with("XDG_SESSION_");
}

std::vector<std::string> current_environ()
{
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    out.emplace_back(*e);
  }
  return out;
}

std::string environ_text(const std::vector<std::string>& entries)
{
  std::string out;
  for (const auto& e : entries) {
    if (well_formed(e) && !session_bound_env_key(key_of(e)) && !reserved_env_key(key_of(e))) {
      out += e;
      out += '\0';
    }
  }
  return out;
}

std::vector<std::string> parse_environ(std::string_view text)
{
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t end = text.find('\0');
    const std::string_view entry = text.substr(0, end);
    if (well_formed(entry)) {
      out.emplace_back(entry);
    }
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return out;
}

} // namespace pg
