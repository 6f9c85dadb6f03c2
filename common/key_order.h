// Key lookup for a one-pass JSON reader whose writer emits each object's keys sorted (pg's
// state.json is written through nlohmann::json, whose objects are std::maps): each key found
// predicts the one sorted after it, so a usual file costs one comparison per key, not a scan.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace pg {

template <size_t N> class KeyOrder {
public:
  // names: the keys the reader knows, at the indices it dispatches on (any order, no repeats).
  constexpr explicit KeyOrder(const std::array<std::string_view, N>& names) : m_names(names)
  {
    std::array<size_t, N> sorted{};
    for (size_t i = 0; i < N; ++i) {
      sorted[i] = i;
    }
    for (size_t i = 1; i < N; ++i) { // insertion sort: constexpr, and N is small
      for (size_t j = i; j > 0 && m_names[sorted[j]] < m_names[sorted[j - 1]]; --j) {
        const size_t t = sorted[j];
        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }
    }
    m_first = N > 0 ? sorted[0] : N;
    for (size_t k = 0; k < N; ++k) {
      m_after[sorted[k]] = k + 1 < N ? sorted[k + 1] : N;
    }
  }

  // One object's lookup: find() expects the key sorted after the last one found.
  class Lookup {
  public:
    constexpr explicit Lookup(const KeyOrder& order) : m_order(order), m_expect(order.m_first) {}
    // The index of key among the names, or -1 when it is none of them.
    constexpr int find(std::string_view key)
    {
      if (m_expect < N && m_order.m_names[m_expect] == key) {
        return found(m_expect);
      }
      for (size_t i = 0; i < N; ++i) {
        if (m_order.m_names[i] == key) {
          return found(i);
        }
      }
      return -1;
    }

  private:
    constexpr int found(size_t i)
    {
      m_expect = m_order.m_after[i];
      return static_cast<int>(i);
    }
    const KeyOrder& m_order;
    size_t m_expect;
  };

private:
  std::array<std::string_view, N> m_names;
  std::array<size_t, N> m_after{}; // index of the key sorted after names[i]; N after the last
  size_t m_first = N;
};

} // namespace pg
