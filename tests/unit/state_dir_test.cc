#include "state_dir.h"

#include "state.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace pg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uid_t k_nobody = 65534;

std::string slurp(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text)
{
  std::ofstream(path) << text;
}

mode_t mode_of(const std::string& path)
{
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

std::vector<std::string> entries(const std::string& dir)
{
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> lines_of(const std::string& path)
{
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(line);
  }
  return out;
}

// The message of the StateDirError f throws, or "" when it throws none.
template <typename F> std::string refusal(F f)
{
  try {
    f();
  } catch (const StateDirError& e) {
    return e.what();
  }
  return "";
}

class StateDirTest : public ::testing::Test {
protected:
  void SetUp() override
  {
    char tmpl[] = "/tmp/pg-statedir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_root = tmpl;
    m_state = m_root + "/state";
  }
  void TearDown() override { fs::remove_all(m_root); }

  StateDir state() { return StateDir::open(m_state, true); }
  JobDir job(const StateDir& sd, const std::string& name = "bot")
  {
    auto j = sd.job(name, true);
    if (!j) {
      throw std::runtime_error("job(" + name + ", true) returned nothing");
    }
    return std::move(*j);
  }

  std::string m_root;
  std::string m_state;
};

#define REQUIRE_ROOT()                                                                             \
  do {                                                                                             \
    if (::geteuid() != 0) {                                                                        \
      GTEST_SKIP() << "needs root to chown a file to another user";                                \
    }                                                                                              \
  } while (0)

// ---- StateDir::open ----

TEST_F(StateDirTest, OpenCreatesTheDirectoryAndItsParentsWithMode0700)
{
  const std::string deep = m_root + "/a/b/pg";
  StateDir sd = StateDir::open(deep, true);
  EXPECT_EQ(sd.path(), deep);
  EXPECT_GE(sd.fd(), 0);
  EXPECT_TRUE(S_ISDIR(mode_of(deep)));
  EXPECT_EQ(mode_of(deep) & 07777, 0700U);
}

TEST_F(StateDirTest, OpenAcceptsAnExistingPrivateDirectory)
{
  ASSERT_EQ(::mkdir(m_state.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(m_state.c_str(), 0755), 0);
  EXPECT_NO_THROW(StateDir::open(m_state, false));
  EXPECT_NO_THROW(StateDir::open(m_state, true));
}

TEST_F(StateDirTest, OpenWithoutCreateRefusesAMissingDirectory)
{
  EXPECT_THROW(StateDir::open(m_state, false), StateDirError);
  EXPECT_FALSE(fs::exists(m_state));
}

TEST_F(StateDirTest, OpenRefusesARegularFile)
{
  spit(m_state, "x");
  EXPECT_THROW(StateDir::open(m_state, false), StateDirError);
  EXPECT_THROW(StateDir::open(m_state, true), StateDirError);
}

TEST_F(StateDirTest, OpenRefusesASymlinkedStateDirectory)
{
  const std::string real = m_root + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(real.c_str(), m_state.c_str()), 0);
  EXPECT_NE(refusal([&] { StateDir::open(m_state, false); }).find("symlink"), std::string::npos);
  EXPECT_NE(refusal([&] { StateDir::open(m_state, true); }).find("symlink"), std::string::npos);
}

TEST_F(StateDirTest, OpenRefusesAGroupWritableDirectory)
{
  ASSERT_EQ(::mkdir(m_state.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(m_state.c_str(), 0770), 0);
  EXPECT_NE(refusal([&] { StateDir::open(m_state, false); }).find("writable"), std::string::npos);
}

TEST_F(StateDirTest, OpenRefusesAnOtherWritableDirectory)
{
  ASSERT_EQ(::mkdir(m_state.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(m_state.c_str(), 0702), 0);
  EXPECT_NE(refusal([&] { StateDir::open(m_state, true); }).find("writable"), std::string::npos);
}

TEST_F(StateDirTest, OpenRefusesADirectoryOwnedByAnotherUser)
{
  REQUIRE_ROOT();
  ASSERT_EQ(::mkdir(m_state.c_str(), 0700), 0);
  ASSERT_EQ(::chown(m_state.c_str(), k_nobody, k_nobody), 0);
  const std::string why = refusal([&] { StateDir::open(m_state, false); });
  EXPECT_NE(why.find("uid 65534"), std::string::npos) << why;
  EXPECT_NE(why.find("--state-dir"), std::string::npos) << why;
}

// ---- StateDir::job and job_names ----

TEST_F(StateDirTest, JobCreatesThePrivateNameDirectory)
{
  StateDir sd = state();
  JobDir j = job(sd);
  EXPECT_EQ(j.name(), "bot");
  EXPECT_EQ(j.path(), m_state + "/bot");
  EXPECT_GE(j.fd(), 0);
  EXPECT_EQ(mode_of(m_state + "/bot") & 07777, 0700U);
}

TEST_F(StateDirTest, JobWithoutCreateIsEmptyForAnUnknownName)
{
  StateDir sd = state();
  EXPECT_FALSE(sd.job("bot", false));
  EXPECT_FALSE(fs::exists(m_state + "/bot"));
}

TEST_F(StateDirTest, JobOpensAnExistingNameDirectory)
{
  StateDir sd = state();
  job(sd);
  auto again = sd.job("bot", false);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->path(), m_state + "/bot");
}

TEST_F(StateDirTest, JobRefusesASymlinkedNameDirectory)
{
  StateDir sd = state();
  const std::string elsewhere = m_root + "/elsewhere";
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), (m_state + "/bot").c_str()), 0);
  EXPECT_NE(refusal([&] { sd.job("bot", false); }), "");
  EXPECT_NE(refusal([&] { sd.job("bot", true); }), "");
  EXPECT_TRUE(entries(elsewhere).empty());
}

