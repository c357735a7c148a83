#!/usr/bin/env python3
"""The workloads scripts/bench.sh adds to the shared peer harness, and the report.

bench.sh runs ../shared/bench/peers/run.sh (workloads S, A, B, C1, C2) first,
then starts its own nginx and runs this script, which

  D  POSTs a 1 KiB body to http://.../upload (sequential: D1, 32 concurrent: D2),
  E  GETs /small over HTTPS from a server that closes each connection after
     100 requests, so connections are re-made and TLS sessions resumed
     (sequential: E1, 32 concurrent: E2),
  F  runs bench/many_origins.cc's program with 1 and with 1,000 origins,
  G  runs bench/idle_conns.cc's program: user memory per idle connection with
     IDLE_CONNS (10,000) connections open at once, plain HTTP (its own server)
     and HTTPS (an nginx of its own, TLSv1.3, with and without resumption),

and writes docs/bench/results.md, results.csv, many_origins.csv, idle_conns.csv
and peers.dat.

D and E are measured by the shared harness's own code (imported: one process
per run under GNU time, CPU from wait4, nginx stub_status deltas, REPS runs
interleaved across peers, medians), so every figure is taken the same way.
The shared peers only GET, so D builds POST variants of them: the same
sources with the request call changed (patched here, in a build directory),
and wrk with a Lua script. Settings are env vars; see bench.sh.
"""
import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

env = os.environ.get
REPS = int(env("REPS", "3"))
POST_BYTES = 1024
POST_TYPE = "application/octet-stream"
UPLOAD_ANSWER = 3  # "ok\n"

# Display names and the peers.dat / chart column order.
CLIENTS = ["nethttp", "go", "libcurl", "httplib", "undici", "wrk"]
SHOWN = {"nethttp": "**nethttp**", "go": "Go net/http", "libcurl": "libcurl", "httplib": "cpp-httplib",
         "undici": "undici", "wrk": "wrk"}

# id -> (title, request, chart label); the order of the report.
WORKLOADS = {
    "S": ("startup + one request", "GET /small, n=1", None),
    "A": ("sequential small GETs", "GET /small (13 bytes), c=1", "A seq GET"),
    "B": ("32 concurrent small GETs", "GET /small (13 bytes), c=32", "B 32x GET"),
    "C1": ("1 MiB downloads", "GET /1m, c=4", "C1 1 MiB"),
    "C2": ("64 MiB downloads", "GET /64m, c=1", None),  # per-request CPU is per 64 MiB: off the chart
    "D1": ("sequential small POSTs", "POST /upload, 1 KiB body, c=1", "D1 seq POST"),
    "D2": ("32 concurrent small POSTs", "POST /upload, 1 KiB body, c=32", "D2 32x POST"),
    "E1": ("sequential HTTPS GETs, session resumption", "GET https /small, c=1", "E1 seq TLS"),
    "E2": ("32 concurrent HTTPS GETs, session resumption", "GET https /small, c=32", "E2 32x TLS"),
}
MIB_COLUMN = {"C1", "C2"}
# Said once, under the last table of the group.
NOTES = {
    "D2": "D: the shared peers only GET, so each POST peer is the shared source with its request call "
          "changed to a POST of the same 1 KiB body with `Content-Type: application/octet-stream` "
          "(scripts/bench_workloads.py patches and builds them into build/bench-peers); cpp-httplib also "
          "gets `set_tcp_nodelay(true)`, without which every POST waits about 40 ms for a delayed ACK "
          "(it writes the head and the body apart with Nagle on). wrk POSTs through a Lua script. "
          "Before the runs, each client POSTs to a logging location once and the script checks that "
          "nginx saw `POST`, `Content-Length: 1024` and the type. nginx discards the body and keeps "
          "the connection open (accepts = C).",
    "E2": "E: nginx closes every connection after 100 requests, so each client re-connects about "
          "N/100 times. The handshake columns come from nginx's `$ssl_session_reused`, logged for each "
          "connection that carried a request (a connection opened but never used is in `accepts` only): "
          "handshakes and full handshakes per run, and the share resumed over all runs. With c=32 the "
          "first 32 connections start before any session exists, so 32 full handshakes per run is the "
          "floor. "
          "Trust: `SSL_CERT_FILE` = the test CA and an empty `SSL_CERT_DIR` (nethttp, Go, cpp-httplib), "
          "`NODE_EXTRA_CA_CERTS` (undici); libcurl reads only its built-in bundle path, so the unmodified "
          "libcurl peer runs in a private mount namespace where that path shows the test CA "
          "(`unshare -m`, counted in its CPU: about 2 ms per run). wrk does not verify certificates. "
          "Go's `net/http` and cpp-httplib keep no TLS sessions by default "
          "(Go needs `tls.Config.ClientSessionCache`), so every handshake of theirs is a full one.",
    "G": "G: one `nethttp_idle_conns` process per run, with max_idle_conns(_per_host) = N so the pool keeps every "
         "connection; the figure is the client's user memory only (the server's, and the kernel's socket buffers, "
         "are not counted). Plain HTTP runs against the program's own forked epoll server, HTTPS against an nginx "
         "of its own (worker_connections 20000, keepalive_timeout 1 h), trusting the test CA through `--ca`. "
         "With resumption, the first connection (the warm-up) makes a full handshake and every later one resumes "
         "its session. Reproduce one figure: `nethttp_idle_conns 10000 --url https://127.0.0.1:PORT/ --ca ca.pem`.",
}
KEYS = ["reqs", "wall_s", "rps", "mib_s", "cpu_s", "cpu_us_per_req", "rss_mib", "accepts", "srv_reqs"]


