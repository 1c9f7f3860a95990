package webchat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/router/store/blobs"
)

// The attacks of issue 11 as they were run against the chat: a script that says hello without
// a token gets a new visitor every time, spreads its messages and uploads over those visitors,
// and holds connections open. Each test runs the attack from one address and checks that it
// is cut off while a player elsewhere (and, where the limit allows, one behind the same
// address) chats on.

const (
	attackerAddr = "203.0.113.7"
	playerAddr   = "198.51.100.20"
)

// fakeClock stands still unless moved, so a test sees exactly a limit's burst.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stopClock makes the chat's clock stand still; call it before the first request.
func stopClock(h *harness) *fakeClock {
	c := &fakeClock{t: time.Now()}
	h.ch.now = c.now
	return c
}

// helloFrom says hello as the client at addr over transport ("websocket" or "poll") and
// returns the first answer: a welcome or an error.
func helloFrom(t *testing.T, h *harness, transport, addr string, hello clientFrame) frame {
	t.Helper()
	hello.Type = typeHello
	if transport == "poll" {
		resp := h.postFrom(t, addr, "", hello)
		require.Len(t, resp.Frames, 1)
		return resp.Frames[0]
	}
	c, err := h.dialFrom(t, addr)
	require.NoError(t, err)
	defer c.conn.CloseNow()
	c.send(hello)
	return c.next()
}

// playerChats is a player at addr who starts a chat, writes and is answered with an ack.
func playerChats(t *testing.T, h *harness, addr string) {
	t.Helper()
	w := helloFrom(t, h, "poll", addr, clientFrame{})
	require.Equal(t, typeWelcome, w.Type, "the player is welcomed: %+v", w)
	resp := h.postFrom(t, addr, w.Token, msg("p-1", "I cannot withdraw"))
	require.Len(t, resp.Frames, 1)
	require.Equal(t, typeAck, resp.Frames[0].Type, "the player's message is taken: %+v", resp.Frames[0])
}

func TestNewVisitorFloodFromOneAddressIsCutOff(t *testing.T) {
	for _, transport := range []string{"poll", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			h := start(t, nil, true)
			clock := stopClock(h)
			limit := h.ch.cfg.PerAddress.NewVisitorsPerMinute

			// A returning player behind the attacker's NAT, who has a visitor token already.
			returning := helloFrom(t, h, transport, attackerAddr, clientFrame{})
			require.Equal(t, typeWelcome, returning.Type)

			welcomed := 1
			var refused frame
			for range limit + 10 {
				f := helloFrom(t, h, transport, attackerAddr, clientFrame{})
				if f.Type == typeWelcome {
					welcomed++
					continue
				}
				refused = f
			}
			require.Equal(t, limit, welcomed, "at most new_visitors_per_minute new visitors a minute from one address")
			require.Equal(t, typeError, refused.Type)
			// unavailable: the page keeps its outbox, shows the notice and reconnects with back-off.
			require.Equal(t, codeUnavailable, refused.Code)
			require.Contains(t, refused.Message, "Too many new chats")
			require.Empty(t, h.store.attempts(), "hellos alone store nothing: no conversation an agent could see")

			// The returning visitor on the same address is not a new one and keeps chatting.
			again := helloFrom(t, h, transport, attackerAddr, clientFrame{Token: returning.Token})
			require.Equal(t, typeWelcome, again.Type, "%+v", again)
			require.Equal(t, returning.Visitor, again.Visitor)
			// A player elsewhere is not affected at all.
			playerChats(t, h, playerAddr)

			// It is a rate, not a ban: a minute later the address starts visitors again.
			clock.add(time.Minute)
			require.Equal(t, typeWelcome, helloFrom(t, h, transport, attackerAddr, clientFrame{}).Type)
		})
	}
}

