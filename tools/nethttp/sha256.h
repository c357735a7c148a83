// SHA-256 of a byte stream (OpenSSL's libcrypto EVP API), for body_sha256.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace nethttp::cli {

/// An incremental SHA-256. Move-only; one thread at a time.
class Sha256 {
 public:
  Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  ~Sha256();

  void update(std::string_view bytes);
  /// The digest of everything given so far, as 64 lower-case hex digits.
  /// Ends the hash: call it once.
  [[nodiscard]] std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

}  // namespace nethttp::cli
