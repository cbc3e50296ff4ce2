package slo

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"almanac/catalog"
)

// schedule is the deadlines of an on-time SLO. The cron expression is
// matched against wall-clock times, which Next walks in UTC so that no
// daylight-saving change skips or repeats one; each wall-clock time is
// then placed in the zone by resolve.
type schedule struct {
	cron cron.Schedule
	loc  *time.Location
}

var clock = regexp.MustCompile(`^([01]?\d|2[0-3]):([0-5]\d)$`)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule reads a deadline, "HH:MM" or a cron expression, in the
// IANA zone tz ("" is UTC).
func parseSchedule(deadline, tz string) (*schedule, error) {
	bad := func(format string, args ...any) (*schedule, error) {
		return nil, fmt.Errorf("slo: on_time: "+format+": %w", append(args, catalog.ErrInvalid)...)
	}
	loc, err := location(tz)
	if err != nil {
		return bad("unknown time zone %q", tz)
	}
	expr := strings.TrimSpace(deadline)
	switch {
	case expr == "":
		return bad("no deadline: want \"HH:MM\" or a cron expression")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return bad("deadline %q: give the time zone as time_zone, not in the expression", deadline)
	case strings.HasPrefix(expr, "@every"):
		return bad("deadline %q: @every is an interval, not a time of day; use freshness for it", deadline)
	}
	if m := clock.FindStringSubmatch(expr); m != nil {
		h, _ := strconv.Atoi(m[1])
		min, _ := strconv.Atoi(m[2])
		expr = fmt.Sprintf("%d %d * * *", min, h)
	}
	c, err := cronParser.Parse(expr)
	if err != nil {
		return bad("deadline %q: want \"HH:MM\" or a five-field cron expression: %v", deadline, err)
	}
	return &schedule{cron: c, loc: loc}, nil
}

// floating returns the wall-clock time of t in loc as a UTC time.
func floating(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// resolve returns the instant at which the wall clock of loc shows w (a
// wall-clock time written in UTC). A time that the clock skips (spring
// forward) is moved forward by the length of the skip; a time it shows
// twice (fall back) is the earlier.
func resolve(w time.Time, loc *time.Location) time.Time {
	offset := func(t time.Time) time.Duration {
		_, off := t.In(loc).Zone()
		return time.Duration(off) * time.Second
	}
	before, after := offset(w.Add(-30*time.Hour)), offset(w.Add(30*time.Hour))
	var found time.Time
	for _, off := range []time.Duration{before, after} {
		if t := w.Add(-off); offset(t) == off && (found.IsZero() || t.Before(found)) {
			found = t
		}
	}
	if found.IsZero() {
		// In the gap: read with the offset before it, the clock then
		// shows w moved forward by the gap.
		return w.Add(-before)
	}
	return found
}

// deadlines returns the deadlines in (from, to], in order.
func (s *schedule) deadlines(from, to time.Time) []time.Time {
	// Walk the wall clock with slack for the offset changes.
	w := floating(from, s.loc).Add(-3 * time.Hour)
	end := floating(to, s.loc).Add(3 * time.Hour)
	var out []time.Time
	for w = s.cron.Next(w); !w.IsZero() && !w.After(end); w = s.cron.Next(w) {
		if t := resolve(w, s.loc); t.After(from) && !t.After(to) {
			out = append(out, t)
		}
	}
	// Times in a skipped hour move onto times after it.
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}

// previous returns the last deadline before t, looking back up to a year.
func (s *schedule) previous(t time.Time) (time.Time, bool) {
	for _, back := range []time.Duration{26 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		if ds := s.deadlines(t.Add(-back), t.Add(-time.Nanosecond)); len(ds) > 0 {
			return ds[len(ds)-1], true
		}
	}
	return time.Time{}, false
}

// onTime returns the on-time indicator: the deadlines in (start, now],
// each met when an update landed in (deadline − lookback, deadline], or
// since the previous deadline when lookback is 0.
func onTime(s *schedule, updates []time.Time, lookback time.Duration, start, now time.Time) indicator {
	var u []time.Time
	for _, t := range updates {
		if !t.After(now) {
			u = append(u, t)
		}
	}
	slices.SortFunc(u, func(a, b time.Time) int { return a.Compare(b) })
	if len(u) == 0 {
		return newEvents(0).done()
	}
	ds := s.deadlines(start, now)
	e := newEvents(len(ds))
	prev, hasPrev := time.Time{}, false
	if len(ds) > 0 && lookback == 0 {
		prev, hasPrev = s.previous(ds[0])
	}
	for _, d := range ds {
		lo := d.Add(-lookback)
		if lookback == 0 {
			lo = prev
			if !hasPrev {
				lo = d.Add(-367 * 24 * time.Hour)
			}
			prev, hasPrev = d, true
		}
		if d.Before(u[0]) {
			continue // before anything was known
		}
		i := upper(u, lo)
		e.add(d, i < len(u) && !u[i].After(d))
	}
	return e.done()
}