def not_run(u, n, c):
    """The command of a peer that cannot run: the harness finds no such
    program and skips the peer, and the row's note says why."""
    return ["/nonexistent"]


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------ POST variants

# (file in the shared peer dir, [(old, new), ...]): each old text must occur
# exactly once, or the variant is not built (the shared source changed).
GO_PATCH = ("go/main.go", [
    ('import (\n\t"fmt"', 'import (\n\t"bytes"\n\t"fmt"'),
    ("client := &http.Client{Transport: tr}",
     "client := &http.Client{Transport: tr}\n"
     "\tpostBody, err := os.ReadFile(os.Getenv(\"POST_FILE\"))\n"
     "\tif err != nil {\n\t\tfail(err)\n\t}"),
    ("resp, err := client.Get(url)",
     f'resp, err := client.Post(url, "{POST_TYPE}", bytes.NewReader(postBody))'),
])
LIBCURL_PATCH = ("libcurl/main.c", [
    ("#include <stdlib.h>\n",
     "#include <stdlib.h>\n\nstatic char post_body[1 << 20];\nstatic size_t post_size;\n"
     "static struct curl_slist *post_headers;\n"),
    ("\tcurl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);\n",
     "\tcurl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);\n"
     "\tcurl_easy_setopt(x->h, CURLOPT_POSTFIELDS, post_body);\n"
     "\tcurl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_size);\n"
     "\tcurl_easy_setopt(x->h, CURLOPT_HTTPHEADER, post_headers);\n"),
    ("\tcurl_global_init(CURL_GLOBAL_DEFAULT);\n",
     "\tcurl_global_init(CURL_GLOBAL_DEFAULT);\n"
     "\tFILE *pf = fopen(getenv(\"POST_FILE\"), \"rb\");\n"
     "\tif (!pf)\n\t\tdie(\"init\", \"cannot open POST_FILE\");\n"
     "\tpost_size = fread(post_body, 1, sizeof post_body, pf);\n\tfclose(pf);\n"
     # No "Expect: 100-continue" wait (curl adds it above 1 MiB only; explicit for clarity).
     f"\tpost_headers = curl_slist_append(NULL, \"Content-Type: {POST_TYPE}\");\n"
     "\tpost_headers = curl_slist_append(post_headers, \"Expect:\");\n"),
])
HTTPLIB_PATCH = ("httplib/main.cpp", [
    ("#include <httplib.h>\n", "#include <httplib.h>\n\n#include <fstream>\n#include <iterator>\n"),
    # cpp-httplib leaves Nagle on and writes the head and the body apart: each
    # POST would wait for the server's delayed ACK (about 40 ms). The other
    # clients all set TCP_NODELAY.
    ("    cli.set_keep_alive(true);\n", "    cli.set_keep_alive(true);\n    cli.set_tcp_nodelay(true);\n"),
    ("  const int c = std::atoi(argv[3]);\n",
     "  const int c = std::atoi(argv[3]);\n"
     "  std::ifstream post_file(std::getenv(\"POST_FILE\"), std::ios::binary);\n"
     "  if (!post_file) die(\"cannot open POST_FILE\");\n"
     "  const std::string post_body((std::istreambuf_iterator<char>(post_file)), {});\n"),
    ("      auto res = cli.Get(path, [&](const char *, size_t len) {\n"
     "        got += static_cast<long long>(len);\n"
     "        return true;\n"
     "      });\n",
     f"      auto res = cli.Post(path, post_body, \"{POST_TYPE}\");\n"
     "      if (res) got = static_cast<long long>(res->body.size());\n"),
])
UNDICI_PATCH = ("undici/main.mjs", [
    ("import { Pool } from 'undici';\n",
     "import { Pool } from 'undici';\nimport { readFileSync } from 'node:fs';\n\n"
     "const postBody = readFileSync(process.env.POST_FILE);\n"),
    ("pool.request({ path, method: 'GET' })",
     f"pool.request({{ path, method: 'POST', body: postBody, headers: {{ 'content-type': '{POST_TYPE}' }} }})"),
])

WRK_POST_LUA = f"""-- POST the body in $POST_FILE (bench_workloads.py, workload D)
local f = assert(io.open(os.getenv("POST_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "{POST_TYPE}"
"""


def patched(peers_dir, patch):
    """The shared source with the patch applied, or None when it does not apply."""
    name, edits = patch
    with open(os.path.join(peers_dir, name)) as f:
        src = f.read()
    for old, new in edits:
        if src.count(old) != 1:
            return None
        src = src.replace(old, new)
    return src


