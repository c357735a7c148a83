#include "support/fd_count.h"

#include <dirent.h>

#include <cstring>

namespace nethttp::testing {
namespace {

/// Entries of `path` other than "." and "..", or -1.
int count_entries(const char* path) {
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) ++count;
  }
  ::closedir(dir);
  return count;
}

}  // namespace

int count_open_fds() {
  const int entries = count_entries("/proc/self/fd");
  return entries < 0 ? -1 : entries - 1;  // the directory stream's own fd
}

int count_threads() {
  return count_entries("/proc/self/task");
}

}  // namespace nethttp::testing
