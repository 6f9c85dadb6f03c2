// json_reader: JSON text read as nlohmann reads it (grammar, number types, what it refuses),
// every value checked, and an object's fields read by name with the first damage reported.
#include "json_reader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pg {
namespace {

// What read_json_object says of text: "" when it reads (read sees the root object), the
// damage, or "syntax: " and simdjson's reason.
std::string outcome(
    const std::string& text,
    const std::function<void(JsonValue&)>& read = [](JsonValue& v) { v.skip(); })
{
  try {
    read_json_object(text, "not an object", read);
  } catch (const JsonSyntaxError& e) {
    return std::string("syntax: ") + e.what();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool refused_as_syntax(const std::string& text)
{
  return outcome(text).starts_with("syntax: ");
}

TEST(JsonNumber, TypesNumbersAsNlohmannDoes)
{
  for (const char* text : {"0",
                           "-0",
                           "1",
                           "-1",
                           "42",
                           "999999999999999999",
                           "1000000000000000000",
                           "9223372036854775807",
                           "-9223372036854775808",
                           "9223372036854775808",
                           "18446744073709551615",
                           "18446744073709551616",
                           "-9223372036854775809",
                           "1.5",
                           "-0.0",
                           "1e3",
                           "1E3",
                           "1e-3",
                           "2.5e+10",
                           "1e-400",
                           "4.9e-324",
                           "123456789012345678901234567890"}) {
    const auto n = json_number(text);
    ASSERT_TRUE(n.has_value()) << text;
    const nlohmann::json j = nlohmann::json::parse(text);
    switch (n->type) {
    case JsonNumber::Int:
      EXPECT_TRUE(j.is_number_integer() && !j.is_number_unsigned()) << text;
      EXPECT_EQ(n->i, j.get<int64_t>()) << text;
      break;
    case JsonNumber::Uint:
      EXPECT_TRUE(j.is_number_unsigned()) << text;
      EXPECT_EQ(n->u, j.get<uint64_t>()) << text;
      break;
    case JsonNumber::Float:
      EXPECT_TRUE(j.is_number_float()) << text;
      EXPECT_EQ(n->d, j.get<double>()) << text;
      break;
    }
  }
}

TEST(JsonNumber, RefusesWhatJsonsGrammarRefuses)
{
  for (const char* text : {"", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "0x10", " 1", "1 ",
                           "1.5.2", "--1", "1e400", "-1e400", "NaN", "Infinity"}) {
    EXPECT_FALSE(json_number(text).has_value()) << text;
    EXPECT_TRUE(nlohmann::json::parse(text, nullptr, false).is_discarded() ||
                std::string(text) == " 1" || std::string(text) == "1 ")
        << text;
  }
}

TEST(ReadJsonObject, RefusesWhatIsNotJsonAsNlohmannDoes)
{
  const std::vector<std::string> texts{"",
                                       " ",
                                       "{",
                                       "}",
                                       "{\"a\"}",
                                       "{\"a\":}",
                                       "{\"a\":1,}",
                                       "{\"a\" 1}",
                                       "{\"a\":1}}",
                                       "{\"a\":1}]",
                                       "{\"a\":1} x",
                                       "{\"a\":1}{}",
                                       "{\"a\":[1}",
                                       "{\"a\":[1,]}",
                                       "{\"a\":tru}",
                                       "{\"a\":nul}",
                                       "{\"a\":nulll}",
                                       "{\"a\":falsey}",
                                       "{\"a\":01}",
                                       "{\"a\":1e400}",
                                       "{\"a\":\"\\x\"}",
                                       "{\"a\":\"\\ud800\"}",
                                       "{\"a\":\"tab\there\"}",
                                       "{\"a\":\"\xC3(\"}",
                                       "{\"a\":\"\xED\xA0\x80\"}",
                                       "{'a':1}",
                                       "\"s\":1",
                                       "1 2",
                                       "[1]]"};
  for (const auto& text : texts) {
    EXPECT_TRUE(nlohmann::json::parse(text, nullptr, false).is_discarded()) << text;
    EXPECT_TRUE(refused_as_syntax(text)) << text << ": " << outcome(text);
  }
}

TEST(ReadJsonObject, ReadsWhatNlohmannReads)
{
  EXPECT_EQ(outcome("{}"), "");
  EXPECT_EQ(outcome(" \n\t{\"a\" : [1, -2.5e3, \"x\", true, false, null, {}, []]}\r\n"), "");
  EXPECT_EQ(outcome("\xEF\xBB\xBF{\"a\":1}"), "");               // a byte order mark is skipped
  EXPECT_EQ(outcome(std::string("{\"a\":1}\0garbage", 16)), ""); // a NUL ends the text
  EXPECT_TRUE(refused_as_syntax(std::string("{\"a\":\"x\0y\"}", 11))); // not in a string
  EXPECT_EQ(outcome("{\"a\":\"\\u00e9\\ud83d\\ude00\\/\\\"\"}"), "");
}

TEST(ReadJsonObject, ARootOfAnotherKindIsDamageOnceTheTextIsJson)
{
  for (const char* text : {"[]", "[1,{}]", "1", "-2.5", "\"x\"", "true", "null", " null "}) {
    EXPECT_EQ(outcome(text), "not an object") << text;
  }
  for (const char* text : {"[1,", "\"x", "nul", "1x", "tru", "\"x\" 1", "null null"}) {
    EXPECT_TRUE(refused_as_syntax(text)) << text << ": " << outcome(text);
  }
}

TEST(ReadJsonObject, RefusesNestingDeeperThanItsLimit)
{
  auto nested = [](int depth) {
    return "{\"a\":" + std::string(static_cast<size_t>(depth), '[') +
           std::string(static_cast<size_t>(depth), ']') + "}";
  };
  // The root object is at depth 1, "a"'s array at 2: the innermost array at depth + 1.
  EXPECT_EQ(outcome(nested(k_max_json_depth - 1)), "");
  EXPECT_NE(outcome(nested(k_max_json_depth)).find("nested deeper than"), std::string::npos);
  EXPECT_NE(outcome(nested(100'000)).find("nested deeper than"), std::string::npos);
}

TEST(ReadJsonObject, ASyntaxErrorWinsOverTheDamageOfAField)
{
  const auto read = [](JsonValue& v) {
    v.skip();
    field_fail("field 'x' has the wrong type");
  };
  EXPECT_EQ(outcome("{\"x\":1}", read), "field 'x' has the wrong type");
  EXPECT_TRUE(outcome("{\"x\":1} {}", read).starts_with("syntax: "));
}

constexpr std::array<std::string_view, 3> k_names{"first", "second", "third"};
constexpr KeyOrder<3> k_order{k_names};

// The fields of text's object: each an integer; first and third required.
std::string fields_outcome(const std::string& text)
{
  return outcome(text, [](JsonValue& v) {
    JsonFields<3> fields(k_names, k_order);
    fields.read(v, [](size_t, std::string_view key, JsonValue& x) {
      (void)integer_field<unsigned>(x, key);
    });
    fields.check(field_bit(0) | field_bit(2));
  });
}

TEST(JsonFields, ReportsTheFirstDamageInTheirOrderNotTheTexts)
{
  EXPECT_EQ(fields_outcome(R"({"first":1,"third":3,"other":{"x":[]}})"), "");
  EXPECT_EQ(fields_outcome(R"({"third":"x","second":-1,"first":1})"),
            "field 'second' is out of range");
  EXPECT_EQ(fields_outcome(R"({"third":1.5,"first":1})"), "field 'third' has the wrong type");
  EXPECT_EQ(fields_outcome(R"({"third":3,"second":true})"), "missing field 'first'");
  EXPECT_EQ(fields_outcome(R"({"first":1})"), "missing field 'third'");
}

TEST(JsonFields, ARepeatedKeyCountsByItsLastOccurrence)
{
  EXPECT_EQ(fields_outcome(R"({"first":"x","third":3,"first":1})"), "");
  EXPECT_EQ(fields_outcome(R"({"first":1,"third":3,"first":"x"})"),
            "field 'first' has the wrong type");
  EXPECT_EQ(fields_outcome(R"({"first":"x","third":3,"first":-1})"),
            "field 'first' is out of range");
}

TEST(JsonFields, TypedReadsNameTheField)
{
  auto one = [](const std::string& value, const std::function<void(JsonValue&)>& read) {
    return outcome("{\"k\":" + value + "}", [&](JsonValue& v) {
      // The object is read whole before its damage is told, as JsonFields does.
      std::optional<FieldError> damage;
      v.members([&](std::string_view, JsonValue& x) {
        try {
          read(x);
        } catch (FieldError& e) {
          damage = std::move(e);
        }
      });
      if (damage) {
        field_fail(damage->what);
      }
    });
  };
  const auto text = [](JsonValue& x) { (void)text_field(x, "k"); };
  const auto flag = [](JsonValue& x) { (void)bool_field(x, "k"); };
  const auto real = [](JsonValue& x) { (void)real_field(x, "k"); };
  const auto strings = [](JsonValue& x) { (void)strings_field(x, "k"); };
  const auto small = [](JsonValue& x) { (void)integer_field<int8_t>(x, "k"); };
  EXPECT_EQ(one("\"x\"", text), "");
  EXPECT_EQ(one("1", text), "field 'k' has the wrong type");
  EXPECT_EQ(one("false", flag), "");
  EXPECT_EQ(one("0", flag), "field 'k' has the wrong type");
  EXPECT_EQ(one("7", real), "");
  EXPECT_EQ(one("-7.5e-3", real), "");
  EXPECT_EQ(one("true", real), "field 'k' has the wrong type");
  EXPECT_EQ(one("[\"a\",\"\"]", strings), "");
  EXPECT_EQ(one("[\"a\",1]", strings), "field 'k' has the wrong type");
  EXPECT_EQ(one("\"a\"", strings), "field 'k' has the wrong type");
  // An escaped NUL byte is valid JSON, but no value pg writes holds one (a path, an argument, an
  // environment entry): read back, it would end that value early wherever it is used as a C string.
  EXPECT_EQ(one("\"a\\u0000b\"", text), "field 'k' holds a NUL byte");
  EXPECT_EQ(one("[\"a\",\"\\u0000\"]", strings), "field 'k' holds a NUL byte");
  EXPECT_EQ(one("[\"\\u0000\",1]", strings), "field 'k' has the wrong type");
  EXPECT_EQ(one("-128", small), "");
  EXPECT_EQ(one("128", small), "field 'k' is out of range");
  EXPECT_EQ(one("1.0", small), "field 'k' has the wrong type");
  EXPECT_EQ(one("null", small), "field 'k' has the wrong type");
  // The damaged value is still read to its end: what follows it is read, and checked.
  EXPECT_TRUE(one("[\"a\",1,tru]", strings).starts_with("syntax: "));
}

} // namespace
} // namespace pg
