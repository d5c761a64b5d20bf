#!/usr/bin/env bash
# Page-load time of an unbundled dev-server app through each proxy, in headless Chromium over an
# emulated internet link (issue 14). The link is Chromium's own emulation (pageload.py says why:
# these kernels have no netem); the proxies listen on 127.0.0.1:8443 one at a time.
#
# usage: Benchmarks/pageload/pageload.sh [--loads N] [--profiles "40ms:50mbit 150ms:10mbit"]
# Needs nginx, Chromium with Playwright for Python, a release build (swift build -c release
# --product porthole); Caddy if installed. Prints a Markdown table; every process it starts and
# its work directory are removed on exit.
set -euo pipefail

LOADS=5
PROFILES="40ms:50mbit 150ms:10mbit"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --loads) LOADS=$2; shift 2 ;;
        --profiles) PROFILES=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORTHOLE=${PORTHOLE_BIN:-$ROOT/.build/release/porthole}
[[ -x $PORTHOLE ]] || { echo "no $PORTHOLE: swift build -c release --product porthole" >&2; exit 1; }
WORK=$(mktemp -d /tmp/porthole-pageload.XXXXXX)
chmod 755 "$WORK"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The app, served uncompressed by an nginx upstream on loopback (a fast stand-in for a dev server).
python3 "$HERE/make_app.py" "$WORK/app" --modules 300
chmod -R a+rX "$WORK/app"
UPSTREAM_PORT=3000
cat >"$WORK/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/upstream.pid; error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off; include /etc/nginx/mime.types;
    client_body_temp_path $WORK/ub; proxy_temp_path $WORK/up; fastcgi_temp_path $WORK/uf; uwsgi_temp_path $WORK/uu; scgi_temp_path $WORK/us;
    server { listen 127.0.0.1:$UPSTREAM_PORT; root $WORK/app; etag on; }
}
CONF
nginx -e stderr -c "$WORK/upstream.conf" -p "$WORK" &
PIDS+=($!)

HOST=$UPSTREAM_PORT-app.preview.localhost
mkdir -p "$WORK/data" "$WORK/certs"
"$PORTHOLE" certs dev --cert-dir "$WORK/certs" >/dev/null
"$PORTHOLE" sandbox create --id app --target 127.0.0.1 --public --data-dir "$WORK/data" >/dev/null
chmod -R a+rX "$WORK/certs"

wait_port() { for _ in $(seq 100); do ss -ltnH "sport = :$1" | grep -q . && return 0; sleep 0.1; done; return 1; }

start_target() {  # start_target NAME; sets TARGET_PID
    case "$1" in
        porthole-h1) "$PORTHOLE" serve --data-dir "$WORK/data" --cert-dir "$WORK/certs" --bind-address 127.0.0.1 \
                --https-port 8443 --http-port 0 --http-mode off --admin-port 0 --threads 1 --log-level warning \
                --access-log off --compression off --http2 off 2>"$WORK/$1.log" & ;;
        porthole-h1-gzip) "$PORTHOLE" serve --data-dir "$WORK/data" --cert-dir "$WORK/certs" --bind-address 127.0.0.1 \
                --https-port 8443 --http-port 0 --http-mode off --admin-port 0 --threads 1 --log-level warning \
                --access-log off --http2 off 2>"$WORK/$1.log" & ;;
        porthole-h2-gzip) "$PORTHOLE" serve --data-dir "$WORK/data" --cert-dir "$WORK/certs" --bind-address 127.0.0.1 \
                --https-port 8443 --http-port 0 --http-mode off --admin-port 0 --threads 1 --log-level warning \
                --access-log off 2>"$WORK/$1.log" & ;;
        nginx-h2-gzip)
            cat >"$WORK/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nb; proxy_temp_path $WORK/np; fastcgi_temp_path $WORK/nf; uwsgi_temp_path $WORK/nu; scgi_temp_path $WORK/ns;
    upstream app { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
    gzip on; gzip_comp_level 5; gzip_min_length 1024; gzip_proxied any; gzip_vary on;
    gzip_types text/plain text/css text/javascript application/javascript application/json image/svg+xml;
    server {
        listen 127.0.0.1:8443 ssl http2;
        ssl_certificate $WORK/certs/dev-cert.pem; ssl_certificate_key $WORK/certs/dev-key.pem;
        location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$http_host; }
    }
}
CONF
            nginx -e stderr -c "$WORK/nginx.conf" -p "$WORK" 2>"$WORK/$1.log" & ;;
        caddy-h2-gzip)
            cat >"$WORK/Caddyfile" <<CONF
{
    admin off
    auto_https off
    servers {
        protocols h1 h2
    }
}
https://$HOST:8443 {
    bind 127.0.0.1
    tls $WORK/certs/dev-cert.pem $WORK/certs/dev-key.pem
    encode {
        gzip 5
        minimum_length 1024
    }
    reverse_proxy 127.0.0.1:$UPSTREAM_PORT
}
CONF
            XDG_CONFIG_HOME=$WORK XDG_DATA_HOME=$WORK caddy run --config "$WORK/Caddyfile" --adapter caddyfile 2>"$WORK/$1.log" & ;;
    esac
    TARGET_PID=$!
    wait_port 8443 || { echo "$1 did not start: $(tail -5 "$WORK/$1.log")" >&2; return 1; }
}

TARGETS=(porthole-h1 porthole-h1-gzip porthole-h2-gzip nginx-h2-gzip)
command -v caddy >/dev/null && TARGETS+=(caddy-h2-gzip)
echo "| profile | target | protocol | load (median ms) | loads (ms) | bytes on the wire |"
echo "|---|---|---|---:|---|---:|"
for profile in $PROFILES; do
    rtt=${profile%%:*}; rate=${profile##*:}
    for target in "${TARGETS[@]}"; do
        start_target "$target" || continue
        result=$(python3 "$HERE/pageload.py" "https://$HOST:8443/" --loads "$LOADS" --resolve-to 127.0.0.1 \
            --rtt-ms "${rtt%ms}" --mbit "${rate%mbit}")
        kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true
        python3 - "$profile" "$target" "$result" <<'PY'
import json, sys
profile, target, result = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
assert result["title"] == "loaded 300", result
print(f"| {profile} | {target} | {result['protocol']} | {result['loadMs']:.0f} | {' / '.join(map(str, result['loadsMs']))} | {result['bytes']:,.0f} |")
PY
    done
done
