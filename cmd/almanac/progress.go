package main

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progressLogEvery is how often long work logs how far it has come when
// no bar is drawn. A variable for tests.
var progressLogEvery = 10 * time.Second

// progress shows how far long work has come (a crawl's ingest, an index
// build, a replica catching up): a bar with the count, the rate and the
// time left on a terminal, when stdout is one and the logs are text;
// otherwise a log line at most every progressLogEvery (and at the end),
// which JSON logs carry as fields (done, total, rate, eta).
type progress struct {
	log  *slog.Logger
	term io.Writer // the terminal the bar is drawn on; nil: log lines

	mu        sync.Mutex
	task      string // what is being done, "" before the first Set
	unit      string
	bar       *progressbar.ProgressBar
	started   time.Time
	startDone int64
	lastLog   time.Time
}

// newProgress reports progress to stdout's terminal, if it is one and
// logFormat is text, else to log.
func newProgress(stdout io.Writer, logFormat string, log *slog.Logger) *progress {
	p := &progress{log: log}
	if f, ok := stdout.(*os.File); ok && logFormat != "json" && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		p.term = f
	}
	return p
}

// Set reports that done of total units of task are done; total 0 means
// not known yet. A new task, or done going back, starts a new bar.
func (p *progress) Set(task, unit string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if task != p.task || (p.bar != nil && done < int64(p.bar.State().CurrentNum)) {
		p.finishLocked()
		p.task, p.unit, p.started, p.startDone, p.lastLog = task, unit, now, done, time.Time{}
		if p.term != nil {
			max := total
			if max == 0 {
				max = -1 // a spinner until the total is known
			}
			p.bar = progressbar.NewOptions64(max,
				progressbar.OptionSetWriter(p.term),
				progressbar.OptionSetDescription(task),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString(unit),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionOnCompletion(func() { io.WriteString(p.term, "\n") }),
			)
		}
	}
	if p.bar != nil {
		if total > 0 && int64(p.bar.GetMax64()) != total {
			p.bar.ChangeMax64(total)
		}
		_ = p.bar.Set64(done)
		return
	}
	if p.term != nil {
		return
	}
	finished := total > 0 && done >= total
	if !finished && now.Sub(p.lastLog) < progressLogEvery {
		return
	}
	p.lastLog = now
	attrs := []any{"task", task, "done", done, "unit", unit}
	if total > 0 {
		attrs = append(attrs, "total", total, "percent", done*100/total)
	}
	if secs := now.Sub(p.started).Seconds(); secs > 0 && done > p.startDone {
		rate := float64(done-p.startDone) / secs
		attrs = append(attrs, "rate_per_s", int64(rate))
		if total > 0 && !finished {
			attrs = append(attrs, "eta", (time.Duration(float64(total-done) / rate * float64(time.Second))).Round(time.Second).String())
		}
	}
	p.log.Info("progress", attrs...)
}

// Finish ends the bar being drawn, if any.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
	p.task = ""
}

func (p *progress) finishLocked() {
	if p.bar != nil && !p.bar.IsFinished() {
		_ = p.bar.Exit()
		io.WriteString(p.term, "\n")
	}
	p.bar = nil
}
