package voice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/voice"
	"github.com/casino-support/gateway/connectors/settings"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*voice.Config)
		want []string // problems, as "key: message start"
	}{
		{"valid twilio", func(*voice.Config) {}, nil},
		{"valid vonage", func(c *voice.Config) { *c = vonageConfig("https://api.nexmo.com") }, nil},
		{"unknown provider", func(c *voice.Config) { c.Provider = "sinch" }, []string{"provider: want twilio or vonage"}},
		{"twilio without credentials", func(c *voice.Config) { c.Twilio.AccountSID, c.Twilio.AuthToken = "x", "" },
			[]string{"twilio.account_sid: required", "twilio.auth_token: required"}},
		{"vonage without key", func(c *voice.Config) {
			*c = vonageConfig("https://api.nexmo.com")
			c.Vonage.PrivateKey, c.Vonage.SignatureSecret = "not PEM", ""
		}, []string{"vonage.signature_secret: required", "vonage.private_key: want the application's private key"}},
		{"hook URL with query", func(c *voice.Config) { c.HookURL = "https://x.example/hooks/v?a=1" }, []string{"hook_url: want a URL without query"}},
		{"bad number and hours", func(c *voice.Config) {
			c.Numbers = []voice.NumberConfig{{Number: "12", Hours: []string{"mon-fri 18:00-09:00", "someday 9-5"}, TimeZone: "Mars/Olympus"}}
		}, []string{"numbers[0].number: want a phone number", "numbers[0].time_zone: want an IANA time zone",
			"numbers[0].hours[0]: the closing time must come after", "numbers[0].hours[1]: want days such as"}},
		{"VIP listed twice", func(c *voice.Config) {
			c.VIP = []voice.VIPConfig{{Number: "+4915112345678"}, {Number: "+49 151 12345678", ForwardTo: "nope"}}
		}, []string{"vip[1].number: listed twice", "vip[1].forward_to: want a phone number"}},
		{"recording too long", func(c *voice.Config) { c.MaxRecording = 3 * time.Hour }, []string{"max_recording: want 1s to 2h0m0s"}},
		{"prefixes without prefixes", func(c *voice.Config) { c.SMS.Mode = "prefixes" }, []string{"sms.mobile_prefixes: required"}},
		{"bad language prefix", func(c *voice.Config) { c.LanguagePrefixes = map[string]string{"43": "de"} },
			[]string{"language_prefixes.43: want a number prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := twilioConfig("https://api.twilio.com")
			tt.edit(&cfg)
			p := settings.NewProblems("")
			cfg.Validate(p)
			var got []string
			for _, pr := range p.List() {
				got = append(got, pr.Key+": "+pr.Message)
			}
			require.Len(t, got, len(tt.want), "%q", got)
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, w)
				}
				require.True(t, found, "want a problem %q in %q", w, got)
			}
		})
	}
}
