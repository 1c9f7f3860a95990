package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the connector uses from the gateway.
type Deps struct {
	// Blobs serves attachment content behind the signed links and stores the files of agents'
	// replies.
	Blobs connectors.Blobs
	// MaxAttachmentBytes caps the content of one reply's attachments together, and so the body
	// the hook and the API read; 0 means 25 MiB. Give it the blob store's limit.
	MaxAttachmentBytes int64
	// Client sends the events; nil gets one with cfg.Timeout. Its own timeout, if any, still applies.
	Client *http.Client
	// PublicURL is how the operator's system reaches the gateway, for attachment links.
	PublicURL string
	Log       *slog.Logger
	// Now is the clock, replaceable in tests of expiry and skew; nil means time.Now.
	Now func() time.Time
}

// defaultMaxAttachment is the gateway's default attachments.max_bytes.
const defaultMaxAttachment = 25 << 20

// Helpdesk is one signed-webhook helpdesk instance.
type Helpdesk struct {
	name      normalize.InstanceName
	cfg       Config
	secret    []byte
	blobs     connectors.Blobs
	maxAttach int64
	client    *http.Client
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	sink      connectors.SinkSlot // filled while Run runs, for the hook and the API
	// bigReads holds a slot for each unverified hook body over maxBody being read.
	bigReads bigReadSlots
}

var (
	_ connectors.Helpdesk       = (*Helpdesk)(nil)
	_ connectors.WebhookHandler = (*Helpdesk)(nil)
	_ connectors.Mounter        = (*Helpdesk)(nil)
)

// New returns the webhook helpdesk name. It fails on settings Validate would refuse, so a
// hand-built config cannot start a connector that signs with an empty key.
func New(name normalize.InstanceName, cfg Config, d Deps) (*Helpdesk, error) {
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("webhook %s: url is required", name)
	case len(cfg.Secret.Value()) < 16:
		return nil, fmt.Errorf("webhook %s: secret must be at least 16 bytes", name)
	case cfg.APIToken.Value() == "":
		return nil, fmt.Errorf("webhook %s: api_token is required", name)
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: cfg.Timeout}
	}
	// On 301, 302 and 303 a client follows with a GET without the body: the 2xx of whatever
	// answers that GET would mark an event delivered that nobody received. Such a redirect is
	// answered as the 3xx it is (an error the router retries); 307 and 308 resend the event.
	client := *d.Client
	follow := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Method != http.MethodPost {
			return http.ErrUseLastResponse
		}
		if follow != nil {
			return follow(req, via)
		}
		if len(via) >= 10 { // net/http's own limit, which a non-nil CheckRedirect replaces
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	d.Client = &client
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxAttachmentBytes <= 0 {
		d.MaxAttachmentBytes = defaultMaxAttachment
	}
	return &Helpdesk{name: name, cfg: cfg, secret: []byte(cfg.Secret.Value()), blobs: d.Blobs, maxAttach: d.MaxAttachmentBytes, client: d.Client,
		publicURL: strings.TrimSuffix(d.PublicURL, "/"), log: d.Log, now: d.Now}, nil
}

// Run makes the hook and the API accept events for sink until ctx ends, then returns nil.
// Until Run started, and after it returned, they answer 503: nothing would store an event.
func (h *Helpdesk) Run(ctx context.Context, sink connectors.Sink) error {
	if err := h.sink.Hold(ctx, sink); err != nil {
		return fmt.Errorf("webhook %s: %w", h.name, err)
	}
	return nil
}

// Mount serves the API (every event, and bare replies) and the attachment links;
// /hooks/{name} itself is ServeHTTP, mounted by the gateway.
func (h *Helpdesk) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/helpdesks/"+string(h.name)+"/events", h.serveEvents)
	mux.HandleFunc("POST /api/v1/helpdesks/"+string(h.name)+"/replies", h.serveAPI)
	mux.HandleFunc("GET /hooks/"+string(h.name)+"/attachments/{sha}", h.serveAttachment)
}
