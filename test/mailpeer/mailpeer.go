// Package mailpeer gives tests the real mail servers of test/peers/mail.sh: Dovecot (IMAP with
// IDLE, IMAPS, LMTP) and Postfix (SMTP, submission, submissions) on loopback, users
// support, player, agent and catchall @example.test, mail to other domains in catchall's
// INBOX. Start starts them once per test process, or reuses the ones already running;
// call Stop from TestMain (or use Main) so that a test run leaves no peer running that it
// started:
//
//	func TestMain(m *testing.M) { mailpeer.Main(m) }
//
//	func TestReply(t *testing.T) {
//		env := mailpeer.Start(t) // skips when not installed or not root, unless CI is set
//		msg := mailpeer.NewMessage(env.Player.Addr, env.Support.Addr, "Withdrawal", "Where is it?")
//		require.NoError(t, env.Inject(msg.From, msg.To, msg.Bytes()))
//		got := env.WaitFor(t, env.Support, "INBOX", mailpeer.WithMessageID(msg.MessageID))
//		...
//	}
//
// The servers are shared by every test and every test process of a run (go test runs several
// packages at once), and outlive a test: tell a test's mail apart by its Message-ID or
// subject, never by a mailbox's count.
package mailpeer

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultStateDir is mail.sh's state dir unless GATEWAY_MAIL_PEER_DIR names another.
const DefaultStateDir = "/tmp/gateway-mail-peer"

// User is a mailbox on the peers: its address is also its IMAP and SMTP login.
type User struct {
	Addr string
	Pass string
}

// Env is what mail.sh env prints, parsed.
type Env struct {
	Domain string
	// IMAPAddr takes plain LOGIN (from loopback) and STARTTLS, IMAPSAddr implicit TLS; both
	// announce new mail during IDLE.
	IMAPAddr, IMAPSAddr string
	// LMTPAddr is Dovecot's LMTP: delivery into a mailbox without Postfix.
	LMTPAddr string
	// SMTPAddr is the MX: no AUTH, how a player's mail comes in (Inject).
	SMTPAddr string
	// SubmissionAddr wants STARTTLS, then AUTH; SubmissionsAddr implicit TLS, then AUTH.
	SubmissionAddr, SubmissionsAddr string
	// CAFile is the PEM of the CA that signed every server's certificate (TLSConfig trusts it).
	CAFile   string
	StateDir string

	Support, Player, Agent, Catchall User
	// Vars holds every KEY=VALUE line of mail.sh env, for settings not named above.
	Vars map[string]string

	roots *x509.CertPool
}

// TLSConfig trusts the peers' CA and names the host the addresses are on, as a client of
// Env's addresses must.
func (e *Env) TLSConfig() *tls.Config {
	host, _, _ := net.SplitHostPort(e.IMAPAddr)
	return &tls.Config{RootCAs: e.roots, ServerName: host, MinVersion: tls.VersionTLS12}
}

// User returns the user named name ("support", "player", ...).
func (e *Env) User(name string) User {
	key := "MAIL_" + strings.ToUpper(name)
	return User{Addr: e.Vars[key+"_USER"], Pass: e.Vars[key+"_PASS"]}
}

// startedMark, in the state dir, says that a test process started the running peers, so
// that the last test process using them stops them; peers a developer started have none.
const startedMark = "started-by-go-test"

var peer struct {
	once   sync.Once
	env    *Env
	skip   string
	err    error
	script string
	// users holds a shared flock on <state>.users while this process may use the peers; Stop
	// stops them only under the exclusive lock, so never under another test process's feet.
	users *os.File
}

// Start returns the running peers, starting them first when they are not (at most once per
// process). Without the packages, or without root, the test is skipped unless CI is set;
// any other failure fails it.
func Start(t testing.TB) *Env {
	t.Helper()
	peer.once.Do(start)
	if peer.skip != "" {
		if os.Getenv("CI") != "" {
			t.Fatal(peer.skip)
		}
		t.Skip(peer.skip)
	}
	if peer.err != nil {
		t.Fatal(peer.err)
	}
	return peer.env
}

// Main runs m and stops the peers if this test run started them: use it as TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the peers when a test process started them and no other test process still uses
// them; otherwise the last of those stops them. Call it from TestMain after m.Run.
func Stop() {
	if peer.users == nil {
		return
	}
	f := peer.users
	peer.users = nil
	defer f.Close()
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		slog.Info("mail peers left running for the other test processes using them")
		return
	}
	if _, err := os.Stat(filepath.Join(stateDir(), startedMark)); err != nil {
		return // started by hand, or already stopped
	}
	t0 := time.Now()
	if out, err := exec.Command(peer.script, "stop").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "mail.sh stop: %v\n%s", err, out)
		return
	}
	slog.Info("mail peers stopped", "in", time.Since(t0).Round(time.Millisecond))
}

