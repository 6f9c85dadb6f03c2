// Requests from pg-ctl (and pg-run --replace) to a supervisor: a queued real-time signal whose
// value carries the request, sent through a pidfd opened only after the supervisor's identity
// (boot id, pid, start time) was checked, so a recycled pid is never hit.
#pragma once

#include "fd.h"
#include "state.h"

#include <cstdint>
#include <optional>

namespace pg {

// Ack: pg-ctl ack, the job's failures acknowledged (failures.h).
enum class Verb : uint32_t { Stop = 1, Restart = 2, Signal = 3, Ack = 4 };

struct Request {
  Verb verb = Verb::Stop;
  uint32_t arg = 0; // Stop: timeout in ms + 1 (0 = the job's own); Signal: the signal number;
                    // Restart and Ack: 0

  bool operator==(const Request&) const = default;
};

// The sigqueue(3) value carrying r: the verb in the low 4 bits, arg (28 bits at most) above.
// The signal value carrying r; arg must fit in 28 bits (k_max_request_arg).
inline constexpr uint32_t k_max_request_arg = (1U << 28) - 1;
int encode_request(const Request& r);
// nullopt for a value encode_request() cannot have written (unknown verb, bad signal number).
std::optional<Request> decode_request(int value);

// A pidfd for the recorded supervisor if it is still that process; invalid fd otherwise.
UniqueFd open_supervisor(const SupervisorRecord& rec);

// Queues the request to the supervisor behind pidfd; false with errno on failure.
bool send_request(int pidfd, const Request& r);

// Waits until the process behind pidfd exits or timeout passes; true when it exited.
bool wait_exit(int pidfd, Millis timeout);

} // namespace pg
