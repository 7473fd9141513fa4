package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/zalando/go-keyring"
)

// keyringTimeout bounds one keyring call: a Secret Service that waits for an
// unlock prompt nobody answers must not hang the CLI or the MCP server.
const keyringTimeout = 5 * time.Second

var errKeyringNotFound = keyring.ErrNotFound

// keyringUsable says why the OS keyring cannot be used, or nil. On Linux and
// the BSDs go-keyring talks to the Secret Service over the D-Bus session
// bus; with no bus, godbus would run dbus-launch and leave a daemon behind,
// so a box without one is reported unavailable before any call.
func keyringUsable(env func(string) string) error {
	switch runtime.GOOS {
	case "darwin", "windows", "ios":
		return nil
	}
	if env("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if _, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"); err == nil {
		return nil
	}
	return errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset), so no Secret Service")
}

// keyringCall runs f with a deadline, on a machine with a keyring.
func keyringCall(ctx context.Context, opts Options, f func() (string, error)) (string, error) {
	if err := keyringUsable(opts.Env); err != nil {
		return "", err
	}
	return keyringDeadline(ctx, func(context.Context) (string, error) { return f() })
}

// keyringDeadline runs f with a deadline. On timeout the goroutine is left
// to finish on its own: go-keyring calls take no context.
func keyringDeadline(ctx context.Context, f func(context.Context) (string, error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, keyringTimeout)
	defer cancel()
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("keyring did not answer: %w", ctx.Err())
	}
}

func keyringGet(ctx context.Context, opts Options, user string) (string, error) {
	return keyringCall(ctx, opts, func() (string, error) { return keyring.Get(KeyringService, user) })
}

func keyringSet(ctx context.Context, opts Options, user, key string) error {
	_, err := keyringCall(ctx, opts, func() (string, error) { return "", keyring.Set(KeyringService, user, key) })
	return err
}

func keyringDelete(ctx context.Context, opts Options, user string) error {
	_, err := keyringCall(ctx, opts, func() (string, error) { return "", keyring.Delete(KeyringService, user) })
	return err
}