def build_post_peers(peers_dir, out):
    """Build the POST variants into `out` (reused while the patched source is
    unchanged); returns name -> argv builder and name -> why it is missing."""
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    go_env = dict(os.environ, GOCACHE="/tmp/peers-bench-go/cache", GOPATH="/tmp/peers-bench-go/path",
                  GOPROXY="off", GOFLAGS="", GO111MODULE="on", GOTOOLCHAIN="local", CGO_ENABLED="0")

    def pkg(name):
        r = subprocess.run(["pkg-config", "--cflags", "--libs", name], capture_output=True, text=True)
        return r.stdout.split() if r.returncode == 0 else None

    specs = {  # name -> (patch, source file name, build argv)
        "go": (GO_PATCH, "go-post/main.go",
               ["go", "build", "-trimpath", "-o", f"{out}/go-post-peer", "."]),
        "libcurl": (LIBCURL_PATCH, "libcurl-post.c",
                    ["cc", "-O2", "-Wall", "-o", f"{out}/libcurl-post-peer", f"{out}/libcurl-post.c"]
                    + (pkg("libcurl") or ["-lcurl"])),
        "httplib": (HTTPLIB_PATCH, "httplib-post.cpp",
                    ["c++", "-O2", "-Wall", "-std=c++17", "-pthread", "-o", f"{out}/httplib-post-peer",
                     f"{out}/httplib-post.cpp"] + (pkg("cpp-httplib") or ["-lcpp-httplib"])),
        "undici": (UNDICI_PATCH, "undici-post.mjs", None),
    }
    cmds, missing = {}, {}
    for name, (patch, src_name, build) in specs.items():
        src = patched(peers_dir, patch)
        if src is None:
            missing[name] = f"the shared {patch[0]} changed: POST patch does not apply"
            continue
        path = os.path.join(out, src_name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        stamp = path + ".sha256"
        digest = hashlib.sha256(src.encode()).hexdigest()
        fresh = False
        if os.path.exists(stamp):
            with open(stamp) as f:
                fresh = f.read() == digest
        with open(path, "w") as f:
            f.write(src)
        if name == "go":
            shutil.copy(os.path.join(peers_dir, "go/go.mod"), os.path.join(out, "go-post/go.mod"))
        if name == "undici":
            link = os.path.join(out, "node_modules")
            if not os.path.lexists(link):
                os.symlink(os.path.join(peers_dir, "undici/node_modules"), link)
            cmds[name] = lambda u, n, c, p=path: ["node", p, u, str(n), str(c)]
            continue
        exe = build[build.index("-o") + 1]
        if not (fresh and os.path.exists(exe)):
            log(f"building the POST variant of the {name} peer")
            r = subprocess.run(build, cwd=os.path.dirname(path), env=go_env if name == "go" else None,
                               capture_output=True, text=True)
            if r.returncode != 0:
                missing[name] = "POST variant did not build: " + (r.stderr.strip().splitlines() or ["?"])[-1]
                continue
            with open(stamp, "w") as f:
                f.write(digest)
        cmds[name] = lambda u, n, c, e=exe: [e, u, str(n), str(c)]
    return cmds, missing


# ------------------------------------------------------------------ runs


def log_offset(path):
    """Where the next line nginx appends to the log at `path` starts."""
    return os.path.getsize(path) if os.path.exists(path) else 0


def log_lines_since(path, start):
    """The lines nginx appended to the log at `path` from `start` on, split into fields."""
    with open(path) as f:
        f.seek(start)
        return [line.split() for line in f.read().splitlines()]


class HandshakeLog:
    """Attributes the lines nginx appends to the TLS server's handshake log
    (one per connection: '$ssl_session_reused $uri') to the run that made them."""

    def __init__(self, path):
        self.path, self.tally = path, {}

    def add(self, key, start):
        t = self.tally.setdefault(key, {"r": 0, ".": 0, "runs": 0})
        t["runs"] += 1
        # The harness's own stub_status probes are not the client's.
        for fields in log_lines_since(self.path, start):
            if len(fields) >= 2 and fields[1] != "/status" and fields[0] in t:
                t[fields[0]] += 1


def import_harness(peers_dir):
    sys.path.insert(0, peers_dir)
    import harness  # noqa: E402  (the shared harness: same measurement code)
    return harness


def run_rows(harness, wid, base, path, n, c, size, peers, missing, runs_csv, handshakes=None):
    """REPS interleaved runs of every peer through harness.run_workload."""
    harness.BASE = base
    measure = harness.measure

    def tracked(name, argv, n_, size_):
        start = log_offset(handshakes.path)
        try:
            return measure(name, argv, n_, size_)
        finally:
            time.sleep(0.05)  # nginx writes the line when the connection's first request ends
            handshakes.add((wid, name), start)

    if handshakes:
        harness.measure = tracked

    def raw(name, rep, m, status):
        runs_csv.writerow([wid, path, c, name, rep] + [f"{m[k]:.6g}" if k in m else "" for k in KEYS]
                          + [status])

    try:
        rows = harness.run_workload(peers, base + path, n, c, size, raw)
    finally:
        harness.measure = measure
    for r in rows:
        if missing.get(r["peer"]):
            r["note"] = missing[r["peer"]]
        r["status"] = "ok" if "rps" in r else "fail" if r["note"].startswith("FAIL") else "skipped"
    log(f"[{wid}] done")
    return rows


def check_upload(harness, base, peers, log_path):
    """Each POST peer once against /upload-check, which logs method, length and type."""
    ok = {}
    harness.BASE = base
    for name, cmd in peers.items():
        start = log_offset(log_path)
        argv = cmd(base + "/upload-check", 4 if name != "wrk" else 1, 2 if name != "wrk" else 1)
        if name == "wrk":  # a short run: every request it sends is logged
            argv = ["-d1s" if a.startswith("-d") else a for a in argv]
        try:
            harness.measure(name, argv, 4, UPLOAD_ANSWER)
        except harness.Failure as e:
            ok[name] = f"FAIL {e}"
            continue
        lines = log_lines_since(log_path, start)
        want = ["POST", str(POST_BYTES), POST_TYPE]
        ok[name] = "" if lines and all(l == want for l in lines) else f"FAIL sent {lines[:1]}, want {want}"
    log("check (POST /upload-check, 1 KiB): " + ", ".join(f"{k} {v or 'ok'}" for k, v in ok.items()))
    return {k: v for k, v in ok.items() if v}


def libcurl_trusting(ca_file, exe):
    """The unmodified libcurl peer trusting ca_file: libcurl reads only its
    built-in CA bundle path (no env var), so the peer runs in a private mount
    namespace where that path shows ca_file. None when that is not possible."""
    r = subprocess.run(["curl-config", "--ca"], capture_output=True, text=True)
    bundle = r.stdout.strip()
    if r.returncode != 0 or not os.path.exists(bundle) or not shutil.which("unshare"):
        return None
    wrap = ["unshare", "-m", "sh", "-c", f'mount --bind "{ca_file}" "{bundle}" && exec "$0" "$@"']
    probe = subprocess.run(wrap + ["cat", bundle], capture_output=True)
    with open(ca_file, "rb") as f:
        if probe.returncode != 0 or probe.stdout != f.read():
            return None
    return lambda u, n, c: wrap + [exe, u, str(n), str(c)]


def run_many_origins(exe, requests, reps, extra_args, time_bin):
    """F: `reps` interleaved runs at 1 and at 1,000 origins; medians. Each run
    starts under GNU time, as the harness's do: a process forked from this
    Python would report Python's peak RSS as its own."""
    runs = {1: [], 1000: []}
    for _ in range(reps):
        for k in runs:
            argv = [exe, "--origins", str(k), "--requests", str(requests)] + extra_args
            r = subprocess.run([time_bin, "-f", "", "--"] + argv, capture_output=True, text=True,
                               timeout=float(env("RUN_TIMEOUT", "120")))
            if r.returncode != 0:
                return None, f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()[-200:]}"
            runs[k].append(json.loads(r.stdout.strip().splitlines()[-1]))
    med = {}
    for k, rs in runs.items():
        med[k] = {f: statistics.median(r[f] for r in rs)
                  for f in ("requests_per_sec", "cpu_us_per_request", "user_us_per_request",
                            "sys_us_per_request", "dials", "reuses", "peak_rss_mib", "seconds")}
        med[k]["cpu_range"] = (min(r["cpu_us_per_request"] for r in rs), max(r["cpu_us_per_request"] for r in rs))
        med[k]["requests"], med[k]["concurrency"] = rs[0]["requests"], rs[0]["concurrency"]
        med[k]["max_idle"], med[k]["reps"] = rs[0]["max_idle"], len(rs)
    log("[F] done")
    return med, None


