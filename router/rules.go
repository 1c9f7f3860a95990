package router

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/calendar"
	"github.com/casino-support/gateway/router/store"
)

// Rule matches messages on every non-empty condition and says what becomes of their
// conversation: the helpdesk that takes it (on the message that opens it), and the group,
// priority, tags and assignee it gets (on every message, the store only adding to them).
type Rule struct {
	// Name identifies the rule in --explain and logs; the config's index when empty.
	Name      string
	Channels  []normalize.InstanceName
	Kinds     []normalize.ChannelKind
	Languages []string // "de" matches "de" and "de-AT"
	MinVIP    int
	Keywords  []string // any of them in the text, case-insensitive
	// Patterns match when any of them finds the text; compiled when the config loads.
	Patterns []*regexp.Regexp
	// Countries are ISO 3166-1 alpha-2 codes, from the player directory; case-insensitive.
	Countries []string
	// AccountStatuses and KYCStatuses are the player directory's account_status and
	// kyc_status values that match.
	AccountStatuses []string
	KYCStatuses     []string
	// Player is PlayerNew or PlayerReturning; empty matches both.
	Player PlayerHistory
	// Hours matches a message written in its business hours, or outside them with
	// OutOfHours.
	Hours      *calendar.Calendar
	OutOfHours bool

	Helpdesk normalize.InstanceName
	// Group is the helpdesk group or queue that takes the conversation; it travels as the
	// tag "group:<name>", which the helpdesk's own rules map to a group.
	Group string
	// Priority, when set, raises the conversation to at least it.
	Priority normalize.Priority
	Tags     []string
	// AssignManager assigns the conversation to the player's personal manager, when the
	// directory names one.
	AssignManager bool
	// Bot names the FAQ bot (router/faqbot) that answers a conversation this rule opens
	// before the helpdesk sees it; "" for none.
	Bot string
	// SLAHours, when set, counts the response targets of the conversations this rule decides
	// in its business hours, in place of the SLA's own calendar.
	SLAHours *calendar.Calendar
	// Complex flags the conversation a complex case (router/sla.go).
	Complex bool
}

// PlayerHistory tells a player the store has never seen on a channel address from one it has.
type PlayerHistory string

const (
	PlayerNew       PlayerHistory = "new"
	PlayerReturning PlayerHistory = "returning"
)

// Rules are the operator's routing policy: List is tried in order and the first rule that
// matches decides (else Default takes the conversation), SLA sets the first-response targets.
type Rules struct {
	List    []Rule
	Default normalize.InstanceName
	SLA     SLA
	// UrgentCallbackVIP is the VIP tier from which a player's call-back request makes their
	// conversation urgent; below it (and for players without a tier) it makes it high. 0
	// makes none urgent.
	UrgentCallbackVIP int
}

// Facts are what the rules look at: the message (its author completed with what the player
// directory and the store know) and when it is written.
type Facts struct {
	Message normalize.Message
	Now     time.Time
}

// Decision is what the policy says about one message.
type Decision struct {
	Rule     int // index of the rule that matched, -1 for the default
	Helpdesk normalize.InstanceName
	Priority normalize.Priority
	Tags     []string
	Assignee *normalize.Agent
	Bot      string // the FAQ bot of the rule, see Rule.Bot

	// SLAHours and Complex are the rule's, see Rule.
	SLAHours *calendar.Calendar
	Complex  bool
}

// Trial is one rule tried on a message: whether it matched, and if not the condition that
// failed.
type Trial struct {
	Rule    int
	Name    string
	Matched bool
	Failed  string
}

// Pick returns the helpdesk for a conversation that first opens with m.
func (rs Rules) Pick(m normalize.Message) normalize.InstanceName {
	return rs.Decide(Facts{Message: m, Now: time.Now()}).Helpdesk
}

// Decide applies the first rule that matches f, on top of the VIP and call-back priority.
func (rs Rules) Decide(f Facts) Decision {
	return rs.decide(&f, nil)
}

// Explain tries the rules on f in order up to the first that matches, and returns each trial
// with the decision.
func (rs Rules) Explain(f Facts) ([]Trial, Decision) {
	var trials []Trial
	d := rs.decide(&f, &trials)
	return trials, d
}

