// A lazy liveness deadline (--watchdog, --stall): "no sign of life for timeout means hung".
// A sign of life only records its time; the timer is armed at the next check and moved only
// when that check finds the deadline has moved, so a chatty job costs no timerfd_settime per
// ping or output chunk. Pure: every time is a CLOCK_MONOTONIC value passed in.
#pragma once

#include "clock.h"

namespace pg {

class Liveness {
public:
  // Starts watching at now with timeout (zero: not watching).
  void start(Nanos now, Nanos timeout)
  {
    m_timeout = timeout;
    m_last = now;
    m_check = Nanos(0);
  }
  void stop() { m_timeout = Nanos(0); }
  bool active() const { return m_timeout.count() > 0; }
  Nanos timeout() const { return m_timeout; }

  // A sign of life: cheap, touches no timer.
  void feed(Nanos now) { m_last = now; }

  // When to look next (zero: never). Stable between checks, whatever feed() did.
  Nanos next_check()
  {
    if (!active()) {
      return Nanos(0);
    }
    if (m_check.count() == 0) {
      m_check = m_last + m_timeout;
    }
    return m_check;
  }

  // At a timer expiry: true when timeout passed since the last sign of life; otherwise the
  // next check moves to the current deadline, if this one is due.
  bool expired(Nanos now)
  {
    if (!active()) {
      return false;
    }
    if (now >= m_last + m_timeout) {
      return true;
    }
    if (m_check.count() == 0 || now >= m_check) {
      m_check = m_last + m_timeout;
    }
    return false;
  }

private:
  Nanos m_timeout{0};
  Nanos m_last{0};
  Nanos m_check{0};
};

} // namespace pg
