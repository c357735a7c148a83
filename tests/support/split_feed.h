// Byte-split feeding ("parsegrind"): runs a codec::ResponseParser over a byte
// string the way a connection would, in pieces of any size, and records what
// it saw as a canonical transcript that does not depend on the split.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/framing.h"
#include "codec/response_parser.h"
#include "nethttp/error.h"
#include "nethttp/header.h"
#include "support/printers.h"

namespace nethttp::testing {

/// Header or trailer fields copied out of the parser's views: (name, value).
using Fields = std::vector<std::pair<std::string, std::string>>;

/// A 1xx head the parser reported as `interim`.
struct InterimRecord {
  int status = 0;
  Fields fields;

  friend bool operator==(const InterimRecord&, const InterimRecord&) = default;
};

/// The final head, with every view copied into owned strings.
struct HeadRecord {
  int version_minor = 0;
  int status = 0;
  std::string reason;
  Fields fields;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool persistent = false;  ///< ResponseHead::persistent()
  codec::Framing framing;

  friend bool operator==(const HeadRecord&, const HeadRecord&) = default;
};

/// How feeding one response ended.
enum class Outcome {
  done,       ///< the parser said `done` (possibly after finish())
  error,      ///< parse() or finish() failed; Transcript::error holds the kind
  need_more,  ///< the input ran out and finish() was not asked for
  stuck,      ///< the parser made no progress for too many steps (a bug)
};

/// What the parser reported for one response, independent of how the bytes
/// were split. Two transcripts compare equal when the parser behaved the same.
struct Transcript {
  std::vector<InterimRecord> interim;
  std::optional<HeadRecord> head;
  std::string body;  ///< every `body` step's bytes, concatenated
  Fields trailers;   ///< trailers() after `done`
  Outcome outcome = Outcome::need_more;
  std::optional<ErrorKind> error;  ///< set when outcome is error
  /// After `done`: the bytes the parser did not consume (still buffered plus
  /// not yet fed), i.e. what belongs to the next message or the tunnel.
  std::string leftover;

  /// Not compared: the error's text, for failure messages.
  std::string error_message;
  /// Not compared: broken invariants seen while feeding (consumed past the
  /// input, a body view outside the consumed bytes, a head view outside the
  /// buffer, body_bytes() disagreeing, ...). Empty when all is well.
  std::vector<std::string> violations;

  [[nodiscard]] bool ok() const { return outcome == Outcome::done; }

  friend bool operator==(const Transcript& a, const Transcript& b) {
    return a.interim == b.interim && a.head == b.head && a.body == b.body && a.trailers == b.trailers &&
           a.outcome == b.outcome && a.error == b.error && a.leftover == b.leftover;
  }
};

struct FeedOptions {
  /// The request method of each response in the stream, in order: begin() is
  /// called with the next one after each `done` (keep-alive reuse). Feeding
  /// stops after the last one is done.
  std::vector<std::string> methods = {"GET"};
  codec::ParserLimits limits;
  /// When the input is exhausted and the parser needs more: call finish()
  /// (the peer closed), or stop with Outcome::need_more.
  bool finish_at_eof = true;

  /// Convenience: one response to a request with this method.
  [[nodiscard]] static FeedOptions for_method(std::string method) {
    FeedOptions o;
    o.methods = {std::move(method)};
    return o;
  }
};

/// Feeds `pieces` one after another into a growing buffer of unconsumed
/// bytes and returns one transcript per response (as many as `methods`, fewer
/// if one ends in an error or need_more).
[[nodiscard]] std::vector<Transcript> feed_pieces_stream(const std::vector<std::string>& pieces,
                                                         const FeedOptions& options);

/// The first response of feed_pieces_stream().
[[nodiscard]] Transcript feed_pieces(const std::vector<std::string>& pieces, const FeedOptions& options = {});
/// All bytes in one piece.
[[nodiscard]] Transcript feed_whole(std::string_view bytes, const FeedOptions& options = {});
/// Two pieces: bytes[0, at) and bytes[at, end).
[[nodiscard]] Transcript feed_split(std::string_view bytes, std::size_t at, const FeedOptions& options = {});
/// One byte at a time.
[[nodiscard]] Transcript feed_bytewise(std::string_view bytes, const FeedOptions& options = {});
/// Pieces of `size` bytes (the last may be shorter).
[[nodiscard]] Transcript feed_in_pieces_of(std::string_view bytes, std::size_t size,
                                           const FeedOptions& options = {});

/// Parsegrind: feeds `bytes` whole, split in two at every offset, and byte by
/// byte; adds a GoogleTest failure for every transcript that differs from the
/// whole-feed one and for every broken invariant. Returns the whole-feed
/// transcript for the caller's own expectations. Quadratic: for inputs up to
/// a few KiB.
Transcript parsegrind(std::string_view bytes, const FeedOptions& options = {});

/// The same for a stream of several responses (see FeedOptions::methods).
std::vector<Transcript> parsegrind_stream(std::string_view bytes, const FeedOptions& options);

/// The fields of an owning Header as (name, value) pairs, in order.
[[nodiscard]] Fields fields_of(const Header& header);

/// `bytes` with control and non-ASCII bytes escaped ("\r\n", "\x00"), for messages.
[[nodiscard]] std::string escape(std::string_view bytes);
/// Whitespace-insensitive form: runs of SP/HTAB become one SP, ends trimmed.
[[nodiscard]] std::string collapse_ws(std::string_view s);

[[nodiscard]] std::string_view to_string(Outcome outcome);
void PrintTo(const Transcript& t, std::ostream* os);
void PrintTo(const HeadRecord& h, std::ostream* os);
void PrintTo(const InterimRecord& r, std::ostream* os);
void PrintTo(Outcome outcome, std::ostream* os);

}  // namespace nethttp::testing
