// Helpers shared by the cgroup*.cc files; not part of the API.
#pragma once

#include "cgroup.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg::cgroup_detail {

// mkdir/rmdir through the test seam.
int fs_mkdir(const std::string& path, mode_t mode);
int fs_rmdir(const std::string& path);

// Reads DIR/FILE whole; nullopt when it cannot be read (its errno in *err when given).
std::optional<std::string> read_text(const std::string& dir, std::string_view file,
                                     int* err = nullptr);
// Writes value to DIR/FILE (no O_CREAT: a control file exists or the kernel lacks it); "" or
// "write DIR/FILE: strerror" (its errno in *err when given).
std::string write_text(const std::string& dir, std::string_view file, std::string_view value,
                       int* err = nullptr);
bool file_exists(const std::string& dir, std::string_view file);
// The words of a space-separated line ("cpu memory pids\n").
std::vector<std::string> split_words(std::string_view text);
// The decimal numbers of a file of one per line (cgroup.procs).
std::vector<pid_t> parse_pid_lines(std::string_view text);

} // namespace pg::cgroup_detail
