package ui

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"almanac/ui/markdown"
)

// checkMarkup fails t if a page could run script it does not mean to:
// an inline script or one from elsewhere, an event handler attribute, a
// javascript: address, or rendered Markdown (a div.markdown) that
// markdown.Unsafe objects to.
func checkMarkup(t *testing.T, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("page does not parse: %v", err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s> has an event handler %s=%q", n.Data, a.Key, a.Val)
			}
			if (a.Key == "href" || a.Key == "src" || a.Key == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
		switch {
		case n.Data == "script":
			src := attr(n, "src")
			if !strings.HasPrefix(src, "/static/") || n.FirstChild != nil {
				t.Errorf("script other than a static file: src %q", src)
			}
		case n.Data == "div" && attr(n, "class") == "markdown":
			var inner bytes.Buffer
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if err := html.Render(&inner, c); err != nil {
					t.Fatal(err)
				}
			}
			if problem := markdown.Unsafe(inner.String()); problem != "" {
				t.Errorf("rendered Markdown %s: %q", problem, inner.String())
			}
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestOnlySanitizedHTMLIsRaw reads the portal's own source: templ.Raw,
// which writes HTML unescaped, appears only in markdownHTML (which takes
// markdown.HTML) and for the lineage explorer's SVG (drawn by Graphviz
// from escaped labels, and tested by the lineage tests); and no code
// outside package markdown converts a string to markdown.HTML, which only
// the sanitizing markdown.Render may make.
func TestOnlySanitizedHTMLIsRaw(t *testing.T) {
	allowed := map[string]bool{
		"layout.templ: @templ.Raw(string(h))": true,
		"lineage.templ: @templ.Raw(v.SVG)":    true,
	}
	raw := regexp.MustCompile(`@?templ\.Raw\([^)]*\)+`)
	templs, err := filepath.Glob("*.templ")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range templs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range raw.FindAllString(string(b), -1) {
			if use := f + ": " + m; !allowed[use] {
				t.Errorf("%s: templ.Raw of something other than sanitized Markdown", use)
			}
			found++
		}
	}
	if found != len(allowed) {
		t.Errorf("found %d uses of templ.Raw in templ files, want the %d allowed", found, len(allowed))
	}
	if b, err := os.ReadFile("layout.templ"); err != nil || !strings.Contains(string(b), "templ markdownHTML(h markdown.HTML) {") {
		t.Errorf("markdownHTML no longer takes markdown.HTML (%v)", err)
	}

	// Go code: no templ.Raw, templ.ComponentFunc writing markup, or
	// conversion to markdown.HTML, outside generated code.
	gos, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range gos {
		if strings.HasSuffix(f, "_templ.go") || strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, _ := decl.(*ast.FuncDecl)
			ast.Inspect(decl, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok {
						name := pkg.Name + "." + sel.Sel.Name
						if fn != nil && writesEscaped[f+":"+fn.Name.Name] && name == "templ.ComponentFunc" {
							return true
						}
						switch name {
						case "templ.Raw", "templ.ComponentFunc", "markdown.HTML":
							t.Errorf("%s: %s outside the templ files", fset.Position(call.Pos()), name)
						}
					}
				}
				return true
			})
		}
	}
}

// writesEscaped are the functions allowed to write markup from Go, each
// reviewed: every string they write passes through templ.EscapeString
// and every number through strconv (TestHistoryBarsEscape).
var writesEscaped = map[string]bool{"health.go:historyBars": true}

// TestHistoryBarsEscape checks that historyBars, which writes its markup
// from Go, escapes what it writes: a title or class holding markup comes
// out as text.
func TestHistoryBarsEscape(t *testing.T) {
	var b strings.Builder
	bars := []historyBar{{Class: `r-fail" onload="x`, X: 1, Y: 2, W: 3, H: 4, Title: `</title><script>alert(1)</script>&`}}
	if err := historyBars(bars).Render(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	want := `<rect class="r-fail&#34; onload=&#34;x" x="1" y="2" width="3" height="4"><title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;</title></rect>`
	if b.String() != want {
		t.Errorf("historyBars wrote\n%s\nwant\n%s", b.String(), want)
	}
}
