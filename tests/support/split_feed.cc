#include "support/split_feed.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <sstream>

#include <gtest/gtest.h>

#include "base/quote.h"

namespace nethttp::testing {
namespace {

using codec::ParseEvent;
using codec::ParseStep;
using codec::ResponseParser;

/// At most this many differing transcripts are reported per parsegrind, so
/// one bug does not bury the output under hundreds of identical failures.
constexpr int kMaxReportedMismatches = 3;
/// Above this size parsegrind splits at a stride instead of at every offset.
constexpr std::size_t kEveryOffsetUpToBytes = 4096;

/// Whether `view` lies within [begin, begin + size). Empty views point anywhere.
bool is_inside(std::string_view view, const char* begin, std::size_t size) {
  if (view.empty()) return true;
  const auto lo = reinterpret_cast<std::uintptr_t>(begin);
  const auto p = reinterpret_cast<std::uintptr_t>(view.data());
  return p >= lo && p + view.size() <= lo + size;
}

Fields copy_fields(const std::vector<codec::FieldView>& fields) {
  Fields out;
  out.reserve(fields.size());
  for (const codec::FieldView& f : fields) out.emplace_back(std::string(f.name), std::string(f.value));
  return out;
}

HeadRecord record_head(const codec::ResponseHead& h) {
  HeadRecord r;
  r.version_minor = h.version_minor;
  r.status = h.status;
  r.reason = std::string(h.reason);
  r.fields = copy_fields(h.fields);
  r.connection_close = h.connection_close;
  r.connection_keep_alive = h.connection_keep_alive;
  r.persistent = h.persistent();
  r.framing = h.framing;
  return r;
}

std::string_view event_name(ParseEvent e) {
  switch (e) {
    case ParseEvent::need_more: return "need_more";
    case ParseEvent::interim: return "interim";
    case ParseEvent::head: return "head";
    case ParseEvent::body: return "body";
    case ParseEvent::done: return "done";
  }
  return "?";
}

/// Feeds a stream of responses through one parser; see feed_pieces_stream().
class Feeder {
 public:
  Feeder(const std::vector<std::string>& pieces, const FeedOptions& options)
      : pieces_(pieces), options_(options), parser_(options.limits) {
    std::size_t total = 0;
    for (const std::string& p : pieces_) total += p.size();
    // Every step must consume a byte, report an event, or ask for the next
    // piece; a generous multiple of that is "stuck".
    max_steps_ = 8 * total + 4 * pieces_.size() + 64 * (options_.methods.size() + 1);
  }

  std::vector<Transcript> run() {
    std::vector<Transcript> out;
    for (const std::string& method : options_.methods) {
      out.push_back(run_one(method));
      if (out.back().outcome != Outcome::done) break;
    }
    return out;
  }

 private:
  void violation(Transcript& t, std::string what) {
    std::ostringstream s;
    s << "step " << steps_ << ": " << what;
    t.violations.push_back(s.str());
  }

  void check_views(Transcript& t, const std::vector<codec::FieldView>& fields, std::string_view what) {
    for (const codec::FieldView& f : fields) {
      if (!is_inside(f.name, buf_.data(), buf_.size()) || !is_inside(f.value, buf_.data(), buf_.size())) {
        violation(t, std::string(what) + " field '" + escape(f.name) + "' is not a view into the input");
      }
    }
  }

  void record_done(Transcript& t) {
    check_views(t, parser_.trailers(), "trailer");
    t.trailers = copy_fields(parser_.trailers());
    if (!parser_.is_done()) violation(t, "is_done() is false after done");
    if (parser_.body_bytes() != t.body.size()) {
      violation(t, "body_bytes() is " + std::to_string(parser_.body_bytes()) + " but " +
                       std::to_string(t.body.size()) + " body bytes were handed out");
    }
    t.outcome = Outcome::done;
  }

  void record_error(Transcript& t, const Error& e) {
    t.outcome = Outcome::error;
    t.error = e.kind();
    t.error_message = e.message();
  }

  std::string unconsumed() const {
    std::string rest = buf_;
    for (std::size_t i = next_; i < pieces_.size(); ++i) rest += pieces_[i];
    return rest;
  }

