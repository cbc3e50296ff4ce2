// Package testbin builds the real servers that tests talk to (an S3
// gateway, an OpenID provider) from the Go module proxy: `go install
// <package>@<version>`, once per machine, into $XDG_CACHE_HOME/almanac
// (~/.cache/almanac), under a lock that parallel test processes share. The
// first build takes a minute or more; later ones nothing. The build is
// verified against the checksum database like any module, and nothing of
// the program is committed here.
package testbin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Program is a Go program a test runs as its own process.
type Program struct {
	// Package is the main package's import path and Version its module
	// version, pinned.
	Package, Version string
	// Env names an environment variable that may give a binary to use
	// instead of building one.
	Env string
	// Timeout bounds the build, which downloads and compiles the program
	// and its dependencies.
	Timeout time.Duration
}

var (
	mu    sync.Mutex
	built = map[Program]*result{}
)

type result struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of p's binary, building it first if no test
// process has yet. The error says what failed and how to supply a binary
// instead.
func (p Program) Binary() (string, error) {
	mu.Lock()
	r := built[p]
	if r == nil {
		r = &result{}
		built[p] = r
	}
	mu.Unlock()
	r.once.Do(func() { r.path, r.err = p.binary() })
	return r.path, r.err
}

func (p Program) name() string { return path.Base(p.Package) }

func (p Program) binary() (string, error) {
	if p.Env != "" {
		if bin := os.Getenv(p.Env); bin != "" {
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("testbin: $%s: %w", p.Env, err)
			}
			return bin, nil
		}
	}
	instead := "the Go module proxy must be reachable"
	if p.Env != "" {
		instead += fmt.Sprintf("; or set $%s to a %s binary", p.Env, p.name())
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("testbin: no cache directory for %s (set HOME or XDG_CACHE_HOME): %w; %s", p.name(), err, instead)
	}
	dir := filepath.Join(cache, "almanac", p.name()+"-"+p.Version)
	bin := filepath.Join(dir, p.name())
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	// One process builds; the others wait for it, then find the binary.
	lock, err := os.OpenFile(filepath.Join(dir, "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("testbin: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	defer os.RemoveAll(tmp)
	// go test puts its own go command first on the PATH of tests.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("testbin: build %s: no go command on PATH; %s", p.name(), instead)
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 8 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "install", p.Package+"@"+p.Version)
	// Outside this module: the program builds with its own go.mod.
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testbin: go install %s@%s failed after %s: %v\n%s\n%s",
			p.Package, p.Version, time.Since(start).Round(time.Second), err, Tail(out, 4000), instead)
	}
	if err := os.Rename(filepath.Join(tmp, p.name()), bin); err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	fmt.Fprintf(os.Stderr, "testbin: built %s@%s in %s into %s\n", p.Package, p.Version, time.Since(start).Round(time.Second), bin)
	return bin, nil
}

// Tail returns the last n bytes of b, trimmed: the end of a log.
func Tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
