package dbt

import (
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"almanac/catalog"
)

// readRunResults reads run_results.json: each result of a model, seed,
// snapshot or saved query becomes a run of its job, each result of a test
// or unit test a quality result of its check. One file is one dbt
// invocation; its invocation_id makes the ids of the runs, so that a file
// crawled again records nothing new.
func (c *crawler) readRunResults(ctx context.Context, dir string, m *manifest) {
	path := filepath.Join(dir, RunResultsFile)
	f := c.openOptional(path)
	if f == nil {
		return
	}
	defer f.Close()
	c.runResults(ctx, path, f, m)
}

// runResults reads the run_results.json file at path from r.
func (c *crawler) runResults(ctx context.Context, path string, r io.Reader, m *manifest) {
	var pending []*runResult
	meta, warnings, err := readResults(ctx, path, r, func(r *runResult) { pending = append(pending, r) })
	for _, w := range warnings {
		c.warn(path, "%s", w)
	}
	if err != nil {
		c.warn(path, "%v; the results before it are harvested", err)
	}
	if !executes(meta.Command) {
		// dbt compile and dbt docs generate write a result of status
		// success for every node they compiled: nothing ran, nothing
		// was tested.
		return
	}
	generated, _ := parseTime(meta.GeneratedAt)
	invocation := meta.runID()
	if invocation == "" {
		c.warn(path, "metadata has neither invocation_id nor generated_at: results cannot be told apart and are skipped")
		return
	}
	var unknown []string
	for _, r := range pending {
		n := m.nodes[r.UniqueID]
		job, isJob := c.jobs[r.UniqueID]
		switch {
		case isJob:
			c.run(path, job, invocation, generated, r)
		case n == nil && !ignoredResult(r.UniqueID):
			unknown = append(unknown, r.UniqueID)
		case n == nil:
		case n.ResourceType == "test" || n.ResourceType == "unit_test":
			c.result(path, m, n, invocation, generated, r)
		}
		// Anything else is a node that is neither a job nor a check: an
		// ephemeral model (which dbt does not run), a hook, an analysis.
	}
	if len(unknown) > 0 && m.complete {
		c.warn(path, "%d results name nodes the manifest does not have (first %q); skipped", len(unknown), unknown[0])
	}
}

// executes reports whether the dbt command that wrote run_results.json
// ran nodes (run, build, test, seed, snapshot, retry, clone…) rather than
// only compiled them (compile, docs generate, show…). Files that do not
// say, as some tools rewrite them, are taken to.
func executes(command string) bool {
	switch strings.ToLower(command) {
	case "compile", "generate", "docs", "show", "list", "ls", "parse", "debug", "deps", "clean", "init", "run-operation":
		return false
	}
	return true
}

// ignoredResult reports results of what the manifest does not list as
// nodes the crawler reads: hooks (operation.*), whose results every
// invocation with on-run-start or on-run-end hooks has, and user-defined
// functions (function.*), which dbt build creates.
func ignoredResult(id string) bool {
	return strings.HasPrefix(id, "operation.") || strings.HasPrefix(id, "function.")
}

// notNode reports the ids in depends_on.nodes that name no node the
// crawler reads, by design: macros, and user-defined functions (dbt 1.11
// lists the functions a model calls there).
func notNode(id string) bool {
	return strings.HasPrefix(id, "macro.") || strings.HasPrefix(id, "function.")
}

// result records the outcome of a test or unit test.
func (c *crawler) result(path string, m *manifest, n *node, invocation string, generated time.Time, r *runResult) {
	ds, ok := c.testDataset(m, n)
	if !ok {
		return // reported with the check
	}
	status, ok := resultStatus(r.Status)
	if !ok {
		c.warn(path, "result of %s: unknown status %q; skipped", r.UniqueID, r.Status)
		return
	}
	start, _ := phase(r.Timing, "execute")
	if start.IsZero() {
		start, _ = phase(r.Timing, "compile")
	}
	if start.IsZero() {
		start = generated
	}
	res := catalog.QualityResult{
		Check: r.UniqueID, Dataset: ds, Status: status, Failures: r.Failures,
		StartedAt: start, Duration: time.Duration(r.ExecutionTime * float64(time.Second)), RunID: invocation,
	}
	switch {
	case r.Message == nil:
	case r.Message.number != nil && res.Failures == nil:
		// dbt 0.19: the message is the number of failing rows.
		res.Failures = r.Message.number
	default:
		res.Message = r.Message.s
	}
	c.hv.Results = append(c.hv.Results, res)
}

