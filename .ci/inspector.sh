#!/usr/bin/env bash
# inspector.sh BINARY: the MCP Inspector CLI against the built server on a
# demo project (loaded from the simulator): tools/list --strict with no
# schema problem reported, tools/call of list_endpoints and query, and the
# read-only tool set. Fails on any error or warning.
set -euo pipefail

bin=${1:?usage: .ci/inspector.sh /path/to/codefresh-mcp}
[ -x "$bin" ] || { echo "inspector: $bin is not an executable" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
inspector="@modelcontextprotocol/inspector@2.12.0"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
project="$tmp/project"
mkdir -p "$project"

# The Inspector keeps OAuth secrets in the OS keychain by default; CI has none.
export MCP_INSPECTOR_SECRET_STORE=memory

echo "--- demo load into $project"
"$bin" load --demo --demo-builds 300 --project "$project" >"$tmp/load.out" 2>"$tmp/load.err" || {
	cat "$tmp/load.out" "$tmp/load.err" >&2
	exit 1
}

# inspect NAME [inspector args...]: runs the Inspector on `BINARY serve
# --project DIR`, output in $tmp/NAME.out and $tmp/NAME.err.
inspect() {
	local name=$1
	shift
	if ! timeout 300 npx -y "$inspector" --cli -e CODEFRESH_MCP_LOG_LEVEL=warn "$@" -- "$bin" serve --project "$project" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"; then
		echo "inspector: $name failed" >&2
		cat "$tmp/$name.err" "$tmp/$name.out" >&2
		exit 1
	fi
}

echo "--- tools/list --strict"
# --strict exits non-zero on error-severity schema problems; with --format
# json every finding, warnings included, lands in schemaFindings (checked below).
inspect list --method tools/list --strict --format json

echo "--- tools/call list_endpoints"
inspect endpoints --method tools/call --tool-name list_endpoints --tool-arg name=builds

echo "--- tools/call query"
inspect query --method tools/call --tool-name query \
	--tool-arg "sql=SELECT count(*) AS n FROM codefresh_data.pipelines"

echo "--- tools/list in read-only mode"
inspect readonly -e CODEFRESH_MCP_READ_ONLY=1 --method tools/list

node - "$tmp" <<'JS'
const fs = require("fs");
const dir = process.argv[2];
const read = (name) => {
  try {
    return JSON.parse(fs.readFileSync(`${dir}/${name}.out`, "utf8"));
  } catch (e) {
    console.error(`inspector: ${name} output is not JSON: ${e.message}`);
    process.exit(1);
  }
};
const fail = (msg) => { console.error("inspector: " + msg); process.exit(1); };
const all = ["list_endpoints", "check_credentials", "preview_endpoint", "configure_pipeline",
  "start_load", "load_status", "cancel_load", "pipeline_info", "describe_table", "query"];
const readOnly = ["list_endpoints", "check_credentials", "preview_endpoint", "load_status",
  "pipeline_info", "describe_table", "query"];

const names = (res) => (res.tools || []).map((t) => t.name).sort();
const envelope = read("list");
if (envelope.schemaFindings && envelope.schemaFindings.length > 0) {
  fail(`tools/list --strict found schema problems:\n${JSON.stringify(envelope.schemaFindings, null, 2)}`);
}
const list = envelope.result;
if (JSON.stringify(names(list)) !== JSON.stringify([...all].sort())) fail(`tools/list: ${names(list)}`);
for (const t of list.tools) {
  const a = t.annotations || {};
  for (const k of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]) {
    if (typeof a[k] !== "boolean") fail(`${t.name}: annotation ${k} not set`);
  }
  if (t.inputSchema.type !== "object" || t.inputSchema.additionalProperties !== false) fail(`${t.name}: input schema`);
}

const text = (res, name) => {
  if (res.isError) fail(`${name} returned a tool error: ${JSON.stringify(res.content)}`);
  const sc = res.structuredContent;
  if (!sc) fail(`${name}: no structured content`);
  return sc;
};
const eps = text(read("endpoints"), "list_endpoints");
if (!eps.endpoints.some((e) => e.name === "builds" && e.path === "/workflow")) fail("list_endpoints lacks builds");
const q = text(read("query"), "query");
if (!(q.rows && q.rows.length === 1 && q.rows[0][0] > 0)) fail(`query rows: ${JSON.stringify(q.rows)}`);
if (!(q.provenance && q.provenance.length > 0)) fail("query has no provenance");

const ro = read("readonly");
if (JSON.stringify(names(ro)) !== JSON.stringify([...readOnly].sort())) fail(`read-only tools/list: ${names(ro)}`);
console.log(`inspector: ok: ${list.tools.length} tools, 0 schema problems; list_endpoints and query answered; read-only mode offers ${ro.tools.length} tools`);
JS
