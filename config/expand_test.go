package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	getenv := env(map[string]string{"A": "alpha", "EMPTY": "", "B_2": "b"})
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "no variables", in: "plain", want: "plain"},
		{name: "variable", in: "${A}", want: "alpha"},
		{name: "inside text", in: "x-${A}-${B_2}-y", want: "x-alpha-b-y"},
		{name: "set but empty", in: "[${EMPTY}]", want: "[]"},
		{name: "default when unset", in: "${NOPE:-def}", want: "def"},
		{name: "default when empty", in: "${EMPTY:-def}", want: "def"},
		{name: "default ignored when set", in: "${A:-def}", want: "alpha"},
		{name: "empty default", in: "${NOPE:-}", want: ""},
		{name: "default is literal", in: "${NOPE:-$x:-y}", want: "$x:-y"},
		{name: "escape", in: "$${A}", want: "${A}"},
		{name: "escape then variable", in: "$${A}${A}", want: "${A}alpha"},
		{name: "lone dollars stay", in: "pa$$word $5 $A", want: "pa$$word $5 $A"},
		{name: "trailing dollar", in: "a$", want: "a$"},
		{name: "unset", in: "${NOPE}", wantErr: "environment variable NOPE is not set"},
		{name: "unterminated", in: "${A", wantErr: `unterminated "${"`},
		{name: "empty name", in: "${}", wantErr: `invalid environment variable name ""`},
		{name: "bad name", in: "${1A}", wantErr: `invalid environment variable name "1A"`},
		{name: "shell forms unsupported", in: "${A:=x}", wantErr: `invalid environment variable name "A:=x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.in, getenv)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestExpandNilGetenvMeansEmptyEnvironment(t *testing.T) {
	got, err := expand("${X:-d}", nil)
	require.NoError(t, err)
	require.Equal(t, "d", got)
	_, err = expand("${X}", nil)
	require.EqualError(t, err, "environment variable X is not set")
}
