// A doubly linked list threaded through its elements: O(1) insert and
// remove, no allocation (the idle pool's lists).
#pragma once

#include <cassert>
#include <cstddef>

namespace nethttp::pool {

/// The links an element carries for one list it can be in.
struct ListLink {
  ListLink* prev = nullptr;
  ListLink* next = nullptr;
  void* element = nullptr;  ///< the element this link belongs to, while linked
  [[nodiscard]] bool linked() const noexcept { return prev != nullptr; }
};

/// A list of T linked through the member `Link`. It does not own its
/// elements; an element is in at most one list per link member.
template <class T, ListLink T::*Link>
class IntrusiveList {
 public:
  IntrusiveList() noexcept { head_.prev = head_.next = &head_; }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  [[nodiscard]] bool empty() const noexcept { return head_.next == &head_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] T* front() const noexcept { return empty() ? nullptr : owner(head_.next); }
  [[nodiscard]] T* back() const noexcept { return empty() ? nullptr : owner(head_.prev); }
  /// The element after `t`, or null.
  [[nodiscard]] T* next(T* t) const noexcept {
    ListLink* n = (t->*Link).next;
    return n == &head_ ? nullptr : owner(n);
  }

  void push_back(T* t) noexcept {
    ListLink& l = t->*Link;
    assert(!l.linked());
    l.element = t;
    l.prev = head_.prev;
    l.next = &head_;
    head_.prev->next = &l;
    head_.prev = &l;
    ++size_;
  }
  void remove(T* t) noexcept {
    ListLink& l = t->*Link;
    assert(l.linked());
    l.prev->next = l.next;
    l.next->prev = l.prev;
    l.prev = l.next = nullptr;
    l.element = nullptr;
    --size_;
  }

 private:
  static T* owner(ListLink* l) noexcept { return static_cast<T*>(l->element); }

  ListLink head_;
  std::size_t size_ = 0;
};

}  // namespace nethttp::pool
