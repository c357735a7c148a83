#include "support/scripted_server.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

namespace nethttp::testing {
namespace {

/// Whether a script can block between two passes of repeat(); without such
/// a step a repeating script would spin.
bool waits(Script::Kind kind) {
  switch (kind) {
    case Script::Kind::expect_request:
    case Script::Kind::expect_request_head:
    case Script::Kind::expect_body:
    case Script::Kind::send_slowly:
    case Script::Kind::sleep:
    case Script::Kind::stall_until_closed: return true;
    default: return false;
  }
}

void check(const Script& script) {
  const auto& actions = script.actions();
  const bool repeats = std::any_of(actions.begin(), actions.end(),
                                   [](const Script::Action& a) { return a.kind == Script::Kind::repeat; });
  const bool blocks =
      std::any_of(actions.begin(), actions.end(), [](const Script::Action& a) { return waits(a.kind); });
  if (repeats && !blocks)
    ADD_FAILURE() << "ScriptedServer: a script that repeats must contain a step that waits";
}

}  // namespace

// ---------------------------------------------------------------- Script

Script& Script::add(Action action) {
  actions_.push_back(std::move(action));
  return *this;
}

Script& Script::expect_request() {
  return add({Kind::expect_request, {}});
}
Script& Script::expect_request_head() {
  return add({Kind::expect_request_head, {}});
}
Script& Script::expect_body() {
  return add({Kind::expect_body, {}});
}
Script& Script::send(std::string bytes) {
  return add({Kind::send, std::move(bytes)});
}

Script& Script::send_slowly(std::string bytes, std::size_t piece_bytes, std::chrono::milliseconds delay) {
  return add({Kind::send_slowly, std::move(bytes), std::max<std::size_t>(piece_bytes, 1), delay});
}

Script& Script::respond(std::string body, int status) {
  std::string reply = "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Status") +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return send(std::move(reply));
}

Script& Script::close_after(std::string bytes, std::size_t n) {
  bytes.resize(std::min(n, bytes.size()));
  return send(std::move(bytes)).close();
}

Script& Script::sleep(std::chrono::milliseconds duration) {
  return add({Kind::sleep, {}, 0, duration});
}
Script& Script::stall_until_closed() {
  return add({Kind::stall_until_closed, {}});
}
Script& Script::close() {
  return add({Kind::close, {}});
}
Script& Script::shutdown_write() {
  return add({Kind::shutdown_write, {}});
}
Script& Script::reset() {
  return add({Kind::reset, {}});
}
Script& Script::repeat() {
  return add({Kind::repeat, {}});
}

// ---------------------------------------------------------------- ScriptedServer

Script ScriptedServer::ok_responder() {
  return Script().expect_request().respond("ok").repeat();
}

ScriptedServer::ScriptedServer(std::vector<Script> scripts, Script fallback)
    : ScriptedServer([scripts = std::move(scripts), fallback = std::move(fallback)](std::size_t index) {
        return index < scripts.size() ? scripts[index] : fallback;
      }) {}

ScriptedServer::ScriptedServer(ScriptFactory factory)
    : factory_(std::move(factory)),
      loop_([this](std::size_t index, ServerSocket& socket) { play(index, socket); }) {}

ScriptedServer::~ScriptedServer() {
  stop();
}

std::string ScriptedServer::url() const {
  return "http://" + host_port();
}

std::string ScriptedServer::host_port() const {
  return "127.0.0.1:" + std::to_string(port());
}

void ScriptedServer::play(std::size_t connection_index, ServerSocket& socket) {
  const Script script = factory_(connection_index);
  check(script);
  const auto& actions = script.actions();
  std::size_t exchange = 0;
  // The request of the last expect_request_head(), and its place in the log.
  std::optional<std::pair<ServerRequest, std::size_t>> head_only;

  for (std::size_t i = 0; i < actions.size() && socket.is_open(); ++i) {
    const Script::Action& action = actions[i];
    switch (action.kind) {
      case Script::Kind::expect_request:
      case Script::Kind::expect_request_head: {
        ServerRequest request;
        request.connection_index = connection_index;
        request.exchange_index = exchange;
        if (socket.read_head(request) != IoStatus::ok) return;
        if (action.kind == Script::Kind::expect_request) {
          if (socket.read_body(request) != IoStatus::ok) return;
          log_.record(std::move(request));
        } else {
          request.body_complete = false;
          const std::size_t position = log_.record(request);
          head_only.emplace(std::move(request), position);
        }
        ++exchange;
        break;
      }
      case Script::Kind::expect_body: {
        if (!head_only) {
          ADD_FAILURE() << "ScriptedServer: expect_body() without expect_request_head()";
          return;
        }
        auto [request, position] = std::move(*head_only);
        head_only.reset();
        if (socket.read_body(request) != IoStatus::ok) return;
        request.body_complete = true;
        log_.update(position, std::move(request));
        break;
      }
      case Script::Kind::send:
        if (socket.write_all(action.bytes) != IoStatus::ok) return;
        break;
      case Script::Kind::send_slowly: {
        std::string_view rest = action.bytes;
        while (!rest.empty()) {
          const std::string_view piece = rest.substr(0, action.piece_bytes);
          rest.remove_prefix(piece.size());
          if (socket.write_all(piece) != IoStatus::ok) return;
          if (!rest.empty() && !socket.sleep(action.duration)) return;
        }
        break;
      }
      case Script::Kind::sleep:
        if (!socket.sleep(action.duration)) return;
        break;
      case Script::Kind::stall_until_closed:
        if (socket.wait_for_close() != IoStatus::closed) return;
        break;
      case Script::Kind::close: socket.close(); break;
      case Script::Kind::shutdown_write: socket.shutdown_write(); break;
      case Script::Kind::reset: socket.reset(); break;
      case Script::Kind::repeat:
        i = static_cast<std::size_t>(-1);  // ++i starts over at 0
        break;
    }
  }
}

}  // namespace nethttp::testing
