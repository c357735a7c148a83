// Clang thread-safety annotations (checked by clang's -Wthread-safety) and
// the annotated mutex the project uses. Without clang they compile to nothing.
#pragma once

#include <mutex>

#if defined(__clang__)
#define NETHTTP_TSA(x) __attribute__((x))
#else
#define NETHTTP_TSA(x)
#endif

#define CAPABILITY(x) NETHTTP_TSA(capability(x))
#define SCOPED_CAPABILITY NETHTTP_TSA(scoped_lockable)
#define GUARDED_BY(x) NETHTTP_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) NETHTTP_TSA(pt_guarded_by(x))
#define REQUIRES(...) NETHTTP_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) NETHTTP_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) NETHTTP_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) NETHTTP_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS NETHTTP_TSA(no_thread_safety_analysis)

namespace nethttp {

/// std::mutex with the annotations the analysis needs.
class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

/// Holds a Mutex for a scope.
class SCOPED_CAPABILITY LockGuard {
 public:
  explicit LockGuard(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~LockGuard() RELEASE() { mu_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Mutex& mu_;
};

/// Holds a Mutex for a scope, with unlock()/lock() in between; usable with
/// std::condition_variable_any.
class SCOPED_CAPABILITY UniqueLock {
 public:
  explicit UniqueLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~UniqueLock() RELEASE() {
    if (locked_) mu_.unlock();
  }
  UniqueLock(const UniqueLock&) = delete;
  UniqueLock& operator=(const UniqueLock&) = delete;
  void lock() ACQUIRE() {
    mu_.lock();
    locked_ = true;
  }
  void unlock() RELEASE() {
    locked_ = false;
    mu_.unlock();
  }

 private:
  Mutex& mu_;
  bool locked_ = true;
};

}  // namespace nethttp
