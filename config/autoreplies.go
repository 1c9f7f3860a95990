package config

import (
	"fmt"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// AutoReplies are the gateway's own replies to players (docs/policy.md, "Auto-replies"): an
// acknowledgement per conversation and a notice outside business hours. Without rules (the
// default) none is sent: an upgrade never starts writing to players on its own.
type AutoReplies struct {
	// Wait is how long the acknowledgement waits for the helpdesk's ticket reference before
	// it goes without one; default 30s.
	Wait time.Duration `yaml:"wait"`
	// Hours is the business-hours calendar of the out-of-hours notice, for rules without one.
	Hours *Hours `yaml:"hours"`
	// Rules are tried in order; the first matching a conversation's channel type and VIP tier
	// decides which replies it gets.
	Rules []AutoReplyRule `yaml:"rules"`
	// Texts override the built-in texts (en, ro, ru, sv, de, es, pt, it, fr, tr) by language,
	// text by text; another language needs all three.
	Texts map[string]AutoReplyTexts `yaml:"texts"`
}

// AutoReplyRule says which auto-replies the players of some channel types and VIP tiers get.
type AutoReplyRule struct {
	Kinds           []string `yaml:"kinds"`           // channel types; empty is any
	MinVIP          int      `yaml:"min_vip"`         // lowest VIP tier; 0 is any player
	Acknowledgement bool     `yaml:"acknowledgement"` // once per conversation
	OutOfHours      bool     `yaml:"out_of_hours"`    // outside Hours, once per closed period
	Hours           *Hours   `yaml:"hours"`           // default auto_replies.hours
}

// AutoReplyTexts are the auto-replies in one language; {ticket} and {opens} are filled in.
type AutoReplyTexts struct {
	Acknowledgement       string `yaml:"acknowledgement"`
	AcknowledgementTicket string `yaml:"acknowledgement_ticket"` // must hold {ticket}
	OutOfHours            string `yaml:"out_of_hours"`           // must hold {opens}
}

// validate checks what config/ can; the calendars and the texts' placeholders are checked
// where they are used (router/calendar, router/autoreply), under the same key paths.
func (a *AutoReplies) validate(p *problems, cat Catalog) {
	if a.Wait < 0 {
		p.add("auto_replies.wait", "must not be negative (0 is the default, 30s)")
	}
	for i, r := range a.Rules {
		path := fmt.Sprintf("auto_replies.rules[%d]", i)
		for j, kind := range r.Kinds {
			if _, ok := cat.Channels[kind]; !ok {
				p.add(fmt.Sprintf("%s.kinds[%d]", path, j), fmt.Sprintf("unknown channel type %q (known: %s)", kind, typeNames(cat.Channels)))
			}
		}
		if r.MinVIP < 0 {
			p.add(path+".min_vip", fmt.Sprintf("must not be negative, got %d", r.MinVIP))
		}
		if r.OutOfHours && r.Hours == nil && a.Hours == nil {
			p.add(path+".hours", "required with out_of_hours when auto_replies.hours is not set")
		}
	}
	for lang := range a.Texts {
		if !settings.LanguageTag(lang) {
			p.add("auto_replies.texts", fmt.Sprintf("want language tags such as \"ro\" or \"pt-BR\" as keys, got %s", quote(lang)))
		}
	}
}
