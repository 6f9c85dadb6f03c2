// JSON text read once, front to back, with simdjson's On-Demand parser: each value as nlohmann
// reads it (its grammar, its number types), every value checked, the skipped ones too, so a
// text is read only if it is valid JSON. And the fields of an object read by name, each one's
// damage named: "field 'pid' has the wrong type". state_read.cc reads state.json with it.
#pragma once

#include "key_order.h"

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg {

enum class JsonKind { Null, Bool, Number, String, Object, Array };

// A number as nlohmann types it: an integer in int64 (negative) or uint64 (not), anything else
// (a fraction, an exponent, an integer too large for both) a double.
struct JsonNumber {
  enum Type { Int, Uint, Float } type = Uint;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
};

// The number text (JSON's grammar, nothing around it) means, or nullopt when it is none.
std::optional<JsonNumber> json_number(std::string_view text);

// A value nested deeper than this in its document (the root is at depth 1) is refused: the
// reader recurses. pg writes 3 levels.
inline constexpr int k_max_json_depth = 1024;

// The text is not JSON: simdjson's reason.
struct JsonSyntaxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A value's damage as its object's field: the message names it. Thrown only once the value is
// consumed, so the object's reader carries on with its next member.
struct FieldError {
  std::string what;
};

[[noreturn]] void field_fail(std::string what);
// "field 'KEY' WHAT"
std::string field_message(std::string_view key, std::string_view what);

// One value of the document, read once: kind() may be asked first, then one of the reads, or
// skip(). Reads throw JsonSyntaxError where the text is not JSON.
class JsonValue {
public:
  // v at depth (1 for the document's root).
  JsonValue(simdjson::ondemand::value v, int depth) : m_v(v), m_depth(depth) {}

  JsonKind kind();
  // True, and the value consumed, when it is null.
  bool null();
  bool boolean();
  std::string_view string(); // valid until the next document is read
  JsonNumber number();
  // Consumes the value, checking that it is JSON.
  void skip();

  // f(key, value) for each member of an object, in order; f consumes the value.
  template <typename F> void members(F&& f)
  {
    simdjson::ondemand::object o = checked(m_v.get_object());
    for (auto member : o) {
      simdjson::ondemand::field field = checked(std::move(member));
      std::string_view key = checked(field.unescaped_key());
      JsonValue v(field.value(), m_depth + 1);
      f(key, v);
    }
  }
  // f(value) for each item of an array, in order; f consumes the value.
  template <typename F> void items(F&& f)
  {
    simdjson::ondemand::array a = checked(m_v.get_array());
    for (auto item : a) {
      JsonValue v(checked(std::move(item)), m_depth + 1);
      f(v);
    }
  }

private:
  template <typename T> static T checked(simdjson::simdjson_result<T>&& r)
  {
    T v;
    if (auto e = std::move(r).get(v)) {
      throw_syntax(e);
    }
    return v;
  }
  [[noreturn]] static void throw_syntax(simdjson::error_code e);

  simdjson::ondemand::value m_v;
  int m_depth;
};

// Reads text (one JSON document) through read(root) when its root is an object, and refuses any
// other root with not_object. Throws JsonSyntaxError when the text is not JSON, whatever the
// fields say; otherwise the FieldError of read as std::runtime_error. read consumes the root
// object whole, also when it throws FieldError (as JsonFields::read and check() do).
void read_json_object(std::string_view text, std::string_view not_object,
                      const std::function<void(JsonValue&)>& read);

// The typed reads of a field's value; their damage names the field key: "has the wrong type"
// (a string for a number, 1.5 for an integer, ...), "is out of range" (an integer T cannot hold).
std::string text_field(JsonValue& v, std::string_view key);
std::string_view string_field(JsonValue& v, std::string_view key); // until the next document
bool bool_field(JsonValue& v, std::string_view key);
double real_field(JsonValue& v, std::string_view key); // any number
std::vector<std::string> strings_field(JsonValue& v, std::string_view key);
JsonNumber integer_number(JsonValue& v, std::string_view key); // an Int or Uint

template <typename T> T integer_field(JsonValue& v, std::string_view key)
{
  const JsonNumber n = integer_number(v, key);
  if (n.type == JsonNumber::Uint ? !std::in_range<T>(n.u) : !std::in_range<T>(n.i)) {
    field_fail(field_message(key, "is out of range"));
  }
  return n.type == JsonNumber::Uint ? static_cast<T>(n.u) : static_cast<T>(n.i);
}

// The bit of a JsonFields index, for check()'s required fields.
constexpr uint64_t field_bit(size_t index)
{
  return uint64_t{1} << index;
}

// An object's known fields, named in the order its checks rank: of several damaged fields, the
// first in that order is reported; a repeated key counts by its last occurrence.
template <size_t N> class JsonFields {
public:
  JsonFields(const std::array<std::string_view, N>& names, const KeyOrder<N>& order)
      : m_names(names), m_keys(order)
  {
  }

  // Every member of the object v: a known key through on_field(index, key, value), the others
  // skipped; what on_field throws as FieldError is that field's damage.
  template <typename F> void read(JsonValue& v, F&& on_field)
  {
    v.members([&](std::string_view key, JsonValue& value) {
      const int i = m_keys.find(key);
      if (i < 0) {
        value.skip();
        return;
      }
      const auto at = static_cast<size_t>(i);
      m_seen |= field_bit(at);
      m_bad &= ~field_bit(at);
      try {
        on_field(at, m_names[at], value);
      } catch (FieldError& e) {
        m_bad |= field_bit(at);
        m_damage.emplace_back(at, std::move(e.what));
      }
    });
  }

  // Throws the first damage in the names' order, a required field (a bit of required) that was
  // absent counting as "missing field 'KEY'" at its place.
  void check(uint64_t required)
  {
    for (size_t i = 0; i < N; ++i) {
      if ((m_bad & field_bit(i)) != 0) {
        for (auto d = m_damage.rbegin(); d != m_damage.rend(); ++d) {
          if (d->first == i) {
            field_fail(std::move(d->second)); // the key's last occurrence
          }
        }
      }
      if ((required & field_bit(i)) != 0 && (m_seen & field_bit(i)) == 0) {
        field_fail("missing field '" + std::string(m_names[i]) + "'");
      }
    }
  }

private:
  static_assert(N <= 64);
  const std::array<std::string_view, N>& m_names;
  typename KeyOrder<N>::Lookup m_keys;
  uint64_t m_seen = 0;
  uint64_t m_bad = 0;
  std::vector<std::pair<size_t, std::string>> m_damage; // (index, message), in the text's order
};

// Runs f, prefixing its damage with the object it reads: "field 'supervisor': ...".
template <typename F> auto nested_field(std::string_view key, F f)
{
  try {
    return f();
  } catch (FieldError& e) {
    field_fail("field '" + std::string(key) + "': " + e.what);
  }
}

} // namespace pg
