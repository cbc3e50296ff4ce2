package model

import (
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"almanac/catalog"
)

// MarshalTime and UnmarshalTime are the Time scalar: gqlgen's (RFC 3339),
// except that a value that is not a date and time is the client's mistake
// (BAD_USER_INPUT, naming the argument), not an internal error.
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalTime reads a Time argument or variable.
func UnmarshalTime(v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a date and time: a Time is RFC 3339, such as 2026-12-07T10:00:00Z: %w", catalog.ErrInvalid)
	}
	return t, nil
}
