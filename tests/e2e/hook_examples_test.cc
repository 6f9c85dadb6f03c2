// The hooks of contrib/hooks, as users wire them up: a desktop notification, a webhook posted
// with curl to a URL from the environment, and agent-check for an agent harness's prompt hook.
// Each runs under a real pg-run; the webhook's receiver is a socket of the test's own.
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace pg::e2e {
namespace {

const std::string k_hooks = std::string(PG_SOURCE_DIR) + "/contrib/hooks";

// A loopback HTTP receiver of one request: listens at once, answers 200 (or status) to the
// first request and returns it whole (headers and body).
class Receiver {
public:
  Receiver()
  {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(m_fd, 4) != 0 || ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen on the loopback";
      must(false);
    }
    m_port = ntohs(a.sin_port);
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver() { ::close(m_fd); }

  std::string url(const std::string& path) const
  {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }

  // Waits (until the deadline) for one request; empty when none came.
  std::string take(int status = 200, Millis deadline = k_wait)
  {
    pollfd p{m_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) {
      return "";
    }
    const int c = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      return "";
    }
    std::string req;
    const auto until = Clock::now() + deadline;
    while (!complete(req) && Clock::now() < until) {
      pollfd q{c, POLLIN, 0};
      char buf[4096];
      ssize_t n = ::poll(&q, 1, 100) == 1 ? ::read(c, buf, sizeof buf) : -1;
      if (n == 0) {
        break;
      }
      if (n > 0) {
        req.append(buf, static_cast<size_t>(n));
      }
    }
    const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                              " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    [[maybe_unused]] ssize_t w = ::write(c, reply.data(), reply.size());
    ::close(c);
    return req;
  }

private:
  // Headers read and as many body bytes as Content-Length says.
  static bool complete(const std::string& req)
  {
    const size_t end = req.find("\r\n\r\n");
    if (end == std::string::npos) {
      return false;
    }
    size_t length = 0;
    const size_t at = lower(req.substr(0, end)).find("content-length:");
    if (at != std::string::npos) {
      length = std::strtoul(req.c_str() + at + 15, nullptr, 10);
    }
    return req.size() >= end + 4 + length;
  }
  static std::string lower(std::string s)
  {
    for (char& c : s) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
  }

  int m_fd = -1;
  int m_port = 0;
};

std::string body_of(const std::string& req)
{
  const size_t end = req.find("\r\n\r\n");
  return end == std::string::npos ? "" : req.substr(end + 4);
}

class HookExamples : public E2e {
protected:
  // The job fails once (exit 3 after a line of output) and is not restarted.
  void launch_failing(const std::string& hook, const StartOptions& opt)
  {
    launch("bot", {"--restart", "never", "--on-failure", k_hooks + "/" + hook},
           {"--print", "KeyError: 'token'", "--sleep", "100ms", "--exit", "3"}, opt);
  }
  static StartOptions with_env(std::vector<std::pair<std::string, std::string>> env)
  {
    StartOptions opt;
    opt.env = std::move(env);
    return opt;
  }
};

TEST_F(HookExamples, DesktopNotifyCallsNotifySendWithTheStory)
{
  // A notify-send of the test's own on PATH records its arguments, one per line.
  ::mkdir(path("bin").c_str(), 0755);
  write_text(path("bin/notify-send"),
             "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + path("sent.tmp") + "' && mv '" +
                 path("sent.tmp") + "' '" + path("sent") + "'\n",
             0755);
  launch_failing("desktop-notify",
                 with_env({{"PATH", path("bin") + ":" + std::string(std::getenv("PATH"))}}));
  const std::string sent = wait_file(path("sent"));
  EXPECT_TRUE(contains(sent, "--app-name=pg\n")) << sent;
  EXPECT_TRUE(contains(sent, "--urgency=normal\n")) << sent;
  EXPECT_TRUE(contains(sent, "pg: bot failed\n")) << sent;
  EXPECT_TRUE(contains(sent, "bot failed: exit code 3 after ")) << sent;
  EXPECT_TRUE(contains(sent, "last output: KeyError: 'token'")) << sent;
  auto results = wait_events("bot", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], true) << results[0].dump();
}

TEST_F(HookExamples, DesktopNotifyWithoutNotifySendFailsAndSaysWhatToInstall)
{
  launch_failing("desktop-notify", with_env({{"PATH", "/nonexistent"}}));
  auto results = wait_events("bot", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], false) << results[0].dump();
  EXPECT_EQ(results[0]["code"], 127);
  EXPECT_TRUE(contains(results[0].value("output", ""), "libnotify-bin")) << results[0].dump();
}

