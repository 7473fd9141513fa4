#!/usr/bin/env bash
# inspector.sh BINARY: the MCP Inspector CLI against the built server on a
# demo project (loaded from the simulator): tools/list --strict with no
# schema problem reported, tools/call of list_endpoints and query, of
# check_credentials and preview_endpoint against `codefresh-mcp simulate`
# (the key in no output), and the read-only tool set. Fails on any error or
# schema warning.
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

echo "--- tools/call ci_metrics and explain_build (the answers)"
inspect metrics --method tools/call --tool-name ci_metrics --tool-arg last=90d
failing="$("$bin" query --project "$project" --json \
	"SELECT pipeline_name FROM codefresh_data.builds WHERE status = 'error' ORDER BY created DESC LIMIT 1" |
	node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).rows[0][0]))')"
inspect explain --method tools/call --tool-name explain_build --tool-arg "pipeline=$failing"

echo "--- simulator for the calls that reach Codefresh"
canary="cfk-CANARY-inspector-5b0e"
CF_API_KEY="$canary" "$bin" simulate --addr 127.0.0.1:0 --builds 200 >"$tmp/sim.out" 2>"$tmp/sim.err" &
sim=$!
trap 'kill "$sim" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do [ -s "$tmp/sim.out" ] && break; sleep 0.1; done
base="$(head -n1 "$tmp/sim.out")"
[ -n "$base" ] || { echo "inspector: the simulator did not start" >&2; cat "$tmp/sim.err" >&2; exit 1; }

echo "--- tools/call check_credentials"
inspect check -e "CF_API_KEY=$canary" -e "CODEFRESH_BASE_URL=$base" --method tools/call --tool-name check_credentials

echo "--- tools/call preview_endpoint"
inspect preview -e "CF_API_KEY=$canary" -e "CODEFRESH_BASE_URL=$base" --method tools/call --tool-name preview_endpoint \
	--tool-arg resource=builds --tool-arg limit=3

if grep -rl "$canary" "$tmp"/*.out "$tmp"/*.err 2>/dev/null | grep -v '/sim\.'; then
	echo "inspector: the API key appears in the output above" >&2
	exit 1
fi

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
  "start_load", "load_status", "cancel_load", "explain_load", "pipeline_info", "describe_table", "query",
  "ci_metrics", "explain_build"];
const readOnly = ["list_endpoints", "check_credentials", "preview_endpoint", "load_status", "explain_load",
  "pipeline_info", "describe_table", "query", "ci_metrics", "explain_build"];

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

const m = text(read("metrics"), "ci_metrics");
if (!(m.rows && m.rows.length === 1 && m.columns[0] === "build_count" && m.rows[0][0] > 0)) fail(`ci_metrics: ${JSON.stringify(m).slice(0, 500)}`);
const x = text(read("explain"), "explain_build");
if (!(x.failing_step && x.sources.logs === "loaded" && x.log && x.log.error_lines.length > 0)) {
  fail(`explain_build: ${JSON.stringify(x).slice(0, 800)}`);
}

const check = text(read("check"), "check_credentials");
if (check.status !== "ok") fail(`check_credentials status ${check.status}: ${check.message}`);
const preview = text(read("preview"), "preview_endpoint");
if (preview.http_status !== 200 || preview.records_at !== "workflows.docs" || preview.record_count !== 3) {
  fail(`preview_endpoint: ${JSON.stringify(preview).slice(0, 500)}`);
}
const ro = read("readonly");
if (JSON.stringify(names(ro)) !== JSON.stringify([...readOnly].sort())) fail(`read-only tools/list: ${names(ro)}`);
console.log(`inspector: ok: ${list.tools.length} tools, 0 schema problems; list_endpoints, query, ci_metrics, explain_build, check_credentials and preview_endpoint answered; read-only mode offers ${ro.tools.length} tools`);
JS
