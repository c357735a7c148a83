#include <nethttp/url.h>

#include <cstdio>

int main() {
  nethttp::Result<nethttp::Url> url = nethttp::Url::parse("HTTP://Example.COM:80/a/../b");
  if (!url) return 1;
  std::printf("%s\n", url->str().c_str());
  return url->str() == "http://example.com/b" ? 0 : 1;
}
