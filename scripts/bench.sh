#!/usr/bin/env bash
# nethttp against other HTTP/1.1 clients, in one command (docs/BENCHMARKS.md):
#
#   bash scripts/bench.sh
#
# From a fresh clone on Debian 12, as root (or with sudo): installs what is
# missing, sets up and builds the shared peers (../shared/bench/peers) if they
# are not built, builds nethttp in Release (build/release), then
#   1. runs the shared peer harness (run.sh): S, A, B, C1, C2 against its nginx;
#   2. starts its own nginx (plain HTTP and TLS) and runs scripts/bench_workloads.py:
#      D  small POST uploads, E  HTTPS GETs with TLS session resumption,
#      F  many origins (build/release/bench/nethttp_many_origins);
#      G  user memory per idle connection, plain HTTP and HTTPS, IDLE_CONNS
#         (10000) at once (bench/nethttp_idle_conns);
#   3. writes docs/bench/results.md (tables, ratios), results.csv,
#      many_origins.csv, idle_conns.csv (G), peers.dat, and draws docs/bench/peers.png (gnuplot).
# About 5 minutes on 2 cores with the defaults once everything is built; a
# first run also sets up the peers and builds nethttp (10 minutes in all).
#
# Settings (env): REPS (3) runs per client and workload, medians reported;
# WORKLOADS the harness's subset (e.g. A,B; "none" skips the harness);
# EXTRA the extra workloads (default D,E,F,G); PEERS (e.g. nethttp,go,wrk);
# WRK_SECS (3); N_SMALL_SEQ (20000), N_SMALL_CONC (50000), C_SMALL (32), used by
# A, B, D and E; TLS_KEEPALIVE_REQUESTS (100) requests per TLS connection;
# MANY_ORIGINS_REQUESTS (200000), MANY_ORIGINS_REPS (REPS, at least 5: F is
# cheap and noisy), MANY_ORIGINS_ARGS (extra flags for F, e.g. --concurrency 4);
# PIN=1 pins nginx to CPU 0 and the clients to the others (harness only);
# PEERS_DIR (../shared/bench/peers); OUT (docs/bench); KEEP_WORK=1 keeps the
# scratch directory (logs, per-run CSVs, certificates).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

export REPS=${REPS:-3}
PEERS_DIR=$(cd "${PEERS_DIR:-$NETHTTP_ROOT/../shared/bench/peers}" && pwd) || {
	echo "bench: the shared peer harness is not at ${PEERS_DIR:-$NETHTTP_ROOT/../shared/bench/peers}; set PEERS_DIR" >&2
	exit 1
}
OUT=${OUT:-$NETHTTP_ROOT/docs/bench}
BUILD=$NETHTTP_ROOT/build/release

ensure_packages "${BUILD_PACKAGES[@]}" libbenchmark-dev nginx wrk openssl python3 time gnuplot-nox

# --- the peers: setup.sh is idempotent but runs apt-get and npm; only when needed.
peers_built() {
	local exe
	for exe in go-peer libcurl-peer httplib-peer; do
		[[ -x $PEERS_DIR/build/$exe ]] || return 1
	done
	[[ -f $PEERS_DIR/undici/node_modules/undici/package.json ]]
}
if ! peers_built; then
	echo "== setting up the shared peers ($PEERS_DIR/setup.sh)"
	bash "$PEERS_DIR/setup.sh"
fi

# --- nethttp, Release. Benchmarks stay on (demo.sh turns them off in this tree).
echo "== building nethttp (Release) in $BUILD"
configure_build "$BUILD" -DCMAKE_BUILD_TYPE=Release -DNETHTTP_BUILD_TESTS=OFF -DNETHTTP_BUILD_BENCH=ON \
	-- nethttp_cli nethttp_many_origins nethttp_idle_conns