  Transcript run_one(const std::string& method) {
    Transcript t;
    parser_.begin(method);
    for (;;) {
      if (++steps_ > max_steps_) {
        t.outcome = Outcome::stuck;
        violation(t, "no progress: the parser keeps returning steps without consuming input");
        return t;
      }
      Result<ParseStep> r = parser_.parse(std::span<char>(buf_.data(), buf_.size()));
      if (!r.ok()) {
        record_error(t, r.error());
        return t;
      }
      const ParseStep step = *r;
      if (step.consumed > buf_.size()) {
        violation(
            t, "consumed " + std::to_string(step.consumed) + " of " + std::to_string(buf_.size()) + " bytes");
      }
      const std::size_t consumed = std::min(step.consumed, buf_.size());
      if (step.event != ParseEvent::body && !step.body.empty()) {
        violation(t, std::string(event_name(step.event)) + " step carries body bytes");
      }
      switch (step.event) {
        case ParseEvent::interim:
          check_views(t, parser_.head().fields, "interim");
          t.interim.push_back(InterimRecord{parser_.head().status, copy_fields(parser_.head().fields)});
          if (t.head) violation(t, "interim head after the final head");
          break;
        case ParseEvent::head:
          check_views(t, parser_.head().fields, "head");
          if (!is_inside(parser_.head().reason, buf_.data(), buf_.size())) {
            violation(t, "reason is not a view into the input");
          }
          if (t.head) violation(t, "a second final head");
          t.head = record_head(parser_.head());
          break;
        case ParseEvent::body:
          if (!is_inside(step.body, buf_.data(), consumed)) {
            violation(t, "body view is not inside the consumed bytes");
          }
          if (!t.head) violation(t, "body before the head");
          t.body.append(step.body);
          break;
        case ParseEvent::done:
          if (!t.head) violation(t, "done before the head");
          record_done(t);
          break;
        case ParseEvent::need_more: break;
      }
      buf_.erase(0, consumed);
      if (step.event == ParseEvent::done) {
        t.leftover = unconsumed();
        return t;
      }
      if (step.event != ParseEvent::need_more) continue;
      if (next_ < pieces_.size()) {
        buf_ += pieces_[next_++];
        continue;
      }
      if (!options_.finish_at_eof) {
        t.outcome = Outcome::need_more;
        return t;
      }
      Result<ParseStep> f = parser_.finish();
      if (!f.ok()) {
        record_error(t, f.error());
        return t;
      }
      if (f->event != ParseEvent::done) {
        violation(t, "finish() returned " + std::string(event_name(f->event)));
        t.outcome = Outcome::stuck;
        return t;
      }
      record_done(t);
      t.leftover = unconsumed();
      return t;
    }
  }

  const std::vector<std::string>& pieces_;
  const FeedOptions& options_;
  ResponseParser parser_;
  std::string buf_;        // unconsumed bytes, as a connection's read buffer
  std::size_t next_ = 0;   // the next piece to append
  std::size_t steps_ = 0;  // parse() calls so far
  std::size_t max_steps_ = 0;
};

std::string describe(const std::vector<Transcript>& ts) {
  std::ostringstream s;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (ts.size() > 1) s << "\n  [response " << i << "]";
    PrintTo(ts[i], &s);
  }
  return s.str();
}

void expect_no_violations(const std::vector<Transcript>& ts, std::string_view how, std::string_view bytes) {
  for (const Transcript& t : ts) {
    for (const std::string& v : t.violations) {
      ADD_FAILURE() << "feeding " << how << ": " << v << "\n  input: \"" << escape(bytes) << "\"";
    }
  }
}

}  // namespace

std::vector<Transcript> feed_pieces_stream(const std::vector<std::string>& pieces,
                                           const FeedOptions& options) {
  return Feeder(pieces, options).run();
}

Transcript feed_pieces(const std::vector<std::string>& pieces, const FeedOptions& options) {
  FeedOptions first = options;
  first.methods.resize(1, "GET");
  return feed_pieces_stream(pieces, first).front();
}

Transcript feed_whole(std::string_view bytes, const FeedOptions& options) {
  return feed_pieces({std::string(bytes)}, options);
}

Transcript feed_split(std::string_view bytes, std::size_t at, const FeedOptions& options) {
  at = std::min(at, bytes.size());
  return feed_pieces({std::string(bytes.substr(0, at)), std::string(bytes.substr(at))}, options);
}