// decide is Decide, appending each rule's trial to trials when they are asked for: the words of
// every failed condition of every rule were most of routing's cost per message (23
// allocations with five rules, in the store's writer; issue 16).
func (rs Rules) decide(f *Facts, trials *[]Trial) Decision {
	p, tags := rs.priorityFor(f.Message)
	d := Decision{Rule: -1, Helpdesk: rs.Default, Priority: p, Tags: tags}
	for i := range rs.List {
		r := &rs.List[i]
		failed := r.failed(f)
		if trials != nil {
			why := ""
			if failed != nil {
				why = failed.why(r, f)
			}
			*trials = append(*trials, Trial{Rule: i, Name: r.Name, Matched: failed == nil, Failed: why})
		}
		if failed != nil {
			continue
		}
		d.Rule = i
		if r.Helpdesk != "" {
			d.Helpdesk = r.Helpdesk
		}
		if r.Priority.Rank() > d.Priority.Rank() {
			d.Priority = r.Priority
		}
		d.Tags = append(d.Tags, r.Tags...)
		if r.Group != "" {
			d.Tags = append(d.Tags, "group:"+r.Group)
		}
		if manager := f.Message.Author.PersonalManager; r.AssignManager && manager != "" {
			d.Assignee = &normalize.Agent{ID: manager}
		}
		d.Bot = r.Bot
		d.SLAHours, d.Complex = r.SLAHours, r.Complex
		break
	}
	return d
}

// condition is one test a rule puts to a message: fails reports whether f fails it, why says
// so in words.
type condition struct {
	fails func(r *Rule, f *Facts) bool
	why   func(r *Rule, f *Facts) string
}

// conditions are tried in this order; the first that fails is the rule's trial's.
var conditions = [...]condition{
	{
		fails: func(r *Rule, f *Facts) bool { return len(r.Channels) > 0 && !contains(r.Channels, f.Message.Channel) },
		why: func(r *Rule, f *Facts) string {
			return fmt.Sprintf("channel %q not in %v", f.Message.Channel, r.Channels)
		},
	},
	{
		fails: func(r *Rule, f *Facts) bool { return len(r.Kinds) > 0 && !contains(r.Kinds, f.Message.ChannelKind) },
		why: func(r *Rule, f *Facts) string {
			return fmt.Sprintf("channel type %q not in %v", f.Message.ChannelKind, r.Kinds)
		},
	},
	{
		fails: func(r *Rule, f *Facts) bool {
			return len(r.Languages) > 0 && !languageIn(f.Message.Author.Language, r.Languages)
		},
		why: func(r *Rule, f *Facts) string {
			return fmt.Sprintf("language %q not in %v", f.Message.Author.Language, r.Languages)
		},
	},
	{
		fails: func(r *Rule, f *Facts) bool { return f.Message.Author.VIPTier < r.MinVIP },
		why: func(r *Rule, f *Facts) string {
			return fmt.Sprintf("VIP tier %d below %d", f.Message.Author.VIPTier, r.MinVIP)
		},
	},
	{
		fails: func(r *Rule, f *Facts) bool { return len(r.Keywords) > 0 && !containsAny(f.Message.Text, r.Keywords) },
		why:   func(r *Rule, f *Facts) string { return fmt.Sprintf("no keyword of %q in the text", r.Keywords) },
	},
	{
		fails: func(r *Rule, f *Facts) bool { return len(r.Patterns) > 0 && !matchesAny(f.Message.Text, r.Patterns) },
		why:   func(r *Rule, f *Facts) string { return fmt.Sprintf("no pattern of %v matches the text", r.Patterns) },
	},
	{
		fails: func(r *Rule, f *Facts) bool {
			return len(r.Countries) > 0 && !foldedIn(f.Message.Author.Country, r.Countries)
		},
		why: func(r *Rule, f *Facts) string {
			return fmt.Sprintf("country %q not in %v", f.Message.Author.Country, r.Countries)
		},
	},
	{
		fails: func(r *Rule, f *Facts) bool {
			return len(r.AccountStatuses) > 0 && !foldedIn(f.Message.Author.AccountStatus, r.AccountStatuses)
		},
		why: func(r *Rule, f *Facts) string {
			return fmt.Sprintf("account status %q not in %v", f.Message.Author.AccountStatus, r.AccountStatuses)
		},
	},
	{
		fails: func(r *Rule, f *Facts) bool {
			return len(r.KYCStatuses) > 0 && !foldedIn(f.Message.Author.KYCStatus, r.KYCStatuses)
		},
		why: func(r *Rule, f *Facts) string {
			return fmt.Sprintf("KYC status %q not in %v", f.Message.Author.KYCStatus, r.KYCStatuses)
		},
	},
	{
		fails: func(r *Rule, f *Facts) bool { return r.Player == PlayerNew && f.Message.Author.Returning },
		why:   func(r *Rule, f *Facts) string { return "a returning player, the rule wants a new one" },
	},
	{
		fails: func(r *Rule, f *Facts) bool { return r.Player == PlayerReturning && !f.Message.Author.Returning },
		why:   func(r *Rule, f *Facts) string { return "a new player, the rule wants a returning one" },
	},
	{
		fails: func(r *Rule, f *Facts) bool { return r.Hours != nil && r.Hours.Open(f.Now) == r.OutOfHours },
		why: func(r *Rule, f *Facts) string {
			when := "outside"
			if r.OutOfHours {
				when = "inside"
			}
			return fmt.Sprintf("%s is %s business hours (%s)", f.Now.In(r.Hours.Location()).Format("Mon 2006-01-02 15:04 MST"), when, r.Hours.Location())
		},
	},
}

