// Environment variables changed for one scope and restored after it.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nethttp::testing {

/// Unsets the variables named at construction, lets set()/unset() change
/// others, and restores every one it touched to its earlier value (or
/// absence) when destroyed. Not thread-safe, as the environment is not.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::vector<std::string>& cleared = {}) {
    for (const std::string& name : cleared) unset(name);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

  void set(const std::string& name, const std::string& value) {
    save(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    save(name);
    ::unsetenv(name.c_str());
  }

 private:
  void save(const std::string& name) {
    for (const auto& [saved, value] : saved_) {
      if (saved == name) return;
    }
    const char* value = std::getenv(name.c_str());
    saved_.emplace_back(name, value == nullptr ? std::nullopt : std::optional<std::string>(value));
  }

  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

/// What `action()` returns when run with `name` set to `value`; the
/// variable is restored after it, e.g. a harness's start() with its program
/// variable pointing at a missing binary.
template <typename Action>
auto with_env(const std::string& name, const std::string& value, Action&& action) {
  ScopedEnv env;
  env.set(name, value);
  return std::forward<Action>(action)();
}

}  // namespace nethttp::testing
