package wamsg

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

func TestAddressOfManyCountries(t *testing.T) {
	for _, tc := range []struct {
		country, waID string
		want          normalize.Address
	}{
		{"Germany", "491701234567", "+491701234567"},
		{"Germany, with +", "+491701234567", "+491701234567"},
		{"United Kingdom", "447911123456", "+447911123456"},
		{"United States", "14155552671", "+14155552671"},
		{"India", "919876543210", "+919876543210"},
		{"China", "8613800138000", "+8613800138000"},
		{"Nigeria", "2348031234567", "+2348031234567"},
		{"Australia", "61412345678", "+61412345678"},
		{"Ukraine", "380501234567", "+380501234567"},
		{"Brazil", "5511987654321", "+5511987654321"},
		{"Brazil, wa_id without the ninth digit", "551187654321", "+551187654321"},
		{"Mexico", "525512345678", "+525512345678"},
		{"Mexico, wa_id with the old 1", "5215512345678", "+5215512345678"},
		{"Malta", "35679123456", "+35679123456"},
	} {
		t.Run(tc.country, func(t *testing.T) {
			got, err := Address(tc.waID)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			back, err := WaID(got)
			require.NoError(t, err)
			require.Equal(t, string(tc.want[1:]), back, "WaID gives back the digits WhatsApp uses")
		})
	}
}

func TestAddressRefusesWhatIsNoNumber(t *testing.T) {
	for _, in := range []string{
		"",
		"+",
		"12345",                       // too short
		"4915",                        // a country code and hardly more
		"999999999999",                // no such country code
		"49170123456789012",           // over 15 digits
		"49 170 1234567",              // spaces
		"49170-1234567",               // punctuation
		"0491701234567",               // a trunk prefix, not a country code
		"491701234567@s.whatsapp.net", // a whole JID, not its user part
		"4917012345",                  // too short for a German mobile
		"++491701234567",
		"٤٩١٧٠١٢٣٤٥٦٧", // Arabic-Indic digits
	} {
		t.Run(in, func(t *testing.T) {
			_, err := Address(in)
			require.ErrorIs(t, err, ErrAddress)
		})
	}
}

func TestWaIDRefusesWhatIsNoAddress(t *testing.T) {
	for _, a := range []normalize.Address{"", "491701234567", "+4915", "+49170123456a", "tg:123"} {
		t.Run(string(a), func(t *testing.T) {
			_, err := WaID(a)
			require.ErrorIs(t, err, ErrAddress)
		})
	}
}