TEST_F(StateDirTest, JobRefusesANameThatIsAFile)
{
  StateDir sd = state();
  spit(m_state + "/bot", "x");
  EXPECT_NE(refusal([&] { sd.job("bot", false); }), "");
}

TEST_F(StateDirTest, JobRefusesANameDirectoryWritableByOthers)
{
  StateDir sd = state();
  ASSERT_EQ(::mkdir((m_state + "/bot").c_str(), 0700), 0);
  ASSERT_EQ(::chmod((m_state + "/bot").c_str(), 0757), 0);
  EXPECT_NE(refusal([&] { sd.job("bot", false); }).find("writable"), std::string::npos);
  ASSERT_EQ(::chmod((m_state + "/bot").c_str(), 0770), 0);
  EXPECT_NE(refusal([&] { sd.job("bot", true); }).find("writable"), std::string::npos);
}

TEST_F(StateDirTest, JobRefusesANameDirectoryOwnedByAnotherUser)
{
  REQUIRE_ROOT();
  StateDir sd = state();
  ASSERT_EQ(::mkdir((m_state + "/bot").c_str(), 0700), 0);
  ASSERT_EQ(::chown((m_state + "/bot").c_str(), k_nobody, k_nobody), 0);
  EXPECT_NE(refusal([&] { sd.job("bot", false); }).find("uid 65534"), std::string::npos);
}

