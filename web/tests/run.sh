#!/usr/bin/env bash
# The browser test: installs what is missing (Debian's chromium, the npm
# packages; quick when present), builds the `warp_web` and `actix_web` examples,
# and runs web/tests/browser.mjs against each in headless Chromium; then the
# other pages' tests (JSON-RPC 1.0, CORS/JSONP/cookies of the `*_api`
# examples, ...). Screenshots go to artifacts/. Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
    echo "== installing chromium (Debian)"
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium
fi

if [ ! -d web/node_modules/playwright-core ]; then
    echo "== npm ci (web/)"
    (cd web && npm ci --no-audit --no-fund)
fi

# Build each crate's web example (`warp_web`, `actix_web`) and keep a copy
# outside target/, so a later build cannot replace it under the browser test.
bin_dir="$(mktemp -d)"
trap 'rm -rf "$bin_dir"' EXIT
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
for adapter in warp actix; do
    echo "== building the $adapter web example"
    cargo build --quiet -p "sansrpc-$adapter" --example "${adapter}_web"
    cp "$target_dir/debug/examples/${adapter}_web" "$bin_dir/web-$adapter"
done

echo "== headless Chromium"
(cd web && node tests/browser.mjs "warp=$bin_dir/web-warp" "actix=$bin_dir/web-actix")

# The ported JSON-RPC 1.0 service (warp_v1_ws, web/v1.html, sansrpc.js in 1.0 mode).
echo "== building the warp_v1_ws example"
cargo build --quiet -p sansrpc-warp --example warp_v1_ws
cp "$target_dir/debug/examples/warp_v1_ws" "$bin_dir/warp_v1_ws"
echo "== headless Chromium, JSON-RPC 1.0"
(cd web && node tests/v1.mjs "$bin_dir/warp_v1_ws")

# The Socket.IO examples: the origin's page on socket.io-client from npm.
for example in socketio_ping socketio_warp; do
    echo "== building the $example example"
    cargo build --quiet -p sansrpc-socketio --example "$example"
    cp "$target_dir/debug/examples/$example" "$bin_dir/$example"
done
echo "== headless Chromium, Socket.IO"
(cd web && node tests/socketio.mjs "socketio_ping=$bin_dir/socketio_ping" "socketio_warp=$bin_dir/socketio_warp")

# The ported Flask example (`actix_api`, `warp_api`): CORS on and off from
# another origin, a JSONP <script>, the cookie of setcookie.
for adapter in actix warp; do
    echo "== building the ${adapter}_api example"
    cargo build --quiet -p "sansrpc-$adapter" --example "${adapter}_api"
    cp "$target_dir/debug/examples/${adapter}_api" "$bin_dir/${adapter}_api"
done
echo "== headless Chromium, CORS / JSONP / cookies"
(cd web && node tests/api.mjs "actix=$bin_dir/actix_api" "warp=$bin_dir/warp_api")
