// The launch environment kept in STATE/NAME/environ: what is kept, and its text read back.
#include "environ.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pg {
namespace {

using namespace std::string_literals;

TEST(Environ, KeepsTheLaunchEnvironmentLessSessionAndPgVariables)
{
  const std::vector<std::string> env{"BOT_API_KEY=sk-1",
                                     "PATH=/usr/bin",
                                     "SSH_AUTH_SOCK=/tmp/a",
                                     "SSH_TTY=/dev/pts/1",
                                     "XDG_SESSION_ID=4",
                                     "XDG_RUNTIME_DIR=/run/user/0",
                                     "TMUX=/tmp/t,1,0",
                                     "SHLVL=2",
                                     "_=/usr/bin/pg-run",
                                     "OLDPWD=/root",
                                     "PG_RUN_ID=x",
                                     "NOTIFY_SOCKET=/s",
                                     "MULTI=line one\nline two",
                                     "EMPTY=",
                                     "noequals",
                                     "=novalue"};
  EXPECT_EQ(environ_text(env), "BOT_API_KEY=sk-1\0PATH=/usr/bin\0XDG_RUNTIME_DIR=/run/user/0\0"
                               "MULTI=line one\nline two\0EMPTY=\0"s);
}

TEST(Environ, ReadsBackWhatItWrote)
{
  const std::vector<std::string> env{"A=1", "B=two words", "C=x=y", "D=", "E=multi\nline"};
  EXPECT_EQ(parse_environ(environ_text(env)), env);
  EXPECT_TRUE(parse_environ("").empty());
}

TEST(Environ, SkipsDamageInTheFile)
{
  // A missing final NUL (a file cut short) still gives its last entry; pieces that are no
  // KEY=VALUE are skipped.
  EXPECT_EQ(parse_environ("A=1\0junk\0\0=x\0B=2"s), (std::vector<std::string>{"A=1", "B=2"}));
}

TEST(Environ, SessionBoundKeysAreThoseOfDesign)
{
  for (const char* k :
       {"SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY",
        "XDG_SESSION_TYPE", "WINDOWID", "TMUX", "TMUX_PANE", "STY", "OLDPWD", "SHLVL", "_"}) {
    EXPECT_TRUE(session_bound_env_key(k)) << k;
  }
  for (const char* k : {"HOME", "PATH", "SSH", "XDG_CONFIG_HOME", "LANG", "__"}) {
    EXPECT_FALSE(session_bound_env_key(k)) << k;
  }
}

} // namespace
} // namespace pg
