package webchat

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestParseClientFrame(t *testing.T) {
	tests := []struct {
		in   string
		want clientFrame
		code string
	}{
		{`{"type":"hello","token":"a.b","player":"c.d","language":"pt-BR"}`, clientFrame{Type: "hello", Token: "a.b", Player: "c.d", Language: "pt-BR"}, ""},
		{`{"type":"hello","language":"<script>"}`, clientFrame{Type: "hello"}, ""},
		{`{"type":"message","client_id":"c-1","text":" hi\r\nthere\u0007 "}`, clientFrame{Type: "message", ClientID: "c-1", Text: "hi\nthere"}, ""},
		{`{"type":"message","client_id":"c-1","text":"\u202e\u00a0ok"}`, clientFrame{Type: "message", ClientID: "c-1", Text: "\u202e\u00a0ok"}, ""},
		{`{"type":"typing","text":"ignored"}`, clientFrame{Type: "typing"}, ""},
		{`{"type":"receipt","id":"m0193","state":"read"}`, clientFrame{Type: "receipt", ID: "m0193", State: "read"}, ""},
		{`{"type":"message","client_id":"c:1","text":"x"}`, clientFrame{}, codeBadRequest},
		{`{"type":"message","text":"x"}`, clientFrame{}, codeBadRequest},
		{`{"type":"message","client_id":"c1","text":"   "}`, clientFrame{}, codeEmpty},
		{`{"type":"message","client_id":"c1","text":5}`, clientFrame{}, codeBadRequest},
		{`{"type":"receipt","id":"m1","state":"sent"}`, clientFrame{}, codeBadRequest},
		{`{"type":"receipt","id":"../x","state":"read"}`, clientFrame{}, codeBadRequest},
		{`{"type":"callback","client_id":"cb-1","phone":" +49 170\u0007 1234567 ","preferred_time":"after\r\n6 pm "}`,
			clientFrame{Type: "callback", ClientID: "cb-1", Phone: "+49 170 1234567", PreferredTime: "after\n6 pm"}, ""},
		{`{"type":"callback","client_id":"cb-1","phone":"0170 1234567"}`, clientFrame{Type: "callback", ClientID: "cb-1", Phone: "0170 1234567"}, ""},
		{`{"type":"callback","client_id":"cb-1","phone":"  "}`, clientFrame{}, codeInvalidPhone},
		{`{"type":"callback","client_id":"cb-1","phone":"` + strings.Repeat("1", 41) + `"}`, clientFrame{}, codeInvalidPhone},
		{`{"type":"callback","client_id":"cb-1","phone":"+49\n170"}`, clientFrame{}, codeInvalidPhone},
		{`{"type":"callback","client_id":"cb-1","phone":"+491701234567","preferred_time":"` + strings.Repeat("x", 201) + `"}`, clientFrame{}, codeTooLong},
		{`{"type":"callback","phone":"+491701234567"}`, clientFrame{}, codeBadRequest},
		{`{"type":"nope"}`, clientFrame{}, codeBadRequest},
		{`[]`, clientFrame{}, codeBadRequest},
		{`{"type":"hello"} trailing`, clientFrame{}, codeBadRequest},
		{``, clientFrame{}, codeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, ferr := parseClientFrame([]byte(tt.in))
			if tt.code != "" {
				require.NotNil(t, ferr)
				require.Equal(t, tt.code, ferr.Code)
				require.NotEmpty(t, ferr.Message)
				return
			}
			require.Nil(t, ferr)
			require.Equal(t, tt.want, f)
		})
	}
}

// FuzzParseClientFrame: whatever a page sends, the parser does not panic, and what it accepts
// keeps the invariants the handlers rely on.
func FuzzParseClientFrame(f *testing.F) {
	// Seeds stay small: the fuzzer minimises every new interesting input, and minimising a
	// 4,000-character text stalls it for most of a 30s run. TestParseClientFrame and
	// TestMessageLimits cover the length limits.
	for _, seed := range []string{
		`{"type":"hello","token":"eyJ2aXNpdG9yIjoidjEifQ.c2ln","language":"de"}`,
		`{"type":"message","client_id":"3f2a","text":"Hallo, meine Auszahlung hängt"}`,
		`{"type":"message","client_id":"x","text":"\u0000\r\n\t"}`,
		`{"type":"receipt","id":"m0193","state":"delivered"}`,
		`{"type":"typing"}`,
		`{"type":"callback","client_id":"c","phone":"+49 170 1234567","preferred_time":"nach 18 Uhr"}`,
		`{"type":"message","client_id":"` + strings.Repeat("a", 65) + `","text":"x"}`,
		"\xff\xfe",
		`null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, ferr := parseClientFrame(data)
		if ferr != nil {
			if ferr.Code == "" || ferr.Message == "" {
				t.Fatalf("refusal without code or message: %+v", ferr)
			}
			if _, err := json.Marshal(ferr.frame()); err != nil {
				t.Fatalf("error frame does not marshal: %v", err)
			}
			return
		}
		switch fr.Type {
		case typeHello:
			if len(fr.Token) > maxTokenLen || len(fr.Player) > maxTokenLen || !validLanguage(fr.Language) {
				t.Fatalf("hello out of bounds: %+v", fr)
			}
		case typeMessage:
			if !clientIDPattern.MatchString(fr.ClientID) {
				t.Fatalf("client_id %q accepted", fr.ClientID)
			}
			if fr.Text == "" || utf8.RuneCountInString(fr.Text) > maxTextRunes || !utf8.ValidString(fr.Text) {
				t.Fatalf("text out of bounds: %q", fr.Text)
			}
			for _, r := range fr.Text {
				if r < 0x20 && r != '\n' && r != '\t' {
					t.Fatalf("control character %U kept", r)
				}
			}
			if strings.TrimSpace(fr.Text) != fr.Text {
				t.Fatalf("text not trimmed: %q", fr.Text)
			}
		case typeCallback:
			if !clientIDPattern.MatchString(fr.ClientID) {
				t.Fatalf("client_id %q accepted", fr.ClientID)
			}
			if fr.Phone == "" || len(fr.Phone) > maxPhoneLen || strings.ContainsAny(fr.Phone, "\n\t\x00") || !utf8.ValidString(fr.Phone) {
				t.Fatalf("phone out of bounds: %q", fr.Phone)
			}
			if utf8.RuneCountInString(fr.PreferredTime) > maxPreferredTimeRunes || !utf8.ValidString(fr.PreferredTime) {
				t.Fatalf("preferred time out of bounds: %q", fr.PreferredTime)
			}
		case typeReceipt:
			if !messageIDPattern.MatchString(fr.ID) || (fr.State != "delivered" && fr.State != "read") {
				t.Fatalf("receipt out of bounds: %+v", fr)
			}
		case typeTyping:
		default:
			t.Fatalf("unknown type %q accepted", fr.Type)
		}
		// What was accepted parses again to the same frame.
		b, err := json.Marshal(fr)
		if err != nil {
			t.Fatal(err)
		}
		again, ferr := parseClientFrame(b)
		if ferr != nil || again != fr {
			t.Fatalf("accepted frame %+v does not round-trip: %+v, %v", fr, again, ferr)
		}
	})
}
