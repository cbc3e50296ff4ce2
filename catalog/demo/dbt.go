package demo

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// dbtFS is the target directory of a small dbt project (acme_analytics)
// over the demo warehouse: models in staging and marts owned by the demo's
// teams, tests of which one fails and one warns, and source freshness of
// which one source is late. Written for the demo; times are "@T-N@", N
// seconds before the start, filled in by WriteDBT.
//
//go:embed data/dbt/*.json
var dbtFS embed.FS

// DBTSource names the demo's dbt source.
const DBTSource = "demo-dbt"

var dbtTime = regexp.MustCompile(`@T-(\d+)@`)

// WriteDBT writes the demo's dbt target directory to dir, its times
// made relative to now, so that the results look recent.
func WriteDBT(dir string, now time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo dbt project: %w", err)
	}
	files, err := dbtFS.ReadDir("data/dbt")
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := dbtFS.ReadFile("data/dbt/" + f.Name())
		if err != nil {
			return err
		}
		b = dbtTime.ReplaceAllFunc(b, func(m []byte) []byte {
			s, _ := strconv.Atoi(string(dbtTime.FindSubmatch(m)[1]))
			return []byte(now.Add(-time.Duration(s) * time.Second).UTC().Format("2006-01-02T15:04:05.000000Z"))
		})
		if err := os.WriteFile(filepath.Join(dir, f.Name()), b, 0o644); err != nil {
			return fmt.Errorf("demo dbt project: %w", err)
		}
	}
	return nil
}
