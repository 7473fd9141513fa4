//go:build !unix

package pgtest

import "errors"

// throwaway servers need Unix process credentials and groups.
func throwaway() (string, error) {
	return "", errors.New("throwaway servers need a Unix system: set " + EnvDSN)
}
