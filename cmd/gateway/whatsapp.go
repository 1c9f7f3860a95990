package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mdp/qrterminal/v3"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/channel/whatsapp"
	"github.com/casino-support/gateway/normalize"
)

const whatsappUsage = `Usage:
  gateway whatsapp pair --instance NAME [--phone +4917...] [--config FILE] [--timeout 5m]
      link the WhatsApp channel NAME to a phone: scan the QR code shown here with WhatsApp
      (Settings → Linked devices → Link a device), or with --phone type the pairing code
      shown under "Link with phone number instead". Run it while the gateway is stopped:
      one process at a time holds the session.
`

// whatsappCmd runs the whatsapp subcommands: pair.
func whatsappCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "pair" {
		fmt.Fprint(stderr, whatsappUsage)
		return 2
	}
	fs := flag.NewFlagSet("whatsapp pair", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: GATEWAY_CONFIG or the embedded default)")
	instance := fs.String("instance", "", "the whatsapp channel to pair (default: the only one)")
	phone := fs.String("phone", "", "pair by code for this number (E.164, +4917...) instead of only by QR code")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		fmt.Fprintf(stderr, "gateway whatsapp pair: %v\n", err)
		return 1
	}
	name, wc, err := pickWhatsApp(cfg, *instance)
	if err != nil {
		fmt.Fprintf(stderr, "gateway whatsapp pair: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	shownCode := false
	account, err := whatsapp.Pair(ctx, whatsapp.PairOptions{Instance: normalize.InstanceName(name), Database: wc.Database, Postgres: sessionPostgres(cfg), Phone: *phone, Show: func(p whatsapp.PairProgress) {
		if p.PairCode != "" {
			if !shownCode {
				fmt.Fprintf(stdout, "Pairing code for %s: %s\nOn the phone: WhatsApp → Settings → Linked devices → Link a device → Link with phone number instead, then type the code.\n\n", *phone, p.PairCode)
				shownCode = true
			}
			return
		}
		fmt.Fprintf(stdout, "Scan with WhatsApp on the phone: Settings → Linked devices → Link a device (a new code follows in %s):\n", p.Expires.Round(time.Second))
		qrterminal.GenerateHalfBlock(p.QRCode, qrterminal.L, stdout)
	}})
	switch {
	case errors.Is(err, whatsapp.ErrAlreadyPaired):
		fmt.Fprintf(stdout, "%s is paired already, as %s. To link another phone, unlink this device on the phone first (Linked devices), then run this again.\n", name, account)
		return 0
	case errors.Is(err, whatsapp.ErrSessionInUse):
		fmt.Fprintf(stderr, "gateway whatsapp pair: %v\nA running gateway holds this instance's session: stop it and run this again.\n", err)
		return 1
	case errors.Is(err, whatsapp.ErrPairTimeout), errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "gateway whatsapp pair: no phone linked %s in time; run the command again and scan the newest code.\n", name)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "gateway whatsapp pair: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Paired %s as %s. Start the gateway (gateway serve) to take its messages.\n", name, account)
	return 0
}

// pickWhatsApp returns the whatsapp channel name, or the only one.
// sessionPostgres is the store's connection string when the store is PostgreSQL, where the
// whatsapp channels then keep their sessions (issue 13), so that every replica finds them;
// "" keeps each in its SQLite file under data_dir.
func sessionPostgres(cfg *config.Config) string {
	if cfg.Store.Driver != "postgres" {
		return ""
	}
	return cfg.Store.DSN.Value()
}

func pickWhatsApp(cfg *config.Config, name string) (string, *whatsapp.Config, error) {
	var names []string
	var found []*whatsapp.Config
	for _, c := range cfg.Channels {
		if wc, ok := c.Settings.(*whatsapp.Config); ok && (name == "" || c.Name == name) {
			names, found = append(names, c.Name), append(found, wc)
		}
	}
	switch {
	case len(found) == 1:
		return names[0], found[0], nil
	case name != "":
		return "", nil, fmt.Errorf("no whatsapp channel named %q in the configuration", name)
	case len(found) == 0:
		return "", nil, errors.New("the configuration has no whatsapp channel")
	default:
		return "", nil, errors.New("several whatsapp channels: choose one with --instance NAME")
	}
}
