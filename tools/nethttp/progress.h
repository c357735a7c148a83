// A progress bar on stderr for long runs (bench's requests, a download to a
// file), shown only when stderr is a terminal.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stop_token>
#include <thread>

namespace nethttp::cli {

/// Redraws "[#####     ] done/total  rate  elapsed" on stderr every 100 ms
/// from its own thread while it lives, and erases it when destroyed. Does
/// nothing when stderr is not a terminal. add() may be called from any
/// thread.
class ProgressBar {
 public:
  enum class Unit : std::uint8_t { items, bytes };

  /// `total` 0: unknown (no bar, just the count and the rate).
  ProgressBar(std::uint64_t total, Unit unit);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void add(std::uint64_t n) noexcept { done_.fetch_add(n, std::memory_order_relaxed); }

 private:
  void draw() const;

  std::atomic<std::uint64_t> done_{0};
  const std::uint64_t total_;
  const Unit unit_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::jthread thread_;  ///< last: stopped and joined first
};

}  // namespace nethttp::cli
