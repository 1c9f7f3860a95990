package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const routeConfig = `listen: 127.0.0.1:0
data_dir: %DIR%
channels:
  - name: chat
    type: webchat
helpdesks:
  - name: inbox
    type: inbox
routes:
  - name: harm
    match:
      patterns: ['(?i)self[- ]?exclu', '(?i)\bcan.?t stop\b']
    helpdesk: inbox
    group: responsible-gambling
    priority: urgent
  - name: vip
    match:
      min_vip: 3
      countries: [RO]
    helpdesk: inbox
    group: vip
    assignee: personal_manager
  - name: night
    match:
      hours: {timezone: Europe/Bucharest, weekly: ["mon-fri 09:00-18:00"], holidays: ["2026-12-25"]}
      out_of_hours: true
    helpdesk: inbox
    tags: [after-hours]
default_helpdesk: inbox
`

// gateway route --explain prints each rule tried, the condition that failed, and what the
// first match decides; the sample comes from flags or a JSON file.
func TestRouteExplain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(routeConfig, "%DIR%", dir)), 0o600))
	sample := filepath.Join(dir, "sample.json")
	require.NoError(t, os.WriteFile(sample, []byte(`{"channel": "chat", "text": "hello", "vip": 1, "at": "2026-12-25T10:00:00Z"}`), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a regular expression", []string{"--text", "I can't stop playing", "--at", "2026-12-23T10:00:00Z"}, `rule 0 harm: matched
(2 later rules not tried: the first match wins)
helpdesk: inbox
priority: urgent
tags: group:responsible-gambling
`},
		{"a VIP with a personal manager", []string{"--channel", "chat", "--text", "hi", "--vip", "4", "--country", "ro", "--personal-manager", "mara", "--at", "2026-12-23T10:00:00Z"}, `rule 0 harm: no: no pattern of [(?i)self[- ]?exclu (?i)\bcan.?t stop\b] matches the text
rule 1 vip: matched
(1 later rules not tried: the first match wins)
helpdesk: inbox
priority: high
tags: vip, group:vip
assignee: mara
`},
		{"a holiday from a JSON file", []string{"--json", sample}, `rule 0 harm: no: no pattern of [(?i)self[- ]?exclu (?i)\bcan.?t stop\b] matches the text
rule 1 vip: no: VIP tier 1 below 3
rule 2 night: matched
helpdesk: inbox
priority: high
tags: vip, after-hours
`},
		{"in hours nothing matches", []string{"--text", "hi", "--vip", "3", "--country", "SE", "--at", "2026-12-23T10:00:00Z"}, `rule 0 harm: no: no pattern of [(?i)self[- ]?exclu (?i)\bcan.?t stop\b] matches the text
rule 1 vip: no: country "SE" not in [RO]
rule 2 night: no: Wed 2026-12-23 12:00 EET is inside business hours (Europe/Bucharest)
no rule matched: default helpdesk
helpdesk: inbox
priority: high
tags: vip
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"route", "--explain", "--config", path}, tt.args...)
			code := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			require.Equal(t, tt.want, stdout.String())
		})
	}
}

func TestRouteUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, run(t.Context(), []string{"route", "--text", "hi"}, strings.NewReader(""), &stdout, &stderr))
	require.Contains(t, stderr.String(), "--explain and --config FILE are required")
	stderr.Reset()
	require.Equal(t, 2, run(t.Context(), []string{"route", "--explain", "--config", "x.yaml", "--at", "yesterday"}, strings.NewReader(""), &stdout, &stderr))
	require.Contains(t, stderr.String(), "--at: want RFC 3339")
}

// A calendar that does not parse is a configuration error naming its key, from check-config
// as from route and serve.
func TestRouteHoursChecked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	bad := strings.ReplaceAll(strings.ReplaceAll(routeConfig, "%DIR%", dir), "mon-fri 09:00-18:00", "mon-fry 09:00-18:00")
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
	for _, args := range [][]string{{"check-config", "--config", path}, {"route", "--explain", "--config", path, "--text", "hi"}} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 1, run(t.Context(), args, strings.NewReader(""), &stdout, &stderr), args[0])
		require.Contains(t, stderr.String(), `routes[2]: match.hours: weekly[0]: want days and hours such as "mon-fri 09:00-18:00", got "mon-fry 09:00-18:00"`, args[0])
	}
}
