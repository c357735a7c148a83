// TLS for https: what a Transport verifies and offers (Go's tls.Config, the
// part a client uses), and what a connection negotiated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nethttp {

/// Lowest TLS version a Transport accepts.
enum class TlsVersion : std::uint8_t {
  tls1_2,  ///< TLS 1.2 or 1.3
  tls1_3   ///< TLS 1.3 only
};

/// How a Transport's https connections are made. Certificate and host name
/// verification are on unless insecure_skip_verify says otherwise.
struct TlsOptions {
  /// Trusted CA certificates: a PEM file and/or a hashed directory
  /// (c_rehash). Both empty: the system's trust store (Debian:
  /// /etc/ssl/certs).
  std::string ca_file;
  std::string ca_dir;  ///< see ca_file
  /// A client certificate chain (PEM) and its private key (PEM), sent when
  /// the server asks for one. Both or neither.
  std::string cert_file;
  std::string key_file;  ///< see cert_file
  /// Accept any certificate for any name (Go's InsecureSkipVerify). For
  /// tests against throw-away certificates; never the default.
  bool insecure_skip_verify = false;
  /// The lowest version offered (TLS 1.2 by default, as Go).
  TlsVersion min_version = TlsVersion::tls1_2;
  /// Resume sessions with a host whose earlier session the Transport kept
  /// (one ticket per host and port, replaced by each new one).
  bool session_resumption = true;
};

/// What a TLS connection negotiated (Go's tls.ConnectionState, in part).
struct TlsState {
  std::string version;                  ///< "TLSv1.3"
  std::string cipher;                   ///< "TLS_AES_128_GCM_SHA256"
  std::string alpn;                     ///< "http/1.1", or empty when the server chose none
  std::string server_name;              ///< the name verified (and sent as SNI unless it is an address)
  std::string peer_subject;             ///< the server certificate's subject, "CN=localhost"
  std::vector<std::string> peer_names;  ///< its DNS and IP subject alternative names
  bool resumed = false;                 ///< an earlier session was resumed (no full handshake)
};

}  // namespace nethttp
