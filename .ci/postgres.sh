# Sourced by .ci/run: starts a throwaway PostgreSQL cluster on 127.0.0.1 and
# exports CODEFRESH_MCP_TEST_PG_DSN for the tests.
start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGTMP=$(mktemp -d /tmp/cfmcp-pg.XXXXXX)
  chown postgres "$PGTMP"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 54329)
  su postgres -c "$bin/initdb -D $PGTMP/data -A trust -U postgres" >/dev/null
  su postgres -c "$bin/pg_ctl -D $PGTMP/data -o '-c listen_addresses=127.0.0.1 -p $port -k $PGTMP' -l $PGTMP/log -w start" >/dev/null
  export CODEFRESH_MCP_TEST_PG_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  trap "su postgres -c '$bin/pg_ctl -D $PGTMP/data -m fast stop' >/dev/null 2>&1 || true" EXIT
  echo "PostgreSQL on 127.0.0.1:$port"
}
