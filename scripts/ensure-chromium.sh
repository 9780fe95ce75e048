# Source this file: makes sure a Chromium for the browser tests is at /usr/bin/chromium
# (Debian's package; browser downloads do not work here). Exports CHROMIUM_PATH when found.
# Where it cannot be installed (not root, no apt), browser tests are reported as skipped.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "ensure-chromium: installing Debian's chromium" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) >&2 \
    || echo "ensure-chromium: install failed; browser tests will be skipped" >&2
fi
if [ -x /usr/bin/chromium ]; then export CHROMIUM_PATH=/usr/bin/chromium; fi
