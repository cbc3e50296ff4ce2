package catalog

import (
	"math"
	"time"
)

// UsageWindow is how far back usage counts: "read by 14 jobs, 2,300
// queries in 30 days".
const UsageWindow = 30 * 24 * time.Hour

// QueryStats is what a database's statement statistics
// (PostgreSQL's pg_stat_statements) counted when a crawl read them.
// The counts are cumulative since StatsReset: the store keeps one
// snapshot per crawl and turns them into reads per crawl interval.
type QueryStats struct {
	// Namespace and Database say where the statements ran; with
	// QueryID and Role they key a statement across crawls.
	Namespace string
	Database  string
	// StatsReset is when the statistics were last reset (zero when the
	// server does not say); a count that went down across two crawls
	// was reset too.
	StatsReset time.Time
	Statements []QueryStat
}

// QueryStat is one normalized statement run by one role.
type QueryStat struct {
	QueryID int64
	Role    string
	// Query is the statement as normalized by the server (constants
	// replaced by $1, $2…).
	Query string
	// Calls is how many times it ran since the statistics were reset.
	Calls int64
	// Reads are the datasets the statement reads.
	Reads []Key
}

// Usage is how much a dataset is read in the last UsageWindow: by jobs
// that have it among their inputs and their runs (from lineage), and by
// queries a database counted (from statement statistics).
type Usage struct {
	Window time.Duration
	// Jobs is how many live jobs read the dataset; Runs how many runs
	// of them started in the window.
	Jobs int
	Runs int64
	// Queries is how many times statements reading the dataset ran in
	// the window, as deltas between crawls of their statistics.
	Queries int64
	// QuerySources says whether any source counts queries on the
	// dataset: without one, Queries 0 means "unknown", not "unread".
	QuerySources bool
	// Since is when the oldest snapshot counted in Queries was taken:
	// reads before it are not known.
	Since      time.Time
	TopJobs    []JobUsage
	TopQueries []QueryUsage
	TopRoles   []RoleUsage
	Score      float64
	ScoredFor  time.Time
}

// JobUsage is a job reading a dataset and its runs in the window.
type JobUsage struct {
	Job  JobKey
	Runs int64
}

// QueryUsage is a statement reading a dataset and how often it ran in
// the window (by every role).
type QueryUsage struct {
	Query string
	Calls int64
}

// RoleUsage is a database role and how many of its statements read a
// dataset in the window.
type RoleUsage struct {
	Role  string
	Calls int64
}

// Popularity is the score of how much a dataset is read: log-scaled, so
// that a table read a million times is not a thousand times more
// important than one read a thousand times. Each job reading the dataset
// counts as ten reads, since one job is a standing use whose runs may be
// rare. 0 is unread; 1 is a thousand reads; 2 a million.
func Popularity(jobs int, runs, queries int64) float64 {
	reads := float64(runs) + float64(queries) + 10*float64(jobs)
	return math.Log10(1+reads) / 3
}
