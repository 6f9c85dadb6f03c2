// A writer of JSON text: what nlohmann's dump() writes, byte for byte, streamed into a string
// without building a document first. Compact (state.json's line, dump(-1)) or indented
// (pg-ls --json, dump(2)); invalid UTF-8 becomes U+FFFD (dump's error_handler_t::replace).
// state.json and pg-ls --json are written with it; the events, the launch's report and pg-ctl's
// --json are still nlohmann values dumped (dump_line), to move here next.
#pragma once

#include "clock.h"

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace pg {

// s as a JSON string, quoted: '"', '\\' and the control bytes escaped (\n, \t, ... and \u00xx
// lowercase), other bytes as they are; each invalid UTF-8 sequence replaced by U+FFFD as
// nlohmann's replace handler does: a byte that cannot continue a sequence ends it (one U+FFFD)
// and is read again on its own, a byte that cannot begin one is one U+FFFD.
void append_json_string(std::string& out, std::string_view s);
// A double as nlohmann writes it: its shortest round-trip form, always with a '.' or an
// exponent ("1.0", "0.25", "1e-05"); NaN and the infinities as null.
void append_json_real(std::string& out, double d);

// The calls both writers share, made of their own: optional values as null, times as RFC 3339.
template <typename W> class JsonCalls {
public:
  void opt_string(const std::optional<std::string>& s) { s ? self().string(*s) : self().null(); }
  template <typename T> void opt_integer(const std::optional<T>& n)
  {
    n ? self().integer(*n) : self().null();
  }
  void opt_real(const std::optional<double>& d) { d ? self().real(*d) : self().null(); }
  void time(WallTime t) { self().string(format_rfc3339(t)); }
  void opt_time(const std::optional<WallTime>& t) { t ? time(*t) : self().null(); }

private:
  W& self() { return static_cast<W&>(*this); }
};

class JsonWriter : public JsonCalls<JsonWriter> {
public:
  // indent < 0: one line, no spaces ("{"a":1}"); else a member or item a line, indented by
  // indent spaces a level ("{\n  \"a\": 1\n}"), "{}" and "[]" when empty.
  explicit JsonWriter(std::string& out, int indent = -1) : m_out(out), m_indent(indent) {}
  // Starts inside an open array (already written) that holds items_before items: a streamed
  // array written an item at a time.
  JsonWriter(std::string& out, int indent, int items_before)
      : m_out(out), m_indent(indent), m_depth(1), m_first(items_before == 0)
  {
  }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  // A member's key; its value follows.
  JsonWriter& key(std::string_view k);
  void null() { raw("null"); }
  void boolean(bool b) { raw(b ? "true" : "false"); }
  template <typename T> void integer(T n)
  {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    raw(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  }
  void real(double d)
  {
    prefix();
    append_json_real(m_out, d);
  }
  void string(std::string_view s)
  {
    prefix();
    append_json_string(m_out, s);
  }

private:
  void open(char c);
  void close(char c);
  void next();
  // Before a value: nothing after its key, else the separator of an item.
  void prefix()
  {
    if (m_keyed) {
      m_keyed = false;
    } else {
      next();
    }
  }
  void raw(std::string_view text)
  {
    prefix();
    m_out += text;
  }

  std::string& m_out;
  int m_indent;
  int m_depth = 0;      // containers open
  bool m_first = true;  // nothing written yet in the innermost open container
  bool m_keyed = false; // a key was written, its value comes next
};

} // namespace pg
