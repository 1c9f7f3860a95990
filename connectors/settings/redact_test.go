package settings

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://tickets.example/hook", "https://tickets.example/hook"},
		{"https://tickets.example/hook?api_key=SECRET", "https://tickets.example/hook?[redacted]"},
		{"https://tickets.example/hook?", "https://tickets.example/hook?[redacted]"},
		{"https://tickets.example/hook#SECRET", "https://tickets.example/hook?[redacted]"},
		{"https://tickets.example/hook?a=1#b", "https://tickets.example/hook?[redacted]"},
		{"https://SECRET@tickets.example/hook", "https://[redacted]@tickets.example/hook"},
		{"https://user:SECRET@tickets.example:8443/hook?k=SECRET", "https://[redacted]@tickets.example:8443/hook?[redacted]"},
		{"https://user:p@ss@tickets.example", "https://[redacted]@tickets.example"},
		{"https://tickets.example/a@b", "https://tickets.example/a@b"},
		{"https://tickets.example?@x", "https://tickets.example?[redacted]"},
		{"http://[::1]:8080/hook?key=SECRET", "http://[::1]:8080/hook?[redacted]"},
		{"tickets.example/hook?key=SECRET", "tickets.example/hook?[redacted]"},
		{"https://bad host/%zz?key=SECRET", "https://bad host/%zz?[redacted]"},
		{"", ""},
	} {
		require.Equal(t, tt.want, RedactURL(tt.in), "RedactURL(%q)", tt.in)
	}
}

// A URL the configuration refuses is quoted in the problem, which check-config prints and a
// failed start logs: without its secrets.
func TestCheckHTTPURLQuotesWithoutSecrets(t *testing.T) {
	var p Problems
	require.False(t, CheckHTTPURL(&p, "url", "ftp://key:SECRET@tickets.example/hook?api_key=SECRET", true))
	require.Len(t, p.List(), 1)
	require.Equal(t, `want an absolute http or https URL, got "ftp://[redacted]@tickets.example/hook?[redacted]"`, p.List()[0].Message)
}
