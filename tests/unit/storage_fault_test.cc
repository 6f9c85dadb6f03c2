// Storage faults, the parts that need no full disk: whole lines in events.jsonl, the flag on
// the lock, the filesystem check and the storage_error record of state.json.
#include "state.h"
#include "state_dir.h"
#include "storage_fault.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace pg {
namespace {

class StorageFaultTest : public ::testing::Test {
protected:
  void SetUp() override
  {
    char templ[] = "/tmp/pg-storage-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    m_tmp = templ;
  }
  void TearDown() override { std::filesystem::remove_all(m_tmp); }

  JobDir job()
  {
    m_sd.emplace(StateDir::open(m_tmp + "/state", true));
    return *m_sd->job("j", true);
  }
  std::string slurp(const std::string& path)
  {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string m_tmp;
  std::optional<StateDir> m_sd;
};

TEST_F(StorageFaultTest, ALineCutByACrashIsEndedBeforeTheNextOne)
{
  JobDir j = job();
  const std::string file = j.path() + "/events.jsonl";
  std::ofstream(file) << "{\"event\":\"a\"}\n{\"event\":\"exi";
  EventLog log(j.fd());
  log.append({{"event", "b"}});
  log.append({{"event", "c"}});
  EXPECT_EQ(slurp(file),
            "{\"event\":\"a\"}\n{\"event\":\"exi\n{\"event\":\"b\"}\n{\"event\":\"c\"}\n");
}

TEST_F(StorageFaultTest, AppendLineWritesTheLineAsGiven)
{
  JobDir j = job();
  EventLog log(j.fd());
  log.append_line("{\"event\":\"x\"}\n");
  EXPECT_EQ(slurp(j.path() + "/events.jsonl"), "{\"event\":\"x\"}\n");
}

TEST_F(StorageFaultTest, TheFlagOnTheLockKeepsTheJobLockedAndIsSeenByReaders)
{
  JobDir j = job();
  UniqueFd lock = j.open_lock();
  ASSERT_TRUE(try_lock(lock.get()));
  EXPECT_FALSE(storage_flagged(j));
  set_storage_flag(lock.get(), true);
  EXPECT_TRUE(storage_flagged(j));
  EXPECT_TRUE(j.lock_held()); // still alive to readers
  UniqueFd other = j.open_lock();
  EXPECT_FALSE(try_lock(other.get())); // and no second supervisor can take it
  set_storage_flag(lock.get(), false);
  EXPECT_FALSE(storage_flagged(j));
  EXPECT_TRUE(j.lock_held());
  lock.reset();
  EXPECT_FALSE(storage_flagged(j)); // no supervisor: nobody to say so
}

// probe_lock answers both questions in one look, as lock_held and storage_flagged do.
TEST_F(StorageFaultTest, ProbeLockAgreesWithLockHeldAndTheFlag)
{
  JobDir j = job();
  auto expect_probe = [&](bool held, bool flag) {
    const LockProbe p = probe_lock(j);
    EXPECT_EQ(p.held, held);
    EXPECT_EQ(p.storage_flag, flag);
    EXPECT_EQ(j.lock_held(), held);
    EXPECT_EQ(storage_flagged(j), flag);
  };
  expect_probe(false, false); // no lock file yet
  UniqueFd lock = j.open_lock();
  expect_probe(false, false);
  ASSERT_TRUE(try_lock(lock.get()));
  expect_probe(true, false);
  set_storage_flag(lock.get(), true);
  expect_probe(true, true);
  set_storage_flag(lock.get(), false);
  expect_probe(true, false);
  // Byte 0 alone free (no supervisor says so): held, but no flag.
  struct flock fl {};
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  ASSERT_EQ(::fcntl(lock.get(), F_OFD_SETLK, &fl), 0);
  expect_probe(true, false);
  lock.reset();
  expect_probe(false, false);
}

TEST_F(StorageFaultTest, TheCacheAsksEachMountOnce)
{
  JobDir j = job();
  ASSERT_NE(j.mount_id(), 0u); // statx knows it on any kernel this runs on (5.8 and later)
  auto other = m_sd->job("k", true);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->mount_id(), j.mount_id());
  FsTroubleCache cache;
  EXPECT_EQ(cache.get(j), filesystem_trouble(j.fd()));
  EXPECT_EQ(cache.get(*other), filesystem_trouble(other->fd()));
}

TEST_F(StorageFaultTest, AnOrdinaryDirectoryHasNoTrouble)
{
  JobDir j = job();
  EXPECT_EQ(filesystem_trouble(j.fd()), FsTrouble::None);
  EXPECT_EQ(to_string(FsTrouble::Full), "full");
  EXPECT_EQ(to_string(FsTrouble::ReadOnly), "read-only");
  EXPECT_EQ(to_string(FsTrouble::None), "");
}

TEST(StorageErrorJson, RoundTripsInTheState)
{
  JobState s;
  s.name = "j";
  s.supervisor.boot_id = "b";
  s.definition.argv = {"/bin/true"};
  s.definition.resolved = "/bin/true";
  s.updated_at = WallTime(std::chrono::milliseconds(1'700'000'000'000));
  StorageFault f;
  f.error = "No space left on device";
  f.since = WallTime(std::chrono::milliseconds(1'700'000'000'123));
  f.until = WallTime(std::chrono::milliseconds(1'700'000'004'456));
  f.events_queued = 7;
  f.events_dropped = 2;
  f.state_writes_failed = 3;
  s.storage_error = f;
  nlohmann::json j = to_json(s);
  EXPECT_EQ(j["storage_error"]["until"], "2023-11-14T22:13:24.456Z");
  EXPECT_EQ(job_state_from_json(j), s);
  s.storage_error->until.reset(); // while it lasts
  EXPECT_TRUE(to_json(s)["storage_error"]["until"].is_null());
  EXPECT_EQ(job_state_from_json(to_json(s)), s);
  s.storage_error.reset();
  EXPECT_TRUE(to_json(s)["storage_error"].is_null());
  EXPECT_EQ(job_state_from_json(to_json(s)), s);
}

} // namespace
} // namespace pg