// resultStatus maps a dbt test status to a catalog one. dbt 0.19+ writes
// pass, fail, warn, error and skipped for tests; some versions write
// success for a passing test, and "runtime error" for one that crashed.
func resultStatus(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "pass", "success":
		return catalog.QualityPass, true
	case "fail":
		return catalog.QualityFail, true
	case "warn":
		return catalog.QualityWarn, true
	case "error", "runtime error":
		return catalog.QualityError, true
	case "skipped", "skip", "no-op":
		return catalog.QualitySkipped, true
	}
	return "", false
}

// runState maps the status of a model, seed, snapshot or saved query
// result to a run state: success, no-op (nothing to do) and reused (a
// relation kept from before) complete; error fails, and so does partial
// success, a microbatch model some of whose batches failed (dbt retry
// runs them again); skipped, after an upstream failure, aborts.
func runState(s string) (catalog.RunState, bool) {
	switch strings.ToLower(s) {
	case "success", "pass", "no-op", "reused":
		return catalog.RunComplete, true
	case "error", "fail", "runtime error", "partial success":
		return catalog.RunFail, true
	case "skipped", "skip":
		return catalog.RunAbort, true
	}
	return "", false
}

// run records the result of a job's node as a run of the job: its state,
// its start and end (from the timing of its phases, or its execution
// time), and for a run that did not complete, dbt's message.
func (c *crawler) run(path string, job catalog.JobKey, invocation string, generated time.Time, r *runResult) {
	state, ok := runState(r.Status)
	if !ok {
		c.warn(path, "result of %s: unknown status %q; skipped", r.UniqueID, r.Status)
		return
	}
	run := catalog.Run{ID: runID(job, invocation), Job: job, State: state}
	var start, end time.Time
	for _, t := range r.Timing {
		if s, ok := parseTime(t.StartedAt); ok && (start.IsZero() || s.Before(start)) {
			start = s
		}
		if e, ok := parseTime(t.CompletedAt); ok && e.After(end) {
			end = e
		}
	}
	if end.IsZero() && !start.IsZero() && r.ExecutionTime > 0 {
		end = start.Add(time.Duration(r.ExecutionTime * float64(time.Second)))
	}
	if !start.IsZero() {
		run.StartedAt = &start
	}
	if !end.IsZero() {
		run.EndedAt = &end
	}
	// A skipped node has no timing: it ended when dbt wrote the file.
	run.StateAt = end
	if run.StateAt.IsZero() {
		run.StateAt = generated
	}
	if run.StateAt.IsZero() {
		c.warn(path, "result of %s: no timing and no metadata.generated_at: when it ran is unknown; skipped", r.UniqueID)
		return
	}
	if state != catalog.RunComplete && r.Message != nil {
		run.ErrorMessage = r.Message.s
	}
	if strings.EqualFold(r.Status, "partial success") {
		run.ErrorMessage = strings.TrimSuffix("partial success: "+run.ErrorMessage, ": ")
	}
	c.hv.Runs = append(c.hv.Runs, run)
}

// runNamespace is the name space of the UUIDs of runs read from
// run_results.json (a random UUID, fixed so that ids are stable).
var runNamespace = [16]byte{0x6f, 0x2b, 0x3c, 0x1e, 0x94, 0x57, 0x4d, 0x0a, 0xb1, 0x88, 0x3e, 0x52, 0xc7, 0x09, 0xd4, 0x61}

// runID is the id of the run of job in a dbt invocation: a name-based
// (version 5) UUID of both, the same however often the file is read, and
// another for each job, so that two sources crawling one file never claim
// one run.
func runID(job catalog.JobKey, invocation string) string {
	h := sha1.New()
	h.Write(runNamespace[:])
	h.Write([]byte(job.Namespace + "\n" + job.Name + "\n" + invocation))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
