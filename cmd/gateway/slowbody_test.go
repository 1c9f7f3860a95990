package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
)

const (
	hookSecret = "0123456789abcdef-hook-secret"
	hookToken  = "hook-api-token-for-tests"
)

// fakeOperator is the operator's ticket system: it opens ticket T-1 and hands over the
// gateway's conversation ID.
func fakeOperator(t *testing.T) (url string, conversation <-chan string) {
	opened := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Event        string `json:"event"`
			Conversation struct {
				ID string `json:"id"`
			} `json:"conversation"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ev.Event == "conversation.opened" {
			select {
			case opened <- ev.Conversation.ID:
			default:
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ticket":"T-1"}`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, opened
}

// trickler is an attacker's connection: a forged hook request with a large Content-Length
// whose body comes a byte at a time.
type trickler struct {
	conn   net.Conn
	status chan string // the final status line
}

// trickle opens a trickler from client (forwarded by the trusted proxy) and returns once the
// gateway either reads its body (it holds a slot) or answered it.
func trickle(t *testing.T, base, client string) *trickler {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /hooks/tickets HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nX-Forwarded-For: %s\r\n"+
		"%s: %d\r\n%s: v1=%s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		client, webhook.HeaderTimestamp, time.Now().Unix(), webhook.HeaderSignature, strings.Repeat("ab", 32), 8<<20)
	tr := &trickler{conn: conn, status: make(chan string, 1)}
	rd := bufio.NewReader(conn)
	first, err := rd.ReadString('\n')
	require.NoError(t, err)
	if !strings.Contains(first, "100 Continue") {
		tr.status <- first // turned away at once
		return tr
	}
	// The handler reads the body: the connection holds a slot. Send a byte every 100 ms.
	go func() {
		for {
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	go func() {
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				tr.status <- "connection closed: " + err.Error()
				return
			}
			if strings.HasPrefix(line, "HTTP/1.1 ") && !strings.Contains(line, " 100 ") {
				tr.status <- line
				return
			}
		}
	}()
	return tr
}

// signedReply posts an agent's reply with a file of size bytes to the hook, correctly signed,
// from client, and returns the status.
func signedReply(t *testing.T, base, client, conv string, size int) (int, string) {
	t.Helper()
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0"), size)...)
	body, err := json.Marshal(map[string]any{"event": "reply.created", "reply_id": "r-1", "conversation_id": conv,
		"text": "Your KYC form", "attachments": []map[string]string{
			{"name": "kyc.pdf", "media_type": "application/pdf", "content_base64": base64.StdEncoding.EncodeToString(pdf)}}})
	require.NoError(t, err)
	now := time.Now()
	req, err := http.NewRequest(http.MethodPost, base+"/hooks/tickets", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", client)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(hookSecret), now, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}

// TestSlowBodiesDoNotStarveSignedReplies is the attack of issue 11: unauthenticated POSTs to
// the webhook helpdesk's hook with a fake signature, a large Content-Length and a byte now and
// then held every "large request" slot, so the operator's correctly signed replies with files
// got 503 for as long as the attacker liked. Now one address gets one slot, the signed reply
// goes through, and the trickle is cut off, logged and counted.
func TestSlowBodiesDoNotStarveSignedReplies(t *testing.T) {
	operator, opened := fakeOperator(t)
	base, _, _, logs := runServe(t, fmt.Sprintf(`
trusted_proxies: [127.0.0.1/32]
channels:
  - {name: chat, type: loopback, send_url: "http://127.0.0.1:9/send"}
helpdesks:
  - {name: tickets, type: webhook, url: %q, secret: %q, api_token: %q}
default_helpdesk: tickets
`, operator, hookSecret, hookToken), func(g *gateway) {
		// Long enough to set the attack up on a loaded machine; short for a test.
		g.pacing = pacing{rate: 64 << 10, grace: 5 * time.Second, stall: 5 * time.Second}
	})

	// A player writes; the operator opens a ticket.
	require.Eventually(t, func() bool {
		resp, err := http.Post(base+"/hooks/chat", "application/json",
			strings.NewReader(`{"messages":[{"id":"m1","address":"p1","text":"please send the KYC form"}]}`))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)
	var conv string
	select {
	case conv = <-opened:
	case <-time.After(10 * time.Second):
		t.Fatalf("no conversation.opened\n%s", logs)
	}

	// The attack: four slow forged uploads from one address.
	var attack []*trickler
	for range 4 {
		attack = append(attack, trickle(t, base, "203.0.113.66"))
	}
	// The operator's signed reply with a file (its body over 1 MiB: a large read too).
	status, answer := signedReply(t, base, "198.51.100.7", conv, 1<<20)
	require.Equal(t, http.StatusOK, status, "the signed reply went through during the attack: %s", answer)

	var codes []string
	for _, tr := range attack {
		select {
		case line := <-tr.status:
			codes = append(codes, strings.Fields(line)[1])
		case <-time.After(20 * time.Second):
			t.Fatal("a slow upload was never cut off")
		}
	}
	require.ElementsMatch(t, []string{"503", "503", "503", "408"}, codes,
		"one address holds one slot; its trickle is cut off")

	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "request body cut off") }, 5*time.Second, 10*time.Millisecond)
	require.Contains(t, logs.String(), `"client":"203.0.113.66"`)
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, want := range []string{
		`gateway_http_body_timeouts_total{instance="tickets",pattern="/hooks/{instance}"} 1`,
		`gateway_http_responses_total{code="408",instance="tickets",pattern="/hooks/{instance}"} 1`,
		`gateway_http_responses_total{code="503",instance="tickets",pattern="/hooks/{instance}"} 3`,
		`gateway_http_responses_total{code="200",instance="tickets",pattern="/hooks/{instance}"} 1`,
	} {
		require.Contains(t, string(metrics), want)
	}
}
