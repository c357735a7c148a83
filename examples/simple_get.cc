// simple_get: GET one URL, print the status line and the body.
//
//   nethttp_example_simple_get http://127.0.0.1:8080/hello
//   200 OK
//   hello, world
//
// Exits 1 with the error on stderr when the request fails. A 404 or 500 is
// not a failure here: as in Go, any status the server answers is a response.
#include <nethttp/client.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s URL\n", argv[0]);
    return 2;
  }

  // One Client per program: it owns a Transport, a pool of keep-alive
  // connections. Create it once and share it (it is thread-safe).
  nethttp::Client client;

  // get() returns once the response head has arrived; the body is still on
  // the connection. Every call that can fail returns a Result<T>.
  nethttp::Result<nethttp::Response> response = client.get(argv[1]);
  if (!response) {
    const nethttp::Error& error = response.error();
    std::fprintf(stderr, "error (%s): %s\n", std::string(nethttp::to_string(error.kind())).c_str(),
                 error.message().c_str());
    return 1;
  }

  // Reading the body to its end hands the connection back to the pool. A
  // body that is never read is closed by its destructor: nothing leaks.
  nethttp::Result<std::string> body = response->body.read_all(/*max_bytes=*/std::size_t{16} << 20);
  if (!body) {
    std::fprintf(stderr, "error reading the body: %s\n", body.error().message().c_str());
    return 1;
  }

  std::printf("%d %s\n", response->status, response->reason.c_str());
  const std::string& text = *body;
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
