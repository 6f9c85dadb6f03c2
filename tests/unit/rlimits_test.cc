#include "caps.h"
#include "ctl_unit.h"
#include "jobs_file.h"
#include "ls_detail.h"
#include "rlimits.h"
#include "state.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace pg {
namespace {

Limit parsed(std::string_view text)
{
  LimitParse p = parse_limit(text);
  EXPECT_TRUE(p.limit) << text << ": " << p.error;
  return p.limit.value_or(Limit{});
}

std::string error_of(std::string_view text)
{
  LimitParse p = parse_limit(text);
  EXPECT_FALSE(p.limit) << text;
  return p.error;
}

TEST(Rlimits, OneValueSetsSoftAndHardAsPrlimitDoes)
{
  EXPECT_EQ(parsed("nofile=64"), (Limit{"nofile", 64, 64}));
  EXPECT_EQ(parsed("core=0"), (Limit{"core", 0, 0}));
  EXPECT_EQ(parsed("nofile=64:128"), (Limit{"nofile", 64, 128}));
}

TEST(Rlimits, SizesTakeBinarySuffixesOnlyForByteResources)
{
  EXPECT_EQ(parsed("as=1G"), (Limit{"as", uint64_t{1} << 30, uint64_t{1} << 30}));
  EXPECT_EQ(parsed("stack=8M:unlimited"), (Limit{"stack", uint64_t{8} << 20, std::nullopt}));
  EXPECT_EQ(parsed("memlock=64K"), (Limit{"memlock", 65536, 65536}));
  EXPECT_NE(error_of("nofile=64K").find("'64K' is not a number"), std::string::npos);
  EXPECT_NE(error_of("as=lots").find("'lots' is not a size"), std::string::npos);
}

TEST(Rlimits, CpuAndRttimeTakePlainNumbersInTheirUnits)
{
  EXPECT_EQ(parsed("cpu=30"), (Limit{"cpu", 30, 30}));
  EXPECT_EQ(parsed("rttime=500000:unlimited"), (Limit{"rttime", 500000, std::nullopt}));
  EXPECT_NE(error_of("cpu=30s").find("a number of seconds"), std::string::npos);
  EXPECT_NE(error_of("rttime=1ms").find("a number of microseconds"), std::string::npos);
}

TEST(Rlimits, UnlimitedEitherSide)
{
  EXPECT_EQ(parsed("nofile=unlimited"), (Limit{"nofile", std::nullopt, std::nullopt}));
  EXPECT_EQ(parsed("nproc=100:unlimited"), (Limit{"nproc", 100, std::nullopt}));
  EXPECT_NE(error_of("nproc=unlimited:100").find("soft limit unlimited is above the hard"),
            std::string::npos);
}

TEST(Rlimits, RefusesSoftAboveHardRssUnknownNamesAndMalformedText)
{
  EXPECT_EQ(error_of("nofile=256:128"), "nofile: the soft limit 256 is above the hard limit 128");
  EXPECT_NE(error_of("rss=1").find("rss has no effect on Linux"), std::string::npos);
  const std::string unknown = error_of("files=64");
  EXPECT_NE(unknown.find("'files' is not a resource"), std::string::npos);
  EXPECT_NE(unknown.find("as core cpu data fsize locks memlock msgqueue nice nofile nproc rtprio "
                         "rttime sigpending stack"),
            std::string::npos);
  EXPECT_NE(error_of("nofile").find("is not RES=SOFT[:HARD]"), std::string::npos);
  EXPECT_FALSE(parse_limit("nofile=").limit);
  EXPECT_FALSE(parse_limit("nofile=-1").limit);
  EXPECT_FALSE(parse_limit("nofile=1:").limit);
  EXPECT_FALSE(parse_limit("nofile=1:2:3").limit);
  EXPECT_FALSE(parse_limit("nofile=18446744073709551615").limit); // RLIM_INFINITY itself
}

TEST(Rlimits, WrittenBackAsTheOptionTakesIt)
{
  for (const char* text : {"nofile=64", "nofile=64:128", "core=0", "as=1G", "stack=8M:unlimited",
                           "data=1000", "cpu=30:60", "nproc=unlimited"}) {
    EXPECT_EQ(limit_text(parsed(text)), text);
  }
  EXPECT_EQ(limit_text(parsed("fsize=1048576")), "fsize=1M");
}

TEST(Rlimits, SystemdNamesAndInfinity)
{
  EXPECT_EQ(systemd_limit(parsed("nofile=64:128")), "LimitNOFILE=64:128");
  EXPECT_EQ(systemd_limit(parsed("core=0")), "LimitCORE=0");
  EXPECT_EQ(systemd_limit(parsed("as=1G:unlimited")), "LimitAS=1G:infinity");
  EXPECT_EQ(systemd_limit(parsed("nproc=unlimited")), "LimitNPROC=infinity");
  EXPECT_EQ(systemd_limit(parsed("rttime=5")), "LimitRTTIME=5");
  for (const LimitResource& r : limit_resources()) {
    EXPECT_EQ(r.systemd.substr(0, 5), "Limit");
  }
}

TEST(Rlimits, MapsToSetrlimitArguments)
{
  const Limit l = parsed("nofile=64:unlimited");
  EXPECT_EQ(limit_resource_id(l), RLIMIT_NOFILE);
  EXPECT_EQ(to_rlimit(l).rlim_cur, 64U);
  EXPECT_EQ(to_rlimit(l).rlim_max, RLIM_INFINITY);
  EXPECT_EQ(limit_resource_id(parsed("as=1G")), RLIMIT_AS);
  EXPECT_EQ(limit_resource_id(parsed("sigpending=10")), RLIMIT_SIGPENDING);
}

TEST(Rlimits, AddLimitKeepsThemSortedAndRefusesASecondOfAResource)
{
  std::vector<Limit> limits;
  EXPECT_TRUE(add_limit(limits, parsed("nofile=64")));
  EXPECT_TRUE(add_limit(limits, parsed("core=0")));
  EXPECT_FALSE(add_limit(limits, parsed("nofile=128")));
  ASSERT_EQ(limits.size(), 2U);
  EXPECT_EQ(limits[0].name, "core");
  EXPECT_EQ(limits[1], parsed("nofile=64"));
}

JobDefinition limited()
{
  JobDefinition d;
  d.argv = {"sleep", "100"};
  d.resolved = "/bin/sleep";
  d.cwd = "/tmp";
  d.log = "/tmp/pg/x/output.log";
  d.limits = {parsed("core=0"), parsed("nofile=64:128"), parsed("stack=8M:unlimited")};
  d.memory_cap = uint64_t{512} << 20;
  d.tasks_cap = 100;
  d.cpu_quota_pct = 150;
  return d;
}

TEST(Rlimits, TheDefinitionKeepsThemInStateJson)
{
  const JobDefinition d = limited();
  const nlohmann::json j = to_json(d);
  EXPECT_EQ(j["limits"]["nofile"], (nlohmann::json{{"soft", 64}, {"hard", 128}}));
  EXPECT_TRUE(j["limits"]["stack"]["hard"].is_null());
  EXPECT_EQ(j["memory_cap"], 536870912);
  EXPECT_EQ(j["tasks_cap"], 100);
  EXPECT_EQ(j["cpu_quota_pct"], 150);
  EXPECT_EQ(definition_from_json(j), d);
}

TEST(Rlimits, OldDefinitionsWithoutThemStillRead)
{
  nlohmann::json j = to_json(limited());
  for (const char* k : {"limits", "memory_cap", "tasks_cap", "cpu_quota_pct"}) {
    j.erase(k);
  }
  const JobDefinition d = definition_from_json(j);
  EXPECT_TRUE(d.limits.empty());
  EXPECT_EQ(d.memory_cap, 0U);
  EXPECT_EQ(d.tasks_cap, 0U);
  EXPECT_EQ(d.cpu_quota_pct, 0U);
}

TEST(Rlimits, DamagedLimitsAreNamed)
{
  auto damage = [](const nlohmann::json& limits) {
    nlohmann::json j = to_json(limited());
    j["limits"] = limits;
    try {
      definition_from_json(j);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("read");
  };
  EXPECT_EQ(damage({{"nofile", {{"soft", "x"}, {"hard", 1}}}}),
            "field 'limits': field 'nofile': field 'soft' has the wrong type");
  EXPECT_EQ(damage({{"rss", {{"soft", 1}, {"hard", 1}}}}),
            "field 'limits': field 'rss' is not a resource --limit takes");
  EXPECT_EQ(damage({{"nofile", {{"soft", 9}, {"hard", 1}}}}),
            "field 'limits': field 'nofile': field 'soft' is above field 'hard'");
  EXPECT_EQ(damage({{"nofile", {{"soft", 9}}}}),
            "field 'limits': field 'nofile': missing field 'hard'");
  EXPECT_EQ(damage(nlohmann::json::array()), "field 'limits' has the wrong type");
}

TEST(Rlimits, DetailShowsEachLimitAndNprocForRootAsNotEnforced)
{
  const std::vector<Limit> limits{parsed("core=0"), parsed("nproc=50")};
  EXPECT_EQ(limits_text(limits, false), "core=0; nproc=50");
  EXPECT_EQ(limits_text(limits, true), "core=0; nproc=50 (not enforced for root)");
  EXPECT_EQ(limits_text({}, true), "");
  EXPECT_EQ(caps_text(limited()), "memory 512 MiB (swap included); tasks 100; cpu 150% of one CPU");
  EXPECT_EQ(caps_text(JobDefinition{}), "");
}

TEST(Rlimits, UnitMapsLimitsAndCapsToSystemdSettings)
{
  JobState st;
  st.name = "x";
  st.definition = limited();
  const std::string unit = systemd_unit(st, "test");
  for (const char* line :
       {"\nLimitCORE=0\n", "\nLimitNOFILE=64:128\n", "\nLimitSTACK=8M:infinity\n",
        "\nMemoryMax=536870912\nMemorySwapMax=0\n", "\nTasksMax=100\n", "\nCPUQuota=150%\n"}) {
    EXPECT_NE(unit.find(line), std::string::npos) << line << unit;
  }
}

TEST(Rlimits, ShownAsTomlAndCommandLineAndComparedByUp)
{
  const JobDefinition d = limited();
  const std::string toml = definition_toml("x", d, "/tmp/pg");
  EXPECT_NE(toml.find("limit = { core = 0, nofile = '64:128', stack = '8M:unlimited' }"),
            std::string::npos)
      << toml;
  EXPECT_NE(toml.find("memory_cap = '512M'"), std::string::npos) << toml;
  EXPECT_NE(toml.find("tasks_cap = '100'"), std::string::npos) << toml;
  EXPECT_NE(toml.find("cpu_quota = '150%'"), std::string::npos) << toml;
  const std::string line = definition_command_line("x", d, "/tmp/pg");
  EXPECT_NE(line.find(" --memory-cap 512M --tasks-cap 100 --cpu-quota 150% --limit core=0 "
                      "--limit nofile=64:128 --limit stack=8M:unlimited --"),
            std::string::npos)
      << line;
  JobDefinition other = d;
  other.limits[1].hard = 256;
  other.cpu_quota_pct = 50;
  EXPECT_EQ(changed_keys(d, other), (std::vector<std::string>{"limit", "cpu_quota"}));
}

TEST(Rlimits, JobsFileLimitTableBecomesLimitOptions)
{
  const auto args = toml_job_args("[jobs.x]\ncommand = 'sleep 9'\n"
                                  "limit = { nofile = 4096, as = '1G:unlimited' }\n"
                                  "memory_cap = '512M'\n",
                                  "x", "/tmp");
  EXPECT_NE(std::find(args.begin(), args.end(), "--limit=nofile=4096"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--limit=as=1G:unlimited"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--memory-cap=512M"), args.end());
}

TEST(Caps, RefusedWhereNoCgroupCanEnforceThemNamingTheOption)
{
  const CgroupHost none; // no hierarchy at all
  JobDefinition d;
  EXPECT_FALSE(caps_unavailable(d, none));
  d.cpu_quota_pct = 50;
  EXPECT_EQ(caps_unavailable(d, none)->rfind("--cpu-quota cannot be enforced: ", 0), 0U);
  EXPECT_NE(caps_unavailable(d, none)->find("systemd-run --user --scope -p Delegate=yes"),
            std::string::npos);
  d.memory_cap = 1;
  EXPECT_EQ(caps_unavailable(d, none)->rfind("--memory-cap cannot be enforced: ", 0), 0U);
}

} // namespace
} // namespace pg