# --- scratch directory and our nginx, both removed on exit.
WORK=$(mktemp -d /tmp/nethttp-bench.XXXXXX)
NGINX_PID=
cleanup() {
	if [[ -n $NGINX_PID ]]; then
		kill "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
	fi
	if [[ ${KEEP_WORK:-0} == 1 ]]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$WORK" # nginx workers run as another user

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Measure copies: another build into build/release during the run must not
# change the programs half-way.
mkdir -p "$WORK/bin"
cp "$BUILD/tools/nethttp/nethttp" "$BUILD/bench/nethttp_many_origins" "$BUILD/bench/nethttp_idle_conns" "$WORK/bin/"
NETHTTP=$WORK/bin/nethttp
MANY_ORIGINS=$WORK/bin/nethttp_many_origins
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

# --- 1. the shared harness (its own nginx, its own temp dir).
HARNESS_CSV=
if [[ ${WORKLOADS:-} != none ]]; then
	echo "== shared peer harness: REPS=$REPS${WORKLOADS:+ WORKLOADS=$WORKLOADS}"
	HARNESS_CSV=$WORK/peers.csv
	PORT=$(free_port) NETHTTP_BENCH=$NETHTTP RESULTS=$HARNESS_CSV \
		bash "$PEERS_DIR/run.sh" | tee "$WORK/harness.log"
fi

# --- 2. our nginx: /upload (plain HTTP) and a TLS server whose connections
# end after TLS_KEEPALIVE_REQUESTS requests, so TLS sessions get resumed. The
# TLS server logs one line per connection: was the session resumed ('r') or
# not ('.'), and the first request's path.
echo "== test CA and server certificate (ECDSA P-256), nginx for workloads D and E"
mkdir -p "$WORK/www" "$WORK/tmp"
head -c $((1 << 20)) /dev/zero >"$WORK/www/1m"
chmod 644 "$WORK/www/1m"
(
	cd "$WORK" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=nethttp bench CA" -keyout ca.key -out ca.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
	printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
		"keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out server.pem 2>/dev/null
	chmod 644 ./*.pem server.key
)
HTTP_PORT=$(free_port)
TLS_PORT=$(free_port)
while [[ $TLS_PORT == "$HTTP_PORT" ]]; do TLS_PORT=$(free_port); done
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    default_type application/octet-stream;
    client_body_temp_path $WORK/tmp/body;
    proxy_temp_path $WORK/tmp/proxy;
    fastcgi_temp_path $WORK/tmp/fastcgi;
    uwsgi_temp_path $WORK/tmp/uwsgi;
    scgi_temp_path $WORK/tmp/scgi;

    map \$connection_requests \$first_request { 1 1; default 0; }
    log_format handshake '\$ssl_session_reused \$uri \$ssl_protocol';
    log_format upload '\$request_method \$content_length \$content_type';

    server {
        listen 127.0.0.1:$HTTP_PORT backlog=4096;
        keepalive_requests 1000000;
        # The body is read and dropped; the connection stays open.
        location = /upload { client_max_body_size 1m; default_type text/plain; return 200 "ok\n"; }
        location = /upload-check {
            client_max_body_size 1m;
            access_log $WORK/upload.log upload;
            default_type text/plain;
            return 200 "ok\n";
        }
        location = /status { stub_status; }
        location / { return 404; }
    }
    server {
        listen 127.0.0.1:$TLS_PORT ssl backlog=4096;
        root $WORK/www;
        keepalive_requests ${TLS_KEEPALIVE_REQUESTS:-100};
        ssl_certificate $WORK/server.pem;
        ssl_certificate_key $WORK/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 10m;
        ssl_session_tickets on;
        access_log $WORK/handshakes.log handshake if=\$first_request;
        location = /small { default_type text/plain; return 200 "hello, world\n"; }
        location = /chunked { alias $WORK/www/1m; ssi on; ssi_types *; }
        location = /status { stub_status; }
        location / { return 404; }
    }
}
EOF
nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" &
NGINX_PID=$!
for _ in $(seq 50); do
	port_open "$HTTP_PORT" && port_open "$TLS_PORT" && break
	sleep 0.1
done
if ! port_open "$HTTP_PORT" || ! port_open "$TLS_PORT"; then
	echo "bench: nginx did not start:" >&2
	cat "$WORK/error.log" >&2 || true
	exit 1
fi

# --- what the report's header names.
{
	if [[ -f $WORK/harness.log ]] && grep -q '^versions:' "$WORK/harness.log"; then
		grep '^versions:' "$WORK/harness.log"
	else
		echo "versions: $(nginx -v 2>&1 | sed 's|.*/|nginx |'), $(go version | cut -d' ' -f3)," \
			"$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	fi
	cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
	rev=$(git -C "$NETHTTP_ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
	git -C "$NETHTTP_ROOT" diff --quiet HEAD 2>/dev/null || rev="$rev + uncommitted changes"
	echo "nethttp: $rev, Release, $("${cxx:-c++}" --version | head -1)"
	echo "load average at the start: $LOAD_START"
	echo "TLS (E): $(openssl version | cut -d' ' -f1-2), nginx TLSv1.3 with an ECDSA P-256 certificate" \
		"from a test CA, shared session cache and session tickets," \
		"keepalive_requests ${TLS_KEEPALIVE_REQUESTS:-100}"
} >"$WORK/header.txt"

python3 "$NETHTTP_ROOT/scripts/bench_workloads.py" \
	--peers-dir "$PEERS_DIR" --work "$WORK" --peer-build "$NETHTTP_ROOT/build/bench-peers" \
	--nethttp "$NETHTTP" --http-base "http://127.0.0.1:$HTTP_PORT" --https-base "https://127.0.0.1:$TLS_PORT" \
	--ca "$WORK/ca.pem" --handshake-log "$WORK/handshakes.log" --upload-log "$WORK/upload.log" \
	--harness-csv "$HARNESS_CSV" --header "$WORK/header.txt" --many-origins "$MANY_ORIGINS" \
	--idle-conns "$WORK/bin/nethttp_idle_conns" --out "$OUT"

# --- 3. the chart (of the peers: nothing to draw without the harness).
if [[ ${WORKLOADS:-} != none ]]; then
	OUT=$OUT bash "$NETHTTP_ROOT/scripts/bench_chart.sh"
	echo "== wrote $OUT/results.md, results.csv, peers.dat, peers.png"
else
	echo "== wrote $OUT/results.md, results.csv"
fi
