package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSysmonEnv(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		want   []string
		change bool
	}{
		{"no GODEBUG", []string{"PATH=/bin"}, []string{"PATH=/bin", "GODEBUG=" + sysmonSetting}, true},
		{"empty GODEBUG", []string{"GODEBUG=", "HOME=/"}, []string{"GODEBUG=" + sysmonSetting, "HOME=/"}, true},
		{"other settings kept", []string{"GODEBUG=http2client=0,madvdontneed=1"},
			[]string{"GODEBUG=http2client=0,madvdontneed=1," + sysmonSetting}, true},
		{"turned off", []string{"GODEBUG=schedtrace=0"}, []string{"GODEBUG=schedtrace=0"}, false},
		{"set by the operator", []string{"A=1", "GODEBUG=gctrace=1,schedtrace=1000"}, []string{"A=1", "GODEBUG=gctrace=1,schedtrace=1000"}, false},
		{"a prefix is not the setting", []string{"GODEBUG=schedtraces=1"}, []string{"GODEBUG=schedtraces=1," + sysmonSetting}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, change := sysmonEnv(tt.env)
			require.Equal(t, tt.change, change)
			require.Equal(t, tt.want, got)
		})
	}
}
