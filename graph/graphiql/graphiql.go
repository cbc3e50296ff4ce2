// Package graphiql serves GraphiQL, the in-browser IDE for a GraphQL API,
// entirely from files embedded in the binary: the page loads nothing from
// another origin, so it works offline and behind firewalls that block
// CDNs, and its Content-Security-Policy can say so.
//
// The files under assets/ are vendored unchanged from npm, each beside the
// LICENSE of its package:
//
//	graphiql 3.9.0   graphiql.min.js, graphiql.min.css (its UMD bundle)
//	react 18.3.1     umd/react.production.min.js
//	react-dom 18.3.1 umd/react-dom.production.min.js
//
// To update one, run `npm pack graphiql@VERSION` (or react, react-dom) in a
// temporary folder, copy the same files out of the tarball, change the
// versions above, and run the GraphiQL browser test in package graph.
// graphiql 5 ships ES modules only, without a bundle a page can load as
// files; 3.9.0, the last 3.x, has a smaller bundle than 4.x. The page,
// almanac-graphiql.js and almanac-graphiql.css are ours.
package graphiql

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// ContentSecurityPolicy returns the policy of a page: scripts,
// stylesheets and requests only to the server itself. GraphiQL's
// stylesheet carries its fonts and icons as data: URLs. Its dialogs add a
// style element (to stop the page behind them scrolling), which the
// policy allows by the page's one-time nonce, never every inline style.
func ContentSecurityPolicy(nonce string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-" + nonce + "'; font-src data:; " +
		"img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
}

var (
	//go:embed assets page.html
	files embed.FS

	page = template.Must(template.New("page.html").Funcs(template.FuncMap{
		"asset": func(string) string { panic("asset is bound per handler") },
	}).ParseFS(files, "page.html"))

	// assets is the files GraphiQL loads, with their folder stripped.
	assets = func() fs.FS {
		sub, err := fs.Sub(files, "assets")
		if err != nil {
			panic(err) // the embedded folder always exists
		}
		return sub
	}()

	// versions maps each asset to a short hash of its content.
	versions = func() map[string]string {
		v := map[string]string{}
		err := fs.WalkDir(assets, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(assets, name)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			v[name] = hex.EncodeToString(sum[:6])
			return nil
		})
		if err != nil {
			panic(err) // reading embedded files cannot fail
		}
		return v
	}()
)

// contentTypes are the types of the assets by extension, fixed here rather
// than looked up in the system's MIME tables, which differ between hosts.
var contentTypes = map[string]string{
	".js":      "text/javascript; charset=utf-8",
	".css":     "text/css; charset=utf-8",
	".LICENSE": "text/plain; charset=utf-8",
}

// Handler serves GraphiQL for one GraphQL endpoint: the page, and the
// files it loads under the endpoint's path followed by /assets/.
type Handler struct {
	endpoint string
	prefix   string // of the assets' paths
	page     *template.Template
	files    http.Handler
}

// New returns GraphiQL for the GraphQL API at endpoint, an absolute path
// such as "/graphql". The page sends operations there. Its bar links back
// to the portal at the server's root, where almanac serves it.
func New(endpoint string) *Handler {
	h := &Handler{endpoint: endpoint, prefix: strings.TrimSuffix(endpoint, "/") + "/assets/"}
	h.page = template.Must(page.Clone()).Funcs(template.FuncMap{"asset": h.assetURL})
	h.files = http.StripPrefix(h.prefix, http.FileServerFS(assets))
	return h
}

// assetURL returns the address of an asset with a version derived from
// its content, so that browsers can cache it for good and still see a
// change on the next deploy.
func (h *Handler) assetURL(name string) string {
	v, ok := versions[name]
	if !ok {
		panic("graphiql: no asset " + name)
	}
	return h.prefix + name + "?v=" + v
}

// IsAsset reports whether r asks for one of the files the page loads
// rather than for the page.
func (h *Handler) IsAsset(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, h.prefix)
}

// ServeHTTP serves the asset r asks for when IsAsset(r), else the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.IsAsset(r) {
		h.serveAsset(w, r)
		return
	}
	nonce := rand.Text()
	var buf bytes.Buffer
	if err := h.page.Execute(&buf, struct{ Endpoint, Nonce string }{h.endpoint, nonce}); err != nil {
		http.Error(w, "rendering GraphiQL: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	// The page has a nonce and names its assets' versions: no cache may
	// keep it.
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", ContentSecurityPolicy(nonce))
	setSecurityHeaders(hd)
	// A failed write means the client went away; there is nobody to tell.
	_, _ = buf.WriteTo(w)
}

// serveAsset serves one embedded file. The address the page uses, with
// the current version, is cached for a year; any other is revalidated, so
// that a stale version never gets today's file cached under its name.
// Folders are not listed.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, h.prefix)
	v, ok := versions[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	if r.URL.Query().Get("v") == v {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("ETag", `"`+v+`"`)
	if t, ok := contentTypes[path.Ext(name)]; ok {
		hd.Set("Content-Type", t)
	}
	setSecurityHeaders(hd)
	h.files.ServeHTTP(w, r)
}

// setSecurityHeaders sets what every response carries; the page adds its
// Content-Security-Policy.
func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("X-Frame-Options", "DENY")
}
