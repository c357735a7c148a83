// Helpers of the pool tests: a recorder of trace events and request
// builders. The leak-checked fixture, bounded waits, the fake clock and the
// dialers are shared with the other tests (tests/support/).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nethttp/request.h"
#include "nethttp/response.h"
#include "nethttp/trace.h"
#include "nethttp/transport.h"
#include "support/dialers.h"
#include "support/fake_clock.h"
#include "support/leak_check.h"
#include "support/printers.h"
#include "support/wait.h"

/// Fails the test (and returns) unless `result` holds a value; shows the error.
#define ASSERT_OK(result) ASSERT_TRUE((result).ok()) << (result).error().message()

namespace nethttp::testing {

using namespace std::chrono_literals;

/// Records trace events as text, in the order they happened (the hooks run
/// on requesting and dial threads, never concurrently for one request).
class TraceLog {
 public:
  static Trace hooks(const std::shared_ptr<TraceLog>& log) {
    Trace t;
    t.get_conn = [log](std::string_view key) { log->add("get_conn " + std::string(key)); };
    t.got_conn = [log](std::uint64_t id, bool reused, bool was_idle, std::chrono::nanoseconds idle) {
      {
        const std::lock_guard lock(log->mu_);
        log->idle_times_.push_back(idle);
      }
      log->add("got_conn " + std::to_string(id) + (reused ? " reused" : " new") + (was_idle ? " idle" : ""));
    };
    t.put_idle = [log](std::uint64_t id) { log->add("put_idle " + std::to_string(id)); };
    t.dns_start = [log](std::string_view host) { log->add("dns_start " + std::string(host)); };
    t.dns_done = [log](std::string_view host, const Error* e) {
      log->add("dns_done " + std::string(host) + (e != nullptr ? " error" : ""));
    };
    t.connect_start = [log](std::string_view address) { log->add("connect_start " + std::string(address)); };
    t.connect_done = [log](std::string_view address, const Error* e) {
      log->add("connect_done " + std::string(address) + (e != nullptr ? " error" : ""));
    };
    t.wrote_headers = [log](std::uint64_t id) { log->add("wrote_headers " + std::to_string(id)); };
    t.wrote_request = [log](std::uint64_t id, const Error* e) {
      log->add("wrote_request " + std::to_string(id) + (e != nullptr ? " error" : ""));
    };
    t.got_first_response_byte = [log](std::uint64_t id) {
      log->add("got_first_response_byte " + std::to_string(id));
    };
    t.conn_closed = [log](std::uint64_t id, CloseReason why) {
      {
        const std::lock_guard lock(log->mu_);
        log->closed_.emplace_back(id, why);
      }
      log->add("conn_closed " + std::to_string(id) + " " + std::string(to_string(why)));
    };
    return t;
  }

  [[nodiscard]] std::vector<std::string> events() const {
    const std::lock_guard lock(mu_);
    return events_;
  }
  /// Events of one kind (the text up to the first space), in order.
  [[nodiscard]] std::vector<std::string> events(std::string_view kind) const {
    std::vector<std::string> out;
    for (const std::string& e : events()) {
      if (e.substr(0, e.find(' ')) == kind) out.push_back(e);
    }
    return out;
  }
  [[nodiscard]] std::vector<std::pair<std::uint64_t, CloseReason>> closed() const {
    const std::lock_guard lock(mu_);
    return closed_;
  }
  [[nodiscard]] std::vector<std::chrono::nanoseconds> idle_times() const {
    const std::lock_guard lock(mu_);
    return idle_times_;
  }
  void clear() {
    const std::lock_guard lock(mu_);
    events_.clear();
    closed_.clear();
    idle_times_.clear();
  }

 private:
  void add(std::string event) {
    const std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }

  mutable std::mutex mu_;  // guards the following fields
  std::vector<std::string> events_;
  std::vector<std::pair<std::uint64_t, CloseReason>> closed_;
  std::vector<std::chrono::nanoseconds> idle_times_;
};

/// Transport options: the defaults, then `edit` (designated initializers
/// would warn about every field left out).
template <class Edit>
TransportOptions options(Edit&& edit) {
  TransportOptions o;
  edit(o);
  return o;
}

/// A request for round_trip(); `edit` sets deadline, cancel, headers...
inline std::shared_ptr<const Request> make_req(std::string method, const std::string& url,
                                               RequestBody body = {},
                                               const std::function<void(Request&)>& edit = {}) {
  Result<Request> request = make_request(std::move(method), url, std::move(body));
  if (!request) {
    ADD_FAILURE() << request.error().message();
    return std::make_shared<const Request>();
  }
  if (edit) edit(*request);
  return std::make_shared<const Request>(std::move(*request));
}

inline std::shared_ptr<const Request> get_req(const std::string& url,
                                              const std::function<void(Request&)>& edit = {}) {
  return make_req("GET", url, {}, edit);
}

/// Reads the rest of a response's body; "<error: ...>" if that fails.
inline std::string read_body(Response& response) {
  Result<std::string> body = response.body.read_all();
  return body ? *body : "<error: " + body.error().message() + ">";
}

}  // namespace nethttp::testing
