package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Threads is the store's read side that threading needs.
type Threads interface {
	// ConversationOfExternal returns the conversation of the first of ids the channel knows a
	// message by (a mail it received, a reply it sent); the error wraps
	// connectors.ErrNotFound when none is known.
	ConversationOfExternal(ctx context.Context, instance normalize.InstanceName, ids []normalize.ExternalID) (normalize.Conversation, error)
	// ConversationAt returns the conversation at a thread token; the error wraps
	// connectors.ErrNotFound when there is none.
	ConversationAt(ctx context.Context, channel normalize.InstanceName, address normalize.Address) (normalize.Conversation, error)
	// Thread returns the last limit messages of a conversation, oldest first.
	Thread(ctx context.Context, conv normalize.ConversationID, limit int) ([]normalize.Message, error)
}

// Deps are what the channel uses from the gateway.
type Deps struct {
	// Blobs keeps players' attachments and serves those of replies. Required.
	Blobs connectors.Blobs
	// Cursors keeps the mailbox's UIDVALIDITY and last UID across restarts. Required.
	Cursors connectors.Cursors
	// Records keeps which players were told that their mail was cut, a record per mail that
	// expires after 30 days. Required.
	Records connectors.Records
	// Threads finds the conversation a mail's headers name, and the thread a reply answers.
	// Nil threads by subject and plus-address tokens only, and answers conv.Player.Email
	// without In-Reply-To (tests of the channel alone).
	Threads Threads
	// Log receives the channel's log lines; nil discards them.
	Log *slog.Logger
	// Metrics registers the channel's counters (gateway_email_dropped_total,
	// gateway_email_oversized_total); nil counts without exporting them.
	Metrics prometheus.Registerer
	// MaxAttachmentBytes is the blob store's limit of one file (attachments.max_bytes), named
	// in the notice to a player whose files were left out; 0 names max_mail_bytes instead.
	MaxAttachmentBytes int64
}

// Channel is one support mailbox.
type Channel struct {
	name    normalize.InstanceName
	cfg     Config
	blobs   connectors.Blobs
	cursors connectors.Cursors
	records connectors.Records
	threads Threads
	log     *slog.Logger

	from    string // the support address, domain lower-cased
	domain  string // of the gateway's Message-IDs
	tokens  tokenFormat
	imapTLS *tls.Config
	smtpTLS *tls.Config
	now     func() time.Time

	// backoff is the first wait after a failed connection or delivery; tests shorten it.
	backoff time.Duration
	// dropped counts mails that opened no ticket (auto-replies, bulk, own mail, bounces).
	dropped atomic.Int64
	metrics metrics
	// maxFileBytes is Deps.MaxAttachmentBytes.
	maxFileBytes int64
}

var _ connectors.Channel = (*Channel)(nil)

// New returns the mailbox instance name. cfg must have had config's defaults applied. It does
// not connect, so a mail server outage does not stop the gateway from starting.
func New(name normalize.InstanceName, cfg Config, deps Deps) (*Channel, error) {
	if deps.Blobs == nil || deps.Cursors == nil || deps.Records == nil {
		return nil, fmt.Errorf("email %s: Blobs, Cursors and Records are required", name)
	}
	p := newProblems()
	cfg.Validate(p.Problems)
	if err := p.err(); err != nil {
		return nil, fmt.Errorf("email %s: %w", name, err)
	}
	imapTLS, err := tlsConfig(cfg.IMAP.Address, cfg.IMAP.CAFile)
	if err != nil {
		return nil, fmt.Errorf("email %s: imap.ca_file: %w", name, err)
	}
	smtpTLS, err := tlsConfig(cfg.SMTP.Address, cfg.SMTP.CAFile)
	if err != nil {
		return nil, fmt.Errorf("email %s: smtp.ca_file: %w", name, err)
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(deps.Metrics, name)
	if err != nil {
		return nil, fmt.Errorf("email %s: %w", name, err)
	}
	return &Channel{
		name: name, cfg: cfg, blobs: deps.Blobs, cursors: deps.Cursors, records: deps.Records, threads: deps.Threads, log: log,
		from: cfg.fromAddress(), domain: cfg.ownDomain(), tokens: newTokenFormat(cfg.SubjectToken),
		imapTLS: imapTLS, smtpTLS: smtpTLS, now: time.Now, backoff: time.Second,
		metrics: m, maxFileBytes: deps.MaxAttachmentBytes,
	}, nil
}

// tlsConfig trusts caFile's certificates (the system's roots when empty) for the server at
// address.
func tlsConfig(address, caFile string) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(address)
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in " + caFile)
	}
	return cfg, nil
}

// Run reads the mailbox, and serves the intake listener when one is configured, until ctx
// ends; then it returns nil. A refused login does not end it: the problem is reported to the
// sink's health and the login retried with back-off. Only a listener that cannot listen
// (its address taken) ends it with an error.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	if c.cfg.Intake.Address != "" {
		stop, err := c.serveIntake(ctx, sink)
		if err != nil {
			return fmt.Errorf("email %s: %w", c.name, err)
		}
		defer stop()
	}
	// The LMTP/SMTP listener above runs on every replica; the mailbox is read by one at a
	// time, as two would fetch and store the same mails and race on its cursor.
	return connectors.RunSingleton(ctx, sink, c.name, "email/"+string(c.name), func(ctx context.Context) error {
		c.readMailbox(ctx, sink)
		return nil
	})
}

// Dropped returns how many mails opened no ticket: auto-replies, bulk mail, the gateway's
// own mail and bounces. /metrics has them by reason (gateway_email_dropped_total).
func (c *Channel) Dropped() int64 { return c.dropped.Load() }

// countDropped counts a mail that opened no ticket, for reason.
func (c *Channel) countDropped(reason string) {
	c.dropped.Add(1)
	c.metrics.dropped.WithLabelValues(reason).Inc()
}

// nextBackoff doubles d up to a minute.
func nextBackoff(d time.Duration) time.Duration {
	return min(2*d, time.Minute)
}
