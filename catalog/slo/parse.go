package slo

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// ParseObjective reads an objective as people write it: "99.9%", "99.9 %"
// or a share, "0.999". It returns the share.
func ParseObjective(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("objective %q: want a percentage such as 99.9%% or a share such as 0.999: %w", s, catalog.ErrInvalid)
	}
	if pct {
		v /= 100
	}
	if !(v > 0 && v < 1) {
		return 0, fmt.Errorf("objective %q: want more than 0 %% and less than 100 %%: %w", s, catalog.ErrInvalid)
	}
	return v, nil
}

var daysWeeks = regexp.MustCompile(`^(?:(\d+)w)?(?:(\d+)d)?(.*)$`)

// ParseDuration reads a duration as Go does ("36h", "90m") or with weeks
// and days first ("4w", "28d", "1d12h"): a day is 24 hours.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	m := daysWeeks.FindStringSubmatch(t)
	var d time.Duration
	for i, unit := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("duration %q: too long: %w", s, catalog.ErrInvalid)
		}
		d += time.Duration(n) * unit
	}
	if rest := m[3]; rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("duration %q: want such as 28d, 4w, 1d12h or 90m: %w", s, catalog.ErrInvalid)
		}
		d += r
	} else if m[1] == "" && m[2] == "" {
		return 0, fmt.Errorf("duration %q: want such as 28d, 4w, 1d12h or 90m: %w", s, catalog.ErrInvalid)
	}
	return d, nil
}
