package markdown

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// forbidden are elements that run script, load or embed documents, take
// input or change how the page around them is read.
var forbidden = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true, "object": true, "embed": true,
	"applet": true, "form": true, "input": true, "button": true, "textarea": true, "select": true, "option": true,
	"svg": true, "math": true, "meta": true, "link": true, "base": true, "template": true, "noscript": true,
	"audio": true, "video": true, "source": true, "html": true, "head": true, "body": true, "title": true,
}

// urlAttrs are the attributes whose value is an address.
var urlAttrs = map[string]bool{"href": true, "src": true, "cite": true, "action": true, "formaction": true, "poster": true, "background": true, "xlink:href": true}

// Unsafe returns what, in the HTML fragment s, could run script or reach
// outside the portal unasked: a forbidden element, an event handler,
// style, a comment, or an address that is not http, https, mailto or
// relative; "" when it finds nothing. It is the check the tests of every
// page that shows rendered Markdown apply to it: an independent reading
// of the sanitizer's output, by the HTML parser browsers follow.
func Unsafe(s string) string {
	nodes, err := html.ParseFragment(strings.NewReader(s), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return fmt.Sprintf("does not parse: %v", err)
	}
	for _, n := range nodes {
		for d := range n.Descendants() {
			if p := unsafeNode(d); p != "" {
				return p
			}
		}
		if p := unsafeNode(n); p != "" {
			return p
		}
	}
	return ""
}

func unsafeNode(n *html.Node) string {
	switch n.Type {
	case html.CommentNode:
		return "holds a comment"
	case html.ElementNode:
	default:
		return ""
	}
	if forbidden[n.Data] {
		return fmt.Sprintf("holds a <%s> element", n.Data)
	}
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case strings.HasPrefix(key, "on"):
			return fmt.Sprintf("<%s> has an event handler %s", n.Data, a.Key)
		case key == "style" || key == "srcdoc" || key == "srcset":
			return fmt.Sprintf("<%s> has a %s attribute", n.Data, a.Key)
		case urlAttrs[key] && !safeURL(a.Val):
			return fmt.Sprintf("<%s %s=%q> leads somewhere unsafe", n.Data, a.Key, a.Val)
		}
	}
	return ""
}

// safeURL reports whether an address is http, https, mailto or relative.
func safeURL(u string) bool {
	u = strings.ToLower(strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1 // browsers ignore controls and spaces in a scheme
		}
		return r
	}, u))
	scheme, _, found := strings.Cut(u, ":")
	if !found || strings.ContainsAny(scheme, "/?#") {
		return true // relative
	}
	return scheme == "http" || scheme == "https" || scheme == "mailto"
}
