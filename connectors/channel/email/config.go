package email

import (
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Config is one support mailbox: players' mail is read from it over IMAP (or handed over by
// the operator's MTA over LMTP/SMTP), agents' replies leave over SMTP submission.
type Config struct {
	// IMAP is the mailbox players write to. Required.
	IMAP IMAPConfig `yaml:"imap"`
	// SMTP is the submission server replies are sent through. Required.
	SMTP SMTPConfig `yaml:"smtp"`
	// From is the support address replies come from (support@casino.example); mail from it
	// is the gateway's own and never opens a ticket. Required.
	From string `yaml:"from"`
	// FromName is the display name of From. Default "Support".
	FromName string `yaml:"from_name"`
	// MessageIDDomain is the right-hand side of the Message-IDs of replies; bounces are
	// matched to replies by it. Default: the domain of From.
	MessageIDDomain string `yaml:"message_id_domain"`
	// SubjectToken is how a conversation's thread token appears in a reply's subject, with
	// {token} where the token goes. A mail whose subject holds it joins that conversation
	// when its headers name no mail the gateway knows. Default "[#{token}]".
	SubjectToken string `yaml:"subject_token"`
	// PlusTokens sends replies with Reply-To: local+TOKEN@domain of From, and threads a mail
	// sent to such an address into the token's conversation. Default true.
	PlusTokens bool `yaml:"plus_tokens"`
	// MaxMailBytes bounds one mail as a whole; a larger one is not read, its conversation
	// gets a note with its sender and subject instead, and the player one notice (the intake
	// refuses it with 552, which the MTA bounces). Attachments are also bounded by the
	// gateway's attachments.max_bytes. Default 25 MiB.
	MaxMailBytes int64 `yaml:"max_mail_bytes"`
	// Intake, when its address is set, also accepts mail over LMTP or SMTP from the
	// operator's MTA. Default off.
	Intake IntakeConfig `yaml:"intake"`
	// AllowPlaintext lets imap.tls and smtp.tls be "plain" for servers on a loopback address
	// (tests, or a local relay). Default false: credentials never cross a network in clear.
	AllowPlaintext bool `yaml:"allow_plaintext"`
}

// IMAPConfig is the mailbox the channel reads.
type IMAPConfig struct {
	// Address is host:port of the IMAP server (993 for tls, 143 for starttls). Required.
	Address string `yaml:"address"`
	// TLS is tls (implicit TLS, the default), starttls, or plain (see allow_plaintext).
	TLS string `yaml:"tls"`
	// CAFile is a PEM file of the certificates the server's is checked against, for servers
	// with a private CA. Default: the system's roots.
	CAFile string `yaml:"ca_file"`
	// User and Password log in. Required.
	User     string          `yaml:"user"`
	Password settings.Secret `yaml:"password"`
	// Mailbox is the folder players' mail arrives in. Default INBOX.
	Mailbox string `yaml:"mailbox"`
	// AfterDelivery is what happens to a mail once it is stored: seen (set \Seen, the
	// default) or move (to move_to).
	AfterDelivery string `yaml:"after_delivery"`
	// MoveTo is the folder of handled mail when after_delivery is move.
	MoveTo string `yaml:"move_to"`
	// SentFolder, when set, receives a copy of every reply, and before a reply is sent the
	// folder is searched for its Message-ID, so a reply whose earlier attempt may have gone
	// out is not sent twice. Default none.
	SentFolder string `yaml:"sent_folder"`
	// PollInterval is how often a server without IDLE is asked for new mail. Default 1m.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// SMTPConfig is the submission server.
type SMTPConfig struct {
	// Address is host:port of the submission server (465 for tls, 587 for starttls). Required.
	Address string `yaml:"address"`
	// TLS is tls (the default), starttls, or plain (see allow_plaintext).
	TLS string `yaml:"tls"`
	// CAFile is like imap.ca_file.
	CAFile string `yaml:"ca_file"`
	// User and Password authenticate (AUTH PLAIN, else LOGIN). Default: imap's.
	User     string          `yaml:"user"`
	Password settings.Secret `yaml:"password"`
	// Timeout bounds one reply's SMTP transaction. Default 1m.
	Timeout time.Duration `yaml:"timeout"`
}

// IntakeConfig is the optional LMTP/SMTP listener.
type IntakeConfig struct {
	// Protocol is lmtp (the default) or smtp.
	Protocol string `yaml:"protocol"`
	// Address is host:port to listen on; empty leaves the listener off. It has no
	// authentication: bind it to loopback or a network only the MTA reaches.
	Address string `yaml:"address"`
}

// The TLS modes of imap.tls and smtp.tls.
const (
	TLSImplicit = "tls"
	TLSStartTLS = "starttls"
	TLSPlain    = "plain"
)

// The after-delivery actions.
const (
	AfterSeen = "seen"
	AfterMove = "move"
)

// tokenPlaceholder marks where the thread token goes in subject_token.
const tokenPlaceholder = "{token}"

// DefaultConfig returns the settings with their defaults.
func DefaultConfig() *Config {
	return &Config{
		IMAP: IMAPConfig{
			TLS: TLSImplicit, Mailbox: "INBOX", AfterDelivery: AfterSeen, PollInterval: time.Minute,
		},
		SMTP:         SMTPConfig{TLS: TLSImplicit, Timeout: time.Minute},
		FromName:     "Support",
		SubjectToken: "[#" + tokenPlaceholder + "]",
		PlusTokens:   true,
		MaxMailBytes: 25 << 20,
		Intake:       IntakeConfig{Protocol: "lmtp"},
	}
}

// folderPattern keeps folder names to printable characters without IMAP's wildcards.
var folderPattern = regexp.MustCompile(`^[^\x00-\x1f\x7f*%"\\]{1,200}$`)

// Validate implements settings.Settings.
func (c *Config) Validate(p *settings.Problems) {
	c.checkServer(p, "imap", c.IMAP.Address, c.IMAP.TLS)
	if c.IMAP.User == "" {
		p.Add("imap.user", "required")
	}
	if c.IMAP.Password.Value() == "" {
		p.Add("imap.password", "required")
	}
	checkFolder(p, "imap.mailbox", c.IMAP.Mailbox, true)
	switch c.IMAP.AfterDelivery {
	case AfterSeen:
	case AfterMove:
		if checkFolder(p, "imap.move_to", c.IMAP.MoveTo, true) && c.IMAP.MoveTo == c.IMAP.Mailbox {
			p.Add("imap.move_to", "must differ from imap.mailbox")
		}
	default:
		p.Addf("imap.after_delivery", "want seen or move, got %s", settings.Quote(c.IMAP.AfterDelivery))
	}
	checkFolder(p, "imap.sent_folder", c.IMAP.SentFolder, false)
	if c.IMAP.PollInterval < time.Second {
		p.Add("imap.poll_interval", "must be at least 1s")
	}
	c.checkServer(p, "smtp", c.SMTP.Address, c.SMTP.TLS)
	if (c.SMTP.User == "") != (c.SMTP.Password.Value() == "") {
		p.Add("smtp.user", "set smtp.user and smtp.password together, or neither to use imap's")
	}
	if c.SMTP.Timeout < time.Second {
		p.Add("smtp.timeout", "must be at least 1s")
	}
	switch a, err := mail.ParseAddress(c.From); {
	case c.From == "":
		p.Add("from", "required")
	case err != nil || a.Name != "" || !strings.Contains(a.Address, "@"):
		p.Addf("from", "want a bare address such as support@casino.example, got %s", settings.Quote(c.From))
	}
	if strings.ContainsAny(c.FromName, "\r\n") {
		p.Add("from_name", "must be one line")
	}
	if c.MessageIDDomain != "" && !domainPattern.MatchString(c.MessageIDDomain) {
		p.Addf("message_id_domain", "want a domain such as casino.example, got %s", settings.Quote(c.MessageIDDomain))
	}
	if n := strings.Count(c.SubjectToken, tokenPlaceholder); n != 1 || strings.ContainsAny(c.SubjectToken, "\r\n") {
		p.Addf("subject_token", "want one line with %s once, such as [#%s], got %s", tokenPlaceholder, tokenPlaceholder, settings.Quote(c.SubjectToken))
	}
	if c.MaxMailBytes < 1024 {
		p.Add("max_mail_bytes", "must be at least 1024")
	}
	switch c.Intake.Protocol {
	case "lmtp", "smtp":
	default:
		p.Addf("intake.protocol", "want lmtp or smtp, got %s", settings.Quote(c.Intake.Protocol))
	}
	if c.Intake.Address != "" {
		if _, _, err := net.SplitHostPort(c.Intake.Address); err != nil {
			p.Addf("intake.address", "want host:port such as 127.0.0.1:2424, got %s", settings.Quote(c.Intake.Address))
		}
	}
}

// domainPattern is a DNS name.
var domainPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)

// checkServer checks a server's address and TLS mode under key.
func (c *Config) checkServer(p *settings.Problems, key, address, mode string) {
	host, _, err := net.SplitHostPort(address)
	switch {
	case address == "":
		p.Add(key+".address", "required")
	case err != nil || host == "":
		p.Addf(key+".address", "want host:port such as mail.casino.example:993, got %s", settings.Quote(address))
	}
	switch mode {
	case TLSImplicit, TLSStartTLS:
	case TLSPlain:
		if !c.AllowPlaintext {
			p.Add(key+".tls", "plain sends the password in clear: allowed only with allow_plaintext: true, for a loopback server")
		} else if err == nil && host != "" && !isLoopback(host) {
			p.Addf(key+".tls", "plain is allowed only for a loopback server, not %s", settings.Quote(host))
		}
	default:
		p.Addf(key+".tls", "want tls, starttls or plain, got %s", settings.Quote(mode))
	}
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkFolder checks an IMAP folder name; an empty one is fine unless required.
func checkFolder(p *settings.Problems, key, name string, required bool) bool {
	switch {
	case name == "" && required:
		p.Add(key, "required")
		return false
	case name != "" && !folderPattern.MatchString(name):
		p.Addf(key, "want a folder name without control characters, quotes, backslashes, * or %%, got %s", settings.Quote(name))
		return false
	}
	return true
}

// smtpUser returns the submission credentials: smtp's own, else imap's.
func (c *Config) smtpUser() (user, password string) {
	if c.SMTP.User != "" {
		return c.SMTP.User, c.SMTP.Password.Value()
	}
	return c.IMAP.User, c.IMAP.Password.Value()
}

// ownDomain is the domain of the gateway's Message-IDs.
func (c *Config) ownDomain() string {
	if c.MessageIDDomain != "" {
		return strings.ToLower(c.MessageIDDomain)
	}
	_, domain, _ := strings.Cut(c.fromAddress(), "@")
	return domain
}

// fromAddress is From, parsed and with its domain lower-cased.
func (c *Config) fromAddress() string {
	a, err := mail.ParseAddress(c.From)
	if err != nil {
		return strings.ToLower(c.From)
	}
	local, domain, _ := strings.Cut(a.Address, "@")
	return local + "@" + strings.ToLower(domain)
}

// String shows the mailbox in log lines without credentials.
func (c *Config) String() string {
	return fmt.Sprintf("%s@%s/%s", c.IMAP.User, c.IMAP.Address, c.IMAP.Mailbox)
}
