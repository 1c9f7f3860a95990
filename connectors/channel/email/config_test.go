package email

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/settings"
)

// validConfig is a complete configuration that Validate accepts.
func validConfig() *Config {
	c := DefaultConfig()
	c.IMAP.Address, c.IMAP.User, c.IMAP.Password = "imap.casino.example:993", "support", "imap-pass"
	c.SMTP.Address = "smtp.casino.example:465"
	c.From = "support@Casino.example"
	return c
}

func validate(c *Config) []string {
	p := settings.NewProblems("channels[3]")
	c.Validate(p)
	var out []string
	for _, pr := range p.List() {
		out = append(out, pr.Key+": "+pr.Message)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"valid", func(*Config) {}, nil},
		{"defaults only", func(c *Config) { *c = *DefaultConfig() }, []string{
			"channels[3].imap.address: required",
			"channels[3].imap.user: required",
			"channels[3].imap.password: required",
			"channels[3].smtp.address: required",
			"channels[3].from: required",
		}},
		{"starttls", func(c *Config) { c.IMAP.TLS, c.SMTP.TLS = TLSStartTLS, TLSStartTLS }, nil},
		{"unknown tls", func(c *Config) { c.IMAP.TLS = "ssl" }, []string{`channels[3].imap.tls: want tls, starttls or plain, got "ssl"`}},
		{"plain without allow", func(c *Config) { c.SMTP.TLS, c.SMTP.Address = TLSPlain, "127.0.0.1:25" }, []string{
			"channels[3].smtp.tls: plain sends the password in clear: allowed only with allow_plaintext: true, for a loopback server",
		}},
		{"plain allowed on loopback", func(c *Config) {
			c.AllowPlaintext = true
			c.IMAP.TLS, c.IMAP.Address = TLSPlain, "127.0.0.1:1143"
			c.SMTP.TLS, c.SMTP.Address = TLSPlain, "[::1]:2525"
		}, nil},
		{"plain never to another host", func(c *Config) { c.AllowPlaintext, c.IMAP.TLS = true, TLSPlain }, []string{
			`channels[3].imap.tls: plain is allowed only for a loopback server, not "imap.casino.example"`,
		}},
		{"address without port", func(c *Config) { c.IMAP.Address = "imap.casino.example" }, []string{
			`channels[3].imap.address: want host:port such as mail.casino.example:993, got "imap.casino.example"`,
		}},
		{"move needs a folder", func(c *Config) { c.IMAP.AfterDelivery = AfterMove }, []string{"channels[3].imap.move_to: required"}},
		{"move to the mailbox itself", func(c *Config) { c.IMAP.AfterDelivery, c.IMAP.MoveTo = AfterMove, "INBOX" }, []string{
			"channels[3].imap.move_to: must differ from imap.mailbox",
		}},
		{"move", func(c *Config) { c.IMAP.AfterDelivery, c.IMAP.MoveTo = AfterMove, "Processed" }, nil},
		{"unknown action", func(c *Config) { c.IMAP.AfterDelivery = "delete" }, []string{`channels[3].imap.after_delivery: want seen or move, got "delete"`}},
		{"wildcard folder", func(c *Config) { c.IMAP.SentFolder = "Sent*" }, []string{
			`channels[3].imap.sent_folder: want a folder name without control characters, quotes, backslashes, * or %, got "Sent*"`,
		}},
		{"fast poll", func(c *Config) { c.IMAP.PollInterval = 10 * time.Millisecond }, []string{"channels[3].imap.poll_interval: must be at least 1s"}},
		{"smtp user without password", func(c *Config) { c.SMTP.User = "mailer" }, []string{
			"channels[3].smtp.user: set smtp.user and smtp.password together, or neither to use imap's",
		}},
		{"from with a name", func(c *Config) { c.From = "Support <support@casino.example>" }, []string{
			`channels[3].from: want a bare address such as support@casino.example, got "Support <support@casino.example>"`,
		}},
		{"two-line name", func(c *Config) { c.FromName = "Support\r\nBcc: x@y" }, []string{"channels[3].from_name: must be one line"}},
		{"bad message-id domain", func(c *Config) { c.MessageIDDomain = "casino" }, []string{
			`channels[3].message_id_domain: want a domain such as casino.example, got "casino"`,
		}},
		{"token format without token", func(c *Config) { c.SubjectToken = "[ticket]" }, []string{
			`channels[3].subject_token: want one line with {token} once, such as [#{token}], got "[ticket]"`,
		}},
		{"tiny mails", func(c *Config) { c.MaxMailBytes = 10 }, []string{"channels[3].max_mail_bytes: must be at least 1024"}},
		{"intake", func(c *Config) { c.Intake.Protocol, c.Intake.Address = "smtp", "127.0.0.1:2525" }, nil},
		{"bad intake", func(c *Config) { c.Intake.Protocol, c.Intake.Address = "pop3", "2525" }, []string{
			`channels[3].intake.protocol: want lmtp or smtp, got "pop3"`,
			`channels[3].intake.address: want host:port such as 127.0.0.1:2424, got "2525"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.change(c)
			require.Equal(t, tc.want, validate(c))
		})
	}
}

func TestConfigDerivedValues(t *testing.T) {
	c := validConfig()
	require.Equal(t, "casino.example", c.ownDomain(), "the domain of from, lower-cased")
	require.Equal(t, "support@casino.example", c.fromAddress())
	user, pass := c.smtpUser()
	require.Equal(t, []string{"support", "imap-pass"}, []string{user, pass}, "submission logs in as the mailbox by default")

	c.MessageIDDomain, c.SMTP.User, c.SMTP.Password = "Mail.Casino.example", "mailer", "smtp-pass"
	require.Equal(t, "mail.casino.example", c.ownDomain())
	user, pass = c.smtpUser()
	require.Equal(t, []string{"mailer", "smtp-pass"}, []string{user, pass})
	require.NotContains(t, c.String(), "pass", "the log form carries no password")
}
