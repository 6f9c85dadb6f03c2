#include "json_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace pg {

namespace od = simdjson::ondemand;

namespace {

std::string_view trim_right(std::string_view s)
{
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

[[noreturn]] void syntax(simdjson::error_code e)
{
  throw JsonSyntaxError(std::string("invalid JSON: ") + simdjson::error_message(e));
}

template <typename T> T checked(simdjson::simdjson_result<T>&& r)
{
  T v;
  if (auto e = std::move(r).get(v)) {
    syntax(e);
  }
  return v;
}

// A document whose root is not an array or an object (whose text ends at end): checked as one
// value and nothing after it.
void check_scalar_root(od::document& doc, od::json_type type, const char* end)
{
  // The raw token runs to the next one, blanks included: to the text's end, or more follows.
  const std::string_view raw = checked(doc.raw_json_token());
  if (raw.data() + raw.size() != end) {
    syntax(simdjson::TRAILING_CONTENT);
  }
  const std::string_view token = trim_right(raw);
  switch (type) {
  case od::json_type::string:
    (void)checked(doc.get_string());
    break;
  case od::json_type::boolean:
    if (token != "true" && token != "false") {
      syntax(token.front() == 't' ? simdjson::T_ATOM_ERROR : simdjson::F_ATOM_ERROR);
    }
    break;
  case od::json_type::null:
    if (token != "null") {
      syntax(simdjson::N_ATOM_ERROR);
    }
    break;
  default:
    if (!json_number(token)) {
      syntax(simdjson::NUMBER_ERROR);
    }
    break;
  }
}

constexpr std::string_view k_holds_nul = "holds a NUL byte";

} // namespace

void field_fail(std::string what)
{
  throw FieldError{std::move(what)};
}

std::string field_message(std::string_view key, std::string_view what)
{
  std::string m = "field '";
  m += key;
  m += "' ";
  m += what;
  return m;
}

std::optional<JsonNumber> json_number(std::string_view s)
{
  const char* p = s.data();
  const char* const end = p + s.size();
  auto digits = [&] {
    const char* from = p;
    while (p < end && *p >= '0' && *p <= '9') {
      ++p;
    }
    return p != from;
  };
  const bool negative = p < end && *p == '-';
  if (negative) {
    ++p;
  }
  if (p < end && *p == '0') {
    ++p;
  } else if (!digits()) {
    return std::nullopt;
  }
  bool is_float = false;
  if (p < end && *p == '.') {
    ++p;
    if (!digits()) {
      return std::nullopt;
    }
    is_float = true;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) {
      ++p;
    }
    if (!digits()) {
      return std::nullopt;
    }
    is_float = true;
  }
  if (p != end) {
    return std::nullopt;
  }
  JsonNumber n;
  if (!is_float && s.size() - (negative ? 1 : 0) <= 18) {
    // Up to 18 digits: no overflow, the usual case (a pid, a size, a count).
    uint64_t u = 0;
    for (const char* d = s.data() + (negative ? 1 : 0); d < end; ++d) {
      u = u * 10 + static_cast<uint64_t>(*d - '0');
    }
    n.type = negative ? JsonNumber::Int : JsonNumber::Uint;
    n.u = u;
    n.i = negative ? -static_cast<int64_t>(u) : static_cast<int64_t>(u);
    return n;
  }
  if (!is_float) {
    auto r = negative ? std::from_chars(s.data(), end, n.i) : std::from_chars(s.data(), end, n.u);
    if (r.ec == std::errc()) {
      n.type = negative ? JsonNumber::Int : JsonNumber::Uint;
      return n;
    }
  }
  n.type = JsonNumber::Float;
  if (std::from_chars(s.data(), end, n.d).ec == std::errc::result_out_of_range) {
    // Past a double's range, or below its smallest: strtod's answer (nlohmann's), infinity or
    // zero (a denormal). No locale has been set, so its decimal point is '.'.
    n.d = std::strtod(std::string(s).c_str(), nullptr);
  }
  if (!std::isfinite(n.d)) {
    return std::nullopt; // nlohmann refuses the text: "number overflow"
  }
  return n;
}

void JsonValue::throw_syntax(simdjson::error_code e)
{
  syntax(e);
}

JsonKind JsonValue::kind()
{
  switch (checked(m_v.type())) {
  case od::json_type::object:
    return JsonKind::Object;
  case od::json_type::array:
    return JsonKind::Array;
  case od::json_type::string:
    return JsonKind::String;
  case od::json_type::number:
    return JsonKind::Number;
  case od::json_type::boolean:
    return JsonKind::Bool;
  default:
    return JsonKind::Null;
  }
}

bool JsonValue::null()
{
  if (kind() != JsonKind::Null) {
    return false;
  }
  if (!checked(m_v.is_null())) {
    syntax(simdjson::N_ATOM_ERROR); // "nul", "nullx"
  }
  return true;
}

bool JsonValue::boolean()
{
  bool b = false;
  if (m_v.get_bool().get(b) != simdjson::SUCCESS) {
    // "tru", "falsey": simdjson says only that this is no boolean
    syntax(m_v.raw_json_token().front() == 't' ? simdjson::T_ATOM_ERROR : simdjson::F_ATOM_ERROR);
  }
  return b;
}

