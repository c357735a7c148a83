// A sans-I/O HTTP/1.1 response parser: bytes in, one step out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/chunked.h"
#include "codec/framing.h"
#include "nethttp/error.h"
#include "nethttp/header.h"

namespace nethttp::codec {

/// Byte limits that bound what a peer can make the parser hold or scan.
struct ParserLimits {
  /// Status lines and header fields of one response, including the 1xx
  /// responses before it (so a flood of 1xx cannot run forever).
  /// Exceeding it: ErrorKind::header_too_large.
  std::size_t max_header_bytes = std::size_t{1} << 20;
  /// The trailer section of a chunked body. Exceeding it: header_too_large.
  std::size_t max_trailer_bytes = std::size_t{64} << 10;
  /// One chunk-size line including its extensions. Exceeding it: body.
  std::size_t max_chunk_line_bytes = 4096;
  /// Chunked framing bytes (size lines, extensions, the CRLFs after data)
  /// allowed beyond 16 per data byte, so that tiny chunks with long
  /// extensions cannot make the client scan without end for little data.
  /// Exceeding it: body.
  std::size_t max_chunk_overhead_bytes = std::size_t{16} << 10;
};

/// A header field as a view into the bytes given to parse().
struct FieldView {
  std::string_view name;
  std::string_view value;  ///< without surrounding whitespace; obs-fold unfolded to spaces
};

/// A parsed status line and header section. The views point into the bytes
/// given to parse() and stay valid only while the caller keeps those bytes.
struct ResponseHead {
  int version_minor = 1;  ///< HTTP/1.0 or HTTP/1.1
  int status = 0;
  std::string_view reason;
  std::vector<FieldView> fields;
  /// Connection tokens (RFC 9112 §9.6, §9.3).
  bool connection_close = false;
  bool connection_keep_alive = false;
  Framing framing;

  /// Whether the connection may carry another request after this response
  /// as far as this response's protocol version and Connection field say
  /// (RFC 9112 §9.3): no "close", and HTTP/1.1 or HTTP/1.0 with "keep-alive".
  /// The pool adds its own conditions (body read to its end, framing clean...).
  [[nodiscard]] bool persistent() const noexcept;
  /// Copies the fields into an owning Header.
  [[nodiscard]] Header to_header() const;
};

enum class ParseEvent : std::uint8_t {
  need_more,  ///< everything usable is consumed: call again with more bytes, or finish() at EOF
  interim,    ///< a 1xx head (not 101) is in head(); it is skipped, the final response follows
  head,       ///< the final response head is in head()
  body,       ///< ParseStep::body holds body bytes (a view into the input)
  done,       ///< the message is complete; trailers() holds any trailer fields
};

struct ParseStep {
  ParseEvent event = ParseEvent::need_more;
  /// How many bytes at the front of the input this step used. The caller
  /// drops them before the next call (after copying what it needs from the views).
  std::size_t consumed = 0;
  std::string_view body;  ///< the body bytes of a `body` step
};

/// Parses one response at a time from a byte stream, without I/O, clocks or
/// threads. Call begin() with the request method, then parse() with the
/// unconsumed bytes, dropping `consumed` bytes after each step, until `done`.
/// A head (or trailer section) is only consumed once it is complete, so the
/// caller keeps its partial bytes and gives them again followed by more; the
/// parser remembers how far it scanned, so feeding byte by byte stays linear.
/// Any split of the same bytes gives the same steps' content.
///
/// Rules (each tested): HTTP/1.0 and HTTP/1.1 only, a three-digit status, an
/// optional reason; token field names; whitespace before the colon, NUL or a
/// bare CR is an error; bare LF line endings are accepted; obs-fold (a line
/// starting with SP or HTAB continues the previous field's value) is unfolded
/// by replacing the line break with spaces, as RFC 9112 §5.2 asks of user
/// agents, except before the first field, where it is an error (§2.2).
/// Errors: protocol (malformed head or framing), header_too_large, body
/// (malformed chunked framing or early EOF). After an error the parser must
/// not be used again until begin().
class ResponseParser {
 public:
  explicit ResponseParser(ParserLimits limits = {}) : limits_(limits) {}

