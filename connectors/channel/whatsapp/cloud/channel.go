package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
	"github.com/casino-support/gateway/normalize"
)

// Kind is the channel kind of the messages of a whatsapp-cloud instance: its type name, which
// routes match with match.kinds.
const Kind normalize.ChannelKind = "whatsapp-cloud"

// Deps are what the channel uses from the gateway.
type Deps struct {
	// Blobs keeps downloaded media and serves attachments of replies.
	Blobs connectors.Blobs
	// Cursors keeps when each player last wrote, for the 24-hour window across restarts; nil
	// keeps it in memory only.
	Cursors connectors.Cursors
	// Client makes the Graph API requests; nil means one with a 60 s timeout.
	Client *http.Client
	// Metrics registers the channel's refusal counter; nil registers nothing.
	Metrics prometheus.Registerer
	// Log receives the channel's log lines; nil discards them.
	Log *slog.Logger
}

// Channel is one WhatsApp Business phone number on the Cloud API.
type Channel struct {
	name    normalize.InstanceName
	cfg     Config
	graph   *graph
	blobs   connectors.Blobs
	conv    wamsg.Converter
	limiter *wamsg.Limiter
	windows *windows
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time

	sink     connectors.SinkSlot // filled while Run runs
	sent     sentIDs
	progress sendProgress

	// backoff is the first wait after the phone number could not be checked; tests shorten it.
	backoff time.Duration
}

var (
	_ connectors.Channel        = (*Channel)(nil)
	_ connectors.WebhookHandler = (*Channel)(nil)
)

// New returns the Cloud API instance name. cfg must have had its defaults applied. It does
// not contact Meta, so an outage does not stop the gateway from starting; Run checks the
// number and the token.
func New(name normalize.InstanceName, cfg Config, deps Deps) (*Channel, error) {
	if deps.Blobs == nil {
		return nil, fmt.Errorf("whatsapp-cloud %s: Blobs is required", name)
	}
	if cfg.PhoneNumberID == "" || cfg.AccessToken.Value() == "" || cfg.AppSecret.Value() == "" || cfg.VerifyToken.Value() == "" {
		return nil, fmt.Errorf("whatsapp-cloud %s: phone_number_id, access_token, app_secret and verify_token are required", name)
	}
	def := DefaultConfig()
	if cfg.APIURL == "" {
		cfg.APIURL = def.APIURL
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = def.APIVersion
	}
	if cfg.Template.Language == "" {
		cfg.Template.Language = def.Template.Language
	}
	if cfg.RateLimit.GlobalPerSecond <= 0 || cfg.RateLimit.Burst < 1 {
		cfg.RateLimit = def.RateLimit
	}
	base, err := url.Parse(strings.TrimRight(cfg.APIURL, "/") + "/" + cfg.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("whatsapp-cloud %s: api_url: %w", name, err)
	}
	client := deps.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("whatsapp-cloud %s: %w", name, err)
	}
	perChat := rate.Inf
	if cfg.RateLimit.PerChatInterval > 0 {
		perChat = rate.Every(cfg.RateLimit.PerChatInterval)
	}
	c := &Channel{
		name: name, cfg: cfg, blobs: deps.Blobs, log: log, now: time.Now, metrics: m,
		graph:   &graph{base: base, token: cfg.AccessToken.Value(), client: client, now: time.Now},
		limiter: wamsg.NewLimiter(perChat, rate.Limit(cfg.RateLimit.GlobalPerSecond), cfg.RateLimit.Burst),
		backoff: time.Second,
	}
	c.windows = newWindows(name, deps.Cursors, func() time.Time { return c.now() })
	c.conv = wamsg.Converter{Instance: name, Kind: Kind, Blobs: deps.Blobs, Log: log}
	return c, nil
}

// Run holds the sink for the webhook until ctx ends, then returns nil. Meanwhile it asks the
// Graph API for the phone number until it answers, so a wrong phone_number_id or a refused
// token shows in the health details (connectors.HealthSink) with Meta's reason.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	release, err := c.sink.Fill(ctx, sink)
	if err != nil {
		return fmt.Errorf("whatsapp-cloud %s: %w", c.name, err)
	}
	defer release()
	wait := c.backoff
	for {
		pn, err := c.graph.phoneNumber(ctx, c.cfg.PhoneNumberID)
		if err == nil {
			connectors.ReportHealth(sink, c.name, nil)
			c.log.Info("whatsapp-cloud: phone number ready", "number", pn.DisplayPhoneNumber, "name", pn.VerifiedName, "quality", pn.QualityRating)
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		problem := fmt.Errorf("the Graph API refused phone number %s: %w", c.cfg.PhoneNumberID, err)
		if connectors.IsUnauthorized(err) {
			problem = fmt.Errorf("the access token was refused; give the channel a valid system user token with whatsapp_business_messaging: %w", err)
		}
		c.log.Warn("whatsapp-cloud: checking the phone number failed, retrying", "err", problem, "wait", wait)
		connectors.ReportHealth(sink, c.name, problem)
		if !connectors.Sleep(ctx, wait) {
			return nil
		}
		wait = min(2*wait, 5*time.Minute)
	}
	<-ctx.Done()
	return nil
}

// metrics are the channel's own instruments.
type metrics struct {
	refusals *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_whatsapp_webhook_refusals_total",
		Help: "WhatsApp Cloud API webhook requests refused, by channel and reason (signature: a POST not signed with the app secret; verify_token: a verification GET with the wrong token).",
	}, []string{"channel", "reason"})}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.refusals); err != nil {
		are, ok := err.(prometheus.AlreadyRegisteredError)
		if !ok {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
		m.refusals = are.ExistingCollector.(*prometheus.CounterVec)
	}
	return m, nil
}

func (m *metrics) refused(channel normalize.InstanceName, reason string) {
	m.refusals.WithLabelValues(string(channel), reason).Inc()
}
