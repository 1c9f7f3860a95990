package webchat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/linktoken"
	"github.com/casino-support/gateway/normalize"
)

// History is the store's read side that the chat needs: a returning visitor's thread. The
// router's store implements it. Writes go through the sink Run was given: messages by
// Deliver, receipts by connectors.ReceiptSink.
type History interface {
	// ConversationAt returns the conversation at a channel address; the error wraps
	// connectors.ErrNotFound when there is none yet.
	ConversationAt(ctx context.Context, channel normalize.InstanceName, address normalize.Address) (normalize.Conversation, error)
	// Thread returns the last limit messages of a conversation, oldest first, with states.
	Thread(ctx context.Context, conv normalize.ConversationID, limit int) ([]normalize.Message, error)
}

// Deps are what the chat uses from the gateway.
type Deps struct {
	// Blobs keeps uploaded attachments and serves them back.
	Blobs connectors.Blobs
	// History shows returning visitors their thread.
	History History
	// PublicURL is the gateway's public base URL; its origin may always open the WebSocket
	// and frame the page.
	PublicURL string
	// SecretsDir keeps a generated token secret at <SecretsDir>/<name>.key (0600) when the
	// config sets none.
	SecretsDir string
	// MaxUploadBytes caps one attachment; 0 means 25 MiB.
	MaxUploadBytes int64
	// Log receives the chat's log lines; the gateway hands one that already carries the
	// channel key. Nil discards them.
	Log *slog.Logger
	// Metrics registers the chat's counter of refusals (gateway_webchat_refused_total); nil
	// counts without exporting.
	Metrics prometheus.Registerer
	// Notices passes the frames pushed to a player's pages to the other replicas, whose pages
	// of the same player then get them too; nil when this process is the only one.
	Notices connectors.Notices
}

// defaultMaxUpload matches the gateway's default attachments.max_bytes.
const defaultMaxUpload = 25 << 20

// deliverTimeout bounds one Sink.Deliver: the page resends what was not acknowledged, so
// giving up is safe, and a player should not stare at "sending…" forever.
const deliverTimeout = 30 * time.Second

// Channel is one web chat instance. It serves the page, the widget and both transports
// (Mount), hands player messages to the sink given to Run, and pushes agent replies (Send) and
// typing hints (Typing) to the player's open pages.
type Channel struct {
	name        normalize.InstanceName
	cfg         Config
	blobs       connectors.Blobs
	history     History
	log         *slog.Logger
	tokenKey    []byte
	playerKey   []byte // nil: player tokens are refused
	origins     origins
	uploadTypes map[string]bool
	maxUpload   int64
	assets      *assets

	run     connectors.SinkSlot // the sink and context of Run while it runs
	hub     *hub
	limits  *limiters
	conns   *openConns
	replies *recentReplies
	// notices and replica: see replicas.go.
	notices connectors.Notices
	replica string
	// refused counts refusals by reason; refusalLog keeps their log lines few.
	refused    *prometheus.CounterVec
	refusalLog *refusalLog
	// playerRefused counts refused player tokens (gateway_player_token_refused_total).
	playerRefused *linktoken.Refusals

	// pollWait is how long a long-poll waits for a frame before answering empty; tests
	// shorten it.
	pollWait time.Duration
	now      func() time.Time
}

var (
	_ connectors.Channel = (*Channel)(nil)
	_ connectors.Mounter = (*Channel)(nil)
	_ connectors.Typer   = (*Channel)(nil)
)

// New returns the web chat instance name. cfg must have had config's defaults applied.
func New(name normalize.InstanceName, cfg Config, deps Deps) (*Channel, error) {
	if deps.History == nil || deps.Blobs == nil {
		return nil, fmt.Errorf("webchat %s: History and Blobs are required", name)
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tokenKey, err := tokenSecret(cfg.TokenSecret.Value(), deps.SecretsDir, string(name), log)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: %w", name, err)
	}
	var playerKey []byte
	if p := cfg.PlayerSecret.Value(); p != "" {
		if len(p) < minSecretLen {
			return nil, fmt.Errorf("webchat %s: player_secret: want at least %d bytes", name, minSecretLen)
		}
		playerKey = []byte(p)
	}
	if cfg.TokenTTL <= 0 {
		return nil, fmt.Errorf("webchat %s: token_ttl must be positive", name)
	}
	orig, err := newOrigins(deps.PublicURL, cfg.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: %w", name, err)
	}
	maxUpload := deps.MaxUploadBytes
	if maxUpload <= 0 {
		maxUpload = defaultMaxUpload
	}
	types := map[string]bool{}
	for _, t := range cfg.UploadTypes {
		types[t] = true
	}
	a, err := newAssets(cfg)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: %w", name, err)
	}
	refused, err := newRefusedCounter(deps.Metrics, name)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: %w", name, err)
	}
	playerRefused, err := linktoken.NewRefusals(deps.Metrics, name)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: %w", name, err)
	}
	if cfg.PerAddress.UploadBytesPerHour < maxUpload {
		// Valid, but then no file of the largest size gets through at all.
		log.Warn("per_address.upload_bytes_per_hour is below the largest attachment (attachments.max_bytes)",
			"upload_bytes_per_hour", cfg.PerAddress.UploadBytesPerHour, "max_bytes", maxUpload)
	}
	return &Channel{
		name: name, cfg: cfg, blobs: deps.Blobs, history: deps.History, log: log,
		tokenKey: tokenKey, playerKey: playerKey, origins: orig, uploadTypes: types, maxUpload: maxUpload,
		assets: a, hub: newHub(time.Now), limits: newLimiters(cfg), replies: newRecentReplies(),
		conns:   newOpenConns(max(cfg.MaxConnections, 1), max(cfg.PerAddress.Connections, 1)),
		refused: refused, refusalLog: newRefusalLog(), notices: deps.Notices, replica: connectors.NewReplicaID(), playerRefused: playerRefused,
		pollWait: 25 * time.Second, now: time.Now,
	}, nil
}

