// pg-ls --events (every job's history merged, newest last) and pg-ls --prometheus (metrics in
// the Prometheus text format, for node_exporter's textfile collector). Pure functions of
// values: the caller reads the files.
#pragma once

#include "clock.h"
#include "events.h"
#include "ls_format.h"
#include "state.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// One line of a job's events.jsonl.
struct JobEvent {
  std::string job;
  WallTime at{};
  nlohmann::json event; // the whole recorded object ("event", "at", ...)
  // An exit event's record, read once with the event (exit_record_from_json); nullopt for
  // other events and for an exit line that holds no valid record.
  std::optional<ExitRecord> exit;
};

// The longest line taken for an event: the supervisor writes lines of a few KiB at most, so a
// longer one is damage (or planted), skipped unparsed so that it costs no memory.
inline constexpr size_t k_max_event_line = 1024 * 1024;

// What parse_events takes of a text beyond its whole lines, and which events.
struct EventText {
  // A tail cut by its reader: the first line, its start missing, is skipped.
  bool starts_mid_line = false;
  // A last line without its newline is read too (one being written parses only once complete).
  bool unended_last_line = false;
  // Only events of this kind when not empty; a line that does not hold it quoted is skipped
  // unparsed (most lines of a busy history are not exits).
  std::string_view kind;
};

// The events of complete lines of text (one events.jsonl file, or a part of one starting at a
// line, or as told by how), at or after since when given. Lines that do not parse, lack
// "event" or a valid "at", or are longer than k_max_event_line are skipped: a reader never
// fails on one damaged line.
std::vector<JobEvent> parse_events(std::string_view text, const std::string& job,
                                   std::optional<WallTime> since, const EventText& how = {});

// Sorts by time, oldest first; events of the same instant keep their order (per job, the
// order they were written in).
void merge_events(std::vector<JobEvent>& events);

// TIME (local) NAME EVENT DETAIL, one row per event.
std::string render_events(const std::vector<JobEvent>& events);

// A JSON array: each event's recorded object, with "schema_version" and the job's "name" first.
nlohmann::ordered_json events_json(const std::vector<JobEvent>& events);

// Every job of the state directory state_dir as Prometheus text-format metrics (# HELP / # TYPE
// once per metric; labels name="JOB",state_dir="DIR" on every series). Counters end in _total
// and times are *_timestamp_seconds, never ages: the text may sit in a textfile for a while.
std::string render_prometheus(const std::vector<ListedJob>& jobs, const std::string& state_dir);

} // namespace pg