// failed returns the first condition of r that f fails, nil when r matches.
func (r *Rule) failed(f *Facts) *condition {
	for i := range conditions {
		if conditions[i].fails(r, f) {
			return &conditions[i]
		}
	}
	return nil
}

// needsHistory reports whether any rule asks whether the player is new, which costs a
// look-up in the store per message.
func (rs Rules) needsHistory() bool {
	for _, r := range rs.List {
		if r.Player != "" {
			return true
		}
	}
	return false
}

func containsAny(text string, keywords []string) bool {
	text = strings.ToLower(text)
	for _, k := range keywords {
		if strings.Contains(text, strings.ToLower(k)) {
			return true
		}
	}
	return false
}

func matchesAny(text string, patterns []*regexp.Regexp) bool {
	for _, p := range patterns {
		if p.MatchString(text) {
			return true
		}
	}
	return false
}

func foldedIn(v string, list []string) bool {
	for _, x := range list {
		if strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func languageIn(tag string, langs []string) bool {
	tag = strings.ToLower(tag)
	for _, l := range langs {
		l = strings.ToLower(l)
		if tag == l || strings.HasPrefix(tag, l+"-") {
			return true
		}
	}
	return false
}

// Tags the policy gives conversations.
const (
	tagVIP      = "vip"
	tagCallback = "callback"
)

// priorityFor gives VIP players' conversations a higher priority from the first message
// that shows the tier on, and a call-back request (normalize.Message.Callback) higher still:
// someone waits by the phone, and a VIP at or above UrgentCallbackVIP waits first. The store
// only ever raises a conversation's priority, so a later ordinary message keeps it.
func (rs Rules) priorityFor(m normalize.Message) (normalize.Priority, []string) {
	p, tags := normalize.PriorityNormal, []string(nil)
	if m.Author.VIPTier > 0 {
		p, tags = normalize.PriorityHigh, append(tags, tagVIP)
	}
	if m.Callback != nil {
		p, tags = normalize.PriorityHigh, append(tags, tagCallback)
		if rs.UrgentCallbackVIP > 0 && m.Author.VIPTier >= rs.UrgentCallbackVIP {
			p = normalize.PriorityUrgent
		}
	}
	return p, tags
}

type channelAddress struct {
	channel normalize.InstanceName
	address normalize.Address
}

// markReturning sets Author.Returning on each player's message in msgs whose address the
// store had a conversation at before this delivery; it asks only when a rule wants to know,
// and before intake, so that no question waits while the store's writer is held.
func (r *Router) markReturning(ctx context.Context, msgs []normalize.Message) error {
	if !r.rules.needsHistory() {
		return nil
	}
	seen := map[channelAddress]bool{}
	for i := range msgs {
		m := &msgs[i]
		if m.Direction != normalize.Inbound || m.Author.Role != normalize.RolePlayer {
			continue
		}
		k := channelAddress{m.Channel, m.Address}
		returning, asked := seen[k]
		if !asked {
			_, err := r.store.ConversationAt(ctx, m.Channel, m.Address)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("is the player at %s on %s returning: %w", m.Address, m.Channel, err)
			}
			returning = err == nil
			seen[k] = returning
		}
		m.Author.Returning = returning
	}
	return nil
}