func TestHelloFloodWithOneTokenIsCutOff(t *testing.T) {
	h := start(t, nil, true)
	stopClock(h)
	token := visitorToken("v-flood", time.Now().Add(time.Hour))
	welcomed, refused := 0, 0
	for range frameBurst + 40 {
		resp := h.postFrom(t, attackerAddr, "", clientFrame{Type: typeHello, Token: token})
		require.Len(t, resp.Frames, 1)
		switch f := resp.Frames[0]; f.Type {
		case typeWelcome:
			welcomed++
		default:
			require.Equal(t, codeUnavailable, f.Code, "%+v", f)
			refused++
		}
	}
	require.Equal(t, frameBurst, welcomed, "each hello reads the history; a conversation gets the frame budget")
	require.Equal(t, 40, refused)
	playerChats(t, h, playerAddr)
}

func TestMessageFloodAcrossVisitorsIsCutOff(t *testing.T) {
	h := start(t, nil, true)
	clock := stopClock(h)
	limit := h.ch.cfg.PerAddress.MessagesPerMinute
	// Visitor tokens collected over hours, each within its conversation's own limit (a burst
	// of 5): only the limit per address stops their sum.
	acked, refused := 0, 0
	for v := range limit/maxBurst + 10 {
		token := visitorToken(fmt.Sprintf("v-%d", v), time.Now().Add(time.Hour))
		for i := range maxBurst {
			resp := h.postFrom(t, attackerAddr, token, msg(fmt.Sprintf("m-%d", i), "spam"))
			require.Len(t, resp.Frames, 1)
			switch f := resp.Frames[0]; f.Type {
			case typeAck:
				acked++
			default:
				require.Equal(t, codeRateLimited, f.Code, "%+v", f)
				require.Equal(t, fmt.Sprintf("m-%d", i), f.ClientID)
				require.Contains(t, f.Message, "from your network")
				refused++
			}
		}
	}
	require.Equal(t, limit, acked, "at most per_address.messages_per_minute a minute from one address")
	require.Equal(t, 10*maxBurst, refused)
	require.Len(t, h.store.delivered(), limit, "nothing refused reaches the sink")
	playerChats(t, h, playerAddr)
	clock.add(time.Minute)
	resp := h.postFrom(t, attackerAddr, visitorToken("v-late", time.Now().Add(time.Hour)), msg("late", "hi"))
	require.Equal(t, typeAck, resp.Frames[0].Type, "a minute later the address may write again")
}

// uploadFrom uploads body as a PDF as the client at addr; chunked sends it without a
// Content-Length, so nothing can be judged before the bytes arrive.
func (h *harness) uploadFrom(t *testing.T, addr, token, clientID string, body []byte, chunked bool) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("client_id", clientID))
	part, err := mw.CreateFormFile("file", "scan.pdf")
	require.NoError(t, err)
	_, err = part.Write(body)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	var rd io.Reader = &buf
	if chunked {
		rd = io.MultiReader(&buf) // hides the length from http.NewRequest
	}
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/chat/api/upload", rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(testClientHeader, addr)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestUploadFloodFromOneAddressIsCutOff(t *testing.T) {
	file := append(append([]byte{}, minimalPDF...), bytes.Repeat([]byte("x"), 60<<10-len(minimalPDF))...)
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			// Three 60 KiB files fit the hour's 200 KiB, the fourth does not.
			h := start(t, func(cfg *Config, _ *Deps) { cfg.PerAddress.UploadBytesPerHour = 200 << 10 }, true)
			clock := stopClock(h)
			var statuses []int
			for i := range 6 {
				token := visitorToken(fmt.Sprintf("v-%d", i), time.Now().Add(time.Hour))
				status, body := h.uploadFrom(t, attackerAddr, token, "u-1", file, chunked)
				statuses = append(statuses, status)
				if status != http.StatusOK {
					code, message := errorCode(t, body)
					require.Equal(t, codeRateLimited, code, "%s", body)
					require.Contains(t, message, "in the last hour")
				}
			}
			require.Equal(t, []int{200, 200, 200, 429, 429, 429}, statuses)
			require.Len(t, h.store.delivered(), 3)

			// A player elsewhere uploads as usual, and the attacker's address refills in time.
			status, body := h.uploadFrom(t, playerAddr, visitorToken("p", time.Now().Add(time.Hour)), "u-1", file, chunked)
			require.Equal(t, http.StatusOK, status, "%s", body)
			clock.add(time.Hour)
			status, body = h.uploadFrom(t, attackerAddr, visitorToken("v-late", clock.now().Add(time.Hour)), "u-1", file, chunked)
			require.Equal(t, http.StatusOK, status, "%s", body)
		})
	}
}