TEST_F(StateDirTest, JobRefusesANameThatIsNotOneSafeComponent)
{
  StateDir sd = state();
  ASSERT_EQ(::mkdir((m_state + "/a").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((m_state + "/a/b").c_str(), 0700), 0);
  for (const char* name : {"..", ".", "", "a/b", "../state", "-x"}) {
    EXPECT_NE(refusal([&] { sd.job(name, false); }), "") << name;
    EXPECT_NE(refusal([&] { sd.job(name, true); }), "") << name;
  }
  EXPECT_FALSE(fs::exists(m_root + "/state.json"));
  EXPECT_FALSE(fs::exists(m_state + "/-x"));
}

TEST_F(StateDirTest, JobNamesListsValidDirectoriesSorted)
{
  StateDir sd = state();
  job(sd, "web");
  job(sd, "bot");
  job(sd, "api.v2");
  ASSERT_EQ(::mkdir((m_state + "/.hidden").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((m_state + "/-dash").c_str(), 0700), 0);
  spit(m_state + "/notes", "a file, not a job");
  ASSERT_EQ(::symlink((m_state + "/bot").c_str(), (m_state + "/alias").c_str()), 0);
  // A link is listed (so readers can show it refused), never followed: job() refuses it.
  const std::vector<std::string> expected{"alias", "api.v2", "bot", "web"};
  EXPECT_EQ(sd.job_names(), expected);
  EXPECT_EQ(sd.job_names(), expected); // re-readable
  EXPECT_THROW(sd.job("alias", false), StateDirError);
}

// ---- JobDir: state.json ----

TEST_F(StateDirTest, WriteStateWritesOneJsonLineReadableBack)
{
  StateDir sd = state();
  JobDir j = job(sd);
  JobState doc;
  doc.name = "bot";
  doc.restarts = 3;
  doc.definition.argv = {"a", "b c"};
  j.write_state(doc);
  std::string text;
  ASSERT_TRUE(j.read("state.json", text));
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  const json read = json::parse(text);
  EXPECT_EQ(read.at("name"), "bot");
  EXPECT_EQ(read.at("restarts"), 3);
  EXPECT_EQ(read.at("definition").at("command"), json({"a", "b c"}));
  EXPECT_EQ(mode_of(j.path() + "/state.json") & 07777, 0600U);
}

TEST_F(StateDirTest, WriteStateLeavesNoTemporaryFileBehind)
{
  StateDir sd = state();
  JobDir j = job(sd);
  JobState s;
  for (unsigned i = 0; i < 5; ++i) {
    s.restarts = i;
    j.write_state(s);
  }
  EXPECT_EQ(entries(j.path()), (std::vector<std::string>{"state.json"}));
  EXPECT_EQ(json::parse(slurp(j.path() + "/state.json")).at("restarts"), 4);
}

TEST_F(StateDirTest, WriteStateReplacesTheFileInsteadOfRewritingIt)
{
  // A reader that opened the old file keeps reading it whole: the new one is renamed over it,
  // never truncated and rewritten in place.
  StateDir sd = state();
  JobDir j = job(sd);
  JobState s;
  s.name = "old";
  s.status_text = std::string(1000, 'x');
  j.write_state(s);
  const std::string path = j.path() + "/state.json";
  std::ifstream old_reader(path);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  s.name = "new";
  s.status_text.clear();
  j.write_state(s);

  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  std::stringstream ss;
  ss << old_reader.rdbuf();
  EXPECT_EQ(json::parse(ss.str()).at("name"), "old");
  EXPECT_EQ(json::parse(slurp(path)).at("name"), "new");
}

TEST_F(StateDirTest, WriteStateNeverWritesThroughASymlink)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string victim = m_root + "/victim";
  spit(victim, "precious");
  ASSERT_EQ(::symlink(victim.c_str(), (j.path() + "/state.json").c_str()), 0);
  j.write_state(JobState{});
  EXPECT_EQ(slurp(victim), "precious");
  EXPECT_TRUE(S_ISREG(mode_of(j.path() + "/state.json")));
}

TEST_F(StateDirTest, WriteStateRefusesAPlantedTemporarySymlink)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string victim = m_root + "/victim";
  spit(victim, "precious");
  const std::string tmp = j.path() + "/state.json.tmp." + std::to_string(::getpid());
  ASSERT_EQ(::symlink(victim.c_str(), tmp.c_str()), 0);
  EXPECT_THROW(j.write_state(JobState{}), std::system_error);
  EXPECT_EQ(slurp(victim), "precious");
  EXPECT_FALSE(fs::exists(j.path() + "/state.json"));
}