# ------------------------------------------------ G: idle connections

# nginx for G alone: bench.sh's server allows 4,096 connections, G holds N
# (10,000) open at once. TLS as E's server (TLSv1.3 here, same certificate,
# session cache and tickets), nothing closes an idle connection during a run.
IDLE_NGINX_CONF = """worker_processes 1;
worker_rlimit_nofile {nofile};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections {conns}; }}
http {{
    access_log off;
    keepalive_timeout 3600s;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 1h;
        ssl_session_tickets on;
        location = /status {{ stub_status; }}
        location / {{ default_type text/plain; return 200 "hello, world\\n"; }}
    }}
}}
"""
IDLE_RE = {
    "idle": re.compile(r"^idle connections: (\d+) \(dials (\d+)\)", re.M),
    "heap": re.compile(r"^heap in use: (\d+) -> (\d+) bytes: (\d+) bytes per idle connection", re.M),
    "rss": re.compile(r"^RSS: (\d+) -> (\d+) KiB \(([\d.]+) KiB per idle connection", re.M),
    "tls": re.compile(r"^TLS: (.*), (\d+) of (\d+) handshakes resumed", re.M),
}
IDLE_BUDGET = 2048  # bytes of user memory per idle connection (the aim G checks)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IdleNginx:
    """nginx (TLSv1.3) that holds `conns` connections, in `work`/idle-nginx,
    stopped on exit from the with block."""

    def __init__(self, work, cert, key, conns):
        self.dir = os.path.join(work, "idle-nginx")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        os.chmod(self.dir, 0o755)  # the worker runs as another user
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            # A connection is one descriptor; room for the listener, logs and some slack.
            f.write(IDLE_NGINX_CONF.format(dir=self.dir, port=self.port, cert=cert, key=key, conns=conns,
                                           nofile=conns + 1024))
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf, "-e",
                                      os.path.join(self.dir, "error.log")])
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.__exit__()
        with open(os.path.join(self.dir, "error.log")) as f:
            raise RuntimeError("nginx for G did not start: " + f.read().strip()[-300:])

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def idle_once(argv):
    """One nethttp_idle_conns run: its figures, or raises RuntimeError."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=float(env("IDLE_TIMEOUT", "600")))
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}")
    m = {k: rx.search(r.stdout) for k, rx in IDLE_RE.items()}
    if not (m["idle"] and m["heap"] and m["rss"]):
        raise RuntimeError(f"{' '.join(argv)}: unexpected output: {r.stdout.strip()[-300:]}")
    # Fewer idle than asked for: the server closed some, the figure is not per connection held.
    if int(m["idle"].group(1)) != int(argv[1]):
        raise RuntimeError(f"{' '.join(argv)}: {m['idle'].group(1)} of {argv[1]} connections idle")
    out = {"idle": int(m["idle"].group(1)), "dials": int(m["idle"].group(2)),
           "heap_bytes_per_conn": float(m["heap"].group(3)), "rss_kib_per_conn": float(m["rss"].group(3)),
           "rss_kib_before": int(m["rss"].group(1)), "rss_kib_after": int(m["rss"].group(2))}
    if m["tls"]:
        out.update(tls=m["tls"].group(1), resumed=int(m["tls"].group(2)), handshakes=int(m["tls"].group(3)))
    return out


def run_idle_conns(exe, n, reps, work, ca):
    """G: `reps` interleaved runs of nethttp_idle_conns with n connections,
    plain HTTP (its own forked server) and HTTPS (nginx, with and without
    session resumption); medians. -> ({kind: medians}, None) or (None, error)."""
    cert, key = (os.path.join(os.path.dirname(os.path.abspath(ca)), f) for f in ("server.pem", "server.key"))
    if not (os.path.exists(cert) and os.path.exists(key)):
        return None, f"no server certificate next to {ca} (bench.sh makes server.pem and server.key)"
    try:
        with IdleNginx(work, cert, key, max(20000, n + 1000)) as nginx:
            url = f"https://127.0.0.1:{nginx.port}/small"
            kinds = {"http": [exe, str(n)], "https": [exe, str(n), "--url", url, "--ca", ca],
                     "https-full": [exe, str(n), "--url", url, "--ca", ca, "--no-resumption"]}
            runs = {k: [] for k in kinds}
            for rep in range(reps):
                for k, argv in kinds.items():
                    runs[k].append(idle_once(argv))
                    log(f"[G] {k} run {rep + 1}: {runs[k][-1]['heap_bytes_per_conn']:.0f} bytes, "
                        f"{runs[k][-1]['rss_kib_per_conn']:.2f} KiB per idle connection")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    med = {}
    for k, rs in runs.items():
        med[k] = dict(rs[0])
        for f in ("heap_bytes_per_conn", "rss_kib_per_conn"):
            med[k][f] = statistics.median(r[f] for r in rs)
            med[k][f + "_range"] = (min(r[f] for r in rs), max(r[f] for r in rs))
        med[k]["idle"] = min(r["idle"] for r in rs)
        med[k]["reps"], med[k]["n"] = len(rs), n
    log("[G] done")
    return med, None


# ---------------------------------------------------------------- report


def read_harness_csv(path):
    """The shared harness's medians CSV -> {workload: [row]} with float metrics."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for r in csv.DictReader(f):
            row = {"peer": r["peer"], "note": r["note"], "status": r["status"]}
            for k in KEYS:
                if r.get(k):
                    row[k] = float(r[k])
            out.setdefault(r["workload"], []).append(row)
    runs = re.sub(r"(\.csv)?$", "-runs.csv", path, count=1)
    if os.path.exists(runs):  # accepts min-max across runs, as the harness prints it
        acc = {}
        with open(runs) as f:
            for r in csv.DictReader(f):
                if r["status"] == "ok":
                    acc.setdefault((r["workload"], r["peer"]), []).append(float(r["accepts"]))
        for wid, rows in out.items():
            for row in rows:
                a = acc.get((wid, row["peer"]), [])
                if a and min(a) != max(a):
                    row["accepts_range"] = f"{min(a):g}-{max(a):g}"
    return out