// Run makes the chat hand player messages to sink until ctx ends. Then it refuses messages
// (pages keep them in their outbox), closes the open connections and turns long polls away so
// pages reconnect to whoever serves next.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	if c.notices != nil {
		defer connectors.Listen(c.notices, c.noticeTopic(), c.heard)()
	}
	if err := c.run.Hold(ctx, sink); err != nil {
		return fmt.Errorf("webchat %s: %w", c.name, err)
	}
	c.hub.closeAll("the chat server is restarting")
	return nil
}

// Send pushes an agent reply to every page open on the conversation, on every replica. A player with no page
// open sees it in the history on the next visit, so that is a success too. The returned ID is
// msg.ID: the page sends receipts for it.
func (c *Channel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	if msg.ID == "" {
		return "", connectors.Permanent(fmt.Errorf("webchat %s: reply without a message ID", c.name))
	}
	w, ok := c.view(msg)
	if !ok {
		// The router filters notes and system messages; should one slip through, the player
		// must still not see it.
		c.log.Warn("internal message handed to Send; not shown to the player", "conv", conv.Address, "msg_id", msg.ID, "kind", msg.Kind)
		return normalize.ExternalID(msg.ID), nil
	}
	w.From = "agent"
	w.State = string(normalize.StateSent)
	c.replies.add(msg.ID, conv.Address, c.now())
	pages := c.push(ctx, conv.Address, encode(messageFrame{Type: typeMessage, wireMessage: w}), nil, msg.ID)
	c.log.Debug("reply pushed", "conv", conv.Address, "msg_id", msg.ID, "pages", pages)
	return normalize.ExternalID(msg.ID), nil
}

// ShowsQuickReplies implements connectors.QuickReplier: the page shows a reply's options as
// buttons, and a tap sends the option's text as the player's message, like typing it.
func (c *Channel) ShowsQuickReplies() bool { return true }

// Typing shows "Support is typing…" on the player's open pages for a few seconds. Like every
// hint it is not stored: a page opened later does not see it.
func (c *Channel) Typing(ctx context.Context, conv normalize.Conversation) error {
	c.push(ctx, conv.Address, encode(typingFrame{Type: typeTyping, From: "agent"}), nil, "")
	return nil
}

// Mount registers the page, the widget, the static files and both transports under cfg.Path.
func (c *Channel) Mount(mux *http.ServeMux) {
	p := c.cfg.Path
	mux.HandleFunc("GET "+p, c.servePage)
	mux.HandleFunc("GET "+p+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		target := p
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET "+p+"/widget.js", c.serveWidget)
	mux.HandleFunc("GET "+p+"/theme.css", c.serveTheme)
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", c.assets.static))
	mux.HandleFunc("GET "+p+"/ws", c.serveWS)
	mux.HandleFunc("POST "+p+"/api/send", c.serveSend)
	mux.HandleFunc("GET "+p+"/api/poll", c.servePoll)
	mux.HandleFunc("POST "+p+"/api/upload", c.serveUpload)
	mux.HandleFunc("GET "+p+"/api/attachments/{id}/{index}", c.serveAttachment)
}

// sink returns the sink given to Run, or nil while the channel is not running.
func (c *Channel) sink() connectors.Sink {
	return c.run.Sink()
}

// conversation returns the conversation at addr; found is false when there is none yet.
func (c *Channel) conversation(ctx context.Context, addr normalize.Address) (conv normalize.Conversation, found bool, err error) {
	conv, err = c.history.ConversationAt(ctx, c.name, addr)
	if errors.Is(err, connectors.ErrNotFound) {
		return normalize.Conversation{}, false, nil
	}
	if err != nil {
		return normalize.Conversation{}, false, fmt.Errorf("webchat %s: conversation at %s: %w", c.name, addr, err)
	}
	return conv, true, nil
}
