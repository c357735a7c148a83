#include "codec/chunked.h"

#include <string>

#include "base/ascii.h"
#include "base/quote.h"

namespace nethttp::codec {
namespace {

Error chunk_error(std::string what) {
  return Error(ErrorKind::body, "malformed chunked body: " + std::move(what));
}

}  // namespace

Result<std::size_t> ChunkLine::feed(std::string_view input) {
  std::size_t i = 0;
  while (i < input.size() && part_ != Part::complete) {
    const char c = input[i++];
    if (++line_bytes_ > max_line_bytes_)
      return chunk_error("chunk-size line longer than " + std::to_string(max_line_bytes_) + " bytes");
    switch (part_) {
      case Part::size:
        if (const int d = ascii::hex_value(c); d >= 0) {
          if (size_ > (UINT64_MAX >> 4)) return chunk_error("chunk size does not fit in 64 bits");
          size_ = (size_ << 4) | static_cast<std::uint64_t>(d);
          ++digits_;
          continue;
        }
        if (digits_ == 0)
          return chunk_error("expected a hex chunk size, got " + quoted(std::string_view(&c, 1)));
        if (ascii::is_ows(c)) {
          part_ = Part::after_size;
        } else if (c == ';') {
          part_ = Part::extension;
        } else if (c == '\r') {
          part_ = Part::cr;
        } else {
          return chunk_error("unexpected " + quoted(std::string_view(&c, 1)) + " after the chunk size");
        }
        continue;
      case Part::after_size:
        // BWS before ";" (RFC 9112 §7.1.1).
        if (c == ';') {
          part_ = Part::extension;
        } else if (c == '\r') {
          part_ = Part::cr;
        } else if (!ascii::is_ows(c)) {
          return chunk_error("unexpected " + quoted(std::string_view(&c, 1)) + " after the chunk size");
        }
        continue;
      case Part::extension:
        // Extensions carry nothing we use; skip them, but no control bytes.
        if (c == '\r') {
          part_ = Part::cr;
        } else if (ascii::is_control_but_tab(c)) {
          return chunk_error("control byte " + quoted(std::string_view(&c, 1)) + " in a chunk extension");
        }
        continue;
      case Part::cr:
        if (c != '\n') return chunk_error("CR not followed by LF in a chunk-size line");
        part_ = Part::complete;
        continue;
      case Part::complete: break;
    }
  }
  return i;
}

}  // namespace nethttp::codec