// requireRefusedConnection checks that a WebSocket was answered with an error frame the page
// shows and backs off from, and closed.
func requireRefusedConnection(t *testing.T, c *client, message string) {
	t.Helper()
	f := c.next()
	require.Equal(t, typeError, f.Type, "%+v", f)
	require.Equal(t, codeUnavailable, f.Code)
	require.Contains(t, f.Message, message)
	c.waitClosed()
	require.Equal(t, websocket.StatusTryAgainLater, <-c.closed)
}

func TestConnectionFloodFromOneAddressIsCutOff(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.PerAddress.Connections = 3 }, true)
	h.ch.pollWait = time.Minute
	// Silent sockets that never say hello hold their place as long as any other.
	var held []*client
	for range 3 {
		c, err := h.dialFrom(t, attackerAddr)
		require.NoError(t, err)
		held = append(held, c)
	}
	c, err := h.dialFrom(t, attackerAddr)
	require.NoError(t, err)
	requireRefusedConnection(t, c, "Too many chat connections from your network")
	// Long polls count the same (an admitted poll with cursor 0 would answer 200 at once).
	status, body := h.pollFrom(t, attackerAddr, visitorToken("v-poll", time.Now().Add(time.Hour)), 0)
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	code, _ := errorCode(t, body)
	require.Equal(t, codeUnavailable, code)

	other, err := h.dialFrom(t, playerAddr)
	require.NoError(t, err)
	other.hello(clientFrame{})

	// A closed connection gives its place back.
	held[0].conn.Close(websocket.StatusNormalClosure, "")
	require.Eventually(t, func() bool {
		c, err := h.dialFrom(t, attackerAddr)
		require.NoError(t, err)
		defer c.conn.CloseNow()
		c.send(clientFrame{Type: typeHello})
		return c.next().Type == typeWelcome
	}, 30*time.Second, 20*time.Millisecond)
}

