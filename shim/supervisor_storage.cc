// Storage faults: the job's directory cannot be written (its filesystem is full or read-only,
// an I/O error). The job matters more than pg-run's bookkeeping, so supervision goes on:
// - events wait in memory, in order (at most k_storage_queue_lines lines or
//   k_storage_queue_bytes bytes; the ones beyond are counted as dropped);
// - the writes are retried every k_storage_retry_every on the monotonic timer (no timer is
//   armed without a fault) and at each new event;
// - pg-ls learns of the fault from the flag on the lock (storage_fault.h), which needs no disk;
// - once writing works again: the waiting events in order, a storage-recovered event saying
//   what failed and what it cost (also a marked line in the log), and state.json with
//   storage_error (kept as history).
// A storage-fault event opens the waiting events, at the time of the first failed write.
#include "clock.h"
#include "storage_fault.h"
#include "supervisor.h"

#include "say.h"

#include <system_error>
#include <thread>

namespace pg {

namespace {

// The errno text of a failed write ("No space left on device"), else the whole message.
std::string error_text(const std::exception& e)
{
  if (const auto* se = dynamic_cast<const std::system_error*>(&e)) {
    return se->code().message();
  }
  return e.what();
}

// How long pg-run, its job over, keeps trying to write what waits before it exits.
constexpr auto k_final_grace = std::chrono::seconds(5);
constexpr auto k_final_every = std::chrono::milliseconds(250);

} // namespace

void Supervisor::record_event(std::string line)
{
  if (!m_fault.active) {
    try {
      m_events.append_line(line);
      return;
    } catch (const std::exception& e) {
      storage_failed(e, false, &line); // queues the line, then the storage-fault event
    }
  } else {
    queue_event(std::move(line));
  }
  storage_retry(); // each new event is a chance the fault has cleared
}

void Supervisor::queue_event(std::string line)
{
  StorageFault& f = *m_pub.storage_error;
  if (m_fault.queue.size() >= k_storage_queue_lines ||
      m_fault.queue_bytes + line.size() > k_storage_queue_bytes) {
    ++f.events_dropped;
  } else {
    ++f.events_queued;
    m_fault.queue_bytes += line.size();
    m_fault.queue.push_back(std::move(line));
  }
}

void Supervisor::storage_failed(const std::exception& e, bool state_write, std::string* failed_line)
{
  m_fault.retry_at_mono = monotonic_now() + k_storage_retry_every;
  if (m_fault.active) {
    if (state_write) {
      ++m_pub.storage_error->state_writes_failed;
    }
    if (failed_line != nullptr) {
      queue_event(std::move(*failed_line));
    }
    return;
  }
  // A new fault.
  m_fault.active = true;
  StorageFault f;
  f.error = error_text(e);
  f.since = wall_now();
  f.state_writes_failed = state_write ? 1 : 0;
  m_pub.storage_error = f;
  set_storage_flag(m_lock.get(), true);
  if (m_foreground) {
    say("{}: cannot write to {}: {}: recording suspended, events held in memory until "
        "writing works again",
        m_opt.name, m_job.path(), e.what());
  }
  nlohmann::json ev = ev::StorageFault{f.error, e.what()};
  ev["at"] = format_rfc3339(f.since);
  m_log.mark(log_line(ev)); // the log may be elsewhere, and writable
  if (failed_line != nullptr) {
    // Its time is before f.since: events.jsonl stays in time order.
    queue_event(std::move(*failed_line));
  }
  const std::string line = dump_line(ev) + "\n";
  m_fault.queue_bytes += line.size();
  m_fault.queue.push_back(line);
}

void Supervisor::storage_retry()
{
  if (!m_fault.active || m_fault.retrying) {
    return;
  }
  m_fault.retrying = true;
  m_fault.retry_at_mono = monotonic_now() + k_storage_retry_every;
  try {
    while (!m_fault.queue.empty()) {
      m_events.append_line(m_fault.queue.front());
      m_fault.queue_bytes -= m_fault.queue.front().size();
      m_fault.queue.pop_front();
    }
    // The state as it is now (still saying the fault lasts): proves state.json can be written.
    m_pub.updated_at = wall_now();
    m_job.write_state(m_pub);
  } catch (const std::exception&) {
    m_fault.retrying = false;
    return; // next time: the timer is set
  }
  m_fault.retrying = false;
  m_fault.active = false;
  m_fault.retry_at_mono = Nanos(0);
  StorageFault& f = *m_pub.storage_error;
  f.until = wall_now();
  set_storage_flag(m_lock.get(), false);
  const auto lasted = std::chrono::duration_cast<Millis>(*f.until - f.since);
  if (m_foreground) {
    say("{}: writing to {} works again after {}: recording resumed", m_opt.name, m_job.path(),
        format_duration(lasted));
  }
  event(ev::StorageRecovered{f, static_cast<double>(lasted.count()) / 1000.0});
  publish();
}

void Supervisor::fatal(const std::string& error) noexcept
{
  try {
    event(ev::SupervisorError{error});
    storage_final_flush();
  } catch (...) {
    // Nowhere left to say it.
  }
}

void Supervisor::storage_final_flush()
{
  // The job is over: what waits (its end above all) gets a few more tries, then pg-run exits;
  // if the fault outlasts them, the end is unrecorded and readers show the job lost.
  const auto give_up = std::chrono::steady_clock::now() + k_final_grace;
  while (m_fault.active && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(k_final_every);
    storage_retry();
  }
  if (m_fault.active && m_foreground) {
    say("{}: {} still cannot be written: {} events and the job's end are unrecorded", m_opt.name,
        m_job.path(), m_fault.queue.size());
  }
}

} // namespace pg
