// What a listing sees of each job: for_each_view over a directory of more jobs than one chunk
// (read on threads, ended and live jobs through StateDir::peek) gives every job once, in name
// order, each as view_job (the full look, one job at a time) sees it; for_each_prepared gives
// what its prepare step made of each, in the same order.
#include "job_view.h"

#include "clock.h"
#include "fd.h"
#include "proc.h"
#include "state.h"
#include "state_dir.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace pg {
namespace {

namespace fs = std::filesystem;

class JobViewTest : public ::testing::Test {
protected:
  void SetUp() override
  {
    char tmpl[] = "/tmp/pg-jobview-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_root = tmpl;
  }
  void TearDown() override { fs::remove_all(m_root); }

  // A job whose state.json says state, written by the project's own state code; its supervisor
  // is pid 1 unless sup is given.
  static void write_job(const StateDir& sd, const std::string& name, RunState state,
                        const ProcessIdentity* sup = nullptr)
  {
    auto dir = sd.job(name, true);
    JobState s;
    s.name = name;
    s.state = state;
    s.definition.argv = {"/bin/true"};
    s.supervisor.pid = sup != nullptr ? sup->pid : 1;
    s.supervisor.start_time = sup != nullptr ? sup->start_time : 0;
    s.supervisor.boot_id = boot_id();
    s.updated_at = wall_now();
    dir->write_state(s);
  }
  // Holds name's lock as its supervisor would, for the test's life.
  void hold_lock(const StateDir& sd, const std::string& name)
  {
    UniqueFd fd = sd.job(name, false)->open_lock();
    ASSERT_TRUE(try_lock(fd.get()));
    m_locks.push_back(std::move(fd));
  }
  static void spit(const std::string& path, const std::string& text)
  {
    std::ofstream(path) << text;
  }

  std::string m_root;
  std::vector<UniqueFd> m_locks;
};

TEST_F(JobViewTest, AListingOfManyJobsShowsEachOnceInOrderAsTheFullLookDoes)
{
  StateDir sd = StateDir::open(m_root + "/state", true);
  const RunState kinds[] = {RunState::Completed, RunState::Failed, RunState::Stopped,
                            RunState::Running};
  constexpr int k_jobs = 700; // more than two chunks of the listing
  std::vector<std::string> names;
  for (int i = 0; i < k_jobs; ++i) {
    const std::string name = fmt::format("job{:04d}", i);
    names.push_back(name);
    switch (i % 7) {
    case 4: // damaged
      ASSERT_TRUE(sd.job(name, true));
      spit(m_root + "/state/" + name + "/state.json", "{\"state\": ");
      break;
    case 5: // no state.json
      ASSERT_TRUE(sd.job(name, true));
      break;
    case 6: // a directory the full look refuses
      ASSERT_EQ(::mkdir((m_root + "/state/" + name).c_str(), 0700), 0);
      ASSERT_EQ(::chmod((m_root + "/state/" + name).c_str(), 0777), 0);
      break;
    case 0: // running, its lock held: by the supervisor it names (this process), or not
      if (i % 2 == 0) {
        const ProcessIdentity self = ProcessIdentity::self();
        write_job(sd, name, RunState::Running, &self);
      } else {
        write_job(sd, name, RunState::Running); // pid 1 holds nothing: a launch under way
      }
      hold_lock(sd, name);
      break;
    default: // ended, or "running" with nobody holding the lock: lost
      write_job(sd, name, kinds[i % 7 == 3 ? 3 : i % 3]);
    }
  }

  std::vector<JobView> seen;
  for_each_view(sd, [&](JobView&& v) { seen.push_back(std::move(v)); });

  ASSERT_EQ(seen.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const JobView& v = seen[i];
    ASSERT_EQ(v.name, names[i]);
    JobView full;
    try {
      full = view_job(*sd.job(names[i], false));
    } catch (const StateDirError& e) {
      full.name = names[i];
      full.error = e.what();
    }
    EXPECT_EQ(v.error, full.error) << v.name;
    EXPECT_EQ(v.storage_fault, full.storage_fault) << v.name;
    EXPECT_EQ(v.state.has_value(), full.state.has_value()) << v.name;
    if (v.error.empty() || !full.error.starts_with("job directory")) {
      EXPECT_EQ(v.shown, full.shown) << v.name;
      EXPECT_EQ(v.lost_reason, full.lost_reason) << v.name;
    }
    if (v.state && full.state) {
      EXPECT_EQ(v.state->state, full.state->state) << v.name;
      EXPECT_EQ(v.state->updated_at, full.state->updated_at) << v.name;
    }
  }
  // Each kind was met: the quick look and the full one both had work.
  auto count = [&](RunState s) {
    return std::count_if(seen.begin(), seen.end(),
                         [&](const JobView& v) { return v.error.empty() && v.shown == s; });
  };
  EXPECT_GT(count(RunState::Completed), 0);
  EXPECT_GT(count(RunState::Failed), 0);
  EXPECT_GT(count(RunState::Stopped), 0);
  EXPECT_GT(count(RunState::Lost), 0);
  EXPECT_EQ(count(RunState::Running), (k_jobs / 7 + 1) / 2);
  EXPECT_EQ(count(RunState::Starting), (k_jobs / 7) / 2);
  EXPECT_EQ(
      std::count_if(seen.begin(), seen.end(),
                    [](const JobView& v) { return v.error.find("writable") != std::string::npos; }),
      k_jobs / 7);
  EXPECT_EQ(
      std::count_if(seen.begin(), seen.end(),
                    [](const JobView& v) { return v.error.find("damaged") != std::string::npos; }),
      k_jobs / 7);
}

TEST_F(JobViewTest, APreparedListingGivesWhatPrepareMadeInNameOrderAndSkipsWhatItDropped)
{
  StateDir sd = StateDir::open(m_root + "/state", true);
  constexpr int k_jobs = 40; // a few chunks of 16 or more, read on threads
  for (int i = 0; i < k_jobs; ++i) {
    write_job(sd, fmt::format("job{:02d}", i), i % 3 == 0 ? RunState::Failed : RunState::Completed);
  }
  std::vector<std::string> seen;
  for_each_prepared<std::string>(
      sd,
      [](JobView&& v) -> std::optional<std::string> {
        if (v.shown == RunState::Failed) {
          return std::nullopt;
        }
        return v.name + ":" + std::string(to_string(v.shown));
      },
      [&](std::string&& s) { seen.push_back(std::move(s)); });
  std::vector<std::string> want;
  for (int i = 0; i < k_jobs; ++i) {
    if (i % 3 != 0) {
      want.push_back(fmt::format("job{:02d}:completed", i));
    }
  }
  EXPECT_EQ(seen, want);
}

} // namespace
} // namespace pg
