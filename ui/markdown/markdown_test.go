package markdown

import (
	"strings"
	"testing"
)

// TestRenderNeutralisesAttacks renders descriptions that try to run
// script, load something or break out of the page: what remains has no
// script, no event handler, no dangerous address and no raw markup of
// the attack, and keeps the text around it.
func TestRenderNeutralisesAttacks(t *testing.T) {
	tests := []struct {
		name, src string
		keep      string // text that must survive
	}{
		{"script tag", "Orders <script>alert(1)</script> table", "Orders"},
		{"script block", "<script>\nalert(1)\n</script>\n\nAfter.", "After."},
		{"javascript link", "[click me](javascript:alert(1))", "click me"},
		{"javascript link, encoded", "[click](jAvAsCrIpT&#58;alert(1))", "click"},
		{"javascript link, spaced", "[click](  javascript:alert(1) )", "click"},
		{"javascript autolink", "<javascript:alert(1)>", ""},
		{"raw anchor", `<a href="javascript:alert(1)">x</a>`, "x"},
		{"onerror image", `<img src=x onerror=alert(1)>`, ""},
		{"onerror image, markdown", `![a](x" onerror="alert(1))`, ""},
		{"onclick", `<p onclick="alert(1)">hi</p>`, "hi"},
		{"data image", "![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)", ""},
		{"data link", "[open](data:text/html,<script>alert(1)</script>)", "open"},
		{"vbscript", "[x](vbscript:msgbox(1))", "x"},
		{"iframe", `<iframe src="https://evil.example"></iframe>Text`, "Text"},
		{"style", `<style>body{display:none}</style><span style="color:red">red</span>`, "red"},
		{"form", `<form action="https://evil.example"><input name=q><button>Go</button></form>`, "Go"},
		{"svg", `<svg onload=alert(1)><circle/></svg>`, ""},
		{"comment", `before <!-- <script>alert(1)</script> --> after`, "after"},
		{"closing the page", `</div></td></tr></table></main><script>alert(1)</script>`, ""},
		{"opening without closing", `<b><i>unclosed <table><tr><td>cell`, "cell"},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=https://evil.example">`, ""},
		{"base", `<base href="https://evil.example/">`, ""},
		{"attribute breakout", `[x](https://example.com/"onmouseover="alert(1))`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(render(tt.src))
			if problem := Unsafe(got); problem != "" {
				t.Errorf("Render(%q) = %q: %s", tt.src, got, problem)
			}
			if strings.Contains(got, "</") && strings.Count(got, "</") != strings.Count(got, "<")-strings.Count(got, "</")-strings.Count(got, "/>") {
				t.Errorf("Render(%q) = %q: tags do not balance", tt.src, got)
			}
			if !strings.Contains(got, tt.keep) {
				t.Errorf("Render(%q) = %q: lost %q", tt.src, got, tt.keep)
			}
		})
	}
}

// TestRender checks what descriptions carry renders as it should: a
// dbt status table, lists, links with rel nofollow, headings below the
// page's own.
func TestRender(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"table", "Statuses:\n\n| status | meaning |\n|---|---|\n| placed | not yet shipped |\n| returned | sent back |\n",
			[]string{"<table>", "<th>status</th>", "<td>returned</td>", "<td>sent back</td>"}},
		{"list", "- one\n- two\n", []string{"<ul>", "<li>one</li>"}},
		{"emphasis and code", "**bold** _it_ `code` ~~gone~~", []string{"<strong>bold</strong>", "<em>it</em>", "<code>code</code>", "<del>gone</del>"}},
		{"external link", "[docs](https://docs.example.com/orders)",
			[]string{`<a href="https://docs.example.com/orders" rel="nofollow noopener" target="_blank">docs</a>`}},
		{"relative link", "[other](/datasets/x/y)", []string{`<a href="/datasets/x/y" rel="nofollow">other</a>`}},
		{"mailto", "[mail](mailto:data@example.com)", []string{`href="mailto:data@example.com"`}},
		{"autolink", "see https://example.com/a?b=1&c=2 now", []string{`<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener" target="_blank">https://example.com/a?b=1&amp;c=2</a>`}},
		{"heading", "# Orders\n## Grain", []string{"<h3>Orders</h3>", "<h4>Grain</h4>"}},
		{"safe raw html", "line<br>break <b>bold</b>", []string{"<br/>", "<b>bold</b>"}},
		{"text is escaped", `5 < 6 & "x"`, []string{"5 &lt; 6 &amp; &#34;x&#34;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Render(tt.src))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Render(%q) = %q, want it to contain %q", tt.src, got, w)
				}
			}
		})
	}
	if got := Render("  \n "); got != "" {
		t.Errorf("Render(blank) = %q, want empty", got)
	}
	// The cache answers the same as a fresh rendering.
	src := "Cached **twice**."
	if a, b := Render(src), Render(src); a != b || a != render(src) {
		t.Errorf("cached renderings differ: %q, %q", a, b)
	}
	big := strings.Repeat("x", cacheMaxBytes+1)
	if got := Render(big); !strings.Contains(string(got), "xxx") {
		t.Error("a description larger than the cache takes is not rendered")
	}
}

func TestPlain(t *testing.T) {
	tests := []struct{ src, want string }{
		{"", ""},
		{"One row per order.", "One row per order."},
		{"**Orders** placed on the [web shop](https://x.example).\nGrain: `order_id`.", "Orders placed on the web shop. Grain: order_id."},
		{"# Orders\n\nBody.", "Orders"},
		{"| a | b |\n|---|---|\n| 1 | 2 |\n\nAfter the table.", "After the table."},
		{"```\ncode\n```\n", ""},
		{`<b>Bold</b> claims & "quotes" </p><script>alert(1)</script>`, `Bold claims & "quotes"`},
		{"- first item\n- second", "first item"},
		{"see <https://example.com>", "see https://example.com"},
	}
	for _, tt := range tests {
		if got := Plain(tt.src); got != tt.want {
			t.Errorf("Plain(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

// FuzzRender checks that no input, however malformed, renders script,
// event handlers or dangerous addresses.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"<script>x</script>", "[a](javascript:x)", "<img onerror=x src=y>", "| a |\n|---|\n| <b onclick=x>b</b> |"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if problem := Unsafe(string(render(src))); problem != "" {
			t.Errorf("Render(%q): %s", src, problem)
		}
		Plain(src)
	})
}

// BenchmarkRender renders a dbt doc block with a status table, a list
// and links, without the cache.
func BenchmarkRender(b *testing.B) {
	src := "One row per order placed on the **web shop**. Grain: `order_id`.\n\n" +
		"| status | meaning |\n|---|---|\n| placed | not yet shipped |\n| shipped | on its way |\n| completed | received |\n| returned | sent back |\n\n" +
		"- amounts in EUR, after discounts\n- see [the runbook](https://wiki.example.com/orders)\n"
	for b.Loop() {
		render(src)
	}
}