TEST_F(StateDirTest, WriteStateStoresInvalidUtf8WithReplacementCharacters)
{
  StateDir sd = state();
  JobDir j = job(sd);
  JobState s;
  s.definition.argv = {"prog", "bad\xff"};
  ASSERT_NO_THROW(j.write_state(s));
  std::string text;
  ASSERT_TRUE(j.read("state.json", text));
  EXPECT_EQ(json::parse(text).at("definition").at("command").at(1), "bad\xEF\xBF\xBD");
}

TEST_F(StateDirTest, ReadReportsAnAbsentFile)
{
  StateDir sd = state();
  JobDir j = job(sd);
  std::string text = "stale";
  EXPECT_FALSE(j.read("state.json", text));
  EXPECT_EQ(text, "");
}

TEST_F(StateDirTest, ReadRefusesASymlink)
{
  StateDir sd = state();
  JobDir j = job(sd);
  spit(m_root + "/secret", "secret");
  ASSERT_EQ(::symlink((m_root + "/secret").c_str(), (j.path() + "/state.json").c_str()), 0);
  std::string text;
  EXPECT_NE(refusal([&] { j.read("state.json", text); }).find("symlink"), std::string::npos);
  EXPECT_EQ(text.find("secret"), std::string::npos);
}

TEST_F(StateDirTest, ReadRefusesAFifoAndAHugeFileWithoutBlockingOrReadingThem)
{
  StateDir sd = state();
  JobDir j = job(sd);
  ASSERT_EQ(::mkfifo((j.path() + "/state.json").c_str(), 0600), 0);
  std::string text;
  EXPECT_NE(refusal([&] { j.read("state.json", text); }).find("not a regular file"),
            std::string::npos);
  spit(j.path() + "/output.log", "");
  ASSERT_EQ(
      ::truncate((j.path() + "/output.log").c_str(), static_cast<off_t>(JobDir::k_max_read + 1)),
      0);
  EXPECT_NE(refusal([&] { j.read("output.log", text); }).find("larger than"), std::string::npos);
}

TEST_F(StateDirTest, ReadReadsAFileLargerThanOneBuffer)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string big(100'000, 'z');
  spit(j.path() + "/output.log", big);
  std::string text;
  ASSERT_TRUE(j.read("output.log", text));
  EXPECT_EQ(text, big);
}

// ---- StateDir::peek: the listing's quick read ----

TEST_F(StateDirTest, PeekReadsWhatReadReadsWithTheMountOfTheDirectory)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string big(100'000, 'z');
  spit(j.path() + "/state.json", big);
  std::string text;
  uint64_t mount_id = 0;
  ASSERT_TRUE(sd.peek("bot", "state.json", text, mount_id));
  EXPECT_EQ(text, big);
  EXPECT_EQ(mount_id, j.mount_id());
  EXPECT_NE(mount_id, 0U);
}

// Everything job() or JobDir::read refuses, and what is absent, is left to them: peek says
// false, reads nothing through a link, and never blocks on a FIFO.
TEST_F(StateDirTest, PeekLeavesEveryUnusualCaseToTheFullRead)
{
  StateDir sd = state();
  std::string text;
  uint64_t mount_id = 0;
  EXPECT_FALSE(sd.peek("bot", "state.json", text, mount_id)); // no such job
  JobDir j = job(sd);
  EXPECT_FALSE(sd.peek("bot", "state.json", text, mount_id)); // no such file
  EXPECT_FALSE(sd.peek("..", "state.json", text, mount_id));  // not a job name
  spit(m_root + "/secret", "secret");
  ASSERT_EQ(::symlink((m_root + "/secret").c_str(), (j.path() + "/state.json").c_str()), 0);
  EXPECT_FALSE(sd.peek("bot", "state.json", text, mount_id)); // the file is a link
  ASSERT_EQ(::unlink((j.path() + "/state.json").c_str()), 0);
  ASSERT_EQ(::mkfifo((j.path() + "/state.json").c_str(), 0600), 0);
  EXPECT_FALSE(sd.peek("bot", "state.json", text, mount_id)); // a FIFO
  ASSERT_EQ(::unlink((j.path() + "/state.json").c_str()), 0);
  spit(j.path() + "/state.json", "{}");
  ASSERT_EQ(::chmod(j.path().c_str(), 0757), 0);
  EXPECT_FALSE(sd.peek("bot", "state.json", text, mount_id)); // writable by others
  ASSERT_EQ(::chmod(j.path().c_str(), 0700), 0);
  ASSERT_TRUE(sd.peek("bot", "state.json", text, mount_id));
  EXPECT_EQ(text, "{}");
  // The job directory a link to a directory holding a state.json: never read through.
  const std::string elsewhere = m_root + "/elsewhere";
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0700), 0);
  spit(elsewhere + "/state.json", "secret");
  ASSERT_EQ(::symlink(elsewhere.c_str(), (m_state + "/linked").c_str()), 0);
  EXPECT_FALSE(sd.peek("linked", "state.json", text, mount_id));
  EXPECT_EQ(text.find("secret"), std::string::npos);
}

