package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The web chat's per-address limits are read from the configuration and its refusals are
// exported on /metrics, one series per chat instance and reason.
func TestWebchatRefusalsAreExported(t *testing.T) {
	base, _, _, _ := runServe(t, `
channels:
  - name: web
    type: webchat
    per_address: {new_visitors_per_minute: 1}
  - {name: help, type: webchat, path: /help}
helpdesks: [{name: inbox, type: inbox}]
default_helpdesk: inbox
`)
	codes := []string{}
	for range 3 {
		resp, err := http.Post(base+"/chat/api/send", "application/json", strings.NewReader(`{"type":"hello"}`))
		require.NoError(t, err)
		var body struct {
			Frames []struct {
				Type string `json:"type"`
				Code string `json:"code"`
			} `json:"frames"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Len(t, body.Frames, 1)
		codes = append(codes, body.Frames[0].Type+" "+body.Frames[0].Code)
	}
	require.Equal(t, []string{"welcome ", "error unavailable", "error unavailable"}, codes)

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(metrics), `gateway_webchat_refused_total{channel="web",reason="address_new_visitors"} 2`)
	require.Contains(t, string(metrics), `gateway_webchat_refused_total{channel="help",reason="address_new_visitors"} 0`)
}