def num(v, digits=1):
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def table(wid, rows, resumption, wrk_secs):
    title, request, _ = WORKLOADS[wid]
    head = ["client", "req/s"] + (["MiB/s"] if wid in MIB_COLUMN else []) + ["cpu µs/req", "peak RSS MiB",
                                                                            "accepts"]
    if resumption is not None:
        head += ["TLS handshakes/run", "full/run", "resumed"]
    lines = [f"### {wid}: {title} ({request})", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for r in sorted(rows, key=lambda r: CLIENTS.index(r["peer"]) if r["peer"] in CLIENTS else 99):
        name = SHOWN.get(r["peer"], r["peer"])
        if r["peer"] == "wrk":
            name += f" ({wrk_secs} s)"
        if "rps" not in r:
            lines.append(f"| {name} | {r['note'] or 'not run'} |" + " |" * (len(head) - 2))
            continue
        acc = f"{r['accepts']:g}" + (f" ({r['accepts_range']})" if r.get("accepts_range") else "")
        cells = [name, num(r["rps"], 0)] + ([num(r["mib_s"])] if wid in MIB_COLUMN else []) + [
            num(r["cpu_us_per_req"]), f"{r['rss_mib']:.1f}", acc]
        if resumption is not None:
            t = resumption.get((wid, r["peer"]), {"r": 0, ".": 0, "runs": 0})
            total = t["r"] + t["."]
            if total:
                cells += [f"{total / t['runs']:.0f}", f"{t['.'] / t['runs']:.0f}", f"{100 * t['r'] / total:.0f}%"]
            else:
                cells += ["-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio_tables(results):
    """nethttp's figure over each peer's, same run."""
    peers = [p for p in CLIENTS if p != "nethttp"]
    out = []
    for metric, title, note in (
            ("cpu_us_per_req", "Client CPU per request, nethttp ÷ peer",
             "below 1×: nethttp spends less CPU per request"),
            ("rps", "Requests per second, nethttp ÷ peer",
             "above 1×: nethttp is faster; wrk's is its own time-based count")):
        lines = [f"### {title} ({note})", "", "| workload | " + " | ".join(f"vs {SHOWN[p]}" for p in peers) + " |",
                 "|---|" + "---|" * len(peers)]
        for wid in WORKLOADS:
            if wid == "S" or wid not in results:
                continue
            by = {r["peer"]: r for r in results[wid] if "rps" in r}
            if "nethttp" not in by:
                continue
            cells = [f"{by['nethttp'][metric] / by[p][metric]:.2f}×" if p in by and by[p][metric] else "—"
                     for p in peers]
            lines.append(f"| {wid} {WORKLOADS[wid][0]} | " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def many_origins_table(med, err):
    lines = ["### F: many origins (`nethttp_many_origins`, epoll server in a child process, "
             "GETs round-robin over the origins)", ""]
    if err:
        return "\n".join(lines + [f"not run: {err}"])
    one, many = med[1], med[1000]
    lines += [f"requests={one['requests']:g}, concurrency={one['concurrency']}, max_idle = origins × "
              "concurrency (every origin keeps its connection); client CPU of the timed part only "
              f"(after one warm-up request per origin); medians of {one['reps']} interleaved runs", "",
              "| origins | req/s | cpu µs/req (min–max) | of it user | of it system | dials | reuses | peak RSS MiB |",
              "|---|---|---|---|---|---|---|---|"]
    for k, m in med.items():
        lines.append(f"| {k:,} | {m['requests_per_sec']:,.0f} | {m['cpu_us_per_request']:.2f} "
                     f"({m['cpu_range'][0]:.2f}–{m['cpu_range'][1]:.2f}) | {m['user_us_per_request']:.2f} "
                     f"| {m['sys_us_per_request']:.2f} | {m['dials']:g} | {m['reuses']:g} "
                     f"| {m['peak_rss_mib']:.1f} |")
    ratio = lambda f: many[f] / one[f]  # noqa: E731
    lines.append(f"| **1,000 ÷ 1** | {ratio('requests_per_sec'):.2f}× | "
                 f"**{ratio('cpu_us_per_request'):.2f}×** | **{ratio('user_us_per_request'):.2f}×** "
                 f"| {ratio('sys_us_per_request'):.2f}× | | | {ratio('peak_rss_mib'):.2f}× |")
    lines += ["", "User time is the client's own work, the pool's bookkeeping included; system time is "
              "the kernel's, which touches 1,000 sockets' state instead of one's."]
    return "\n".join(lines)


IDLE_KINDS = {
    "http": "plain HTTP (epoll server in a child process)",
    "https": "HTTPS, session resumption (the default)",
    "https-full": "HTTPS, full handshakes (`--no-resumption`)",
}


def idle_conns_table(med, err):
    lines = ["### G: idle connections, user memory per connection (`nethttp_idle_conns`)", ""]
    if err:
        return "\n".join(lines + [f"not run: {err}"])
    first = next(iter(med.values()))
    tls = next((m["tls"] for m in med.values() if m.get("tls")), "?")
    lines += [f"{first['n']:,} connections opened at once, every body read to its end, then all idle; heap = "
              "mallinfo2 `uordblks` delta after `malloc_trim(0)`, RSS = resident delta (kernel socket memory not "
              f"included); medians of {first['reps']} interleaved runs (min–max). HTTPS: nginx {nginx_version()}, "
              f"{tls}, ECDSA P-256 certificate from the test CA. Aim: ≤ {IDLE_BUDGET:,} bytes per idle connection.",
              "", "| connections | idle | handshakes resumed | heap bytes/conn (min–max) | RSS KiB/conn (min–max) "
              "| ≤ 2 KiB |", "|---|---|---|---|---|---|"]
    for k, m in med.items():
        h, r = m["heap_bytes_per_conn"], m["rss_kib_per_conn"]
        hr, rr = m["heap_bytes_per_conn_range"], m["rss_kib_per_conn_range"]
        resumed = f"{m['resumed']:,} of {m['handshakes']:,}" if "handshakes" in m else "—"
        lines.append(f"| {IDLE_KINDS.get(k, k)} | {m['idle']:,} | {resumed} | **{h:,.0f}** "
                     f"({hr[0]:,.0f}–{hr[1]:,.0f}) | {r:.2f} ({rr[0]:.2f}–{rr[1]:.2f}) "
                     f"| {'yes' if h <= IDLE_BUDGET else 'no'} |")
    if "http" in med and "https" in med:
        plain, tls_ = med["http"], med["https"]
        lines.append(f"| **HTTPS ÷ plain** | | | {tls_['heap_bytes_per_conn'] / plain['heap_bytes_per_conn']:.0f}× "
                     f"| {tls_['rss_kib_per_conn'] / plain['rss_kib_per_conn']:.1f}× | |")
    return "\n".join(lines)


def nginx_version():
    r = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    return (r.stderr or r.stdout).strip().rpartition("/")[2] or "?"


def host_line():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}"


def write_report(args, results, resumption, many, many_err, idle, idle_err, header, wrk_secs):
    os.makedirs(args.out, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# nethttp and other HTTP/1.1 clients: the last run of `scripts/bench.sh`", "",
        f"Measured {now}, medians of REPS={REPS} interleaved runs.  ",
        f"host: {host_line()}  ", *[f"{line}  " for line in header],
        f"load average at the end: {open('/proc/loadavg').read().split()[0]} "
        "(other work on the host moves the figures; compare within one run)", "",
        "Every client is a separate process against nginx on 127.0.0.1 (one worker); "
        "`cpu µs/req` is the client process's user+sys CPU (startup included) per request, "
        "`peak RSS` its GNU time `%M`, `accepts` the connections nginx accepted (min–max over the runs "
        "in parentheses when they differ). wrk runs for a set time, not a set count.", ""]
    for wid in WORKLOADS:
        if wid in results:
            parts += [table(wid, results[wid], resumption if wid.startswith("E") else None, wrk_secs), ""]
            if wid in NOTES:
                parts += [NOTES[wid], ""]
    if many is not None or many_err:
        parts += [many_origins_table(many, many_err), ""]
    if idle is not None or idle_err:
        parts += [idle_conns_table(idle, idle_err), ""]
        if idle is not None:
            parts += [NOTES["G"], ""]
    parts += ["## Ratios (same run)", "", ratio_tables(results), ""]
    text = "\n".join(parts)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print("\n" + text)

    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "title", "peer", "reps"] + KEYS + ["tls_resumed", "tls_full", "status", "note"])
        for wid, rows in results.items():
            for r in rows:
                t = resumption.get((wid, r["peer"]), {})
                w.writerow([wid, WORKLOADS.get(wid, ("?",))[0], r["peer"], REPS]
                           + [f"{r[k]:.6g}" if k in r else "" for k in KEYS]
                           + [t.get("r", ""), t.get(".", ""), r["status"], r["note"]])
    if many is not None:
        with open(os.path.join(args.out, "many_origins.csv"), "w", newline="") as f:
            w = csv.writer(f)
            fields = ["requests_per_sec", "cpu_us_per_request", "user_us_per_request", "sys_us_per_request",
                      "dials", "reuses", "peak_rss_mib", "seconds"]
            w.writerow(["origins", "requests", "concurrency", "max_idle", "reps"] + fields)
            for k, m in many.items():
                w.writerow([k, m["requests"], m["concurrency"], m["max_idle"], m["reps"]]
                           + [f"{m[x]:.6g}" for x in fields])

    if idle is not None:
        with open(os.path.join(args.out, "idle_conns.csv"), "w", newline="") as f:
            w = csv.writer(f)
            fields = ["heap_bytes_per_conn", "rss_kib_per_conn"]
            w.writerow(["kind", "connections", "idle", "reps", "tls", "resumed"] + fields
                       + [x + "_min" for x in fields] + [x + "_max" for x in fields])
            for k, m in idle.items():
                w.writerow([k, m["n"], m["idle"], m["reps"], m.get("tls", ""), m.get("resumed", "")]
                           + [f"{m[x]:.6g}" for x in fields] + [f"{m[x + '_range'][0]:.6g}" for x in fields]
                           + [f"{m[x + '_range'][1]:.6g}" for x in fields])

    with open(os.path.join(args.out, "peers.dat"), "w") as f:
        f.write(f"# Client CPU per request (user+sys µs), medians of {REPS}, written by scripts/bench.sh "
                f"on {now[:10]}\n# (results.md has the tables). -1: not measured. C2 (per 64 MiB) and "
                "F (nethttp only) are left out.\n")
        f.write("# workload     " + "  ".join(CLIENTS) + "\n")
        for wid, (_, _, label) in WORKLOADS.items():
            if label is None or wid not in results:
                continue
            by = {r["peer"]: r for r in results[wid] if "rps" in r}
            vals = [f"{by[p]['cpu_us_per_req']:.1f}" if p in by else "-1" for p in CLIENTS]
            f.write(f'"{label}"  ' + "  ".join(vals) + "\n")


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers-dir", required=True)
    ap.add_argument("--work", required=True, help="scratch dir: POST body, logs, CSVs")
    ap.add_argument("--peer-build", required=True, help="where the POST variants are built (kept)")
    ap.add_argument("--nethttp", required=True)
    ap.add_argument("--http-base", required=True, help="nginx with /upload, /upload-check and /status")
    ap.add_argument("--https-base", required=True, help="nginx TLS server with /small, /chunked, /status")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--handshake-log", required=True)
    ap.add_argument("--upload-log", required=True)
    ap.add_argument("--harness-csv", default="", help="run.sh's RESULTS (workloads S..C2)")
    ap.add_argument("--header", default="", help="file with the host/versions lines run.sh printed")
    ap.add_argument("--many-origins", required=True, help="the nethttp_many_origins binary")
    ap.add_argument("--idle-conns", default="", help="the nethttp_idle_conns binary (workload G)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    extra = set((env("EXTRA") or "D,E,F,G").split(","))
    harness = import_harness(args.peers_dir)
    results = read_harness_csv(args.harness_csv)
    resumption = {}
    runs_file = open(os.path.join(args.work, "extra-runs.csv"), "w", newline="")
    runs_csv = csv.writer(runs_file)
    runs_csv.writerow(["workload", "path", "concurrency", "peer", "rep"] + KEYS + ["status"])
    n_seq, n_conc = int(env("N_SMALL_SEQ", "20000")), int(env("N_SMALL_CONC", "50000"))
    c_conc = int(env("C_SMALL", "32"))
    wrk_secs = harness.WRK_SECS

    if "D" in extra:
        body = os.path.join(args.work, "post-1k.bin")
        with open(body, "wb") as f:
            f.write(b"x" * POST_BYTES)
        lua = os.path.join(args.work, "post.lua")
        with open(lua, "w") as f:
            f.write(WRK_POST_LUA)
        os.environ["POST_FILE"] = body
        cmds, missing = build_post_peers(args.peers_dir, args.peer_build)
        peers = {"nethttp": lambda u, n, c: [args.nethttp, "bench", "-n", str(n), "-c", str(c), "-X", "POST",
                                              "-d", "@" + body, "-H", f"Content-Type: {POST_TYPE}", u]}
        for name in CLIENTS[1:-1]:
            peers[name] = cmds.get(name, not_run)
        peers["wrk"] = lambda u, n, c: ["wrk", "-t1", f"-c{c}", f"-d{wrk_secs}s", "-s", lua, u]
        peers = {k: v for k, v in peers.items() if not env("PEERS") or k in env("PEERS").split(",")}
        print("[D] ", end="")
        missing.update(check_upload(harness, args.http_base, {k: v for k, v in peers.items() if k not in missing},
                                    args.upload_log))
        usable = {k: not_run if k in missing else v for k, v in peers.items()}
        results["D1"] = run_rows(harness, "D1", args.http_base, "/upload", n_seq, 1, UPLOAD_ANSWER, usable, missing,
                                 runs_csv)
        results["D2"] = run_rows(harness, "D2", args.http_base, "/upload", n_conc, c_conc, UPLOAD_ANSWER, usable,
                                 missing, runs_csv)

    if "E" in extra:
        # Trust the test CA and nothing else (an empty SSL_CERT_DIR keeps Go and
        # OpenSSL from loading the system's directory of roots).
        empty = os.path.join(args.work, "no-certs")
        os.makedirs(empty, exist_ok=True)
        os.environ.update(SSL_CERT_FILE=args.ca, SSL_CERT_DIR=empty, NODE_EXTRA_CA_CERTS=args.ca)
        harness.NETHTTP = args.nethttp
        peers = harness.peer_cmds()
        missing = {}
        if "libcurl" in peers:
            wrapped = libcurl_trusting(args.ca, f"{harness.BUILD}/libcurl-peer")
            if wrapped:
                peers["libcurl"] = wrapped
            else:
                missing["libcurl"] = "cannot make libcurl trust the test CA (needs unshare -m as root)"
                peers["libcurl"] = not_run
        harness.BASE = args.https_base
        print("[E] ", end="")
        harness.check(peers)
        hs = HandshakeLog(args.handshake_log)
        results["E1"] = run_rows(harness, "E1", args.https_base, "/small", n_seq, 1, 13, peers, missing, runs_csv,
                                 hs)
        results["E2"] = run_rows(harness, "E2", args.https_base, "/small", n_conc, c_conc, 13, peers, missing,
                                 runs_csv, hs)
        resumption = hs.tally
    runs_file.close()

    many, many_err = None, None
    if "F" in extra:
        many, many_err = run_many_origins(args.many_origins, int(env("MANY_ORIGINS_REQUESTS", "200000")),
                                          int(env("MANY_ORIGINS_REPS", str(max(REPS, 5)))),
                                          (env("MANY_ORIGINS_ARGS") or "").split(), harness.TIME_BIN)
        if many_err:
            log(f"[F] skipped: {many_err}")

    idle, idle_err = None, None
    if "G" in extra:
        if not args.idle_conns:
            idle_err = "no nethttp_idle_conns binary (--idle-conns)"
        else:
            idle, idle_err = run_idle_conns(args.idle_conns, int(env("IDLE_CONNS", "10000")), REPS, args.work,
                                            args.ca)
        if idle_err:
            log(f"[G] skipped: {idle_err}")

    header = []
    if args.header and os.path.exists(args.header):
        with open(args.header) as f:
            header = [l.rstrip("\n") for l in f if l.strip()]
    write_report(args, results, resumption, many, many_err, idle, idle_err, header, wrk_secs)


if __name__ == "__main__":
    main()
