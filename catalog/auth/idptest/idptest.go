// Package idptest runs a real OpenID Connect provider, with a real login
// page, for tests of single sign-on that a browser drives end to end: the
// example provider of github.com/zitadel/oidc (an OpenID-certified
// library), in its own process on a loopback port. Unlike an in-process
// mock that signs everyone in at once, it shows a login form, checks a
// password, and issues codes, ID tokens and userinfo as a deployed
// provider does, from a code base Almanac's own OIDC client was not
// written against.
//
// The provider is built from the Go module proxy once per machine by
// package testbin; $ALMANAC_TEST_OIDC_PROVIDER names a binary to use
// instead.
package idptest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"almanac/catalog/testbin"
)

// Program is the provider: the example server of zitadel/oidc, pinned.
var Program = testbin.Program{
	Package: "github.com/zitadel/oidc/v3/example/server",
	Version: "v3.52.0",
	Env:     "ALMANAC_TEST_OIDC_PROVIDER",
	Timeout: 8 * time.Minute,
}

// The client the provider registers: a confidential web client.
const (
	ClientID     = "web"
	ClientSecret = "secret"
)

// User is an account on the provider.
type User struct {
	Username, Password  string
	FirstName, LastName string
	Email               string
}

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is its issuer URL, http://localhost:<port>/ (the example
	// server names itself localhost).
	Issuer string
	// Users are the accounts it accepts.
	Users []User

	cmd  *exec.Cmd
	done chan error
}

// Start starts a provider that accepts users and redirects only to
// redirectURIs (a client's callback and post-logout pages). It stops when
// the test ends; the test fails when none can be built or started.
func Start(t testing.TB, users []User, redirectURIs ...string) *Provider {
	t.Helper()
	bin, err := Program.Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "users.json")
	if err := writeUsers(file, users); err != nil {
		t.Fatal(err)
	}
	p := &Provider{Users: users}
	var last error
	for range 3 { // the free port may be taken before the provider binds it
		if last = p.start(bin, file, filepath.Join(dir, "provider.log"), redirectURIs); last == nil {
			t.Cleanup(p.stop)
			return p
		}
	}
	t.Fatalf("idptest: start %s: %v", bin, last)
	return nil
}

// writeUsers writes users in the provider's users file format: a JSON
// object of users by id.
func writeUsers(file string, users []User) error {
	type account struct {
		ID, Username, Password, FirstName, LastName, Email string
		EmailVerified                                      bool
		PreferredLanguage                                  string
	}
	all := map[string]account{}
	for i, u := range users {
		id := fmt.Sprintf("user-%d-%s", i+1, randomHex(4))
		all[id] = account{ID: id, Username: u.Username, Password: u.Password, FirstName: u.FirstName,
			LastName: u.LastName, Email: u.Email, EmailVerified: true, PreferredLanguage: "en"}
	}
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o600)
}

func (p *Provider) start(bin, users, logPath string, redirectURIs []string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	p.cmd = exec.Command(bin)
	p.cmd.Dir = filepath.Dir(logPath)
	p.cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "USERS_FILE="+users,
		"REDIRECT_URI="+strings.Join(redirectURIs, ","))
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	p.Issuer = fmt.Sprintf("http://localhost:%d/", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("provider exited (%v): %s", err, testbin.Tail(b, 2000))
		case <-time.After(50 * time.Millisecond):
		}
		res, err := http.Get(p.Issuer + ".well-known/openid-configuration")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	p.stop()
	return fmt.Errorf("provider did not answer at %s within 30s", p.Issuer)
}

// stop ends the provider: politely, then not.
func (p *Provider) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill() //nolint:errcheck // as above
		<-p.done
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails
	return hex.EncodeToString(b)
}
