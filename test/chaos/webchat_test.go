package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// frame is any server frame of the web chat's long-poll transport (docs/webchat.md), flat.
type frame struct {
	Type     string        `json:"type"`
	Token    string        `json:"token"`
	History  []chatMessage `json:"history"`
	ClientID string        `json:"client_id"`
	Code     string        `json:"code"`
	chatMessage
}

type chatMessage struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Text string `json:"text"`
}

// player is one web chat page, connected to a random replica and moving to another one when
// its replica dies (or at random), as a page behind a load balancer would.
type player struct {
	n      int
	c      *cluster
	rng    *rand.Rand
	client *http.Client

	token  string
	base   string // the replica the page talks to; "" to pick one
	cursor int64

	mu sync.Mutex
	// shown are the agent messages the page shows: one line per message ID, as the page
	// itself keys them, with the text. A reply stored twice would show under two IDs.
	shown map[string]string
}

func newPlayer(n int, c *cluster, seed uint64) *player {
	return &player{n: n, c: c, rng: rand.New(rand.NewPCG(seed, uint64(100+n))),
		client: &http.Client{Timeout: 30 * time.Second}, shown: map[string]string{}}
}

// run sends the player's messages, each acknowledged before the next, polling for replies in
// between, then waits until the page shows want replies or ctx ends.
func (p *player) run(ctx context.Context, messages, want int) {
	for seq := range messages {
		if p.rng.IntN(3) == 0 {
			p.base = "" // the player reloads the page and lands on another replica
		}
		p.send(ctx, fmt.Sprintf("web-%d-%d", p.n, seq), messageText("web", p.n, seq))
		pause := time.Now().Add(300*time.Millisecond + time.Duration(p.rng.Int64N(int64(time.Second))))
		for time.Now().Before(pause) && ctx.Err() == nil {
			p.poll(ctx, time.Until(pause))
		}
	}
	for ctx.Err() == nil && p.replies() < want {
		p.poll(ctx, 3*time.Second)
	}
}

// connect says hello to a random replica (with the stored visitor token after the first)
// and shows the history; false when that replica did not answer.
func (p *player) connect(ctx context.Context) bool {
	base := p.c.pick()
	hello, _ := json.Marshal(map[string]string{"type": "hello", "token": p.token})
	var resp struct {
		Frames []frame `json:"frames"`
		Cursor int64   `json:"cursor"`
	}
	if !p.post(ctx, base, hello, &resp) || len(resp.Frames) != 1 || resp.Frames[0].Type != "welcome" {
		return false
	}
	p.token, p.base, p.cursor = resp.Frames[0].Token, base, resp.Cursor
	for _, m := range resp.Frames[0].History {
		p.show(m)
	}
	return true
}

// send sends one message until a replica acknowledges it, with the same client_id each
// time, as the page resends its outbox.
func (p *player) send(ctx context.Context, clientID, text string) {
	msg, _ := json.Marshal(map[string]string{"type": "message", "client_id": clientID, "text": text})
	for ctx.Err() == nil {
		if p.base == "" && !p.connect(ctx) {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		var resp struct {
			Frames []frame `json:"frames"`
		}
		if p.post(ctx, p.base, msg, &resp) {
			for _, f := range resp.Frames {
				if f.Type == "ack" && f.ClientID == clientID {
					return
				}
				if f.Type == "message" {
					p.show(f.chatMessage)
				}
			}
		}
		p.base = "" // unavailable, or the replica died: try another one
		sleep(ctx, 200*time.Millisecond)
	}
}

// poll waits up to d for frames pushed to the page.
func (p *player) poll(ctx context.Context, d time.Duration) {
	if p.base == "" && !p.connect(ctx) {
		sleep(ctx, 200*time.Millisecond)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/chat/api/poll?after=%d", p.base, p.cursor), nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	var resp struct {
		Frames []frame `json:"frames"`
		Cursor int64   `json:"cursor"`
		Reset  bool    `json:"reset"`
	}
	if !p.do(req, &resp) {
		if ctx.Err() == nil {
			p.base = ""
		}
		return
	}
	for _, f := range resp.Frames {
		if f.Type == "message" {
			p.show(f.chatMessage)
		}
	}
	p.cursor = resp.Cursor
	if resp.Reset {
		p.base = "" // frames may have been missed: hello again reloads the history
	}
}

func (p *player) post(ctx context.Context, base string, body []byte, out any) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/api/send", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	return p.do(req, out)
}

func (p *player) do(req *http.Request, out any) bool {
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK && json.Unmarshal(body, out) == nil
}

func (p *player) show(m chatMessage) {
	if m.From != "agent" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown[m.ID] = m.Text
}

// replies counts the distinct agent replies the page shows.
func (p *player) replies() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.shown)
}

// shownTexts returns how many message IDs the page shows each agent reply's text under.
func (p *player) shownTexts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, text := range p.shown {
		out[text]++
	}
	return out
}
