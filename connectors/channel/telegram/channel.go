package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// Deps are what the channel uses from the gateway.
type Deps struct {
	// Blobs keeps downloaded files and serves attachments of replies.
	Blobs connectors.Blobs
	// Client makes the Bot API requests; nil means a client with a 60 s timeout. Long polls
	// run on a copy without its timeout, bounded by poll_timeout instead.
	Client *http.Client
	// PublicURL is the gateway's public base URL; webhook mode registers
	// PublicURL + "/hooks/" + name with Telegram.
	PublicURL string
	// Log receives the channel's log lines; nil discards them.
	Log *slog.Logger
}

// Channel is one Telegram bot instance.
type Channel struct {
	name      normalize.InstanceName
	cfg       Config
	token     string
	apiURL    string // without trailing slash
	blobs     connectors.Blobs
	client    *http.Client
	publicURL string
	log       *slog.Logger

	sink atomic.Pointer[sinkBox] // set while Run runs: webhook updates and blocked-bot notes

	// playerSecret verifies /start payloads; nil when player_secret is not set.
	playerSecret []byte
	identities   *identities
	now          func() time.Time

	global   *rate.Limiter
	perChat  *chatLimiters
	progress *sendProgress

	// backoff is the first wait after a failed poll or delivery; tests shorten it.
	backoff time.Duration
}

// sinkBox lets an interface live in an atomic.Pointer.
type sinkBox struct{ sink connectors.Sink }

var (
	_ connectors.Channel        = (*Channel)(nil)
	_ connectors.WebhookHandler = (*Channel)(nil)
	_ connectors.Typer          = (*Channel)(nil)
)

// New returns the Telegram instance name. cfg must have had config's defaults applied. It
// does not contact Telegram, so an outage does not stop the gateway from starting; Run checks
// the token.
func New(name normalize.InstanceName, cfg Config, deps Deps) (*Channel, error) {
	if deps.Blobs == nil {
		return nil, fmt.Errorf("telegram %s: Blobs is required", name)
	}
	if cfg.Token.Value() == "" {
		return nil, fmt.Errorf("telegram %s: token is required", name)
	}
	if cfg.Mode == "webhook" && (deps.PublicURL == "" || cfg.WebhookSecret.Value() == "") {
		return nil, fmt.Errorf("telegram %s: webhook mode needs public_url and webhook_secret", name)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.telegram.org"
	}
	client := deps.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var playerSecret []byte
	if p := cfg.PlayerSecret.Value(); p != "" {
		playerSecret = []byte(p)
	}
	return &Channel{
		playerSecret: playerSecret, identities: newIdentities(), now: time.Now,
		name: name, cfg: cfg, token: cfg.Token.Value(), apiURL: strings.TrimRight(cfg.APIURL, "/"),
		blobs: deps.Blobs, client: client, publicURL: strings.TrimRight(deps.PublicURL, "/"), log: log,
		global:   rate.NewLimiter(30, 30),
		perChat:  newChatLimiters(1, 1),
		progress: newSendProgress(),
		backoff:  time.Second,
	}, nil
}

// api returns a Bot API client whose requests end with ctx. The library's requests carry no
// context, so each call gets a cheap BotAPI over a client that adds it; building the struct
// directly also skips NewBotAPIWithClient's getMe on every call.
func (c *Channel) api(ctx context.Context, client *http.Client) *tgbotapi.BotAPI {
	bot := &tgbotapi.BotAPI{Token: c.token, Client: ctxDoer{ctx: ctx, client: client}, Buffer: 100}
	bot.SetAPIEndpoint(c.apiURL + "/bot%s/%s")
	return bot
}

// ctxDoer adds a context to the library's context-free requests.
type ctxDoer struct {
	ctx    context.Context
	client *http.Client
}

func (d ctxDoer) Do(req *http.Request) (*http.Response, error) {
	return d.client.Do(req.WithContext(d.ctx))
}

// Run receives updates until ctx ends. It returns an error only when Telegram rejects the
// token.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	c.sink.Store(&sinkBox{sink: sink})
	defer c.sink.Store(nil)
	me, err := c.checkToken(ctx)
	if err != nil {
		return err
	}
	c.log.Info("telegram: bot ready", "bot", me.UserName, "mode", c.cfg.Mode)
	if c.cfg.Mode == "webhook" {
		return c.runWebhook(ctx)
	}
	return c.poll(ctx, sink)
}

// checkToken calls getMe until it answers, so a network outage at start only delays Run while
// a rejected token ends it.
func (c *Channel) checkToken(ctx context.Context) (tgbotapi.User, error) {
	wait := c.backoff
	for {
		me, err := c.api(ctx, c.client).GetMe()
		if err == nil {
			return me, nil
		}
		if code, _ := apiError(nil, err); code == http.StatusUnauthorized {
			return me, fmt.Errorf("telegram %s: the bot token was rejected (401): check token", c.name)
		}
		c.log.Warn("telegram: getMe failed, retrying", "err", c.redact(err), "wait", wait)
		if !sleep(ctx, wait) {
			return me, nil // ctx ended: Run returns nil below
		}
		wait = nextBackoff(wait)
	}
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// nextBackoff doubles d up to 30 s.
func nextBackoff(d time.Duration) time.Duration {
	return min(2*d, 30*time.Second)
}

// apiError returns the Bot API's error code and retry_after of err. The library leaves Code
// zero on upload errors, so the response's error_code fills it in when resp is given.
func apiError(resp *tgbotapi.APIResponse, err error) (code, retryAfter int) {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		return 0, 0
	}
	code = te.Code
	if code == 0 && resp != nil {
		code = resp.ErrorCode
	}
	if code == 0 && te.RetryAfter > 0 {
		code = http.StatusTooManyRequests
	}
	return code, te.RetryAfter
}
