package ui

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestHiddenCharactersShow checks that a right-to-left override or a
// control character in a dataset's name, namespace, columns, owners and
// tags is shown written out, on the dataset page and in the listing: a
// name must not pass for another (U+202E makes "invoice_\u202efdp.exe"
// read "invoice_exe.pdf").
func TestHiddenCharactersShow(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	spoof := catalog.Key{Namespace: "file://lake\u2066", Name: "invoice_\u202efdp.exe"}
	insertDataset(t, pool, spoof, nil, facts{
		Source: "postgres:warehouse", Platform: "postgres", Kind: catalog.KindTable,
		Columns:   []catalog.Column{{Name: "amount\u200b", Ordinal: 1, Type: "numeric", PrimaryKey: true}, {Name: "line\nbreak", Ordinal: 2, Type: "text"}},
		Owners:    []catalog.Owner{{Name: "alice\u202e", Kind: catalog.OwnerUser}},
		Tags:      []string{"pii\u200f"},
		UpdatedAt: now.Add(-time.Hour),
	})
	s, err := New(Options{Store: store.New(pool), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}

	page := p.get(t, datasetPath(spoof))
	if page.status != 200 {
		t.Fatalf("GET %s: %d\n%s", datasetPath(spoof), page.status, page.body)
	}
	home := p.get(t, "/?namespace="+strings.ReplaceAll(spoof.Namespace, "\u2066", "%E2%81%A6"))
	// Ids and form values keep names as they are, for links and filters
	// to work; nothing shown does.
	attrs := regexp.MustCompile(`(id|value)="[^"]*"`)
	for name, r := range map[string]response{"dataset page": page, "listing": home} {
		shown := attrs.ReplaceAllString(r.body, "")
		for _, raw := range []string{"\u202e", "\u2066", "\u200b", "\u200f", "line\nbreak"} {
			if i := strings.Index(shown, raw); i >= 0 {
				t.Errorf("%s shows %q raw: …%s…", name, raw, shown[max(0, i-200):i+20])
			}
		}
		for _, want := range []string{`invoice_<span class="hidden-char"`, `>\u202e</span>fdp.exe`, `file://lake<span class="hidden-char"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
	for _, want := range []string{
		`<title>invoice_\u202efdp.exe · Almanac</title>`,
		`amount<span class="hidden-char"`, `>\u200b</span>`,
		`line<span class="hidden-char"`, `>\u000a</span>break`,
		`alice<span class="hidden-char"`,
		`pii<span class="hidden-char"`, `>\u200f</span>`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("dataset page lacks %q", want)
		}
	}
}
