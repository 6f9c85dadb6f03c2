// The one error scheme of pg's programs: a failure that ends the command carries its exit
// status (DESIGN.md's table of each program) and its one-line message. It is thrown where it
// is found and caught once per main, which prints it the program's way.
#pragma once

#include <stdexcept>
#include <string>

namespace pg {

class Failure : public std::runtime_error {
public:
  Failure(int status, const std::string& message, std::string hint = {})
      : std::runtime_error(message), m_status(status), m_hint(std::move(hint))
  {
  }
  int status() const { return m_status; }
  // A line to print after the message ("Try 'pg-run --help'."), or "".
  const std::string& hint() const { return m_hint; }

private:
  int m_status;
  std::string m_hint;
};

} // namespace pg