TEST_F(StateDirTest, PeekLeavesADirectoryOfAnotherUserToTheFullRead)
{
  REQUIRE_ROOT();
  StateDir sd = state();
  JobDir j = job(sd);
  spit(j.path() + "/state.json", "{}");
  ASSERT_EQ(::chown(j.path().c_str(), k_nobody, k_nobody), 0);
  std::string text;
  uint64_t mount_id = 0;
  EXPECT_FALSE(sd.peek("bot", "state.json", text, mount_id));
}

// ---- JobDir: the lock ----

TEST_F(StateDirTest, OpenLockCreatesAPrivateRegularFile)
{
  StateDir sd = state();
  JobDir j = job(sd);
  UniqueFd fd = j.open_lock();
  EXPECT_TRUE(fd);
  const mode_t m = mode_of(j.path() + "/lock");
  EXPECT_TRUE(S_ISREG(m));
  EXPECT_EQ(m & 07777, 0600U);
}

TEST_F(StateDirTest, OpenLockRefusesASymlink)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string victim = m_root + "/victim";
  ASSERT_EQ(::symlink(victim.c_str(), (j.path() + "/lock").c_str()), 0);
  EXPECT_THROW(j.open_lock(), StateDirError);
  EXPECT_FALSE(fs::exists(victim));
}

TEST_F(StateDirTest, OpenLockRefusesAFileOwnedByAnotherUser)
{
  REQUIRE_ROOT();
  StateDir sd = state();
  JobDir j = job(sd);
  spit(j.path() + "/lock", "");
  ASSERT_EQ(::chmod((j.path() + "/lock").c_str(), 0600), 0);
  ASSERT_EQ(::chown((j.path() + "/lock").c_str(), k_nobody, k_nobody), 0);
  EXPECT_NE(refusal([&] { j.open_lock(); }).find("uid 65534"), std::string::npos);
}

TEST_F(StateDirTest, LockHeldIsFalseWithoutALockFileAndDoesNotCreateOne)
{
  StateDir sd = state();
  JobDir j = job(sd);
  EXPECT_FALSE(j.lock_held());
  EXPECT_FALSE(fs::exists(j.path() + "/lock"));
}

TEST_F(StateDirTest, TryLockIsExclusiveAcrossOpenFileDescriptions)
{
  StateDir sd = state();
  JobDir j = job(sd);
  UniqueFd holder = j.open_lock();
  EXPECT_FALSE(j.lock_held());
  ASSERT_TRUE(try_lock(holder.get()));
  EXPECT_TRUE(try_lock(holder.get())); // taking it again through the same description is fine
  EXPECT_TRUE(j.lock_held());

  UniqueFd rival = j.open_lock(); // another open file description, even in this process
  EXPECT_FALSE(try_lock(rival.get()));
  EXPECT_TRUE(j.lock_held()); // probing never takes or breaks it

  holder.reset();
  EXPECT_FALSE(j.lock_held());
  EXPECT_TRUE(try_lock(rival.get()));
  EXPECT_TRUE(j.lock_held());
}

