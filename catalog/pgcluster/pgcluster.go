// Package pgcluster owns a private PostgreSQL cluster run with the local
// server binaries (initdb, pg_ctl): its data directory, its port, and
// starting, reusing and stopping it. `make run` and the test harness
// (catalog/pgtest) use it when no PostgreSQL server is given, so that a
// machine with the postgresql package installed needs nothing else.
//
// The cluster listens on 127.0.0.1 only, on a port remembered under its
// directory, and trusts every local connection: it is for one developer's
// machine, never for production.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned by Binaries, EnsureInstalled and Start when the
// PostgreSQL server binaries cannot be found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package postgresql (apt-get install postgresql)")

// debianRoot is where Debian and Ubuntu install one bin directory per major
// version; their initdb and pg_ctl are not on PATH by default.
var debianRoot = "/usr/lib/postgresql"

const (
	// portFile remembers the chosen port so that URLs stay the same from one
	// start to the next.
	portFile = "port"
	// confFile is written into the data directory on every start and included
	// from postgresql.conf, so that a plain `pg_ctl start -D dir/data` run by
	// hand listens where Start would. Passing the settings with pg_ctl -o
	// instead would go through a shell and need quoting.
	confFile = "almanac.conf"
	logFile  = "postgres.log"
	lockFile = "start.lock"
	// maxSocketPath keeps dir/.s.PGSQL.NNNNN within sockaddr_un's sun_path
	// (108 bytes on Linux, 104 on macOS, including the NUL).
	maxSocketPath = 100
	pgTimeout     = 60 // seconds pg_ctl waits for start and stop
)

// Cluster is a running private PostgreSQL cluster.
type Cluster struct {
	// Dir is the absolute directory holding the cluster: data/, the log and
	// the remembered port.
	Dir string
	// Port is the TCP port the server listens on at 127.0.0.1.
	Port int

	bindir string
	cred   *syscall.Credential // the postgres OS user when we run as root
	log    *slog.Logger
}

// Binaries returns the directory holding initdb and pg_ctl: the one they are
// found in on PATH, else the newest /usr/lib/postgresql/*/bin. The error wraps
// ErrNotInstalled when there is none.
func Binaries() (bindir string, err error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		// Prefer the directory the PATH entry links to: pg_ctl finds the
		// postgres binary next to itself, so both must come from one version.
		if real, err := filepath.EvalSymlinks(initdb); err == nil && hasBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if hasBinaries(filepath.Dir(initdb)) {
			return filepath.Dir(initdb), nil
		}
	}
	if dir := newestBindir(debianRoot); dir != "" {
		return dir, nil
	}
	return "", ErrNotInstalled
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// newestBindir returns root/<version>/bin of the highest version (so 15
// beats 9.6) that holds both binaries, or "".
func newestBindir(root string) string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return ""
	}
	var best string
	var bestVersion []int
	for _, e := range entries {
		version, ok := parseVersion(e.Name())
		dir := filepath.Join(root, e.Name(), "bin")
		if !ok || !hasBinaries(dir) {
			continue
		}
		if best == "" || slices.Compare(version, bestVersion) > 0 {
			best, bestVersion = dir, version
		}
	}
	return best
}

func parseVersion(s string) ([]int, bool) {
	var v []int
	for part := range strings.SplitSeq(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, false
		}
		v = append(v, n)
	}
	return v, true
}

