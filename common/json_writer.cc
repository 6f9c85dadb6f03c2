#include "json_writer.h"

#include <nlohmann/detail/conversions/to_chars.hpp>

#include <cmath>

namespace pg {

namespace {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD"; // U+FFFD

// The bytes that may follow lead byte c in a valid UTF-8 sequence (RFC 3629: no overlong form,
// no surrogate, nothing past U+10FFFF): how many, and the range of the first of them (the
// others are 0x80..0xBF). 0 continuation bytes: c cannot begin a sequence.
struct Lead {
  size_t more = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
};

Lead lead(unsigned char c)
{
  if (c >= 0xC2 && c <= 0xDF) {
    return {1};
  }
  if (c == 0xE0) {
    return {2, 0xA0};
  }
  if (c == 0xED) {
    return {2, 0x80, 0x9F};
  }
  if (c >= 0xE1 && c <= 0xEF) {
    return {2};
  }
  if (c == 0xF0) {
    return {3, 0x90};
  }
  if (c >= 0xF1 && c <= 0xF3) {
    return {3};
  }
  if (c == 0xF4) {
    return {3, 0x80, 0x8F};
  }
  return {};
}

void append_escaped_ascii(std::string& out, char c)
{
  switch (c) {
  case '\b':
    out += "\\b";
    return;
  case '\t':
    out += "\\t";
    return;
  case '\n':
    out += "\\n";
    return;
  case '\f':
    out += "\\f";
    return;
  case '\r':
    out += "\\r";
    return;
  case '"':
    out += "\\\"";
    return;
  case '\\':
    out += "\\\\";
    return;
  default:
    break;
  }
  if (static_cast<unsigned char>(c) < 0x20) {
    constexpr char hex[] = "0123456789abcdef";
    out += "\\u00";
    out += hex[(c >> 4) & 0xF];
    out += hex[c & 0xF];
    return;
  }
  out += c;
}

} // namespace

void append_json_string(std::string& out, std::string_view s)
{
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      append_escaped_ascii(out, s[i]);
      ++i;
      continue;
    }
    const Lead l = lead(c);
    if (l.more == 0) { // a byte that begins nothing: replaced, and read no more
      out += k_replacement;
      ++i;
      continue;
    }
    size_t got = 0;
    unsigned char low = l.low;
    unsigned char high = l.high;
    while (got < l.more && i + 1 + got < s.size()) {
      const auto b = static_cast<unsigned char>(s[i + 1 + got]);
      if (b < low || b > high) {
        break;
      }
      low = 0x80;
      high = 0xBF;
      ++got;
    }
    if (got == l.more) {
      out.append(s.substr(i, 1 + l.more));
    } else {
      // A sequence cut short, by the end or by a byte that cannot continue it: one U+FFFD for
      // what it had, and that byte read again.
      out += k_replacement;
    }
    i += 1 + got;
  }
  out += '"';
}

void append_json_real(std::string& out, double d)
{
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, end);
}

JsonWriter& JsonWriter::key(std::string_view k)
{
  next();
  append_json_string(m_out, k);
  m_out += m_indent < 0 ? ":" : ": ";
  m_keyed = true;
  return *this;
}

void JsonWriter::open(char c)
{
  prefix();
  m_out += c;
  ++m_depth;
  m_first = true;
}

void JsonWriter::close(char c)
{
  --m_depth;
  if (!m_first && m_indent >= 0) {
    m_out += '\n';
    m_out.append(static_cast<size_t>(m_indent * m_depth), ' ');
  }
  m_out += c;
  m_first = false;
}

void JsonWriter::next()
{
  if (m_depth == 0) {
    return;
  }
  if (!m_first) {
    m_out += ',';
  }
  m_first = false;
  if (m_indent >= 0) {
    m_out += '\n';
    m_out.append(static_cast<size_t>(m_indent * m_depth), ' ');
  }
}

} // namespace pg
