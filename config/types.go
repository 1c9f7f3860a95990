// Package config owns the gateway's typed configuration: loading YAML with ${ENV} expansion
// and *_file secret references, defaults, and strict validation whose errors name the key path.
package config

import (
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Secret is a credential that never prints; see settings.Secret. Connectors' settings use
// the same type, so the loader treats every secret alike.
type Secret = settings.Secret

// Config is the whole gateway configuration.
type Config struct {
	// Listen is the address of the one HTTP listener (hooks, API, health, metrics, UI).
	Listen string `yaml:"listen"`
	// PublicURL is how players' browsers and remote systems reach Listen; used in links.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the reverse proxies (CIDRs or addresses) whose X-Forwarded-For or
	// Forwarded header names the client. From any other peer these headers are ignored, since
	// anyone can send them; empty (the default) takes every TCP peer as the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// DataDir holds the SQLite database and attachments unless configured elsewhere.
	DataDir         string        `yaml:"data_dir"`
	Log             Log           `yaml:"log"`
	Store           Store         `yaml:"store"`
	Admin           Admin         `yaml:"admin"`
	Attachments     Attachments   `yaml:"attachments"`
	Delivery        Delivery      `yaml:"delivery"`
	SLA             SLA           `yaml:"sla"`
	Retention       Retention     `yaml:"retention"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// ShutdownDelay is how long a gateway told to stop keeps serving, with /readyz answering
	// 503, before it stops taking requests: the time a load balancer needs to see the replica
	// leave and send its traffic to the others. 0 (the default) stops at once.
	ShutdownDelay time.Duration `yaml:"shutdown_delay"`
	Channels      []Channel     `yaml:"channels"`
	Helpdesks     []Helpdesk    `yaml:"helpdesks"`
	// Routes are tried in order; the first match picks the helpdesk of a new conversation.
	Routes []Route `yaml:"routes"`
	// DefaultHelpdesk takes conversations no route matched; required when there are helpdesks.
	DefaultHelpdesk string `yaml:"default_helpdesk"`
	// Language detects the language of each player's message (docs/policy.md).
	Language Language `yaml:"language"`
	// PlayerDirectory looks players up in the operator's CRM (docs/policy.md).
	PlayerDirectory PlayerDirectory `yaml:"player_directory"`
	// DutyOfCare flags players' messages that signal gambling harm (docs/policy.md).
	DutyOfCare DutyOfCare `yaml:"duty_of_care"`
	// Escalation is the webhook called on duty-of-care flags and SLA breaches (docs/policy.md).
	Escalation Escalation `yaml:"escalation"`
	// AutoReplies acknowledge conversations and answer outside business hours (docs/policy.md).
	AutoReplies AutoReplies `yaml:"auto_replies"`

	// catalog is what Parse knew the types by, for Validate's messages.
	catalog Catalog
}

// Log configures log/slog.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json, text
}

// Store selects the database.
type Store struct {
	Driver string `yaml:"driver"` // sqlite (default) or postgres
	// DSN defaults to <data_dir>/gateway.db for sqlite; required for postgres.
	DSN Secret `yaml:"dsn"`
}

// Admin protects /api/v1.
type Admin struct {
	// Token is the bearer token of the admin API; without it the admin API refuses every request.
	Token Secret `yaml:"token"`
}

// Attachments configures the blob store.
type Attachments struct {
	Dir      string `yaml:"dir"`       // default <data_dir>/blobs
	MaxBytes int64  `yaml:"max_bytes"` // default 25 MiB
	// QuotaBytes caps the stored content as a whole (identical files count once); a file that
	// would pass it is refused as "storage full". 0 sets no cap. Default 10 GiB.
	QuotaBytes int64 `yaml:"quota_bytes"`
}

// Retention says how long the gateway keeps what players and agents sent. 0 keeps forever.
type Retention struct {
	// ClosedConversations is how long a closed conversation is kept once nothing happens in
	// it, with its messages; one with anything undelivered is kept. Default 365 days.
	ClosedConversations time.Duration `yaml:"closed_conversations"`
	// Attachments is how long a file is kept after the message that carried it; the message
	// stays. Default 90 days.
	Attachments time.Duration `yaml:"attachments"`
}

// Delivery tunes the delivery workers.
type Delivery struct {
	Workers     int           `yaml:"workers"`      // conversations delivered to helpdesks at once, default 16
	MaxAttempts int           `yaml:"max_attempts"` // failed attempts before a dead letter, default 12
	BackoffBase time.Duration `yaml:"backoff_base"` // first retry delay, default 1s
	BackoffMax  time.Duration `yaml:"backoff_max"`  // cap of the retry delay, default 10m
	BatchSize   int           `yaml:"batch_size"`   // messages handed to a helpdesk at once, default 50
	Lease       time.Duration `yaml:"lease"`        // how long a claimed conversation stays claimed, default 2m
	// OutboundWorkers deliver agents' replies to the channels, apart from Workers, so that a
	// slow channel never holds the workers players' messages need. Default 8.
	OutboundWorkers int `yaml:"outbound_workers"`
}

// SLA sets the support policy's response targets.
type SLA struct {
	FirstResponse FirstResponse `yaml:"first_response"`
	// NextResponse is the same for each answer after an agent's first: the clock restarts at
	// the player's next message. 0 sets no target.
	NextResponse FirstResponse `yaml:"next_response"`
	// Tiers set the targets from a VIP tier on, in place of the vip keys (config/sla.go).
	Tiers []SLATier `yaml:"tiers"`
	// BusinessHours, when set, counts the targets only in these hours; a route's sla_hours
	// replaces it for the conversations the route takes.
	BusinessHours *Hours `yaml:"business_hours"`
	// NearBreach is the near-breach point: "80%" of the target, or a duration before it runs
	// out ("10m"). "" (the default) marks none.
	NearBreach string `yaml:"near_breach"`
	// NearBreachPriority and BreachPriority raise the conversation to at least them when the
	// point passes; "" (the default) leaves the priority. Either also tags the conversation
	// sla-near-breach or sla-breached.
	NearBreachPriority string `yaml:"near_breach_priority"`
	BreachPriority     string `yaml:"breach_priority"`
	// Complex is the escalation of cases flagged complex.
	Complex Complex `yaml:"complex"`
	// UrgentCallbackVIP is the VIP tier from which a player's call-back request (from the
	// phone menu, the web chat, Telegram) makes the conversation urgent; below it a call-back
	// request makes it high. 0 makes none urgent. Default 1: every VIP's.
	UrgentCallbackVIP int `yaml:"urgent_callback_vip"`
}

// FirstResponse is how long a player may wait for an agent's answer, per kind of channel,
// before the conversation's helpdesk is told the target was missed. 0 sets no target.
type FirstResponse struct {
	Chat  time.Duration `yaml:"chat"`  // web chat, Telegram, WhatsApp; default 5m
	Email time.Duration `yaml:"email"` // default 2h
	Voice time.Duration `yaml:"voice"` // voicemail and call-back requests; default 1h
	// VIP, when set and shorter than the channel's target, applies to players with a VIP tier.
	VIP time.Duration `yaml:"vip"`
}

// Channel is one player-facing channel instance. Name and Type are common; the settings of the
// type sit beside them in the same YAML mapping and are decoded into Settings, which the
// catalog's constructor for Type made (the connector package's own settings type). Settings
// is nil when Type is missing or unknown.
type Channel struct {
	Name     string            `yaml:"name"`
	Type     string            `yaml:"type"`
	Settings settings.Settings `yaml:"-"`
}

// Helpdesk is one ticket-system instance, laid out like Channel.
type Helpdesk struct {
	Name     string            `yaml:"name"`
	Type     string            `yaml:"type"`
	Settings settings.Settings `yaml:"-"`
}

// Route matches messages on every condition given; the first route that matches decides
// the helpdesk of a new conversation and the group, priority, tags and assignee it gets.
type Route struct {
	Name     string   `yaml:"name"` // shown by gateway route --explain
	Match    Match    `yaml:"match"`
	Helpdesk string   `yaml:"helpdesk"`
	Group    string   `yaml:"group"`    // helpdesk group or queue, sent as the tag "group:<name>"
	Priority string   `yaml:"priority"` // low, normal, high, urgent: the conversation gets at least it
	Tags     []string `yaml:"tags"`
	// Assignee "personal_manager" assigns the conversation to the player's personal manager
	// from the player directory.
	Assignee string `yaml:"assignee"`
	// SLAHours counts the response targets of the conversations this route takes in these
	// business hours, in place of sla.business_hours.
	SLAHours *Hours `yaml:"sla_hours"`
	// Complex flags the conversations this route matches as complex cases (sla.complex).
	Complex bool `yaml:"complex"`
	// Bot, when set, has the FAQ bot answer the conversations this route opens before the
	// helpdesk sees them (router/faqbot, docs/policy.md "The FAQ bot").
	Bot *RouteBot `yaml:"bot"`
}

// RouteBot is a route's FAQ bot.
type RouteBot struct {
	// Knowledge is the knowledge file; a relative path is read from the config file's
	// directory. Required.
	Knowledge string `yaml:"knowledge"`
	// Threshold is the lowest match score (0..1) the bot answers at; default 0.5.
	Threshold float64 `yaml:"threshold"`
	// Quiet is how long a player's silence after an answer resolves the conversation;
	// default 10m.
	Quiet time.Duration `yaml:"quiet"`
	// MaxUnanswered turns in a row hand the conversation off; default 2.
	MaxUnanswered int `yaml:"max_unanswered"`
	// AfterResolved: "bot" (default) answers a player writing again after a resolution,
	// "handoff" hands them to a person at once.
	AfterResolved string `yaml:"after_resolved"`
}

// Match lists conditions; an empty list matches anything.
type Match struct {
	Channels        []string `yaml:"channels"`         // channel instance names
	Kinds           []string `yaml:"kinds"`            // channel types
	Languages       []string `yaml:"languages"`        // language tags; "de" also matches "de-AT"
	MinVIP          int      `yaml:"min_vip"`          // VIP tier at least
	Keywords        []string `yaml:"keywords"`         // any of them in the text, case-insensitive
	Patterns        []string `yaml:"patterns"`         // Go regular expressions, any matching the text
	Countries       []string `yaml:"countries"`        // ISO 3166-1 alpha-2, from the player directory
	AccountStatuses []string `yaml:"account_statuses"` // the directory's account_status
	KYCStatuses     []string `yaml:"kyc_statuses"`     // the directory's kyc_status
	Player          string   `yaml:"player"`           // "new" or "returning" on the channel address
	Hours           *Hours   `yaml:"hours"`            // in these business hours
	OutOfHours      bool     `yaml:"out_of_hours"`     // with hours: outside them instead
}

// Hours is a business-hours calendar: weekly hours in a time zone, less holidays.
type Hours struct {
	Timezone string   `yaml:"timezone"` // IANA zone, "Europe/Bucharest"
	Weekly   []string `yaml:"weekly"`   // "mon-fri 09:00-18:00"
	Holidays []string `yaml:"holidays"` // "2026-12-25"
}

// Language configures the detection of each player's message's language.
type Language struct {
	// Detect lists the ISO 639-1 codes of the languages players write in ("en", "ro"); each
	// message's language is detected among them, short texts take the channel's hint when it
	// is one of them, and the conversation keeps its language otherwise. Empty (the default)
	// detects nothing: the channels' hints go through as they come.
	Detect []string `yaml:"detect"`
	// MinLetters is how many letters a text needs to be detected; shorter ones take the
	// channel's hint. Default 20.
	MinLetters int `yaml:"min_letters"`
	// Accuracy is low (the default: about 30 MB of memory for ten languages) or high (a little
	// surer on short texts, about 300 MB more).
	Accuracy string `yaml:"accuracy"`
}

// PlayerDirectory is where the gateway looks players up: an HTTP hook (URL, signed with
// Secret like the webhook helpdesk) or a YAML file; neither (the default) looks nothing up.
type PlayerDirectory struct {
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"`
	File   string `yaml:"file"`
	// Budget is the longest a player's message waits for the directory; default 300ms.
	Budget time.Duration `yaml:"budget"`
	// Timeout bounds one request to URL, which goes on after the budget to fill the cache;
	// default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// CacheTTL is how long a found player is remembered; default 10m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// NegativeTTL is how long an unknown player, or a failure, is remembered; default 1m.
	NegativeTTL time.Duration `yaml:"negative_ttl"`
}
