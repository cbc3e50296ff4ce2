// Package markdown turns the Markdown of descriptions (people's edits, dbt
// docs and doc blocks, which carry tables, lists and links) into HTML that
// is safe to put in a page, and into plain text for listings.
//
// Rendering is two steps, each by a maintained library: goldmark renders
// CommonMark with GitHub's tables, strikethrough and autolinks, passing
// raw HTML through; bluemonday's user-generated-content policy then keeps
// only harmless elements and attributes (no scripts, styles, event
// handlers, forms or frames), links only to http, https, mailto and
// relative addresses with rel="nofollow" (and target="_blank" with
// rel="noopener" when they lead off the portal), and images only from
// http and https addresses, which the portal's Content-Security-Policy
// then blocks unless they are its own. The policy allows id attributes:
// the portal's scripts therefore never look elements up by an id a
// description could also carry, but within their own form or section.
//
// HTML is the only type the portal turns into markup unescaped, and only
// Render makes one (see ui's TestOnlySanitizedHTMLIsRaw).
package markdown

import (
	"bytes"
	"strings"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTML is sanitized HTML rendered from Markdown: safe to write into a page
// as it is.
type HTML string

// md renders Markdown to HTML that is not yet safe: raw HTML passes
// through, for the policy to sanitize.
var md = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(headingShift{}, 100))),
	goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
)

// policy is bluemonday's policy for user-generated content, with every
// link marked nofollow.
var policy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// headingShift demotes the headings of a description by two levels (# is
// h3), so that they sit below the page's own h1 and h2.
type headingShift struct{}

// Transform demotes every heading of doc.
func (headingShift) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(h.Level+2, 6)
		}
		return ast.WalkContinue, nil
	})
}

// cacheEntries bounds how many renderings the cache keeps, and
// cacheMaxBytes the size of a description it keeps one of: the pages show
// the same few thousand descriptions again and again.
const (
	cacheEntries  = 4096
	cacheMaxBytes = 16 << 10
)

var cache = sync.OnceValue(func() *lru.Cache[string, HTML] {
	c, err := lru.New[string, HTML](cacheEntries)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return c
})

// Render returns src, Markdown, as sanitized HTML; "" for a blank src.
func Render(src string) HTML {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	if len(src) > cacheMaxBytes {
		return render(src)
	}
	c := cache()
	if h, ok := c.Get(src); ok {
		return h
	}
	h := render(src)
	c.Add(src, h)
	return h
}

func render(src string) HTML {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		// goldmark fails only when writing fails, which a buffer does
		// not; show the text, escaped, rather than nothing.
		return HTML("<p>" + html.EscapeString(src) + "</p>")
	}
	return balance(policy.SanitizeBytes(buf.Bytes()))
}

// balance parses sanitized HTML as a browser would inside a div and
// writes it back: every element closed, and end tags without a start
// (</td></table>, which would close the page's own elements around the
// description) dropped.
func balance(b []byte) HTML {
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(bytes.NewReader(b), ctx)
	if err != nil {
		return HTML("<p>" + html.EscapeString(string(b)) + "</p>") // the parser fails only on a failed read
	}
	var out bytes.Buffer
	for _, n := range nodes {
		if err := html.Render(&out, n); err != nil {
			return HTML("<p>" + html.EscapeString(string(b)) + "</p>")
		}
	}
	return HTML(out.String())
}

// Plain returns the text of the first paragraph, heading or list item of
// src as Render shows it, with its markup left out and its lines joined:
// what a listing shows of a description. Tables and code are passed over;
// a description of nothing else shows nothing.
func Plain(src string) string {
	z := html.NewTokenizer(strings.NewReader(string(Render(src))))
	var b strings.Builder
	skip := 0        // depth inside a table or pre
	collecting := "" // the element whose text is being collected
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " ")
		case html.TextToken:
			if collecting != "" && skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch tag := string(name); {
			case tag == "table" || tag == "pre":
				skip++
			case tag == "br":
				b.WriteByte(' ')
			case blocks[tag] && collecting == "" && skip == 0:
				collecting = tag
			case blocks[tag] || tag == "ul" || tag == "ol":
				if collecting != "" && strings.TrimSpace(b.String()) != "" {
					return strings.Join(strings.Fields(b.String()), " ")
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch tag := string(name); {
			case tag == "table" || tag == "pre":
				skip--
			case tag == collecting:
				if strings.TrimSpace(b.String()) != "" {
					return strings.Join(strings.Fields(b.String()), " ")
				}
				collecting = ""
				b.Reset()
			}
		}
	}
}

// blocks are the elements whose text Plain takes.
var blocks = map[string]bool{"p": true, "li": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true}
