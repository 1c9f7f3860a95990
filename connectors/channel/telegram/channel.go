package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/linktoken"
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
	// Metrics registers the count of refused /start deep links
	// (gateway_player_token_refused_total); nil counts without exporting.
	Metrics prometheus.Registerer
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

	sink connectors.SinkSlot // filled while Run runs: webhook updates and blocked-bot notes

	// playerSecret verifies /start payloads; nil when player_secret is not set.
	playerSecret []byte
	identities   *identities
	// startRefused counts and logs the deep links refused (forged, expired, malformed).
	startRefused *linktoken.Refusals
	now          func() time.Time

	global   *rate.Limiter
	perChat  *chatLimiters
	progress *sendProgress

	// backoff is the first wait after a failed poll or delivery; tests shorten it.
	backoff time.Duration
}

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
	startRefused, err := linktoken.NewRefusals(deps.Metrics, name)
	if err != nil {
		return nil, fmt.Errorf("telegram %s: %w", name, err)
	}
	return &Channel{
		playerSecret: playerSecret, identities: newIdentities(), now: time.Now, startRefused: startRefused,
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

// Run receives updates until ctx ends, then returns nil. A token Telegram rejects does not
// end it: the channel reports the problem to the sink's health (connectors.HealthSink) and
// asks again with back-off, so a token fixed or re-enabled at BotFather is picked up without
// a restart, and the gateway's other connectors go on meanwhile.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	release, err := c.sink.Fill(ctx, sink)
	if err != nil {
		return fmt.Errorf("telegram %s: %w", c.name, err)
	}
	defer release()
	me, ok := c.checkToken(ctx, sink)
	if !ok {
		return nil // ctx ended
	}
	c.log.Info("telegram: bot ready", "bot", me.UserName, "mode", c.cfg.Mode)
	if c.cfg.Mode == "webhook" {
		return c.runWebhook(ctx, sink)
	}
	// Telegram answers a second concurrent getUpdates of one bot 409 Conflict: one replica
	// at a time polls, by the bot's ID (the token's part before ':', no secret), so that two
	// instances of one bot exclude each other too. Webhook mode runs on every replica.
	return connectors.RunSingleton(ctx, sink, c.name, "telegram/"+strconv.FormatInt(me.ID, 10), func(ctx context.Context) error {
		return c.poll(ctx, sink)
	})
}

// checkToken calls getMe until it answers or ctx ends (ok false). Until then, the channel is
// reported unhealthy with the reason.
func (c *Channel) checkToken(ctx context.Context, sink connectors.Sink) (me tgbotapi.User, ok bool) {
	wait := c.backoff
	for {
		me, err := c.api(ctx, c.client).GetMe()
		if err == nil {
			c.healthy(sink)
			return me, true
		}
		if ctx.Err() != nil {
			return me, false
		}
		c.unhealthy(sink, "getMe", err, wait)
		if !connectors.Sleep(ctx, wait) {
			return me, false
		}
		wait = nextBackoff(wait)
	}
}

// healthy tells the sink that Telegram answers the bot.
func (c *Channel) healthy(sink connectors.Sink) {
	connectors.ReportHealth(sink, c.name, nil)
}

// unhealthy tells the sink, and the log, why a Bot API call failed; the caller retries after
// wait. A rejected token is said in words the operator acts on.
func (c *Channel) unhealthy(sink connectors.Sink, method string, err error, wait time.Duration) {
	err = c.redact(err)
	problem := fmt.Errorf("%s failed: %w", method, err)
	if code, _ := apiError(nil, err); code == http.StatusUnauthorized {
		problem = fmt.Errorf("%s: the bot token was rejected (401); check the channel's token at @BotFather: %w", method, connectors.ErrUnauthorized)
	}
	c.log.Warn("telegram: Bot API call failed, retrying", "method", method, "err", problem, "wait", wait)
	connectors.ReportHealth(sink, c.name, problem)
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
