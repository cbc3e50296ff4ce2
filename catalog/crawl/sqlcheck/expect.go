package sqlcheck

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Expectation is what a check's number must be for the check to pass: a
// comparison with a constant ("= 0", "<= 10"), a range ("between 100 and
// 200", both ends included) or a relative change ("change within 10% of
// last 7 runs": no further from the mean of the check's last 7 observed
// values than 10 % of it).
type Expectation struct {
	// Op is one of =, !=, <, <=, >, >=, between or change.
	Op string
	// A is the constant of a comparison, the low end of a range or the
	// percentage of a change; B the high end of a range.
	A, B float64
	// Runs is how many earlier results a change is measured against.
	Runs int
}

var (
	comparison = regexp.MustCompile(`^(=|==|!=|<>|<=|>=|<|>)\s*(\S+)$`)
	between    = regexp.MustCompile(`^(?i)between\s+(\S+)\s+and\s+(\S+)$`)
	change     = regexp.MustCompile(`^(?i)change\s+within\s+(\S+?)\s*%\s+of\s+(?:the\s+)?last\s+(\d+)\s+runs?$`)
)

// ParseExpectation reads an expectation as written in the configuration.
func ParseExpectation(s string) (Expectation, error) {
	s = strings.TrimSpace(s)
	num := func(v string) (float64, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		return f, nil
	}
	if m := comparison.FindStringSubmatch(s); m != nil {
		a, err := num(m[2])
		if err != nil {
			return Expectation{}, err
		}
		op := m[1]
		switch op {
		case "==":
			op = "="
		case "<>":
			op = "!="
		}
		return Expectation{Op: op, A: a}, nil
	}
	if m := between.FindStringSubmatch(s); m != nil {
		a, err := num(m[1])
		if err != nil {
			return Expectation{}, err
		}
		b, err := num(m[2])
		if err != nil {
			return Expectation{}, err
		}
		if a > b {
			return Expectation{}, fmt.Errorf("between %v and %v: the low end is above the high end", a, b)
		}
		return Expectation{Op: "between", A: a, B: b}, nil
	}
	if m := change.FindStringSubmatch(s); m != nil {
		p, err := num(m[1])
		if err != nil || p < 0 {
			return Expectation{}, fmt.Errorf("%q is not a percentage", m[1])
		}
		k, err := strconv.Atoi(m[2])
		if err != nil || k < 1 || k > 1000 {
			return Expectation{}, fmt.Errorf("want between 1 and 1000 runs, got %s", m[2])
		}
		return Expectation{Op: "change", A: p, Runs: k}, nil
	}
	return Expectation{}, fmt.Errorf(`want "= N", "!= N", "< N", "<= N", "> N", ">= N", "between N and M" or "change within N%% of last K runs", got %q`, s)
}

// String writes e as ParseExpectation reads it.
func (e Expectation) String() string {
	switch e.Op {
	case "between":
		return "between " + fmtNum(e.A) + " and " + fmtNum(e.B)
	case "change":
		return "change within " + fmtNum(e.A) + "% of last " + strconv.Itoa(e.Runs) + " runs"
	}
	return e.Op + " " + fmtNum(e.A)
}

// Judge reports whether v meets e, and if not why, in words. history holds
// the observed values of the check's earlier results, newest first; only a
// change reads it, and passes while there is none to compare with.
func (e Expectation) Judge(v float64, history []float64) (bool, string) {
	ok := false
	switch e.Op {
	case "=":
		ok = v == e.A
	case "!=":
		ok = v != e.A
	case "<":
		ok = v < e.A
	case "<=":
		ok = v <= e.A
	case ">":
		ok = v > e.A
	case ">=":
		ok = v >= e.A
	case "between":
		ok = e.A <= v && v <= e.B
	case "change":
		h := history[:min(len(history), e.Runs)]
		if len(h) == 0 {
			return true, "got " + fmtNum(v) + "; no earlier run to compare with"
		}
		var sum float64
		for _, x := range h {
			sum += x
		}
		mean := sum / float64(len(h))
		diff := math.Abs(v - mean)
		limit := math.Abs(mean) * e.A / 100
		if diff <= limit {
			return true, ""
		}
		pct := "∞"
		if mean != 0 {
			pct = strconv.FormatFloat(diff/math.Abs(mean)*100, 'f', 1, 64)
		}
		return false, fmt.Sprintf("got %s, %s%% from the mean %s of the last %d runs; want within %s%%", fmtNum(v), pct, fmtNum(mean), len(h), fmtNum(e.A))
	}
	if ok {
		return true, ""
	}
	return false, "got " + fmtNum(v) + ", want " + e.String()
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
