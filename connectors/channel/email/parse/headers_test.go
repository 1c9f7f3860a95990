package parse

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAddressList(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Address
	}{
		{"simple", `Ana Popescu <Ana.Popescu@Example.RO>`, []Address{{"Ana Popescu", "Ana.Popescu@example.ro"}}},
		{"encoded-word name", `=?UTF-8?Q?=C8=98tefan?= <s@example.ro>, "Lindqvist, Erik" <erik@example.se>`, []Address{{"Ștefan", "s@example.ro"}, {"Lindqvist, Erik", "erik@example.se"}}},
		{"koi8-r name", `=?koi8-r?B?8MHXxcw=?= <pavel@example.ru>`, []Address{{"Павел", "pavel@example.ru"}}},
		{"bare and comment", `bjorn@example.se (Björn)`, []Address{{"Björn", "bjorn@example.se"}}},
		{"trailing comma and junk", `a@example.com, , not an address, <b@example.com>,`, []Address{{"", "a@example.com"}, {"", "b@example.com"}}},
		{"unquoted at in the name", `support@casino.example via Form <noreply@form.example>`, []Address{{"support@casino.example via Form", "noreply@form.example"}}},
		{"group", `undisclosed-recipients:;`, nil},
		{"raw utf-8 name", `Дмитрий <d@example.ru>`, []Address{{"Дмитрий", "d@example.ru"}}},
		{"raw windows-1252 name", "Jos\xe9 <jose@example.es>", []Address{{"José", "jose@example.es"}}},
		{"empty", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, addressList(tt.in, fallbackCharset))
		})
	}
}

func TestMessageIDs(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"one", `<CAJ8x+abc@mail.gmail.com>`, []string{"CAJ8x+abc@mail.gmail.com"}},
		{"references folded", "<a@x>\r\n <b@x>\t<c@x>", []string{"a@x", "b@x", "c@x"}},
		{"with a comment", `<a@x> (Ana's message of "Mon, 3 Mar 2025")`, []string{"a@x"}},
		{"bare", `a@x b@x`, []string{"a@x", "b@x"}},
		{"bare without at is no id", `hello`, nil},
		{"inner spaces refused", `<a b@x> <c@x>`, []string{"c@x"}},
		{"empty brackets", `<> <c@x>`, []string{"c@x"}},
		{"gmail", `<CAJ8x+Hq5=Tz0-WnYb_e3GkX9vLr2pDs7uFm4cAo1iE8jN6tQ@mail.gmail.com>`, []string{"CAJ8x+Hq5=Tz0-WnYb_e3GkX9vLr2pDs7uFm4cAo1iE8jN6tQ@mail.gmail.com"}},
		{"outlook desktop", `<000001db8cd7$5a1b2c30$0e518490$@example.de>`, []string{"000001db8cd7$5a1b2c30$0e518490$@example.de"}},
		{"gmail references folded with a space", "<CAJ8x+a=b@mail.gmail.com>\r\n <m0195a0c0ffee42a7b3c1d2e3f4a5b6c7@casino.example>",
			[]string{"CAJ8x+a=b@mail.gmail.com", "m0195a0c0ffee42a7b3c1d2e3f4a5b6c7@casino.example"}},
		{"outlook references folded with tabs, the first line empty",
			"\r\n\t<SA1PR12MB8120A@SA1PR12MB8120.namprd12.prod.outlook.com>\r\n\t<m0195a0c0ffee42a7b3c1d2e3f4a5b6f0@casino.example>",
			[]string{"SA1PR12MB8120A@SA1PR12MB8120.namprd12.prod.outlook.com", "m0195a0c0ffee42a7b3c1d2e3f4a5b6f0@casino.example"}},
		{"every atext special", "<a!#$%&'*+/=?^_`{|}~.b@x.example>", []string{"a!#$%&'*+/=?^_`{|}~.b@x.example"}},
		{"domain literal", `<1741000938.4711@[192.0.2.7]>`, []string{"1741000938.4711@[192.0.2.7]"}},
		{"quoted local part", `<"ticket.10423"@helpdesk.example>`, []string{`"ticket.10423"@helpdesk.example`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, messageIDs(tt.in))
		})
	}
}

func TestMessageIDsBounded(t *testing.T) {
	in := ""
	for i := range 1000 {
		in += "<" + string(rune('a'+i%26)) + "@x" + time.Duration(i).String() + "> "
	}
	ids := messageIDs(in)
	require.Len(t, ids, maxIDs)
	require.Equal(t, "a@x0s", ids[0], "the thread's root stays")
	require.Equal(t, "last@x", messageIDs(in + "<last@x>")[maxIDs-1], "the newest stays")
}

func TestParseDate(t *testing.T) {
	eet := time.FixedZone("", 2*3600)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"Mon, 3 Mar 2025 10:15:00 +0200", time.Date(2025, 3, 3, 10, 15, 0, 0, eet)},
		{"Mon,  3 Mar 2025 10:15:00 +0200 (EET)", time.Date(2025, 3, 3, 10, 15, 0, 0, eet)},
		{"3 Mar 2025 10:15:00 +0200", time.Date(2025, 3, 3, 10, 15, 0, 0, eet)},
		{"Mon, 3 Mar 2025 10:15 +0200", time.Date(2025, 3, 3, 10, 15, 0, 0, eet)},
		{"Mon Mar 3 10:15:00 2025", time.Date(2025, 3, 3, 10, 15, 0, 0, time.UTC)},
		{"yesterday", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := parseDate(tt.in)
			require.True(t, tt.want.Equal(got), "parseDate(%q) = %v, want %v", tt.in, got, tt.want)
		})
	}
}