Transcript feed_in_pieces_of(std::string_view bytes, std::size_t size, const FeedOptions& options) {
  size = std::max<std::size_t>(size, 1);
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < bytes.size(); i += size) pieces.emplace_back(bytes.substr(i, size));
  return feed_pieces(pieces, options);
}

Transcript feed_bytewise(std::string_view bytes, const FeedOptions& options) {
  return feed_in_pieces_of(bytes, 1, options);
}

std::vector<Transcript> parsegrind_stream(std::string_view bytes, const FeedOptions& options) {
  const std::vector<Transcript> whole = feed_pieces_stream({std::string(bytes)}, options);
  expect_no_violations(whole, "whole", bytes);
  int mismatches = 0;
  auto compare = [&](const std::vector<Transcript>& other, const std::string& how) {
    expect_no_violations(other, how, bytes);
    if (other == whole || mismatches >= kMaxReportedMismatches) return;
    ++mismatches;
    ADD_FAILURE() << "feeding " << how << " differs from feeding whole\n  input: \"" << escape(bytes)
                  << "\"\n  whole:" << describe(whole) << "\n  " << how << ":" << describe(other);
  };
  const std::size_t stride = bytes.size() / kEveryOffsetUpToBytes + 1;
  for (std::size_t at = 0; at <= bytes.size(); at += stride) {
    compare(feed_pieces_stream({std::string(bytes.substr(0, at)), std::string(bytes.substr(at))}, options),
            "split at " + std::to_string(at));
  }
  std::vector<std::string> bytewise;
  bytewise.reserve(bytes.size());
  for (char c : bytes) bytewise.emplace_back(1, c);
  compare(feed_pieces_stream(bytewise, options), "byte by byte");
  return whole;
}

Transcript parsegrind(std::string_view bytes, const FeedOptions& options) {
  FeedOptions first = options;
  first.methods.resize(1, "GET");
  return parsegrind_stream(bytes, first).front();
}

Fields fields_of(const Header& header) {
  Fields out;
  for (const HeaderField& f : header) out.emplace_back(f.name, f.value);
  return out;
}

std::string escape(std::string_view bytes) {
  const std::string q = quoted(bytes, bytes.size());
  return q.substr(1, q.size() - 2);
}

std::string collapse_ws(std::string_view s) {
  std::string out;
  bool in_ws = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      in_ws = true;
      continue;
    }
    if (in_ws && !out.empty()) out += ' ';
    in_ws = false;
    out += c;
  }
  return out;
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::done: return "done";
    case Outcome::error: return "error";
    case Outcome::need_more: return "need_more";
    case Outcome::stuck: return "stuck";
  }
  return "?";
}

void PrintTo(Outcome outcome, std::ostream* os) {
  *os << to_string(outcome);
}

namespace {
void print_fields(const Fields& fields, std::ostream* os) {
  *os << "[";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) *os << ", ";
    *os << "\"" << escape(fields[i].first) << "\": \"" << escape(fields[i].second) << "\"";
  }
  *os << "]";
}
}  // namespace

void PrintTo(const InterimRecord& r, std::ostream* os) {
  *os << r.status << " ";
  print_fields(r.fields, os);
}

void PrintTo(const HeadRecord& h, std::ostream* os) {
  *os << "HTTP/1." << h.version_minor << " " << h.status << " \"" << escape(h.reason) << "\" ";
  print_fields(h.fields, os);
  *os << " close=" << h.connection_close << " keep_alive=" << h.connection_keep_alive
      << " persistent=" << h.persistent << " framing=";
  codec::PrintTo(h.framing, os);
}

void PrintTo(const Transcript& t, std::ostream* os) {
  for (const InterimRecord& r : t.interim) {
    *os << "\n    interim: ";
    PrintTo(r, os);
  }
  *os << "\n    head: ";
  if (t.head) {
    PrintTo(*t.head, os);
  } else {
    *os << "(none)";
  }
  *os << "\n    body: \"" << escape(t.body) << "\"";
  if (!t.trailers.empty()) {
    *os << "\n    trailers: ";
    print_fields(t.trailers, os);
  }
  *os << "\n    outcome: " << to_string(t.outcome);
  if (t.error) *os << " " << nethttp::to_string(*t.error) << " (" << t.error_message << ")";
  if (!t.leftover.empty()) *os << "\n    leftover: \"" << escape(t.leftover) << "\"";
}

}  // namespace nethttp::testing
