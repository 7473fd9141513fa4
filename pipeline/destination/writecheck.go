package destination

import (
	"context"
	"fmt"
	"strings"
)

// WriteChecker is a destination that can tell before a load starts that
// its login cannot write the dataset (a shared database read with a
// read-only role), instead of failing mid-commit.
type WriteChecker interface {
	// CheckWrite returns a *WriteDeniedError when the login lacks a right
	// a load needs; nil when it has them all.
	CheckWrite(ctx context.Context) error
}

// WriteDeniedError is a login without the rights a load needs.
type WriteDeniedError struct {
	Kind   string // "PostgreSQL"
	Role   string // the login, e.g. codefresh_reader
	Schema string // the dataset, e.g. codefresh_data
	// Missing are the rights a load needs and the role lacks, e.g.
	// "CREATE on database analytics".
	Missing []string
}

func (e *WriteDeniedError) Error() string {
	return fmt.Sprintf("the %s role %s cannot write to schema %s: loads need %s", e.Kind, e.Role, e.Schema, strings.Join(e.Missing, ", "))
}