TEST_F(StateDirTest, LockSurvivesADuplicatedDescriptorBeingClosed)
{
  // An OFD lock belongs to the open file description, not to one fd number.
  StateDir sd = state();
  JobDir j = job(sd);
  UniqueFd holder = j.open_lock();
  ASSERT_TRUE(try_lock(holder.get()));
  UniqueFd dup(::dup(holder.get()));
  dup.reset();
  EXPECT_TRUE(j.lock_held());
}

// ---- EventLog ----

json numbered(int n)
{
  return {{"event", "e"}, {"n", n}}; // {"event":"e","n":NNN}\n: 22 bytes for n in 100..999
}

TEST_F(StateDirTest, EventLogAppendsOneObjectALine)
{
  StateDir sd = state();
  JobDir j = job(sd);
  EventLog log(j.fd());
  log.append({{"event", "start"}, {"pid", 42}});
  log.append({{"event", "exit"}, {"cause", "line\nbreak"}});
  const auto lines = lines_of(j.path() + "/events.jsonl");
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(json::parse(lines[0]).at("event"), "start");
  EXPECT_EQ(json::parse(lines[1]).at("cause"), "line\nbreak");
  EXPECT_EQ(mode_of(j.path() + "/events.jsonl") & 07777, 0600U);
}

TEST_F(StateDirTest, EventLogKeepsAppendingToAnExistingFile)
{
  StateDir sd = state();
  JobDir j = job(sd);
  EventLog(j.fd()).append(numbered(100));
  EventLog(j.fd()).append(numbered(101));
  const auto lines = lines_of(j.path() + "/events.jsonl");
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(json::parse(lines[1]).at("n"), 101);
}

TEST_F(StateDirTest, EventLogRotatesShiftsAndDropsTheOldestWithoutLosingALine)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string base = j.path() + "/events.jsonl";
  EventLog log(j.fd(), 100, 3); // 4 lines of 22 bytes fit in 100
  for (int n = 100; n < 140; ++n) {
    log.append(numbered(n));
  }
  EXPECT_EQ(entries(j.path()), (std::vector<std::string>{"events.jsonl", "events.jsonl.1",
                                                         "events.jsonl.2", "events.jsonl.3"}));
  std::vector<int> seen;
  for (const std::string& file : {base + ".3", base + ".2", base + ".1", base}) {
    EXPECT_LE(fs::file_size(file), 100U) << file;
    const auto lines = lines_of(file);
    EXPECT_EQ(lines.size(), 4U) << file;
    for (const auto& line : lines) {
      seen.push_back(json::parse(line).at("n").get<int>()); // whole lines only
    }
  }
  // The newest 16 events, in order, none missing: .3 holds 124..127, the live file 136..139.
  ASSERT_EQ(seen.size(), 16U);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], 124 + static_cast<int>(i));
  }
}

TEST_F(StateDirTest, EventLogRotationMovesEachFileUpOneStep)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string base = j.path() + "/events.jsonl";
  EventLog log(j.fd(), 22, 3); // exactly one line per file
  log.append(numbered(100));
  EXPECT_FALSE(fs::exists(base + ".1"));
  log.append(numbered(101));
  EXPECT_EQ(json::parse(slurp(base + ".1")).at("n"), 100);
  log.append(numbered(102));
  EXPECT_EQ(json::parse(slurp(base + ".2")).at("n"), 100);
  EXPECT_EQ(json::parse(slurp(base + ".1")).at("n"), 101);
  log.append(numbered(103));
  EXPECT_EQ(json::parse(slurp(base + ".3")).at("n"), 100);
  log.append(numbered(104)); // 100 is dropped now
  EXPECT_EQ(json::parse(slurp(base + ".3")).at("n"), 101);
  EXPECT_EQ(json::parse(slurp(base + ".2")).at("n"), 102);
  EXPECT_EQ(json::parse(slurp(base + ".1")).at("n"), 103);
  EXPECT_EQ(json::parse(slurp(base)).at("n"), 104);
  EXPECT_FALSE(fs::exists(base + ".4"));
}