// EnsureInstalled returns the directory of initdb and pg_ctl like Binaries,
// installing the Debian package postgresql first when they are missing and
// it can: running as root where apt-get exists. Otherwise the error wraps
// ErrNotInstalled. Note that the package's own scripts may create and start a
// system cluster on port 5432 beside ours.
func EnsureInstalled(ctx context.Context, log *slog.Logger) (bindir string, err error) {
	bindir, err = Binaries()
	if err == nil {
		return bindir, nil
	}
	aptGet, lookErr := exec.LookPath("apt-get")
	if os.Geteuid() != 0 || lookErr != nil {
		return "", err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "postgresql"}} {
		command := "apt-get " + strings.Join(args, " ")
		log.Info("installing PostgreSQL", "command", command)
		cmd := exec.CommandContext(ctx, aptGet, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, runErr := cmd.CombinedOutput()
		if runErr != nil {
			return "", fmt.Errorf("%w (%s failed: %v: %s)", ErrNotInstalled, command, runErr, tail(out, 10))
		}
	}
	bindir, err = Binaries()
	if err == nil {
		log.Info("installed PostgreSQL", "bindir", bindir)
	}
	return bindir, err
}

// Start starts the cluster kept under dir, creating it with initdb first if
// dir/data holds none, or reuses it if it is already running. It returns once
// the server accepts connections.
//
// Start holds a lock file under dir meanwhile, so that processes starting the
// same cluster at once (parallel `go test` packages) wait for each other and
// end up sharing one server.
func Start(ctx context.Context, dir string, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bindir, err := Binaries()
	if err != nil {
		return nil, err
	}
	abs, created, err := makeDir(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: abs, bindir: bindir, log: log}

	unlock, err := lock(ctx, filepath.Join(abs, lockFile))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root: the cluster belongs to
		// the postgres OS user, who must own dir and be able to reach it.
		if c.cred, err = postgresUser(); err != nil {
			return nil, err
		}
		if err := c.openPath(created); err != nil {
			return nil, err
		}
		if err := c.chownAll(abs); err != nil {
			return nil, err
		}
	}

	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("start postgres in %s: %w", abs, err)
	}

	running, err := c.running(ctx)
	if err != nil {
		return nil, err
	}
	if running {
		if c.Port, err = c.pidFilePort(); err != nil {
			return nil, err
		}
		log.Info("reusing running PostgreSQL", "dir", abs, "port", c.Port)
	} else if err := c.start(ctx); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// URL returns the URL of database on the cluster, as user postgres.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, url.PathEscape(database))
}

// Stop shuts the server down (pg_ctl stop -m fast: sessions are disconnected,
// nothing committed is lost) and waits for it to exit. Stopping a cluster
// that is not running is not an error.
func (c *Cluster) Stop(ctx context.Context) error {
	running, err := c.running(ctx)
	if err != nil || !running {
		return err
	}
	c.log.Info("stopping PostgreSQL", "dir", c.Dir, "port", c.Port)
	out, err := c.command(ctx, "pg_ctl", "stop", "-D", c.dataDir(), "-m", "fast", "-w", "-t", strconv.Itoa(pgTimeout)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("stop postgres in %s: %v: %s", c.Dir, err, tail(out, 10))
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

// makeDir creates dir and returns its absolute, symlink-free path and the
// parent directories it had to create on the way, outermost first.
func makeDir(dir string) (abs string, created []string, err error) {
	abs, err = filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("postgres directory %q: %w", dir, err)
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append([]string{d}, created...)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", nil, fmt.Errorf("postgres directory: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", nil, fmt.Errorf("postgres directory: %w", err)
	}
	return real, created, nil
}

// lock takes an exclusive flock on path, polling so that ctx can end the wait.
// The lock goes with the process if it dies.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock postgres directory: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the cluster must run as the postgres OS user, which is missing (the Debian package postgresql creates it): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: gid %q: %w", u.Gid, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}
	gids, _ := u.GroupIds() // without them, the primary group is enough
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) != cred.Gid {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}

