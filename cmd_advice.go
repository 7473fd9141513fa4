package main

import (
	"errors"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// nextStep is what a person at the terminal does about err, in command
// words; "" when the error's own message says enough.
func nextStep(err error) string {
	var dmg *duckfile.DamagedError
	switch {
	case errors.As(err, &dmg):
		return fmt.Sprintf("move the damaged file aside (mv %q %q); the next `codefresh-mcp load` rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)",
			dmg.Path, dmg.Path+".damaged")
	}
	return ""
}

// errorText is how the CLI shows a failed command: the error, then the next step.
func errorText(err error) string {
	text := "error: " + err.Error()
	if next := nextStep(err); next != "" {
		text += "\nnext step: " + next
	}
	return text
}
