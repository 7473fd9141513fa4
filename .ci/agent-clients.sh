#!/usr/bin/env bash
# agent-clients.sh [DIR]: installs the pinned real agent clients, Claude Code
# and the Codex CLI, from npm into DIR (default: $CODEFRESH_MCP_AGENT_CLIENTS,
# else ~/.cache/codefresh-mcp/agent-clients) unless they are already there,
# and prints the folder holding their executables. Idempotent. The versions
# here are the ones the real-client test (agents_e2e_test.go) is run with.
set -euo pipefail

claude_version=2.1.197
codex_version=0.171.0
dir=${1:-${CODEFRESH_MCP_AGENT_CLIENTS:-${XDG_CACHE_HOME:-$HOME/.cache}/codefresh-mcp/agent-clients}}
bin="$dir/node_modules/.bin"

# have NAME VERSION: the installed NAME reports VERSION.
have() { [ -x "$bin/$1" ] && "$bin/$1" --version 2>/dev/null | grep -qF "$2"; }

if ! have claude "$claude_version" || ! have codex "$codex_version"; then
	command -v npm >/dev/null 2>&1 || { echo "agent-clients: npm is not installed" >&2; exit 3; }
	mkdir -p "$dir"
	# Bounded retries: where the registry cannot be reached the test skips soon.
	npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --fetch-retries=1 --fetch-timeout=30000 \
		"@anthropic-ai/claude-code@$claude_version" "@openai/codex@$codex_version" >&2
fi
have claude "$claude_version" || { echo "agent-clients: claude $claude_version did not install into $dir" >&2; exit 1; }
have codex "$codex_version" || { echo "agent-clients: codex $codex_version did not install into $dir" >&2; exit 1; }
echo "$bin"