// openPath makes sure the postgres user can reach c.Dir. The directories
// Start created itself (created, e.g. ./.almanac) are opened with o+x when
// needed, since nobody else chose their mode. A directory that already
// existed and is closed to postgres (a home directory, a 0700 temp
// directory) is left alone and reported instead: opening it would silently
// widen access to everything below it, which is its owner's decision.
func (c *Cluster) openPath(created []string) error {
	for _, d := range created {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("postgres directory: %w", err)
		}
		if !c.searchable(fi) {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("postgres directory: %w", err)
			}
		}
	}
	for d := filepath.Dir(c.Dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("postgres directory: %w", err)
		}
		if !c.searchable(fi) {
			return fmt.Errorf("the postgres OS user cannot reach %s: directory %s is not searchable by it (mode %v); run chmod o+x %s or use a directory elsewhere", c.Dir, d, fi.Mode().Perm(), d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// searchable reports whether the postgres user may traverse the directory.
func (c *Cluster) searchable(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // cannot tell; initdb will say
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == c.cred.Uid:
		return perm&0o100 != 0
	case slices.Contains(c.cred.Groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// chownAll gives dir and everything below it to the postgres user. Files a
// running server removes meanwhile are skipped.
func (c *Cluster) chownAll(dir string) error {
	uid, gid := c.cred.Uid, c.cred.Gid
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == uid && st.Gid == gid {
			return nil
		}
		if err := os.Lchown(path, int(uid), int(gid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", dir, err)
	}
	return nil
}

// chown gives files Start wrote as root to the postgres user.
func (c *Cluster) chown(paths ...string) error {
	if c.cred == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Lchown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("give %s to the postgres user: %w", p, err)
		}
	}
	return nil
}

// command runs a PostgreSQL binary as the cluster's owner, in c.Dir (pg_ctl
// and initdb fail when they cannot read their working directory).
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bindir, name), args...)
	cmd.Dir = c.Dir
	for _, kv := range os.Environ() {
		// PGDATA, PGPORT and friends would override what we pass; LC_ALL
		// would override initdb's --locale for the messages we parse.
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_ALL=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "LC_MESSAGES=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// initdb creates the cluster, in the C.UTF-8 locale where the C library has
// it (UTF-8 text, byte-order sorting that does not change with the host), else
// in C.
func (c *Cluster) initdb(ctx context.Context) error {
	data := c.dataDir()
	var out []byte
	for _, locale := range []string{"C.UTF-8", "C"} {
		c.log.Info("creating PostgreSQL cluster", "dir", data, "locale", locale)
		var err error
		out, err = c.command(ctx, "initdb", "-D", data, "--auth=trust", "-U", "postgres",
			"--encoding=UTF8", "--locale="+locale, "--no-instructions").CombinedOutput()
		if err == nil {
			return nil
		}
		if !bytes.Contains(out, []byte("locale")) {
			break
		}
		// initdb removes what it created when it fails; make sure anyway
		// before the next try, which needs an empty directory.
		if err := os.RemoveAll(data); err != nil {
			return fmt.Errorf("initdb %s: %w", data, err)
		}
	}
	return fmt.Errorf("initdb %s failed: %s", data, tail(out, 15))
}

// running reports whether the server of dir/data is up (pg_ctl status: its
// postmaster.pid names a live process).
func (c *Cluster) running(ctx context.Context) (bool, error) {
	out, err := c.command(ctx, "pg_ctl", "status", "-D", c.dataDir()).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 3: // not running
		return false, nil
	default:
		return false, fmt.Errorf("pg_ctl status %s: %v: %s", c.dataDir(), err, tail(out, 5))
	}
}

// pidFilePort reads the port of the running server from the fourth line of
// postmaster.pid.
func (c *Cluster) pidFilePort() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("read port of running postgres: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, fmt.Errorf("read port of running postgres: short postmaster.pid in %s", c.dataDir())
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, fmt.Errorf("read port of running postgres: %w", err)
	}
	return port, nil
}

