// Package inbox is the built-in agent inbox: a Helpdesk like any other (the router Posts
// player messages to it, agent replies leave through Sink.Deliver) with its own small web UI,
// so a casino can answer players from every channel without running a ticket system.
//
// It owns agents, sessions and one ticket row per conversation (status, SLA timestamps, the
// first line of the last message for the list and its search) in its own SQLite file, or,
// when the gateway's store runs on PostgreSQL, in that database, which every replica shares.
// It copies no more message content than that line: the thread view reads the gateway store
// through Conversations, which keeps one source of truth, delivery states included. When
// retention deletes a conversation from that store, the router has the inbox Forget its row.
package inbox

import (
	"context"
	"database/sql"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Conversations is what the inbox reads of the gateway store. It changes nothing there
// directly: replies, notes and status changes are messages handed to the sink Run was given,
// and typing hints go to its connectors.TypingSink.
type Conversations interface {
	// Conversation returns one conversation or an error wrapping connectors.ErrNotFound.
	Conversation(ctx context.Context, id normalize.ConversationID) (normalize.Conversation, error)
	// Thread returns the last limit messages of conv in both directions, oldest first, each
	// with its current delivery State.
	Thread(ctx context.Context, conv normalize.ConversationID, limit int) ([]normalize.Message, error)
	// PlayerConversations returns the conversations linked to a player ID on every helpdesk,
	// most recently linked first, up to limit: the thread names those this inbox cannot link to.
	PlayerConversations(ctx context.Context, playerID string, limit int) ([]normalize.LinkedConversation, error)
}

// Deps are what the inbox uses from the gateway.
type Deps struct {
	Conversations Conversations
	// Blobs holds attachment content; nil disables downloads and uploads.
	Blobs connectors.Blobs
	// FirstResponse is the first-response target of a conversation by channel type and the
	// player's VIP tier (the gateway's sla settings); 0 is none. nil means 5 minutes for all.
	FirstResponse func(kind normalize.ChannelKind, vipTier int) time.Duration
	// PublicURL is how agents' browsers reach the gateway; https makes cookies Secure.
	PublicURL string
	// MaxUploadBytes caps an agent's attachment; 0 means 25 MiB.
	MaxUploadBytes int64
	// Out receives the first-start admin credentials; nil means standard error.
	Out io.Writer
	// PasswordCommand is how the operator sets a password of this inbox's agents, without
	// "--user NAME", which the inbox adds: the start-up line names it. It must read the
	// configuration the gateway runs with, or it changes another database (the default
	// ./data/inbox.db rather than the configured one). Empty means defaultPasswordCommand.
	PasswordCommand string
	// Pairables returns the channel instances an admin pairs from the inbox's Channels page
	// (a WhatsApp linked device); nil is none. It is called for each request, not in New,
	// so the gateway may build its channels after its helpdesks.
	Pairables func() []Pairable
	// Postgres is the gateway's database when its store runs on PostgreSQL: the inbox keeps
	// its agents, sessions and tickets there, so that every replica signs in the same agents
	// and lists the same conversations, and Config.Database is not used. The gateway closes
	// it. nil keeps them in the SQLite file Config.Database, which one gateway process serves.
	Postgres *sql.DB
	// Notices tells the other replicas' open lists what changed here; nil when this process
	// is the only one.
	Notices connectors.Notices
	Log     *slog.Logger
}

// Inbox is one inbox instance.
type Inbox struct {
	name normalize.InstanceName
	cfg  Config
	deps Deps
	log  *slog.Logger
	db   *database
	now  func() time.Time

	pages  map[string]*template.Template
	events *broker
	auth   *authState
	typing *throttle

	sink connectors.SinkSlot
	// replica names this process's notices (replicas.go).
	replica string

	closeOnce sync.Once
	closeErr  error
}

var (
	_ connectors.Helpdesk = (*Inbox)(nil)
	_ connectors.Mounter  = (*Inbox)(nil)
	_ io.Closer           = (*Inbox)(nil)
)

// defaultPasswordCommand sets a password of the only inbox of the gateway's default
// configuration (GATEWAY_CONFIG, else the embedded one).
const defaultPasswordCommand = "gateway inbox-password"

// defaultMaxUpload is the attachment limit when Deps leaves it open: the blob store's default.
const defaultMaxUpload = 25 << 20

// New opens (creating and migrating) the inbox database, brings the configured agents in and,
// when no agent exists at all, creates "admin" with a random password printed once to Out.
func New(ctx context.Context, name normalize.InstanceName, cfg Config, deps Deps) (*Inbox, error) {
	if deps.Conversations == nil {
		return nil, fmt.Errorf("inbox %s: no conversation store", name)
	}
	if cfg.Database == "" && deps.Postgres == nil {
		return nil, fmt.Errorf("inbox %s: database path is required", name)
	}
	cfg.Path = strings.TrimSuffix(cfg.Path, "/")
	if cfg.Path == "" {
		cfg.Path = "/inbox"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if deps.MaxUploadBytes <= 0 {
		deps.MaxUploadBytes = defaultMaxUpload
	}
	if deps.Out == nil {
		deps.Out = os.Stderr
	}
	if deps.PasswordCommand == "" {
		deps.PasswordCommand = defaultPasswordCommand
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("inbox %s: %w", name, err)
	}
	var db *database
	if deps.Postgres != nil {
		db, err = sharedDB(ctx, deps.Postgres)
	} else {
		db, err = openDB(ctx, cfg.Database)
	}
	if err != nil {
		return nil, fmt.Errorf("inbox %s: %w", name, err)
	}
	i := &Inbox{name: name, cfg: cfg, deps: deps, log: deps.Log, db: db, now: time.Now,
		pages: pages, events: newBroker(), auth: newAuthState(hashCost(cfg.Agents)), typing: newThrottle(typingInterval),
		replica: connectors.NewReplicaID()}
	if err := i.syncAgents(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("inbox %s: %w", name, err)
	}
	return i, nil
}

// Close ends live event streams and closes the database. It is safe to call more than once.
func (i *Inbox) Close() error {
	i.closeOnce.Do(func() {
		i.events.close()
		i.closeErr = i.db.Close()
	})
	return i.closeErr
}

// Run keeps sink for agent replies until ctx ends, then returns nil. Live event streams are
// ended with it, so a graceful HTTP shutdown is not held up by open browsers.
func (i *Inbox) Run(ctx context.Context, sink connectors.Sink) error {
	if i.deps.Notices != nil {
		defer connectors.Listen(i.deps.Notices, i.noticeTopic(), i.heard)()
	}
	if err := i.sink.Hold(ctx, sink); err != nil {
		return fmt.Errorf("inbox %s: %w", i.name, err)
	}
	i.events.disconnectAll()
	return nil
}

// currentSink returns the sink Run holds, or connectors.ErrNotRunning (start-up, shutdown).
func (i *Inbox) currentSink() (connectors.Sink, error) {
	if sink := i.sink.Sink(); sink != nil {
		return sink, nil
	}
	return nil, connectors.ErrNotRunning
}
