// cookie_session: a Client with a CookieJar keeps a session across requests,
// as a browser does. Logs in (the answer sets a cookie, possibly on a
// redirect), then asks a second URL, which gets the cookie, and prints the
// cookies the jar holds for it.
//
//   nethttp_example_cookie_session http://127.0.0.1:8080/login http://127.0.0.1:8080/whoami
//   login: 200 OK after 1 redirect(s)
//   page: 200 OK: you are session=s3cr3t
//   jar: 1 cookie(s) for http://127.0.0.1:8080/whoami
//     session=s3cr3t domain=127.0.0.1 path=/ host-only secure=no http-only=yes
//
// Exits 1 when a request fails or the login answers an error status.
#include <nethttp/client.h>
#include <nethttp/cookie_jar.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s LOGIN_URL URL\n", argv[0]);
    return 2;
  }

  // No jar, no cookies (as in Go). A jar is shared through a shared_ptr:
  // several Clients may use the same one. save() and load() keep it in a
  // Netscape cookie file between runs.
  auto jar = std::make_shared<nethttp::CookieJar>();
  nethttp::ClientOptions options;
  options.jar = jar;
  nethttp::Client client(std::make_shared<nethttp::Transport>(), options);

  // 1. Log in: the jar stores the Set-Cookie of every response, redirects
  //    included, and sends its cookies with each request of the chain.
  nethttp::Result<nethttp::Response> login = client.get(argv[1]);
  if (!login) {
    std::fprintf(stderr, "login: error: %s\n", login.error().message().c_str());
    return 1;
  }
  login->body.close();  // not interested in the page: close() drains a small rest and keeps the connection
  std::printf("login: %d %s after %d redirect(s)\n", login->status, login->reason.c_str(), login->redirects);
  if (login->status >= 400) return 1;

  // 2. The next request carries the session cookie.
  nethttp::Result<nethttp::Response> page = client.get(argv[2]);
  if (!page) {
    std::fprintf(stderr, "page: error: %s\n", page.error().message().c_str());
    return 1;
  }
  nethttp::Result<std::string> body = page->body.read_all(std::size_t{1} << 20);
  if (!body) {
    std::fprintf(stderr, "page: error: %s\n", body.error().message().c_str());
    return 1;
  }
  std::printf("page: %d %s: %s\n", page->status, page->reason.c_str(), body->c_str());

  // 3. What the jar would send to that URL (response->request is the request
  //    that got this answer, so its url is already parsed).
  const nethttp::Url& url = page->request->url;
  const std::vector<nethttp::Cookie> cookies = jar->cookies(url);
  std::printf("jar: %zu cookie(s) for %s\n", cookies.size(), argv[2]);
  for (const nethttp::Cookie& c : cookies) {
    std::printf("  %s=%s domain=%s path=%s%s secure=%s http-only=%s\n", c.name.c_str(), c.value.c_str(),
                c.domain.c_str(), c.path.c_str(), c.host_only ? " host-only" : "", c.secure ? "yes" : "no",
                c.http_only ? "yes" : "no");
  }
  return 0;
}
