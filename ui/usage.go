package ui

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"almanac/catalog"
)

// usageView is the Usage section's figures: how much the dataset is read
// in the usage window, by jobs and their runs and by database queries.
type usageView struct {
	// Summary reads "Read by 14 jobs, 120 runs, 2,300 queries in 30
	// days."; empty when nothing says how the dataset is read.
	Summary string
	// Since says from when queries are counted, when that is within the
	// window.
	Since   string
	Jobs    []usageJobView
	Queries []usageQueryView
	Roles   []usageRoleView
	// NoQueries says no source counts the dataset's queries.
	NoQueries bool
}

type usageJobView struct {
	Name, Link, Runs string
}

type usageQueryView struct {
	// SQL is the statement, cut to queryChars; Full is all of it when cut.
	SQL, Full, Calls string
}

type usageRoleView struct {
	Role, Calls string
}

// queryChars is how much of a statement the Usage section shows.
const queryChars = 160

// newUsageView formats u.
func newUsageView(u catalog.Usage, now time.Time) usageView {
	var v usageView
	var parts []string
	if u.Jobs > 0 {
		parts = append(parts, plural(u.Jobs, "job"))
	}
	if u.Runs > 0 {
		parts = append(parts, grouped(u.Runs)+" run"+plurals(u.Runs))
	}
	if u.QuerySources {
		parts = append(parts, grouped(u.Queries)+" quer"+map[bool]string{true: "y", false: "ies"}[u.Queries == 1])
	}
	if len(parts) > 0 {
		v.Summary = "Read by " + strings.Join(parts, ", ") + " in " + strconv.Itoa(int(u.Window/(24*time.Hour))) + " days."
	}
	if !u.Since.IsZero() {
		v.Since = "Queries are counted since their statistics were first read, " + relative(u.Since, now) + "."
	}
	v.NoQueries = !u.QuerySources
	for _, j := range u.TopJobs {
		v.Jobs = append(v.Jobs, usageJobView{Name: j.Job.Name, Link: jobPath(j.Job), Runs: grouped(j.Runs)})
	}
	for _, q := range u.TopQueries {
		qv := usageQueryView{SQL: q.Query, Calls: grouped(q.Calls)}
		if utf8.RuneCountInString(q.Query) > queryChars {
			qv.SQL, qv.Full = string([]rune(q.Query)[:queryChars])+"…", q.Query
		}
		v.Queries = append(v.Queries, qv)
	}
	for _, r := range u.TopRoles {
		v.Roles = append(v.Roles, usageRoleView{Role: r.Role, Calls: grouped(r.Calls)})
	}
	return v
}

// plurals is "s" unless n is 1.
func plurals(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// grouped formats n with thousands separated by commas: 2,300.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// addUsage reads the usage of the dataset id into act.
func (s *Server) addUsage(ctx context.Context, id int64, act *activityView, now time.Time) error {
	u, err := s.store.UsageOf(ctx, []int64{id}, now)
	if err != nil {
		return err
	}
	act.Usage = newUsageView(u[id], now)
	return nil
}
