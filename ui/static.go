package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// staticFS is the static assets with their folder stripped.
var staticFS = func() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	return sub
}()

// staticURL returns the address of a static asset with a version derived
// from its content, so that browsers can cache it for good and still see
// a change on the next deploy.
func staticURL(name string) string {
	return "/static/" + name + "?v=" + staticVersions[name]
}

// staticVersions maps each asset to a short hash of its content.
var staticVersions = func() map[string]string {
	v := map[string]string{}
	err := fs.WalkDir(staticFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		v[path] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		panic(err) // reading embedded files cannot fail
	}
	return v
}()

// staticHandler serves the embedded assets under /static/. A versioned
// address is cached for a year; folders are not listed.
func staticHandler() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(staticFS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		files.ServeHTTP(w, r)
	})
}
