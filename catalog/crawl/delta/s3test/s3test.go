// Package s3test owns the S3-compatible server that tests of code reading
// object storage run against: a real server in its own process, never an
// in-process fake, so that requests go over HTTP with real signatures,
// listings, ranges and errors.
//
// The server is the Versity S3 Gateway (versitygw, Apache-2.0), whose posix
// backend serves a directory: each subdirectory is a bucket and each file
// below it an object, so a test can lay out thousands of objects on disk
// without uploading them. It is built from the Go module proxy with `go
// install`, once per machine, by package testbin; that takes a few
// minutes the first time, and nothing after. $ALMANAC_TEST_VERSITYGW names
// a binary to use instead.
//
// SeaweedFS was the first choice; its `weed` binary builds too, but
// compiles about four times as much code (8.5 CPU-minutes against 2.3),
// which a clean CI machine would pay inside `make test`.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"almanac/catalog/testbin"
)

// Package and Version are the server's module package and version,
// pinned: the build is verified against the checksum database like any
// module.
const (
	Package = "github.com/versity/versitygw/cmd/versitygw"
	Version = "v1.8.0"
)

const (
	envBinary = "ALMANAC_TEST_VERSITYGW"
	// buildTimeout bounds the first build, which downloads and compiles
	// the server and its dependencies.
	buildTimeout = 8 * time.Minute
	// startTimeout bounds a start, until the server answers.
	startTimeout = 30 * time.Second
	// Region is the region the server is started with and that clients
	// sign for.
	Region = "us-east-1"
)

// program is the server, built by package testbin.
var program = testbin.Program{Package: Package, Version: Version, Env: envBinary, Timeout: buildTimeout}

// Binary returns the path of the server's binary, building it first if no
// test process has yet. The error says what failed and how to supply a
// binary instead.
func Binary() (string, error) { return program.Binary() }

// Server is a running S3-compatible server on a loopback port.
type Server struct {
	// Endpoint is the server's URL, http://127.0.0.1:port; clients must
	// use path-style addressing.
	Endpoint string
	// AccessKey and SecretKey are the credentials it accepts, made up for
	// this server.
	AccessKey, SecretKey string
	// Dir is the directory it serves: each subdirectory is a bucket, each
	// file below one an object named by its path in the bucket.
	Dir string

	cmd  *exec.Cmd
	done chan error
}

// Start starts a server on an empty directory. It stops, and its directory
// is removed, when the test ends. The test fails when no server can be
// built or started.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s := &Server{Dir: filepath.Join(root, "data"), AccessKey: "almanac" + randomHex(6), SecretKey: randomHex(20)}
	for _, d := range []string{s.Dir, filepath.Join(root, "meta")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var last error
	for range 3 { // the free port may be taken before the server binds it
		if last = s.start(bin, filepath.Join(root, "meta"), filepath.Join(root, "server.log")); last == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("s3test: start %s: %v", bin, last)
	return nil
}

func (s *Server) start(bin, metaDir, logPath string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// Metadata (ETags, content types) goes to a sidecar directory rather
	// than extended attributes, which not every file system has.
	s.cmd = exec.Command(bin, "--port", addr, "--region", Region, "--quiet", "posix", "--sidecar", metaDir, s.Dir)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	s.Endpoint = "http://" + addr
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("server exited (%v): %s", err, testbin.Tail(b, 2000))
		case <-time.After(50 * time.Millisecond):
		}
		if res, err := http.Get(s.Endpoint + "/"); err == nil {
			res.Body.Close()
			return nil // any answer, 403 without credentials, means it serves
		}
	}
	s.stop()
	return fmt.Errorf("server did not answer at %s within %s", s.Endpoint, startTimeout)
}

// stop ends the server: politely, then not.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Env points the standard AWS configuration of this process at the
// server for the rest of the test: its credentials and region in the
// environment, the shared configuration files and the instance metadata
// service out of the way, so that nothing from the machine's own AWS setup
// is read and nothing leaves the loopback interface.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           s.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       s.SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  Region,
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
	} {
		t.Setenv(k, v)
	}
}

// Client returns a client of the server with its credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// The gateway sends no checksums back for plain GETs.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

// CreateBucket creates a bucket through the S3 API.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", bucket, err)
	}
}

// Upload uploads every file under the local directory src through the S3
// API, as objects named prefix + their slash-separated path under src, a
// few at a time.
func (s *Server) Upload(t testing.TB, bucket, prefix, src string) {
	t.Helper()
	type object struct{ key, path string }
	var objects []object
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		objects = append(objects, object{strings.TrimPrefix(prefix+"/"+filepath.ToSlash(rel), "/"), p})
		return nil
	})
	if err != nil {
		t.Fatalf("s3test: upload %s: %v", src, err)
	}
	c := s.Client()
	errs := make(chan error, len(objects))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, o := range objects {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f, err := os.Open(o.path)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.key), Body: f}); err != nil {
				errs <- fmt.Errorf("put %s: %w", o.key, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		t.Fatalf("s3test: upload %s: %v", src, err)
	}
}

func collect(ch chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
