package voice

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/phone"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the channel uses from the gateway.
type Deps struct {
	// Blobs keeps the voicemails' audio.
	Blobs connectors.Blobs
	// Records keeps the voicemails under way (a recording not fetched yet, a transcript
	// that came before its recording) durably, so a crash loses none, and the calls' notes.
	// Required.
	Records connectors.Records
	// Cursors holds what an older version kept there: its list of voicemails under way, moved
	// into Records on the first start. Required.
	Cursors connectors.Cursors
	// Client makes the provider's REST requests; nil means one with a 60 s timeout.
	Client *http.Client
	// PublicURL is the gateway's public base URL; hook_url defaults to it + /hooks/{name}.
	PublicURL string
	// Log receives the channel's log lines; nil discards them.
	Log *slog.Logger
	// Metrics registers gateway_voice_rejected_total; nil counts without exporting.
	Metrics prometheus.Registerer
}

// Channel is one support phone line.
type Channel struct {
	name    normalize.InstanceName
	cfg     Config
	hookURL *url.URL
	// ctxKey signs the call context the channel puts into its callback URLs, which Vonage's
	// webhook signature does not cover.
	ctxKey []byte

	numbers  map[string]numberLine // by E.164
	vips     map[string]vip        // by E.164
	prefixes map[string]string     // caller prefix → language

	blobs   connectors.Blobs
	records connectors.Records
	cursors connectors.Cursors
	client  *http.Client
	log     *slog.Logger
	// rejected counts callbacks refused for a bad signature.
	rejected prometheus.Counter
	// vonageKey signs the application JWT (provider vonage).
	vonageKey *rsa.PrivateKey

	sink connectors.SinkSlot
	kick chan struct{}
	now  func() time.Time

	// timing, shortened by tests.
	sweep       time.Duration // how often pending records are looked at without a kick
	retryBase   time.Duration // the first wait after a failed download
	endGrace    time.Duration // how long a finished call waits for its voicemail before it counts as abandoned
	maxAttempts int           // downloads tried before the voicemail goes without its audio
}

// numberLine is one called number's settings, parsed.
type numberLine struct {
	language string
	hours    hours
	menu     bool
}

// vip is one VIP player's settings, parsed.
type vip struct {
	tier      int
	playerID  string
	forwardTo string
}

var (
	_ connectors.Channel        = (*Channel)(nil)
	_ connectors.WebhookHandler = (*Channel)(nil)
	_ connectors.Mounter        = (*Channel)(nil)
)

// New returns the voice line name. cfg must have had the defaults applied and be valid. It
// contacts no provider.
func New(name normalize.InstanceName, cfg Config, deps Deps) (*Channel, error) {
	if deps.Blobs == nil || deps.Records == nil || deps.Cursors == nil {
		return nil, fmt.Errorf("voice %s: Blobs, Records and Cursors are required", name)
	}
	hook := cfg.HookURL
	if hook == "" {
		if deps.PublicURL == "" {
			return nil, fmt.Errorf("voice %s: hook_url or the gateway's public_url is required: the provider signs the URL it calls", name)
		}
		hook = strings.TrimRight(deps.PublicURL, "/") + "/hooks/" + string(name)
	}
	hookURL, err := url.Parse(strings.TrimRight(hook, "/"))
	if err != nil || hookURL.Host == "" {
		return nil, fmt.Errorf("voice %s: hook URL %q is not an absolute URL", name, hook)
	}
	c := &Channel{name: name, cfg: cfg, hookURL: hookURL, blobs: deps.Blobs, records: deps.Records, cursors: deps.Cursors,
		client: deps.Client, log: deps.Log, kick: make(chan struct{}, 1), now: time.Now,
		numbers: map[string]numberLine{}, vips: map[string]vip{}, prefixes: builtinPrefixes(),
		sweep: 5 * time.Second, retryBase: 2 * time.Second, endGrace: 2 * time.Minute, maxAttempts: 10}
	if c.client == nil {
		c.client = &http.Client{Timeout: 60 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch cfg.Provider {
	case "twilio":
		if cfg.Twilio.AuthToken.Value() == "" || cfg.Twilio.AccountSID == "" {
			return nil, fmt.Errorf("voice %s: twilio.account_sid and twilio.auth_token are required", name)
		}
		c.ctxKey = []byte("call-context:" + cfg.Twilio.AuthToken.Value())
	case "vonage":
		if cfg.Vonage.SignatureSecret.Value() == "" {
			return nil, fmt.Errorf("voice %s: vonage.signature_secret is required", name)
		}
		if c.vonageKey, err = parsePrivateKey(cfg.Vonage.PrivateKey.Value()); err != nil {
			return nil, fmt.Errorf("voice %s: vonage.private_key: %w", name, err)
		}
		c.ctxKey = []byte("call-context:" + cfg.Vonage.SignatureSecret.Value())
	default:
		return nil, fmt.Errorf("voice %s: unknown provider %q", name, cfg.Provider)
	}
	for _, n := range cfg.Numbers {
		number, err := phone.E164(n.Number, cfg.DefaultRegion)
		if err != nil {
			return nil, fmt.Errorf("voice %s: numbers: %w", name, err)
		}
		h, err := newHours(n.Hours, n.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("voice %s: hours of %s: %w", name, number, err)
		}
		c.numbers[number] = numberLine{language: n.Language, hours: h, menu: n.Menu}
	}
	for _, v := range cfg.VIP {
		number, err := phone.E164(v.Number, cfg.DefaultRegion)
		if err != nil {
			return nil, fmt.Errorf("voice %s: vip: %w", name, err)
		}
		entry := vip{tier: max(v.Tier, 1), playerID: v.PlayerID}
		if v.ForwardTo != "" {
			if entry.forwardTo, err = phone.E164(v.ForwardTo, cfg.DefaultRegion); err != nil {
				return nil, fmt.Errorf("voice %s: vip forward_to: %w", name, err)
			}
		}
		c.vips[number] = entry
	}
	for prefix, lang := range cfg.LanguagePrefixes {
		c.prefixes[prefix] = lang
	}
	if c.rejected, err = newRejectedCounter(deps.Metrics, name); err != nil {
		return nil, fmt.Errorf("voice %s: %w", name, err)
	}
	return c, nil
}

// Run holds the sink for the webhooks and settles the voicemails under way (fetching their
// audio, waiting for their transcripts) until ctx ends; then it returns nil.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	release, err := c.sink.Fill(ctx, sink)
	if err != nil {
		return fmt.Errorf("voice %s: %w", c.name, err)
	}
	defer release()
	connectors.ReportHealth(sink, c.name, nil)
	// The webhooks (served while the sink is held) run on every replica, each callback
	// storing its own record; the loop that settles them runs on one at a time, as two would
	// download and deliver the same voicemails (docs/voice.md).
	return connectors.RunSingleton(ctx, sink, c.name, "voice/"+string(c.name), func(ctx context.Context) error {
		c.settleLoop(ctx, sink)
		return nil
	})
}

// Mount claims the callbacks' paths below /hooks/{name}/; the incoming-call webhook itself
// is /hooks/{name}, which the gateway routes to ServeHTTP.
func (c *Channel) Mount(mux *http.ServeMux) {
	mux.Handle("/hooks/"+string(c.name)+"/", c)
}

// ServeHTTP answers the provider's webhooks: the incoming call at /hooks/{name} and the
// callbacks below it. Every request's signature is checked first; a request that fails
// gets 403 and nothing of it is stored.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sub, ok := strings.CutPrefix(r.URL.Path, "/hooks/"+string(c.name))
	if !ok {
		http.NotFound(w, r)
		return
	}
	if c.cfg.Provider == "vonage" {
		c.serveVonage(w, r, sub)
		return
	}
	c.serveTwilio(w, r, sub)
}

