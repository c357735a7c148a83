#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

namespace nethttp::cli {
namespace {

constexpr std::chrono::milliseconds kPeriod{100};
constexpr int kWidth = 30;

std::string amount(std::uint64_t n, ProgressBar::Unit unit) {
  if (unit == ProgressBar::Unit::items) return std::to_string(n);
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(n);
  std::size_t i = 0;
  while (value >= 1024 && i + 1 < std::size(kUnits)) {
    value /= 1024;
    ++i;
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), i == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[i]);
  return text.data();
}

}  // namespace

ProgressBar::ProgressBar(std::uint64_t total, Unit unit) : total_(total), unit_(unit) {
  if (isatty(STDERR_FILENO) != 1) return;
  thread_ = std::jthread([this](const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      draw();
      std::this_thread::sleep_for(kPeriod);
    }
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  });
}

ProgressBar::~ProgressBar() = default;

void ProgressBar::draw() const {
  const std::uint64_t done = done_.load(std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string rate =
      seconds > 0 ? amount(static_cast<std::uint64_t>(static_cast<double>(done) / seconds), unit_) + "/s"
                  : "";
  std::string line = "\r";
  if (total_ > 0) {
    const auto filled = static_cast<int>(std::min(done, total_) * kWidth / total_);
    line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(kWidth - filled), ' ') + "] " + amount(done, unit_) + "/" +
            amount(total_, unit_);
  } else {
    line += amount(done, unit_);
  }
  std::fprintf(stderr, "%s  %s  %.1fs\033[K", line.c_str(), rate.c_str(), seconds);
  std::fflush(stderr);
}

}  // namespace nethttp::cli
