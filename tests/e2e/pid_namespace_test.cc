// A job whose supervisor runs in another pid namespace (unshare --pid, a container sharing the
// state directory), seen from outside it: pg-ls shows it running there, never as `starting`
// with a host pid that is not its supervisor, and pg-ctl refuses to signal its pids from here.
#include "harness.h"

#include <unistd.h>

#include <csignal>

namespace pg::e2e {
namespace {

class PidNamespace : public E2e {};

TEST_F(PidNamespace, AJobInAnotherPidNamespaceIsShownAsSuch)
{
  if (::access("/usr/bin/unshare", X_OK) != 0) {
    GTEST_SKIP() << "unshare (util-linux) is not installed";
  }
  Result probe = run({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/true"});
  if (probe.status != 0) {
    GTEST_SKIP() << "a pid namespace is not permitted here: " << probe.err;
  }
  auto c = start(Args{"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"} +
                 job("ns", {"-f", "--stop-timeout", "5s"}, {"--sleep", "1h"}));
  // The namespace's PID 1 (pg-run) is unshare's child: its host pid ends it below.
  pid_t init = 0;
  must(wait_until(
      [&] {
        auto kids = children_of(c->pid());
        init = kids.empty() ? 0 : kids.front().first;
        return init > 0;
      },
      "the pid namespace's init is started"));
  remember(init);
  must(wait_until(
      [&] {
        auto st = try_state("ns");
        return st && (*st)["state"] == "running" && lock_held("ns");
      },
      "the job runs in its namespace"));
  Json st = state("ns");
  ASSERT_EQ(st["supervisor"]["pid"], 2) << st.dump();
  ASSERT_TRUE(st["supervisor"]["pid_namespace"].is_number_unsigned()) << st.dump();

  Result table = run({k_pg_ls, "--state-dir", state_dir()});
  EXPECT_EQ(table.status, 0) << table.err;
  EXPECT_TRUE(contains(table.out, "ns    running (in another pid namespace)") ||
              contains(table.out, "running (in another pid namespace)"))
      << table.out;
  EXPECT_FALSE(contains(table.out, "starting")) << table.out;

  Result detail = run({k_pg_ls, "--state-dir", state_dir(), "ns"});
  EXPECT_EQ(detail.status, 0) << detail.err;
  EXPECT_TRUE(starts_with(detail.out, "ns: running (in another pid namespace)\n")) << detail.out;
  EXPECT_TRUE(contains(detail.out, "Supervisor: pid 2 in pid namespace pid:[")) << detail.out;
  EXPECT_TRUE(contains(detail.out, "not a pid here")) << detail.out;
  EXPECT_FALSE(contains(detail.out, "starting")) << detail.out;

  Result js = run({k_pg_ls, "--state-dir", state_dir(), "--json"});
  EXPECT_EQ(js.status, 0) << js.err;
  Json arr = Json::parse(js.out, nullptr, false);
  ASSERT_TRUE(arr.is_array() && arr.size() == 1) << js.out;
  const Json& j = arr[0];
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["pid_namespace"], st["supervisor"]["pid_namespace"]) << j.dump();
  EXPECT_TRUE(j["pid"].is_null()) << j.dump();
  EXPECT_TRUE(j["supervisor_pid"].is_null()) << j.dump();

  // pg-ctl from here must not signal host pid 2 (or whatever it is here): it refuses.
  Result stop = pg_ctl({"stop", "ns"});
  EXPECT_EQ(stop.status, 1) << stop.out << stop.err;
  EXPECT_TRUE(contains(stop.out + stop.err, "in another pid namespace")) << stop.out << stop.err;
  EXPECT_TRUE(contains(stop.out + stop.err, "run pg-ctl inside it")) << stop.out << stop.err;
  EXPECT_TRUE(lock_held("ns"));

  // End it by the pid recorded: pg-run as the namespace's init passes TERM on to its supervisor.
  ASSERT_EQ(::kill(init, SIGTERM), 0);
  Result end = c->finish(k_wait);
  EXPECT_NE(end.status, -1) << end.err;
  EXPECT_EQ(state("ns")["state"], "stopped");
}

} // namespace
} // namespace pg::e2e
