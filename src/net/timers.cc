#include "net/timers.h"

namespace nethttp::net {

Timers& Timers::shared() {
  // Never destroyed: dial threads and bodies may still use it while the
  // process exits, and a running thread must not be destroyed.
  static Timers* const timers = new Timers();
  return *timers;
}

Timers::Timers() {
  std::thread thread([this] { run(); });
  thread_id_ = thread.get_id();
  thread.detach();
}

Timers::Id Timers::schedule(Clock::time_point when, std::function<void()> fn) {
  const LockGuard lock(mu_);
  const Id id = next_id_++;
  const bool earliest = queue_.empty() || when < queue_.begin()->first.first;
  queue_.emplace(std::pair(when, id), std::move(fn));
  when_.emplace(id, when);
  if (earliest) wake_.notify_one();
  return id;
}

void Timers::cancel(Id id) {
  UniqueLock lock(mu_);
  if (const auto it = when_.find(id); it != when_.end()) {
    queue_.erase(std::pair(it->second, id));
    when_.erase(it);
    return;
  }
  if (std::this_thread::get_id() == thread_id_) return;
  ran_.wait(lock, [&]() REQUIRES(mu_) { return running_ != id; });
}

void Timers::run() {
  UniqueLock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto first = queue_.begin();
    // A copy: the entry may be cancelled (erased) while this thread waits.
    const Clock::time_point when = first->first.first;
    if (when > Clock::now()) {
      wake_.wait_until(lock, when);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    running_ = first->first.second;
    when_.erase(running_);
    queue_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
    running_ = 0;
    ran_.notify_all();
  }
}

}  // namespace nethttp::net