  /// Prepares for the response to a request with this method.
  void begin(std::string_view request_method);

  /// Takes the unconsumed bytes; may rewrite them in place (obs-fold). Call
  /// it again after each step, even with no new bytes: a head may be
  /// followed by an empty body that completes at once.
  [[nodiscard]] Result<ParseStep> parse(std::span<char> input);

  /// The peer closed the connection (EOF). Ends an until-close body (`done`);
  /// anywhere else it is an error: io before or inside a head, body inside
  /// a length-delimited or chunked body.
  [[nodiscard]] Result<ParseStep> finish();

  /// The last head parsed (interim or final); views valid as documented above.
  [[nodiscard]] const ResponseHead& head() const noexcept { return head_; }
  /// Trailer fields of a chunked body, valid after `done` while the bytes of
  /// the last parse() call are kept.
  [[nodiscard]] const std::vector<FieldView>& trailers() const noexcept { return trailers_; }
  /// Whether the final head was parsed and its body has been fully consumed.
  [[nodiscard]] bool is_done() const noexcept { return state_ == State::done; }
  /// Inside a body that is raw bytes on the wire (Content-Length or until
  /// close, not chunked): how many bytes it still has (UINT64_MAX: until
  /// close). Lets a reader receive them straight into its own buffer and pass
  /// that to parse(). nullopt anywhere else.
  [[nodiscard]] std::optional<std::uint64_t> raw_body_remaining() const noexcept {
    if (state_ == State::length_body) return remaining_;
    if (state_ == State::until_close_body) return UINT64_MAX;
    return std::nullopt;
  }
  /// Body bytes handed out so far for the current response.
  [[nodiscard]] std::uint64_t body_bytes() const noexcept { return body_bytes_; }

 private:
  enum class State : std::uint8_t {
    head,              ///< before or inside a status line and header section
    length_body,       ///< inside a Content-Length body; remaining_ bytes to go
    chunk_size,        ///< inside a chunk-size line (size digits, then extensions)
    chunk_data,        ///< inside chunk data; remaining_ bytes to go
    chunk_data_end,    ///< expecting the CRLF after chunk data
    trailers,          ///< inside the trailer section after the last chunk
    until_close_body,  ///< body until EOF
    done,              ///< message complete
  };

  [[nodiscard]] Result<ParseStep> parse_head(std::span<char> input);
  [[nodiscard]] Result<ParseStep> parse_trailers(std::span<char> input);
  [[nodiscard]] Result<void> read_head_fields();
  [[nodiscard]] ParseStep take_body(std::string_view input);

  ParserLimits limits_;
  std::string request_method_;  // short: fits the small-string buffer, no allocation
  State state_ = State::head;
  ResponseHead head_;
  std::vector<FieldView> trailers_;
  /// How far into the current head or trailer section the end-of-section
  /// search has looked, so repeated calls with more bytes do not rescan.
  std::size_t scanned_ = 0;
  /// Header bytes used by the 1xx responses already skipped.
  std::size_t interim_bytes_ = 0;
  /// Bytes left in the current Content-Length body or chunk.
  std::uint64_t remaining_ = 0;
  std::uint64_t body_bytes_ = 0;
  ChunkLine chunk_line_{limits_.max_chunk_line_bytes};
  /// Chunked framing bytes of the current body so far.
  std::uint64_t chunk_overhead_ = 0;
  /// Bytes of the CRLF after chunk data seen so far (0 or 1).
  std::size_t chunk_end_seen_ = 0;
  /// Size of the input of the last parse() call in the head state, for
  /// finish() to tell "nothing arrived" from "a partial head arrived".
  std::size_t head_bytes_seen_ = 0;
  /// Scratch for decide_framing(), kept to reuse its capacity.
  FramingInput framing_input_;
};

}  // namespace nethttp::codec
