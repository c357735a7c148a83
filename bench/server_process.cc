#include "server_process.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <system_error>

#include "loopback_server.h"

namespace nethttp::bench {

ServerProcess::ServerProcess(std::size_t ports) {
  // The sockets and the epoll set are made here, so that the ports are
  // known and listening before the child runs.
  cli::LoopbackServer server("ok", ports);
  ports_ = server.ports();
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ == 0) {
    // A client that dies without running destructors must not leave the
    // server behind; the check covers a parent gone before the prctl.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) std::_Exit(0);
    server.serve_forever();
  }
  // `server` goes out of scope here, closing the parent's copies of its
  // descriptors: the child has its own, and the parent only connects.
}

ServerProcess::~ServerProcess() {
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

}  // namespace nethttp::bench
