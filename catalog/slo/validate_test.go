package slo_test

import (
	"errors"
	"strings"
	"testing"

	"almanac/catalog"
	"almanac/catalog/slo"
)

// TestDeclarationValidate checks that each invalid declaration is
// refused as invalid input naming the key at fault, and a valid one of
// each kind is accepted.
func TestDeclarationValidate(t *testing.T) {
	tests := []struct {
		name string
		d    slo.Declaration
		key  string // "" for valid
	}{
		{"freshness", slo.Declaration{Name: "a", Kind: "freshness", MaxAge: "6h", Objective: "99.5%", Window: "7d"}, ""},
		{"on time", slo.Declaration{Name: "a", Kind: "on_time", Deadline: "0 9 * * 1-5", TimeZone: "Europe/Berlin", Lookback: "12h"}, ""},
		{"quality", slo.Declaration{Name: "a", Kind: "quality", Checks: []string{"x"}}, ""},
		{"volume", slo.Declaration{Name: "a", Kind: "volume", Min: "10", Max: "20"}, ""},
		{"pipeline", slo.Declaration{Name: "a", Kind: "pipeline", MaxDuration: "1h"}, ""},
		{"no name", slo.Declaration{Kind: "quality"}, "name"},
		{"spaced name", slo.Declaration{Name: " a", Kind: "quality"}, "name"},
		{"unknown kind", slo.Declaration{Name: "a", Kind: "speed"}, "kind"},
		{"objective 100%", slo.Declaration{Name: "a", Kind: "quality", Objective: "100%"}, "objective"},
		{"bad window", slo.Declaration{Name: "a", Kind: "quality", Window: "soon"}, "window"},
		{"no max age", slo.Declaration{Name: "a", Kind: "freshness"}, "max_age"},
		{"bad deadline", slo.Declaration{Name: "a", Kind: "on_time", Deadline: "25:00"}, "deadline"},
		{"bad zone", slo.Declaration{Name: "a", Kind: "on_time", Deadline: "09:00", TimeZone: "Mars/Olympus"}, "time_zone"},
		{"min above max", slo.Declaration{Name: "a", Kind: "volume", Min: "20", Max: "10"}, "min"},
		{"min not a number", slo.Declaration{Name: "a", Kind: "volume", Min: "many"}, "min"},
		{"bad max duration", slo.Declaration{Name: "a", Kind: "pipeline", MaxDuration: "long"}, "max_duration"},
		{"freshness from delta commits", slo.Declaration{Name: "a", Kind: "freshness", MaxAge: "6h", Updates: "delta_commits"}, ""},
		{"on time from crawl changes", slo.Declaration{Name: "a", Kind: "on_time", Deadline: "09:00", Updates: "crawl_changes"}, ""},
		{"on time after nominal", slo.Declaration{Name: "a", Kind: "on_time", AfterNominal: "2h"}, ""},
		{"bad after nominal", slo.Declaration{Name: "a", Kind: "on_time", AfterNominal: "soon"}, "after_nominal"},
		{"negative after nominal", slo.Declaration{Name: "a", Kind: "on_time", AfterNominal: "-1h"}, "after_nominal"},
		{"zero after nominal", slo.Declaration{Name: "a", Kind: "on_time", AfterNominal: "0s"}, "after_nominal"},
		{"after nominal and a deadline", slo.Declaration{Name: "a", Kind: "on_time", Deadline: "09:00", AfterNominal: "2h"}, "deadline"},
		{"after nominal from delta commits", slo.Declaration{Name: "a", Kind: "on_time", AfterNominal: "2h", Updates: "delta_commits"}, "updates"},
		{"unknown updates", slo.Declaration{Name: "a", Kind: "freshness", MaxAge: "6h", Updates: "commits"}, "updates"},
		{"updates of a quality slo", slo.Declaration{Name: "a", Kind: "quality", Updates: "runs"}, "updates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			switch {
			case tt.key == "" && err != nil:
				t.Errorf("valid declaration refused: %v", err)
			case tt.key != "" && !errors.Is(err, catalog.ErrInvalid):
				t.Errorf("err = %v, want invalid input", err)
			case tt.key != "" && !strings.HasPrefix(err.Error(), tt.key+":") && !strings.HasPrefix(err.Error(), tt.key+" "):
				t.Errorf("err = %v, want it to start with %s", err, tt.key)
			}
		})
	}
}