// start starts the server on the remembered port if it is free, else on a new
// one; if another process takes the port before postgres binds it, it tries
// again with a new one.
func (c *Cluster) start(ctx context.Context) error {
	port, err := c.choosePort()
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		c.Port = port
		if err := c.writeConfig(); err != nil {
			return err
		}
		c.log.Info("starting PostgreSQL", "dir", c.Dir, "port", port, "log", filepath.Join(c.Dir, logFile))
		out, err := c.command(ctx, "pg_ctl", "start", "-D", c.dataDir(), "-l", filepath.Join(c.Dir, logFile),
			"-w", "-t", strconv.Itoa(pgTimeout), "-s").CombinedOutput()
		if err == nil {
			return nil
		}
		logTail := c.logTail()
		if attempt < 3 && strings.Contains(logTail, "could not bind") {
			if port, err = freePort(); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("start postgres in %s: %v: %s\n%s:\n%s", c.Dir, err, bytes.TrimSpace(out), logFile, logTail)
	}
}

func (c *Cluster) choosePort() (int, error) {
	if b, err := os.ReadFile(filepath.Join(c.Dir, portFile)); err == nil {
		if port, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && port > 0 && port < 1<<16 {
			if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				l.Close()
				return port, nil
			}
			c.log.Info("remembered PostgreSQL port is taken, choosing another", "port", port)
		}
	}
	return freePort()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for postgres: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeConfig remembers c.Port and writes the settings Start owns into
// data/almanac.conf, included from postgresql.conf.
func (c *Cluster) writeConfig() error {
	port := filepath.Join(c.Dir, portFile)
	if err := os.WriteFile(port, []byte(strconv.Itoa(c.Port)+"\n"), 0o644); err != nil {
		return fmt.Errorf("remember postgres port: %w", err)
	}
	socketDir := c.Dir
	if len(c.Dir)+len("/.s.PGSQL.65535") >= maxSocketPath {
		socketDir = "" // TCP only: the socket path would be too long to bind
	}
	conf := fmt.Sprintf(`# Written by almanac (catalog/pgcluster) on every start: edits are lost.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = %s
`, c.Port, quoteConf(socketDir))
	confPath := filepath.Join(c.dataDir(), confFile)
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write postgres settings: %w", err)
	}

	main := filepath.Join(c.dataDir(), "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("read postgres settings: %w", err)
	}
	include := fmt.Sprintf("include_if_exists = %s", quoteConf(confFile))
	if !bytes.Contains(b, []byte(include)) {
		f, err := os.OpenFile(main, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("write postgres settings: %w", err)
		}
		_, err = fmt.Fprintf(f, "\n# Settings of almanac (catalog/pgcluster), last so that they win.\n%s\n", include)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write postgres settings: %w", err)
		}
	}
	return c.chown(port, confPath)
}

// quoteConf quotes a postgresql.conf string value.
func quoteConf(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, logFile))
	return tail(b, 15)
}

// waitReady connects until the server answers. pg_ctl -w has usually waited
// already; a reused server may still be starting or recovering.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(context.WithoutCancel(ctx))
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres in %s does not accept connections on port %d: %w\n%s:\n%s", c.Dir, c.Port, err, logFile, c.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of out, for error messages.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StartStandby creates a streaming replica of c under dir, a directory
// that must not hold a cluster yet, and starts it on a port of its own:
// pg_basebackup -R copies c's data and configures the copy to follow c
// (standby.signal and primary_conninfo), which c allows from 127.0.0.1 as
// initdb configured it (wal_level replica, trust for replication). For
// tests of read replicas; Stop it like any cluster.
func (c *Cluster) StartStandby(ctx context.Context, dir string) (*Cluster, error) {
	abs, created, err := makeDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Cluster{Dir: abs, bindir: c.bindir, cred: c.cred, log: c.log}
	if s.cred != nil {
		if err := s.openPath(created); err != nil {
			return nil, err
		}
		if err := s.chownAll(abs); err != nil {
			return nil, err
		}
	}
	out, err := s.command(ctx, "pg_basebackup", "-D", s.dataDir(), "-R", "-X", "stream", "-c", "fast",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pg_basebackup from port %d into %s: %v: %s", c.Port, s.dataDir(), err, tail(out, 10))
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
