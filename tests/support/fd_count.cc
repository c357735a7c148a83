#include "support/fd_count.h"

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>

namespace nethttp::testing {
namespace {

bool is_dot(const char* name) {
  return std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0;
}

/// Entries of `path` other than "." and "..", or -1.
int count_entries(const char* path) {
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (!is_dot(entry->d_name)) ++count;
  }
  ::closedir(dir);
  return count;
}

}  // namespace

int count_open_fds() {
  const int entries = count_entries("/proc/self/fd");
  return entries < 0 ? -1 : entries - 1;  // the directory stream's own fd
}

FdSnapshot open_fds() {
  FdSnapshot fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    if (is_dot(entry->d_name)) continue;
    const int fd = std::atoi(entry->d_name);
    if (fd == own) continue;
    std::array<char, 256> target{};
    const ssize_t n = ::readlinkat(own, entry->d_name, target.data(), target.size() - 1);
    fds.emplace(fd, n > 0 ? std::string(target.data(), static_cast<std::size_t>(n)) : std::string("?"));
  }
  ::closedir(dir);
  return fds;
}

FdSnapshot opened_since(const FdSnapshot& before, const FdSnapshot& now) {
  FdSnapshot opened;
  for (const auto& [fd, target] : now) {
    const auto was = before.find(fd);
    if (was == before.end() || was->second != target) opened.emplace(fd, target);
  }
  return opened;
}

std::string describe(const FdSnapshot& fds) {
  std::string out;
  for (const auto& [fd, target] : fds) {
    if (!out.empty()) out += ", ";
    out += std::to_string(fd) + " -> " + target;
  }
  return out;
}

int count_threads() {
  return count_entries("/proc/self/task");
}

}  // namespace nethttp::testing