std::string_view JsonValue::string()
{
  return checked(m_v.get_string());
}

JsonNumber JsonValue::number()
{
  auto n = json_number(trim_right(m_v.raw_json_token()));
  if (!n) {
    syntax(simdjson::NUMBER_ERROR);
  }
  return *n;
}

void JsonValue::skip()
{
  if (m_depth > k_max_json_depth) {
    throw JsonSyntaxError("nested deeper than " + std::to_string(k_max_json_depth) + " levels");
  }
  switch (kind()) {
  case JsonKind::Object:
    members([](std::string_view, JsonValue& v) { v.skip(); });
    break;
  case JsonKind::Array:
    items([](JsonValue& v) { v.skip(); });
    break;
  case JsonKind::String:
    (void)string();
    break;
  case JsonKind::Number:
    (void)number();
    break;
  case JsonKind::Bool:
    (void)boolean();
    break;
  case JsonKind::Null:
    (void)null();
    break;
  }
}

void read_json_object(std::string_view text, std::string_view not_object,
                      const std::function<void(JsonValue&)>& read)
{
  // Kept between documents: a listing reads thousands. simdjson reads up to SIMDJSON_PADDING
  // bytes past the text's end, so it is copied into a buffer that has them.
  thread_local od::parser parser;
  thread_local std::string padded;
  // The parser's depth bound counts only where simdjson checks itself (SIMDJSON_DEVELOPMENT_CHECKS,
  // in builds without optimization): above the reader's own, which refuses deeper values first.
  constexpr size_t parser_depth = k_max_json_depth + 2;
  if (parser.max_depth() != parser_depth) {
    if (auto e = parser.allocate(std::max<size_t>(text.size(), 4096), parser_depth)) {
      syntax(e);
    }
  }
  // As nlohmann reads text (what pg has always accepted): a byte order mark is skipped, and a
  // NUL byte ends the text (one in a string is refused there, as the string is then unclosed).
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
  }
  text = text.substr(0, text.find('\0'));
  padded.assign(text);
  padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  od::document doc = checked(parser.iterate(padded.data(), text.size(), padded.size()));
  const od::json_type type = checked(doc.type());
  std::optional<FieldError> damage;
  if (type == od::json_type::object || type == od::json_type::array) {
    JsonValue root(checked(doc.get_value()), 1);
    try {
      if (type != od::json_type::object) {
        root.skip();
        field_fail(std::string(not_object));
      }
      read(root);
    } catch (FieldError& e) {
      damage = std::move(e); // the text is checked to its end first: a syntax error wins
    }
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) {
      syntax(simdjson::TRAILING_CONTENT);
    }
  } else {
    check_scalar_root(doc, type, padded.data() + text.size());
    damage = FieldError{std::string(not_object)};
  }
  if (damage) {
    throw std::runtime_error(damage->what);
  }
}

std::string_view string_field(JsonValue& v, std::string_view key)
{
  if (v.kind() != JsonKind::String) {
    v.skip();
    field_fail(field_message(key, "has the wrong type"));
  }
  const std::string_view s = v.string();
  if (s.find('\0') != std::string_view::npos) {
    field_fail(field_message(key, k_holds_nul)); // "\u0000": no path, argument or name holds one
  }
  return s;
}

std::string text_field(JsonValue& v, std::string_view key)
{
  return std::string(string_field(v, key));
}

bool bool_field(JsonValue& v, std::string_view key)
{
  if (v.kind() != JsonKind::Bool) {
    v.skip();
    field_fail(field_message(key, "has the wrong type"));
  }
  return v.boolean();
}

JsonNumber integer_number(JsonValue& v, std::string_view key)
{
  if (v.kind() != JsonKind::Number) {
    v.skip();
    field_fail(field_message(key, "has the wrong type"));
  }
  const JsonNumber n = v.number();
  if (n.type == JsonNumber::Float) {
    field_fail(field_message(key, "has the wrong type")); // 1.5, 1e3: not read as 1, 1000
  }
  return n;
}

double real_field(JsonValue& v, std::string_view key)
{
  if (v.kind() != JsonKind::Number) {
    v.skip();
    field_fail(field_message(key, "has the wrong type")); // true is not 1.0
  }
  const JsonNumber n = v.number();
  switch (n.type) {
  case JsonNumber::Float:
    return n.d;
  case JsonNumber::Int:
    return static_cast<double>(n.i);
  default:
    return static_cast<double>(n.u);
  }
}

std::vector<std::string> strings_field(JsonValue& v, std::string_view key)
{
  if (v.kind() != JsonKind::Array) {
    v.skip();
    field_fail(field_message(key, "has the wrong type"));
  }
  std::vector<std::string> out;
  bool all_strings = true;
  bool nul = false;
  v.items([&](JsonValue& item) {
    if (all_strings && item.kind() == JsonKind::String) {
      nul = nul || out.emplace_back(item.string()).find('\0') != std::string::npos;
    } else {
      all_strings = false;
      item.skip();
    }
  });
  if (!all_strings) {
    field_fail(field_message(key, "has the wrong type"));
  }
  if (nul) {
    field_fail(field_message(key, k_holds_nul));
  }
  return out;
}

} // namespace pg
