#include "launch_json.h"

#include "events.h"
#include "parse.h"
#include "state.h"

#include <fmt/format.h>

namespace pg {

using nlohmann::json;

json launch_error_json(std::string_view name, std::string_view error, int status)
{
  return {{"schema_version", k_schema_version},
          {"name", name.empty() ? json(nullptr) : json(name)},
          {"error", error},
          {"status", status}};
}

json exec_failure_json(std::string_view name, std::string_view error, int status,
                       const json& last_exit)
{
  json j = launch_error_json(name, error, status);
  j["state"] = "failed";
  j["last_exit"] = last_exit.is_object() ? last_exit : json(nullptr);
  return j;
}

json ended_json(std::string_view name, const json& report, const std::string& log,
                const std::vector<std::string>& log_tail, double wait_s, int status)
{
  json last_exit = report;
  std::string state = "failed";
  if (auto it = last_exit.find("state"); it != last_exit.end()) {
    if (it->is_string()) {
      state = it->get<std::string>();
    }
    last_exit.erase(it);
  }
  last_exit.erase("event");
  return {{"schema_version", k_schema_version},
          {"name", name},
          {"state", state},
          {"last_exit", last_exit},
          {"log", log},
          {"log_tail", log_tail},
          {"wait_s", wait_s},
          {"status", status}};
}

std::string early_end_text(Millis wait, const json& exit_record)
{
  return fmt::format("ended during the {} wait: {} after {:.3f}s, {} ({})", format_duration(wait),
                     exit_text(exit_record), exit_record.value("runtime_s", 0.0),
                     exit_record.value("outcome", "?"), exit_record.value("cause", ""));
}

ArgsPeek peek_args(const std::vector<std::string>& args)
{
  ArgsPeek p;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      break;
    }
    if (a == "--json") {
      p.json = true;
    } else if ((a == "-n" || a == "--name") && i + 1 < args.size()) {
      p.name = args[++i];
    } else if (a.starts_with("--name=")) {
      p.name = a.substr(7);
    } else if (a.starts_with("-n") && a.size() > 2) {
      p.name = a.substr(2);
    }
  }
  return p;
}

} // namespace pg