func TestConnectionFloodFillingTheChatIsCutOff(t *testing.T) {
	h := start(t, func(cfg *Config, _ *Deps) { cfg.MaxConnections = 4 }, true)
	h.ch.pollWait = time.Minute
	// Two sockets and two long polls from four addresses fill the chat.
	for i := range 2 {
		_, err := h.dialFrom(t, fmt.Sprintf("203.0.113.%d", 10+i))
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var polls sync.WaitGroup
	for i := range 2 {
		addr := fmt.Sprintf("203.0.113.%d", 20+i)
		token := visitorToken(fmt.Sprintf("v-poll-%d", i), time.Now().Add(time.Hour))
		cursor := h.postFrom(t, addr, "", clientFrame{Type: typeHello, Token: token}).Cursor
		polls.Go(func() {
			// The probes below take a place for an instant each: a poll that comes in just then
			// is refused, and tries again as a browser would, until it holds its place.
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/chat/api/poll?after=%d", h.srv.URL, cursor), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set(testClientHeader, addr)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	t.Cleanup(func() { cancel(); polls.Wait() })
	// Once the polls wait, nobody else gets in, over either transport.
	require.Eventually(t, func() bool {
		status, _ := h.pollFrom(t, playerAddr, visitorToken("p", time.Now().Add(time.Hour)), 0)
		return status == http.StatusServiceUnavailable
	}, 30*time.Second, 20*time.Millisecond, "a loaded machine may take seconds to start the polls")
	c, err := h.dialFrom(t, playerAddr)
	require.NoError(t, err)
	requireRefusedConnection(t, c, "The chat is very busy")

	// When the polls end, their places are free again.
	cancel()
	polls.Wait()
	require.Eventually(t, func() bool {
		c, err := h.dialFrom(t, playerAddr)
		require.NoError(t, err)
		defer c.conn.CloseNow()
		c.send(clientFrame{Type: typeHello})
		return c.next().Type == typeWelcome
	}, 30*time.Second, 20*time.Millisecond)
}

// pollFrom polls as the client at addr with a short timeout; a refused poll answers at once.
func (h *harness) pollFrom(t *testing.T, addr, token string, after int64) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/chat/api/poll?after=%d", h.srv.URL, after), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(testClientHeader, addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil // still waiting: admitted
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// refusedCount reads gateway_webchat_refused_total of channel and reason as exported by reg.
func refusedCount(t *testing.T, reg prometheus.Gatherer, channel, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "gateway_webchat_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["channel"] == channel && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no gateway_webchat_refused_total{channel=%q,reason=%q}", channel, reason)
	return 0
}

// Refusals are counted by reason and logged, but a flood is one log line a minute per reason
// and address, not one per refusal.
func TestRefusalsAreCountedAndLoggedSparingly(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := start(t, func(cfg *Config, d *Deps) { cfg.PerAddress.NewVisitorsPerMinute = 2; d.Metrics = reg }, true)
	clock := stopClock(h)
	for reason := range refusals {
		require.Zero(t, refusedCount(t, reg, "web", reason), "every reason is exported from the start")
	}
	for range 12 {
		helloFrom(t, h, "poll", attackerAddr, clientFrame{})
	}
	require.Equal(t, 10.0, refusedCount(t, reg, "web", reasonNewVisitors))
	require.Equal(t, 1, strings.Count(h.logs.String(), "new visitor refused"), h.logs.String())
	require.Contains(t, h.logs.String(), "client="+attackerAddr)

	clock.add(time.Minute)
	for range 3 {
		helloFrom(t, h, "poll", attackerAddr, clientFrame{})
	}
	require.Equal(t, 11.0, refusedCount(t, reg, "web", reasonNewVisitors))
	require.Equal(t, 2, strings.Count(h.logs.String(), "new visitor refused"))
	require.Contains(t, h.logs.String(), "refused=10", "the next line says how many refusals it stands for")

	// A second chat instance shares the counter, told apart by its channel label.
	bl, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	_, err = New("help", testConfig(), Deps{Blobs: bl, History: newFakeStore(), SecretsDir: t.TempDir(), Metrics: reg})
	require.NoError(t, err)
	require.Zero(t, refusedCount(t, reg, "help", reasonNewVisitors))
	require.Equal(t, 11.0, refusedCount(t, reg, "web", reasonNewVisitors))
}

func TestValidateLimits(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"zero", func(c *Config) { c.PerAddress = AddressLimits{}; c.MaxConnections = 0 }, []string{
			"channels[0].per_address.new_visitors_per_minute: must be at least 1, got 0",
			"channels[0].per_address.messages_per_minute: must be at least 1, got 0",
			"channels[0].per_address.upload_bytes_per_hour: must be at least 1, got 0",
			"channels[0].per_address.connections: must be at least 1, got 0",
			"channels[0].max_connections: must be at least 1, got 0",
		}},
		{"negative", func(c *Config) { c.PerAddress.UploadBytesPerHour = -1 }, []string{
			"channels[0].per_address.upload_bytes_per_hour: must be at least 1, got -1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Derive(settings.Env{Name: "web"})
			tt.edit(cfg)
			p := settings.NewProblems("channels[0]")
			cfg.Validate(p)
			var got []string
			for _, pr := range p.List() {
				got = append(got, pr.Key+": "+pr.Message)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestForgedTokensAreLoggedSparingly: a forged or expired token costs the attacker nothing to
// send; each must not cost the operator a log line.
func TestForgedTokensAreLoggedSparingly(t *testing.T) {
	h := start(t, nil, true)
	clock := stopClock(h)
	for range 20 {
		f := helloFrom(t, h, "poll", attackerAddr, clientFrame{Token: "forged.token"})
		require.Equal(t, codeInvalidToken, f.Code)
	}
	require.Equal(t, 1, strings.Count(h.logs.String(), "visitor token refused"), h.logs.String())
	require.Contains(t, h.logs.String(), "client="+attackerAddr)

	clock.add(time.Minute)
	helloFrom(t, h, "poll", attackerAddr, clientFrame{Token: "forged.token"})
	require.Equal(t, 2, strings.Count(h.logs.String(), "visitor token refused"))
	require.Contains(t, h.logs.String(), "refused=20", "the next line says how many refusals it stands for")
}
