package catalog

import (
	"slices"
	"time"
)

// This file holds what the pipeline pages ask of jobs and their runs: a
// job's standing (its latest run, how often it failed) and which runs were
// late.

// JobSummary is a job as a listing of jobs shows it: its latest run and
// how its runs went.
type JobSummary struct {
	Key  JobKey
	Type string
	// Latest is the newest run (by the time of its last state change);
	// nil when the job never ran.
	Latest *Run
	// Runs counts the runs recorded, Failures those that failed or were
	// aborted.
	Runs, Failures int
}

// JobFilter selects and orders a listing of jobs. The zero value lists
// every job a live source reports, by namespace and name.
type JobFilter struct {
	// Namespace, when not "", keeps the jobs of that namespace.
	Namespace string
	// Status, when not "", keeps the jobs whose latest run is in that
	// state: one of the RunState values, or StatusNeverRan.
	Status string
	// Sort is one of the JobSort values; "" is JobSortName.
	Sort string
	// Offset and Limit page the listing.
	Offset, Limit int
}

// StatusNeverRan is the JobFilter.Status of jobs without any run.
const StatusNeverRan = "none"

// Orders of a job listing.
const (
	JobSortName     = "name"     // by namespace, then name
	JobSortLastRun  = "last_run" // newest latest run first
	JobSortFailures = "failures" // most failed runs first
	JobSortDuration = "duration" // longest latest run first
)

// JobSorts lists the orders a job listing may take, the default first.
var JobSorts = []string{JobSortName, JobSortLastRun, JobSortFailures, JobSortDuration}

// Failed reports whether a run ended without success.
func (s RunState) Failed() bool { return s == RunFail || s == RunAbort }

// Late runs. A run is late when it took well over what its job usually
// takes: more than LateFactor times the median duration of the job's runs
// that completed, and at least LateMargin more than it, judged against at
// least LateMinRuns such runs. Runs without both ends, and jobs with too
// few completed runs to know what usual is, are never late. The median
// rather than the mean, so that one very late run does not move the bar
// for the others.
const (
	LateFactor  = 1.5
	LateMargin  = time.Minute
	LateMinRuns = 3
)

// LateThreshold is the duration above which a run of a job whose runs are
// runs is late (see LateFactor), and false when runs has too few
// completed runs with a duration to say.
func LateThreshold(runs []Run) (time.Duration, bool) {
	var ds []time.Duration
	for _, r := range runs {
		if d := r.Duration(); r.State == RunComplete && d > 0 {
			ds = append(ds, d)
		}
	}
	if len(ds) < LateMinRuns {
		return 0, false
	}
	med := Median(ds)
	return max(time.Duration(float64(med)*LateFactor), med+LateMargin), true
}

// Median is the median of ds (the mean of the middle two of an even
// number), or zero for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Job properties that hold where a job's code lives, from an OpenLineage
// sourceCodeLocation facet. PropSourceURL keeps the name the Marquez API
// reads as a job's location.
const (
	PropSourceURL     = "sourceCodeLocation"
	PropSourceRepo    = "sourceCodeLocation.repoUrl"
	PropSourcePath    = "sourceCodeLocation.path"
	PropSourceVersion = "sourceCodeLocation.version"
	PropSourceType    = "sourceCodeLocation.type"
)

// SourceCode is where a job's code lives.
type SourceCode struct {
	// URL links to the code: the facet's url, else its repository's.
	URL string
	// Repo, Path, Version and Type are as the facet gives them: "git",
	// the file in the repository and the commit, tag or branch.
	Repo, Path, Version, Type string
}

// SourceCode returns where j's code lives, and false when no source
// said.
func (j Job) SourceCode() (SourceCode, bool) {
	p := j.Properties
	c := SourceCode{URL: p[PropSourceURL], Repo: p[PropSourceRepo], Path: p[PropSourcePath], Version: p[PropSourceVersion], Type: p[PropSourceType]}
	if c.URL == "" {
		c.URL = c.Repo
	}
	return c, c.URL != ""
}
