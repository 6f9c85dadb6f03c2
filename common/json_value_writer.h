// JsonWriter's calls building a nlohmann value instead of text: an object that a JSON value
// embeds (an exit event's record) is written by its one write_json, with no parser between.
#pragma once

#include "json_writer.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg {

class JsonValueWriter : public JsonCalls<JsonValueWriter> {
public:
  explicit JsonValueWriter(nlohmann::json& root) : m_root(root) {}

  void begin_object() { open(nlohmann::json::object()); }
  void end_object() { m_open.pop_back(); }
  void begin_array() { open(nlohmann::json::array()); }
  void end_array() { m_open.pop_back(); }
  JsonValueWriter& key(std::string_view k)
  {
    m_key = k;
    return *this;
  }
  void null() { put(nullptr); }
  void boolean(bool b) { put(b); }
  template <typename T> void integer(T n) { put(n); }
  void real(double d) { put(d); }
  void string(std::string_view s) { put(std::string(s)); }

private:
  // The value, as the root, an item of the open array, or the member of the open object.
  nlohmann::json& put(nlohmann::json v)
  {
    if (m_open.empty()) {
      m_root = std::move(v);
      return m_root;
    }
    nlohmann::json& in = *m_open.back();
    if (in.is_array()) {
      in.push_back(std::move(v));
      return in.back();
    }
    return in[m_key] = std::move(v);
  }
  // A container stays where it was put while it is open: nothing is added to its parent then.
  void open(nlohmann::json v) { m_open.push_back(&put(std::move(v))); }

  nlohmann::json& m_root;
  std::vector<nlohmann::json*> m_open;
  std::string m_key;
};

} // namespace pg
