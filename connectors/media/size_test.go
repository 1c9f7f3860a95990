package media

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		25 << 20: "25 MB", 31<<20 + 1<<19: "31.5 MB", 64 << 10: "64 KB", 1500: "1 KB", 900: "900 bytes",
	} {
		require.Equal(t, want, FormatBytes(n))
	}
}