// reject answers 403 to a request whose signature failed, logging and counting it.
func (c *Channel) reject(w http.ResponseWriter, r *http.Request, err error) {
	c.rejected.Inc()
	c.log.Warn("voice: callback refused: signature check failed", "path", r.URL.Path, "err", err)
	http.Error(w, "signature check failed", http.StatusForbidden)
}

// answerStored answers a callback whose content was (err nil) or was not stored durably.
func (c *Channel) answerStored(w http.ResponseWriter, err error) {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if errors.Is(err, errBadRequest) { // sending it again cannot help
		c.log.Warn("voice: callback refused", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status, reason := connectors.HookAnswer(w, err, c.log)
	http.Error(w, reason, status)
}

// errBadRequest marks callbacks that lack what they must carry.
var errBadRequest = errors.New("malformed callback")

// caller is what the channel knows of a call when it answers it or one of its callbacks.
type caller struct {
	call    string // the provider's call ID
	from    string // E.164, or the provider's raw caller ID when it is none ("anonymous")
	to      string // the called number, E.164 when valid
	lang    string // the greeting's language, also the player's
	inHours bool
	line    numberLine
	vip     *vip
}

// identify works out who calls whom and what they hear.
func (c *Channel) identify(callID, rawFrom, rawTo string) caller {
	k := caller{call: callID, from: rawFrom, to: rawTo}
	if e, err := phone.E164(rawFrom, c.cfg.DefaultRegion); err == nil {
		k.from = e
	}
	if e, err := phone.E164(rawTo, c.cfg.DefaultRegion); err == nil {
		k.to = e
	}
	k.line = c.numbers[k.to]
	if k.line.hours.loc == nil {
		k.line.hours = hours{loc: time.UTC}
	}
	k.inHours = k.line.hours.open(c.now())
	if v, ok := c.vips[k.from]; ok {
		k.vip = &v
	}
	k.lang = k.line.language
	if k.lang == "" {
		k.lang = c.languageOf(k.from)
	}
	return k
}

// languageOf picks a caller's language by the longest matching number prefix.
func (c *Channel) languageOf(from string) string {
	best, lang := 0, c.cfg.DefaultLanguage
	for prefix, l := range c.prefixes {
		if len(prefix) > best && phone.HasPrefix(from, prefix) {
			best, lang = len(prefix), l
		}
	}
	return lang
}

// address is the conversation address of a caller: the E.164 number, which the WhatsApp
// channel uses too, or for a caller without a number a conversation per call.
func address(from, call string) normalize.Address {
	if strings.HasPrefix(from, "+") {
		if _, err := phone.E164(from, ""); err == nil {
			return normalize.Address(from)
		}
	}
	return normalize.Address("anonymous:" + call)
}

// newRejectedCounter returns gateway_voice_rejected_total for the line name, registered with
// reg (nil: counted but not exported); every voice line shares the one counter.
func newRejectedCounter(reg prometheus.Registerer, name normalize.InstanceName) (prometheus.Counter, error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_voice_rejected_total",
		Help: "Voice callbacks refused because their signature did not verify, by channel instance."}, []string{"channel"})
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register gateway_voice_rejected_total: %w", err)
			}
			if vec, ok = are.ExistingCollector.(*prometheus.CounterVec); !ok {
				return nil, fmt.Errorf("register gateway_voice_rejected_total: taken by a %T", are.ExistingCollector)
			}
		}
	}
	return vec.WithLabelValues(string(name)), nil
}
