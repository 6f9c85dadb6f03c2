#include "spawn.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace pg {
namespace {

// A fresh directory of files to resolve against, removed at the end.
class ResolveCommand : public ::testing::Test {
protected:
  void SetUp() override
  {
    char tmpl[] = "/tmp/pg-resolve-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_root = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(m_root); }

  std::string dir(const std::string& rel)
  {
    std::string p = m_root + "/" + rel;
    std::filesystem::create_directories(p);
    return p;
  }
  std::string file(const std::string& rel, mode_t mode)
  {
    std::string p = m_root + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p) << "#!/bin/sh\nexit 0\n";
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p;
  }

  std::string m_root;
};

bool same_file(const std::string& a, const std::string& b)
{
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

TEST_F(ResolveCommand, AcceptsAnAbsoluteExecutable)
{
  const std::string tool = file("bin/tool", 0755);
  Resolved r = resolve_command(tool, "/nonexistent", "/");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.path, tool);
}

TEST_F(ResolveCommand, ResolvesAPathWithASlashAgainstTheCwdNotPath)
{
  const std::string tool = file("work/bin/tool", 0755);
  file("path/bin/tool", 0755);
  const std::string cwd = m_root + "/work";
  Resolved r = resolve_command("bin/tool", m_root + "/path", cwd);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.path.front(), '/');
  EXPECT_TRUE(same_file(r.path, tool)) << r.path;

  r = resolve_command("./bin/tool", m_root + "/path", cwd);
  EXPECT_EQ(r.error, 0);
  EXPECT_TRUE(same_file(r.path, tool)) << r.path;
}

TEST_F(ResolveCommand, SearchesPathInOrder)
{
  file("d2/tool", 0755);
  const std::string first = file("d1/tool", 0755);
  const std::string path = m_root + "/empty:" + m_root + "/d1:" + m_root + "/d2";
  dir("empty");
  Resolved r = resolve_command("tool", path, "/");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.path, first);
}

TEST_F(ResolveCommand, FindsACommandInALaterPathEntry)
{
  dir("d1");
  const std::string tool = file("d2/tool", 0755);
  Resolved r = resolve_command("tool", m_root + "/d1:" + m_root + "/d2", "/");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.path, tool);
}

TEST_F(ResolveCommand, SkipsANonExecutableMatchForALaterExecutableOne)
{
  file("d1/tool", 0644);
  const std::string tool = file("d2/tool", 0755);
  Resolved r = resolve_command("tool", m_root + "/d1:" + m_root + "/d2", "/");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.path, tool);
}

TEST_F(ResolveCommand, ANonExecutableMatchAloneIsEacces)
{
  // Root may execute a file only when some execute bit is set: 0644 is refused even for root.
  const std::string tool = file("d1/tool", 0644);
  dir("d2");
  Resolved r = resolve_command("tool", m_root + "/d1:" + m_root + "/d2", "/");
  EXPECT_EQ(r.error, EACCES);
  EXPECT_EQ(r.path, tool);
}

TEST_F(ResolveCommand, AnAbsoluteNonExecutableFileIsEacces)
{
  const std::string tool = file("tool", 0600);
  EXPECT_EQ(resolve_command(tool, "", "/").error, EACCES);
}

TEST_F(ResolveCommand, AMissingCommandIsEnoent)
{
  dir("d1");
  EXPECT_EQ(resolve_command("no-such-tool", m_root + "/d1", "/").error, ENOENT);
  EXPECT_EQ(resolve_command(m_root + "/no-such-tool", "", "/").error, ENOENT);
  EXPECT_EQ(resolve_command("./no-such-tool", "", m_root).error, ENOENT);
}

TEST_F(ResolveCommand, APathThroughAFileIsEnoent)
{
  const std::string f = file("plain", 0755);
  EXPECT_EQ(resolve_command(f + "/tool", "", "/").error, ENOENT);
}

TEST_F(ResolveCommand, AnEmptyCommandIsEnoent)
{
  EXPECT_EQ(resolve_command("", "/bin:/usr/bin", "/").error, ENOENT);
}

TEST_F(ResolveCommand, ADirectoryIsNotRunnable)
{
  const std::string d = dir("d1/tool");
  Resolved r = resolve_command(d, "", "/");
  EXPECT_NE(r.error, 0);
  EXPECT_NE(r.error, ENOENT); // 126, not 127

  r = resolve_command("tool", m_root + "/d1", "/");
  EXPECT_NE(r.error, 0);
  EXPECT_NE(r.error, ENOENT);
}

TEST_F(ResolveCommand, ADirectoryMatchDoesNotHideALaterExecutable)
{
  dir("d1/tool");
  const std::string tool = file("d2/tool", 0755);
  Resolved r = resolve_command("tool", m_root + "/d1:" + m_root + "/d2", "/");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.path, tool);
}

TEST_F(ResolveCommand, DoesNotSearchTheCwdWhenPathDoesNotSayTo)
{
  file("work/tool", 0755);
  dir("d1");
  EXPECT_EQ(resolve_command("tool", m_root + "/d1", m_root + "/work").error, ENOENT);
}

TEST_F(ResolveCommand, AnEmptyPathEntryMeansTheCwd)
{
  const std::string tool = file("work/tool", 0755);
  dir("d1");
  Resolved r = resolve_command("tool", m_root + "/d1::/nonexistent", m_root + "/work");
  EXPECT_EQ(r.error, 0);
  EXPECT_TRUE(same_file(r.path, tool)) << r.path;
  EXPECT_EQ(r.path.front(), '/');
}

TEST_F(ResolveCommand, ARelativePathEntryIsResolvedAgainstTheCwd)
{
  const std::string tool = file("work/bin/tool", 0755);
  Resolved r = resolve_command("tool", "bin", m_root + "/work");
  EXPECT_EQ(r.error, 0);
  EXPECT_TRUE(same_file(r.path, tool)) << r.path;
  EXPECT_EQ(r.path.front(), '/');
}

TEST_F(ResolveCommand, FollowsASymlinkToAnExecutable)
{
  const std::string tool = file("real/tool", 0755);
  dir("d1");
  ASSERT_EQ(::symlink(tool.c_str(), (m_root + "/d1/alias").c_str()), 0);
  Resolved r = resolve_command("alias", m_root + "/d1", "/");
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.path, m_root + "/d1/alias");
}

TEST_F(ResolveCommand, ADanglingSymlinkIsEnoent)
{
  dir("d1");
  ASSERT_EQ(::symlink((m_root + "/gone").c_str(), (m_root + "/d1/tool").c_str()), 0);
  EXPECT_EQ(resolve_command("tool", m_root + "/d1", "/").error, ENOENT);
}

TEST(SpawnResult, ShellStatusIs127ForNotFoundAnd126OtherWise)
{
  EXPECT_EQ((SpawnResult{-1, ENOENT, "execve /x"}).shell_status(), 127);
  EXPECT_EQ((SpawnResult{-1, EACCES, "execve /x"}).shell_status(), 126);
  EXPECT_EQ((SpawnResult{-1, ENOEXEC, "execve /x"}).shell_status(), 126);
  EXPECT_EQ((SpawnResult{-1, ENOENT, "execve /x"}).message(),
            "execve /x: No such file or directory");
}

} // namespace
} // namespace pg
