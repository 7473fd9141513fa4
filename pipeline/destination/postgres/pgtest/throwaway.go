//go:build unix

package pgtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// install names what to install when no PostgreSQL programs are found.
const install = "install the postgresql package (its initdb, pg_ctl and postgres programs) or set " + EnvDSN

// cluster is the throwaway server of this test process: started once, on
// first use, and stopped when the process ends, however it ends.
var cluster struct {
	once sync.Once
	dsn  string
	err  error
	// keep holds the write end of the watchdog's stdin: the process
	// exiting closes it, and the watchdog then stops the server and
	// removes its folder. (Dropping it would let the GC close it early.)
	keep io.WriteCloser
}

// throwaway is the DSN of this process's throwaway server, started on first use.
func throwaway() (string, error) {
	cluster.once.Do(func() { cluster.dsn, cluster.err = startThrowaway() })
	return cluster.dsn, cluster.err
}

// watchdog starts the server, says "ready", waits for its stdin to close
// (the test process has ended) and then stops the server and removes its
// folder; when the server does not start it prints the server's log and
// leaves the folder to the caller. Arguments: bin dir, data dir, port, folder.
const watchdog = `bin=$1 data=$2 port=$3 dir=$4
"$bin/pg_ctl" -D "$data" -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c shared_buffers=16MB" -l "$dir/log" -w -t 60 start >/dev/null || { cat "$dir/log" >&2; exit 1; }
echo ready
cat >/dev/null
"$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$dir"`

func startThrowaway() (string, error) {
	bin, err := findBinDir()
	if err != nil {
		return "", err
	}
	cred, err := serverUser()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "cfmcp-pgtest-")
	if err != nil {
		return "", fmt.Errorf("throwaway PostgreSQL folder: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("throwaway PostgreSQL folder: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("initdb: %w: %s", err, bytes.TrimSpace(out))
	}
	// Another process may take the free port before the server does: try again.
	for attempt := 1; ; attempt++ {
		dsn, err := serve(bin, dir, data, cred)
		if err == nil {
			return dsn, nil
		}
		if attempt == 3 {
			os.RemoveAll(dir)
			return "", err
		}
	}
}

// serve starts the server of data on a free port under its watchdog.
func serve(bin, dir, data string, cred *syscall.Credential) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dog := exec.Command("/bin/sh", "-c", watchdog, "pgtest-watchdog", bin, data, strconv.Itoa(port), dir)
	// Its own process group: a Ctrl-C to the tests reaches the watchdog
	// only as its stdin closing, so it still cleans up.
	dog.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	var stderr bytes.Buffer
	dog.Stderr = &stderr
	stdin, err := dog.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := dog.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := dog.Start(); err != nil {
		return "", fmt.Errorf("start PostgreSQL: %w", err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		stdin.Close()
		dog.Wait()
		return "", fmt.Errorf("pg_ctl start failed: %s", bytes.TrimSpace(stderr.Bytes()))
	}
	cluster.keep = stdin
	go dog.Wait() // reaps the watchdog should it end early
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), nil
}

// findBinDir is the folder of initdb, pg_ctl and postgres: initdb's on
// PATH (links followed, as Debian links them), else the newest of the
// folders packages install them in.
func findBinDir() (string, error) {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	var found []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/opt/postgresql*/bin", "/opt/homebrew/opt/postgresql*/bin"} {
		dirs, _ := filepath.Glob(pattern)
		for _, d := range dirs {
			if has(d) {
				found = append(found, d)
			}
		}
	}
	if len(found) == 0 {
		return "", errors.New("no initdb found on PATH or in /usr/lib/postgresql/*/bin: " + install)
	}
	slices.SortFunc(found, func(a, b string) int { return versionOf(a) - versionOf(b) })
	return found[len(found)-1], nil
}

// versionOf is the major version in a folder such as /usr/lib/postgresql/16/bin.
func versionOf(dir string) int {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return ' '
	}, dir)
	f := strings.Fields(digits)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// serverUser is who runs the server: this user, or, for root (initdb
// refuses it), the postgres user the package creates.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, which initdb refuses, and no postgres user to run it as: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort is a loopback TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