TEST_F(StateDirTest, EventLogCountsWhatAnEarlierWriterLeft)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string base = j.path() + "/events.jsonl";
  const std::string earlier = json{{"event", "old"}, {"pad", std::string(60, 'p')}}.dump() + "\n";
  ASSERT_LT(earlier.size(), 100U);
  ASSERT_GT(earlier.size() + 22, 100U);
  spit(base, earlier);
  EventLog log(j.fd(), 100, 3);
  log.append(numbered(100));
  EXPECT_EQ(slurp(base + ".1"), earlier);
  EXPECT_EQ(json::parse(slurp(base)).at("n"), 100);
}

TEST_F(StateDirTest, EventLogWritesALineLongerThanTheLimitWhole)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string base = j.path() + "/events.jsonl";
  EventLog log(j.fd(), 10, 3);
  log.append(numbered(100));
  log.append(numbered(101));
  EXPECT_EQ(json::parse(slurp(base + ".1")).at("n"), 100);
  EXPECT_EQ(json::parse(slurp(base)).at("n"), 101);
}

TEST_F(StateDirTest, EventLogRefusesASymlinkedLog)
{
  StateDir sd = state();
  JobDir j = job(sd);
  const std::string victim = m_root + "/victim";
  spit(victim, "precious");
  ASSERT_EQ(::symlink(victim.c_str(), (j.path() + "/events.jsonl").c_str()), 0);
  EventLog log(j.fd());
  EXPECT_THROW(log.append(numbered(100)), std::system_error);
  EXPECT_EQ(slurp(victim), "precious");
}

// ---- resolve_state_dir ----

// Sets (or unsets, with nullptr) an environment variable for the life of the object.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const char* value) : m_name(name)
  {
    if (const char* old = std::getenv(name)) {
      m_old = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv()
  {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
  const char* m_name;
  std::optional<std::string> m_old;
};

TEST(ResolveStateDir, TheCommandLineWinsAndLosesTrailingSlashes)
{
  ScopedEnv pg("PG_STATE_DIR", "/from/env");
  EXPECT_EQ(resolve_state_dir("/from/cli//"), "/from/cli");
  EXPECT_EQ(resolve_state_dir("/"), "/");
}

TEST(ResolveStateDir, ThenPgStateDir)
{
  ScopedEnv pg("PG_STATE_DIR", "/from/env");
  ScopedEnv xdg("XDG_STATE_HOME", "/xdg");
  EXPECT_EQ(resolve_state_dir(""), "/from/env");
}

TEST(ResolveStateDir, ThenAnAbsoluteXdgStateHome)
{
  ScopedEnv pg("PG_STATE_DIR", nullptr);
  ScopedEnv xdg("XDG_STATE_HOME", "/xdg/state");
  ScopedEnv home("HOME", "/home/me");
  EXPECT_EQ(resolve_state_dir(""), "/xdg/state/pg");
}

TEST(ResolveStateDir, ThenTheHomeDirectory)
{
  ScopedEnv pg("PG_STATE_DIR", "");
  ScopedEnv xdg("XDG_STATE_HOME", "relative/is/ignored");
  ScopedEnv home("HOME", "/home/me");
  EXPECT_EQ(resolve_state_dir(""), "/home/me/.local/state/pg");
}

TEST(ResolveStateDir, MakesARelativeDirectoryAbsolute)
{
  char* cwd = ::getcwd(nullptr, 0);
  ASSERT_NE(cwd, nullptr);
  const std::string here = cwd;
  std::free(cwd);
  EXPECT_EQ(resolve_state_dir("rel/pg/"), here + "/rel/pg");
}

} // namespace
} // namespace pg