func start() {
	switch {
	case !installed():
		peer.skip = "the mail peers (Dovecot, Postfix) are not installed: run `sudo test/peers/setup.sh`"
		return
	case os.Geteuid() != 0:
		peer.skip = "test/peers/mail.sh must run as root to start Dovecot and Postfix"
		return
	}
	script, err := findScript()
	if err != nil {
		peer.err = err
		return
	}
	peer.script = script
	t0 := time.Now()
	f, err := os.OpenFile(stateDir()+".users", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		peer.err = fmt.Errorf("mail peers' users lock: %w", err)
		return
	}
	// Blocks while another test process is stopping them; then this one starts them anew.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		peer.err = fmt.Errorf("mail peers' users lock: %w", err)
		return
	}
	peer.users = f

	running := exec.Command(script, "status").Run() == nil
	cmd := exec.Command(script, "start")
	cmd.Env = os.Environ()
	if !running {
		ports, err := freePorts()
		if err != nil {
			peer.err = err
			return
		}
		cmd.Env = append(cmd.Env, ports...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 3 {
			peer.skip = strings.TrimSpace(string(out))
			return
		}
		peer.err = fmt.Errorf("mail.sh start: %w\n%s", err, out)
		return
	}
	out, err := exec.Command(script, "env").Output()
	if err != nil {
		peer.err = fmt.Errorf("mail.sh env: %w", err)
		return
	}
	env, err := parseEnv(out)
	if err != nil {
		peer.err = err
		return
	}
	if !running {
		// Two processes that both found them stopped both mark them; either way a test
		// process started them.
		if err := os.WriteFile(filepath.Join(env.StateDir, startedMark), nil, 0o644); err != nil {
			peer.err = err
			return
		}
	}
	peer.env = env
	slog.Info("mail peers ready", "in", time.Since(t0).Round(time.Millisecond), "reused", running,
		"imap", env.IMAPAddr, "smtp", env.SMTPAddr, "state", env.StateDir)
}

func installed() bool {
	for _, p := range []string{"/usr/sbin/dovecot", "/usr/lib/dovecot/imap", "/usr/lib/dovecot/lmtp", "/usr/sbin/postfix"} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func stateDir() string {
	if d := os.Getenv("GATEWAY_MAIL_PEER_DIR"); d != "" {
		return strings.TrimRight(d, "/")
	}
	return DefaultStateDir
}

// findScript finds test/peers/mail.sh next to this package's source, or else above the
// working directory (a test runs in its package's directory, inside the module).
func findScript() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "peers", "mail.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "test", "peers", "mail.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("test/peers/mail.sh not found above the working directory")
		}
		dir = parent
	}
}

// portVars are mail.sh's port settings and their defaults.
var portVars = []struct {
	name string
	def  int
}{
	{"MAIL_IMAP_PORT", 18143}, {"MAIL_IMAPS_PORT", 18993}, {"MAIL_LMTP_PORT", 18024},
	{"MAIL_SMTP_PORT", 18025}, {"MAIL_SUBMISSION_PORT", 18587}, {"MAIL_SUBMISSIONS_PORT", 18465},
}

// freePorts returns NAME=PORT settings for each of mail.sh's default ports that something
// else holds: any free port does, since the tests read the addresses from mail.sh env. A
// port the caller set wins.
func freePorts() ([]string, error) {
	var set []string
	var held []net.Listener // until all are chosen, so no two are the same
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, p := range portVars {
		if os.Getenv(p.name) != "" {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p.def))
		if err == nil {
			held = append(held, l)
			continue
		}
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("a free port for %s: %w", p.name, err)
		}
		held = append(held, l)
		set = append(set, fmt.Sprintf("%s=%d", p.name, l.Addr().(*net.TCPAddr).Port))
	}
	return set, nil
}

func parseEnv(out []byte) (*Env, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	e := &Env{Domain: vars["MAIL_DOMAIN"], IMAPAddr: vars["MAIL_IMAP_ADDR"], IMAPSAddr: vars["MAIL_IMAPS_ADDR"],
		LMTPAddr: vars["MAIL_LMTP_ADDR"], SMTPAddr: vars["MAIL_SMTP_ADDR"], SubmissionAddr: vars["MAIL_SUBMISSION_ADDR"],
		SubmissionsAddr: vars["MAIL_SUBMISSIONS_ADDR"], CAFile: vars["MAIL_TLS_CA_FILE"], StateDir: vars["MAIL_STATE_DIR"],
		Vars: vars}
	e.Support, e.Player, e.Agent, e.Catchall = e.User("support"), e.User("player"), e.User("agent"), e.User("catchall")
	for k, v := range map[string]string{"MAIL_IMAP_ADDR": e.IMAPAddr, "MAIL_SMTP_ADDR": e.SMTPAddr,
		"MAIL_TLS_CA_FILE": e.CAFile, "MAIL_STATE_DIR": e.StateDir, "MAIL_SUPPORT_USER": e.Support.Addr} {
		if v == "" {
			return nil, fmt.Errorf("mail.sh env: no %s in:\n%s", k, out)
		}
	}
	pem, err := os.ReadFile(e.CAFile)
	if err != nil {
		return nil, fmt.Errorf("mail peers' CA: %w", err)
	}
	e.roots = x509.NewCertPool()
	if !e.roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("mail peers' CA: no certificate in %s", e.CAFile)
	}
	return e, nil
}
