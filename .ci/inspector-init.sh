#!/usr/bin/env bash
# inspector-init.sh BINARY: `codefresh-mcp init --agent claude` into a temp folder, then
# have the MCP Inspector CLI start the server exactly as the written .mcp.json says and
# list its tools. Fails unless every contract tool comes back.
set -euo pipefail

bin=${1:?usage: .ci/inspector-init.sh /path/to/codefresh-mcp}
[ -x "$bin" ] || { echo "inspector-init: $bin is not an executable" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
inspector="@modelcontextprotocol/inspector@2.12.0"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "--- init --agent claude --dir $tmp"
"$bin" init --agent claude --dir "$tmp"

# The Inspector keeps OAuth secrets in the OS keychain by default; CI has none.
export MCP_INSPECTOR_SECRET_STORE=memory

echo "--- inspector tools/list via $tmp/.mcp.json"
if ! timeout 300 npx -y "$inspector" --cli --config "$tmp/.mcp.json" --server codefresh \
	--method tools/list >"$tmp/tools.json" 2>"$tmp/inspector.err"; then
	echo "inspector-init: the Inspector could not list tools" >&2
	cat "$tmp/inspector.err" "$tmp/tools.json" >&2
	exit 1
fi

# Every tool name of the contract must be listed.
node - "$tmp/tools.json" <<'JS'
const fs = require("fs");
const want = ["list_endpoints", "check_credentials", "preview_endpoint", "configure_pipeline",
  "start_load", "load_status", "cancel_load", "explain_load", "pipeline_info", "describe_table", "query"];
let res;
try {
  res = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
} catch (e) {
  console.error("inspector-init: tools/list output is not JSON:", e.message);
  process.exit(1);
}
const got = (res.tools || []).map((t) => t.name);
const missing = want.filter((n) => !got.includes(n));
if (missing.length > 0) {
  console.error("inspector-init: missing tools:", missing.join(", "), "; got:", got.join(", ") || "(none)");
  process.exit(1);
}
console.log(`inspector-init: ok, ${got.length} tools: ${got.join(", ")}`);
JS
