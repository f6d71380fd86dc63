#!/usr/bin/env bash
# The support pages in real headless Chromium.
#
# Installs what is missing (Debian's chromium, the test package from
# package-lock.json), builds the example server, and runs the scenarios with
# node's test runner. Each test file starts its own example server (a temp
# SQLite file, a free loopback port, a test JWT secret; stopped when the file
# ends) and its own Chromium. Screenshots are saved under
# $CARGO_TARGET_DIR/browser-tests/screenshots (default target/), printed at
# the end; UPDATE_SCREENSHOTS=1 also copies the two shown in the README.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

if [ ! -d node_modules ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi

echo "== building the example server"
(cd "$root" && cargo build -p support-example)
target=${CARGO_TARGET_DIR:-target}
case "$target" in
  /*) ;;
  *) target="$root/$target" ;;
esac
export SUPPORT_EXAMPLE_BIN="$target/debug/support-example"
export BROWSER_OUTPUT="$target/browser-tests"
rm -rf "$BROWSER_OUTPUT"

echo "== browser tests"
status=0
node --test --test-concurrency=1 test/ || status=$?

echo "screenshots: $BROWSER_OUTPUT/screenshots"
echo "server logs: $BROWSER_OUTPUT"
if [ "$status" = 0 ] && [ "${UPDATE_SCREENSHOTS:-}" = 1 ]; then
  cp "$BROWSER_OUTPUT/screenshots/desk-conversation-desktop.png" screenshots/desk-desktop.png
  cp "$BROWSER_OUTPUT/screenshots/user-phone.png" screenshots/user-phone.png
  echo "updated tests/browser/screenshots/"
fi
exit "$status"
