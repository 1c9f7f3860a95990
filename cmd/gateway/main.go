// Command gateway runs the casino support messenger gateway and its operator commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

const usage = `gateway: messenger gateway for player support

Usage:
  gateway serve [--config FILE]          run the gateway (config also from GATEWAY_CONFIG;
                                         without one, the embedded default runs)
  gateway check-config --config FILE     validate a configuration; lists every problem
  gateway replay [--config FILE] (--conversation ID | --all)
                                         re-queue dead-lettered messages
  gateway inbox-password --user NAME [--password-stdin] [--config FILE]
                                         set an inbox agent's password (generated unless
                                         given); --hash prints a bcrypt hash for the config
  gateway route --explain --config FILE (--text TEXT [--channel NAME ...] | --json FILE)
                                         show which routing rule takes a sample message, and why
  gateway link-token --channel NAME --player ID [--bot USERNAME] [--vip N] [--ttl 10m]
                                         sign a web chat player token or a Telegram deep
                                         link that links the player's conversations
  gateway healthcheck [--config FILE] [--timeout 5s]
                                         exit 0 when the running gateway's /readyz
                                         answers 200 (for container healthchecks)
  gateway whatsapp pair --instance NAME [--phone +4917...] [--config FILE]
                                         link a whatsapp channel to a phone (QR code
                                         in the terminal, or a pairing code)
  gateway version                        print the version
`

func main() {
	serving := len(os.Args) > 1 && os.Args[1] == "serve"
	if serving {
		reexecForSysmon(os.Stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if serving {
		startProcsGovernor(ctx, os.LookupEnv)
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	env := os.LookupEnv
	switch args[0] {
	case "serve":
		return serveCmd(ctx, args[1:], env, stdout, stderr)
	case "check-config":
		return checkConfigCmd(args[1:], env, stdout, stderr)
	case "replay":
		return replayCmd(ctx, args[1:], env, stdout, stderr)
	case "inbox-password":
		return inboxPasswordCmd(ctx, args[1:], env, stdin, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, args[1:], env, stdout, stderr)
	case "whatsapp":
		return whatsappCmd(ctx, args[1:], env, stdout, stderr)
	case "route":
		return routeCmd(args[1:], env, stdout, stderr)
	case "link-token":
		return linkTokenCmd(args[1:], env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gateway: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// version reports the module version and VCS revision the binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "gateway (unknown build)"
	}
	v := "gateway " + info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return v + " " + info.GoVersion
}
