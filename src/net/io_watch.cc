#include "net/io_watch.h"

#include <utility>

namespace nethttp::net {

IoWatch::IoWatch(int fd, std::optional<Clock::time_point> deadline, std::stop_token cancel) : fd_(fd) {
  if (deadline) timer_ = Timers::shared().schedule(*deadline, [this] { fire(Fired::deadline); });
  if (cancel.stop_possible()) on_stop_.emplace(std::move(cancel), OnStop{this});
}

IoWatch::~IoWatch() {
  disarm();
}

void IoWatch::disarm() noexcept {
  on_stop_.reset();
  if (timer_ != 0) Timers::shared().cancel(std::exchange(timer_, 0));
}

void IoWatch::fire(Fired why) noexcept {
  Fired expected = Fired::none;
  if (fired_.compare_exchange_strong(expected, why, std::memory_order_acq_rel)) interrupt(fd_);
}

}  // namespace nethttp::net
