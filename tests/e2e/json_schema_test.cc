// The JSON vocabulary written down once (docs/pg-json.schema.json) against the real outputs of
// the built binaries: state.json, pg-run --json in its outcomes, pg-ls --json, --check --json,
// --events --json, pg-ctl --json (a verb's results, logs, unit). Checked by Debian's
// python3-jsonschema (Draft 2020-12) through tests/e2e/validate_json.py; skipped with a note
// when it is missing.
#include "harness.h"

namespace pg::e2e {
namespace {

const std::string k_python = "/usr/bin/python3";
const std::string k_schema = std::string(PG_SOURCE_DIR) + "/docs/pg-json.schema.json";
const std::string k_validator = std::string(PG_SOURCE_DIR) + "/tests/e2e/validate_json.py";

class JsonSchema : public E2e {
protected:
  void SetUp() override
  {
    E2e::SetUp();
    if (run({k_python, "-c", "import jsonschema"}).status != 0) {
      GTEST_SKIP() << "python3-jsonschema is missing for /usr/bin/python3 (scripts/deps.sh)";
    }
  }
  // text validated against $defs/def (every item of an array or of JSON lines with each).
  void expect_valid(const std::string& text, const std::string& def, bool each = false)
  {
    const std::string file = path(def + "-" + std::to_string(++m_files) + ".json");
    write_text(file, text);
    Args argv{k_python, k_validator, k_schema, def, file};
    if (each) {
      argv.push_back("--each");
    }
    Result r = run(argv);
    EXPECT_EQ(r.status, 0) << def << ":\n" << r.out << r.err << "\n" << text;
  }
  // A command's stdout, when it exits with status.
  std::string output(const Args& argv, int status)
  {
    Result r = run(argv);
    EXPECT_EQ(r.status, status) << r.out << r.err;
    return r.out;
  }

private:
  int m_files = 0;
};

TEST_F(JsonSchema, EveryOutputSpeaksTheSchemasVocabulary)
{
  // A running job with a definition away from the defaults, and one that failed.
  const std::string receipt =
      output(pg_run({"--json", "-n", "svc", "--env", "TOKEN=secret", "--limit", "nofile=64",
                     "--stop-signal", "SIGINT", "--duration", "1h", "--", k_fake, "--sleep", "1h"}),
             0);
  expect_valid(receipt, "receipt");
  wait_running("svc");
  launch("bad", {"--oneshot"}, {"--exit", "4"});
  wait_end("bad");

  // pg-run's other outcomes: the run ended during --wait, a command not found, a usage error.
  expect_valid(output(pg_run({"--json", "-n", "quick", "--oneshot", "--wait", "10s", "--", k_fake,
                              "--exit", "3"}),
                      1),
               "launch_ended");
  expect_valid(output(pg_run({"--json", "-n", "nothere", "--", "no-such-command-pg"}), 127),
               "launch_error");
  expect_valid(output(pg_run({"--json", "-n", "svc", "--", k_fake}), 3), "launch_error");
  expect_valid(output(pg_run({"--json", "--restart", "sometimes", "--", k_fake}), 2),
               "launch_error");

  expect_valid(read_text(state_dir() + "/svc/state.json"), "state");
  expect_valid(read_text(state_dir() + "/bad/state.json"), "state");

  const std::string jobs = output(ls({"--json"}), 0);
  expect_valid(jobs, "job", true);
  const Json listed = Json::parse(jobs);
  const auto svc =
      std::find_if(listed.begin(), listed.end(), [](const Json& j) { return j["name"] == "svc"; });
  ASSERT_NE(svc, listed.end()) << jobs;
  // The whole definition, the --env values left out.
  EXPECT_EQ((*svc)["env_names"], Json::array({"TOKEN"})) << svc->dump();
  EXPECT_FALSE(contains(jobs, "secret")) << jobs;
  EXPECT_EQ((*svc)["stop_signal"], "SIGINT");
  EXPECT_EQ((*svc)["limits"]["nofile"]["soft"], 64);
  EXPECT_TRUE((*svc)["memory_rss_bytes"].is_number_unsigned()) << svc->dump();

  expect_valid(output(ls({"--check", "--json"}), 1), "check", true);
  expect_valid(output(ls({"--events", "--json"}), 0), "event", true);
  expect_valid(output(ctl({"logs", "--json", "bad"}), 0), "ctl_logs");
  expect_valid(output(ctl({"unit", "--json", "svc"}), 0), "ctl_unit");
  expect_valid(output(ctl({"ack", "--json", "bad"}), 0), "ctl_result", true);
  expect_valid(output(ctl({"stop", "--json", "svc"}), 0), "ctl_result", true);
  // Stopped: its last exit in state.json, and the exit and end in its events.
  expect_valid(read_text(state_dir() + "/svc/state.json"), "state");
  expect_valid(output(ls({"--events", "--json", "svc"}), 0), "event", true);
}

// The schema is strict: a field it does not name, or a name with another type, fails (the
// test above cannot pass by a schema that takes anything).
TEST_F(JsonSchema, TheSchemaRefusesAnUnknownFieldOrAnotherType)
{
  launch("svc", {}, {"--sleep", "1h"});
  wait_running("svc");
  Json st = state("svc");
  st["definition"]["argv"] = st["definition"]["command"];
  const std::string file = path("renamed.json");
  write_text(file, st.dump());
  Result r = run({k_python, k_validator, k_schema, "state", file});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "argv")) << r.out;

  st = state("svc");
  st["supervisor_parent"] = st["supervisor_parent"]["pid"];
  write_text(file, st.dump());
  r = run({k_python, k_validator, k_schema, "state", file});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "supervisor_parent")) << r.out;
}

} // namespace
} // namespace pg::e2e
