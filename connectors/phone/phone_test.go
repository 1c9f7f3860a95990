package phone

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestE164(t *testing.T) {
	tests := []struct {
		name, raw, region, want string
	}{
		{"international with spaces", "+49 30 1234567", "", "+49301234567"},
		{"double zero prefix", "0049 30 1234567", "DE", "+49301234567"},
		{"national with default region", "(030) 1234567", "DE", "+49301234567"},
		{"lower-case region", "030 1234567", "de", "+49301234567"},
		{"UK mobile national", "07911 123456", "GB", "+447911123456"},
		{"US with dashes", "+1 415-555-2671", "US", "+14155552671"},
		{"Twilio's own form", "+14155552671", "DE", "+14155552671"},
		{"WhatsApp digits with plus", "+4915112345678", "", "+4915112345678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := E164(tt.raw, tt.region)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestE164Refuses(t *testing.T) {
	for _, raw := range []string{"", "   ", "anonymous", "+266696687", "12", "030 1234567", "+49 1"} {
		t.Run(raw, func(t *testing.T) {
			_, err := E164(raw, "")
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestRegion(t *testing.T) {
	require.Equal(t, "DE", Region("+49301234567"))
	require.Equal(t, "US", Region("+14155552671"))
	require.Equal(t, "", Region("nonsense"))
	require.True(t, ValidRegion("de"))
	require.False(t, ValidRegion("XX"))
}

func TestHasPrefix(t *testing.T) {
	require.True(t, HasPrefix("+4915112345678", "+49 151"))
	require.True(t, HasPrefix("+4915112345678", "+49-15"))
	require.False(t, HasPrefix("+49301234567", "+4915"))
	require.False(t, HasPrefix("+49301234567", ""))
}