TEST_F(HookExamples, WebhookPostsSlackJsonToTheUrlFromTheEnvironment)
{
  if (::access("/usr/bin/curl", X_OK) != 0) {
    GTEST_SKIP() << "curl is not installed (Debian: curl)";
  }
  Receiver rx;
  launch_failing("webhook", with_env({{"PG_WEBHOOK_URL", rx.url("/services/T0/secret")}}));
  const std::string req = rx.take();
  ASSERT_FALSE(req.empty()) << "no request reached the receiver";
  EXPECT_TRUE(starts_with(req, "POST /services/T0/secret HTTP/1.1\r\n")) << req;
  EXPECT_TRUE(contains(req, "Content-Type: application/json\r\n")) << req;
  const Json body = Json::parse(body_of(req));
  ASSERT_TRUE(body["text"].is_string()) << body.dump();
  const std::string text = body["text"];
  EXPECT_TRUE(starts_with(text, "bot failed: exit code 3 after ")) << text;
  EXPECT_TRUE(contains(text, "last output: KeyError: 'token'")) << text;
  auto results = wait_events("bot", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], true) << results[0].dump();
  // The URL (a secret for Slack) is in no record of pg's.
  for (const char* f : {"state.json", "events.jsonl", "output.log"}) {
    EXPECT_FALSE(contains(read_text(state_dir() + "/bot/" + f), "secret")) << f;
  }
}

TEST_F(HookExamples, WebhookJsonAndNtfyFormats)
{
  if (::access("/usr/bin/curl", X_OK) != 0) {
    GTEST_SKIP() << "curl is not installed (Debian: curl)";
  }
  Receiver rx;
  launch_failing("webhook",
                 with_env({{"PG_WEBHOOK_URL", rx.url("/j")}, {"PG_WEBHOOK_FORMAT", "json"}}));
  const Json body = Json::parse(body_of(rx.take()));
  EXPECT_EQ(body["name"], "bot");
  EXPECT_EQ(body["event"], "failed");
  EXPECT_EQ(body["exit_code"], 3);
  EXPECT_TRUE(body["signal"].is_null()) << body.dump();
  EXPECT_EQ(body["restarts"], 0);
  EXPECT_GE(body["runtime_s"].get<double>(), 0.09);
  EXPECT_EQ(body["log"], state_dir() + "/bot/output.log");
  wait_end("bot");

  launch("ntfy", {"--restart", "never", "--on-failure", k_hooks + "/webhook"}, {"--exit", "4"},
         with_env({{"PG_WEBHOOK_URL", rx.url("/pg-alerts")}, {"PG_WEBHOOK_FORMAT", "ntfy"}}));
  const std::string req = rx.take();
  EXPECT_TRUE(starts_with(req, "POST /pg-alerts HTTP/1.1\r\n")) << req;
  EXPECT_TRUE(contains(req, "Title: pg: ntfy failed\r\n")) << req;
  EXPECT_TRUE(starts_with(body_of(req), "ntfy failed: exit code 4 after ")) << req;
}

TEST_F(HookExamples, WebhookFailuresAreRecordedNotSilent)
{
  if (::access("/usr/bin/curl", X_OK) != 0) {
    GTEST_SKIP() << "curl is not installed (Debian: curl)";
  }
  // No URL: the hook says what is missing.
  launch_failing("webhook", with_env({}));
  auto results = wait_events("bot", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], false) << results[0].dump();
  EXPECT_TRUE(contains(results[0].value("output", ""), "PG_WEBHOOK_URL is not set"))
      << results[0].dump();
  wait_end("bot");

  // The receiver answers 500: curl fails (-f) and its message is the hook's record.
  Receiver rx;
  launch("down", {"--restart", "never", "--on-failure", k_hooks + "/webhook"}, {"--exit", "1"},
         with_env({{"PG_WEBHOOK_URL", rx.url("/x")}}));
  ASSERT_FALSE(rx.take(500).empty());
  results = wait_events("down", "alert-result", 1);
  EXPECT_EQ(results[0]["ok"], false) << results[0].dump();
  EXPECT_TRUE(contains(results[0].value("output", ""), "500")) << results[0].dump();
}

TEST_F(HookExamples, AgentCheckSurfacesFailuresUntilAcknowledged)
{
  const std::string check = k_hooks + "/agent-check";
  const std::string bin_dir = std::string(PG_LS_BIN).substr(0, std::string(PG_LS_BIN).rfind('/'));
  StartOptions opt = with_env({{"PATH", bin_dir + ":/usr/bin:/bin"}});

  // Nothing to say: nothing printed, exit 0.
  Result quiet = run({check, "--state-dir", state_dir()}, opt);
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");

  launch("bot", {"--restart", "never"}, {"--exit", "3"});
  wait_end("bot");
  Result heard = run({check, "--state-dir", state_dir()}, opt);
  EXPECT_EQ(heard.status, 0) << heard.err; // never blocks the harness
  EXPECT_TRUE(starts_with(heard.out, "process-guardian: background jobs need attention"))
      << heard.out;
  EXPECT_TRUE(contains(heard.out, "\nbot: ")) << heard.out;
  EXPECT_TRUE(contains(heard.out, "pg-ctl ack NAME")) << heard.out;

  ASSERT_EQ(pg_ctl({"ack", "bot"}).status, 0);
  Result after = run({check, "--state-dir", state_dir()}, opt);
  EXPECT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(after.out, "") << "acknowledged: nothing more to say";
}

} // namespace
} // namespace pg::e2e
