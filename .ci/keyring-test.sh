#!/bin/sh
# Integration test with a real OS keyring: gnome-keyring's Secret Service on a
# private D-Bus session, in a temporary HOME. `secrets set` (key piped on
# stdin) must store the key in the keyring, and `secrets check --json` must
# find it THERE (no CF_API_KEY in its environment) and pass a live check
# against the simulator; `secrets delete` must remove it. A random canary key
# must appear in no output and in no file.
#
# Needs: dbus-run-session (dbus), gnome-keyring-daemon (gnome-keyring);
# secret-tool (libsecret-tools) is used when present.
# Usage: .ci/keyring-test.sh path/to/codefresh-mcp
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 path/to/codefresh-mcp" >&2
	exit 2
fi
case $1 in
/*) BIN=$1 ;;
*) BIN=$PWD/$1 ;;
esac
[ -x "$BIN" ] || { echo "keyring-test: $BIN is not an executable" >&2; exit 2; }
for tool in dbus-run-session gnome-keyring-daemon; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "keyring-test: $tool is missing (apt-get install -y dbus gnome-keyring dbus-x11 libsecret-tools)" >&2
		exit 1
	}
done

WORK=$(mktemp -d)
SIM_PID=
cleanup() {
	if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "keyring-test: FAIL: $*" >&2
	for f in "$WORK"/out/*; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f")" >&2
		# Never show the key, even when failing.
		sed "s/$CANARY/[CANARY]/g" "$f" >&2
	done
	exit 1
}

# A clean world: nothing of the caller's credentials or session leaks in.
unset CF_API_KEY SOURCES__CODEFRESH_SOURCE__API_KEY CODEFRESH_BASE_URL \
	SOURCES__CODEFRESH_SOURCE__BASE_URL CFCONFIG DBUS_SESSION_BUS_ADDRESS \
	WORKSPACE_FOLDER_PATHS GNOME_KEYRING_CONTROL 2>/dev/null || true
HOME=$WORK/home
XDG_RUNTIME_DIR=$WORK/run
XDG_DATA_HOME=$HOME/.local/share
XDG_CONFIG_HOME=$HOME/.config
XDG_CACHE_HOME=$HOME/.cache
PROJECT=$WORK/project
OUT=$WORK/out
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$PROJECT" "$OUT"
chmod 700 "$XDG_RUNTIME_DIR"
CANARY=cfk-CANARY-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export HOME XDG_RUNTIME_DIR XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME PROJECT OUT CANARY BIN

# The simulator takes its key from its own environment only; it prints its
# base URL on the first line of stdout once it listens.
env CF_API_KEY="$CANARY" "$BIN" simulate --addr 127.0.0.1:0 >"$OUT/simulate.out" 2>"$OUT/simulate.err" &
SIM_PID=$!
i=0
until [ -s "$OUT/simulate.out" ] && head -n 1 "$OUT/simulate.out" | grep -q 'http://'; do
	i=$((i + 1))
	[ "$i" -le 150 ] || fail "the simulator did not print its base URL within 30 s"
	kill -0 "$SIM_PID" 2>/dev/null || fail "the simulator exited"
	sleep 0.2
done
BASE=$(head -n 1 "$OUT/simulate.out" | sed 's|.*\(http://[^ ]*\).*|\1|')
export BASE

dbus-run-session -- sh -eu -c '
	# Unlock (creating) the login keyring with a password read from stdin.
	eval "$(printf %s keyring-test-password | gnome-keyring-daemon --unlock --components=secrets)"

	printf "%s\n" "$CANARY" | "$BIN" --project "$PROJECT" --base-url "$BASE" secrets set \
		>"$OUT/set.out" 2>"$OUT/set.err"

	if command -v secret-tool >/dev/null 2>&1; then
		got=$(secret-tool lookup service codefresh-mcp username "$BASE" || true)
		[ "$got" = "$CANARY" ] && echo match >"$OUT/secret-tool.out" || echo mismatch >"$OUT/secret-tool.out"
	fi

	"$BIN" --project "$PROJECT" --base-url "$BASE" secrets check --json \
		>"$OUT/check.json" 2>"$OUT/check.err" || echo $? >"$OUT/check.rc"

	"$BIN" --project "$PROJECT" --base-url "$BASE" secrets delete \
		>"$OUT/delete.out" 2>"$OUT/delete.err"
	"$BIN" --project "$PROJECT" --base-url "$BASE" secrets check --json \
		>"$OUT/check-after-delete.json" 2>"$OUT/check-after-delete.err" || echo $? >"$OUT/check-after-delete.rc"
' >"$OUT/session.out" 2>"$OUT/session.err" || fail "the keyring session failed"

grep -q "in the OS keyring" "$OUT/set.out" || fail "secrets set did not store the key in the keyring"
[ ! -e "$PROJECT/.dlt/secrets.toml" ] || fail "secrets set wrote .dlt/secrets.toml although a keyring was available"
if [ -f "$OUT/secret-tool.out" ]; then
	[ "$(cat "$OUT/secret-tool.out")" = match ] || fail "secret-tool does not see the key under service codefresh-mcp, user $BASE"
fi
[ ! -f "$OUT/check.rc" ] || fail "secrets check exited with $(cat "$OUT/check.rc")"
# Top-level fields of the indented JSON (two spaces); sources[] are deeper.
grep -q '^  "status": "ok",$' "$OUT/check.json" || fail "secrets check: status is not ok"
grep -q '^  "source": "keyring",$' "$OUT/check.json" || fail "secrets check: the key did not come from the keyring"
grep -q '"status": "loadable"' "$OUT/check.json" || fail "secrets check: no loadable resource"
grep -q "keyring: deleted" "$OUT/delete.out" || fail "secrets delete did not delete the keyring entry"
[ -f "$OUT/check-after-delete.rc" ] || fail "secrets check passed after the key was deleted"
grep -q '^  "status": "no_key",$' "$OUT/check-after-delete.json" || fail "secrets check after delete: status is not no_key"

# The canary is in the keyring only: in no output, no project file, no
# plain-text file of HOME (the keyring file itself is encrypted).
if grep -rlF "$CANARY" "$OUT" "$PROJECT" "$HOME" >"$WORK/leaks" 2>/dev/null; then
	fail "the key leaked into: $(tr '\n' ' ' <"$WORK/leaks")"
fi

echo "keyring-test: ok (set -> keyring, check found it there against $BASE, delete removed it; key in no output)"
