package codefresh

import (
	"context"
	"errors"
	"testing"
)

// The dialer refuses a forbidden address whatever name led there: the
// check runs on the address being connected to, before the connection.
func TestGuardedDialerRefusesMetadataAddresses(t *testing.T) {
	dial := guardedTransport().DialContext
	for _, addr := range []string{"169.254.169.254:80", "169.254.0.1:443", "[fd00:ec2::254]:80", "[fe80::1]:80"} {
		_, err := dial(context.Background(), "tcp", addr)
		var ae *AddressError
		if !errors.As(err, &ae) || ae.Address != addr {
			t.Errorf("%s: got %v, want an *AddressError", addr, err)
			continue
		}
		if want := "connection to " + addr + " refused: a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"; ae.Error() != want {
			t.Errorf("%s: %q, want %q", addr, ae.Error(), want)
		}
	}
	if err := guardControl("tcp4", "127.0.0.1:8080", nil); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
}
