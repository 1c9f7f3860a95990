package faqbot

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/dutyofcare"
	"github.com/casino-support/gateway/router/playerdir"
)

// Config is one bot: a route's `bot:` settings with its knowledge file read.
type Config struct {
	// Name identifies the bot in the store (the lanes it holds) and in logs; a route's name.
	Name      string
	Knowledge Knowledge
	// Threshold is the lowest match score answered; DefaultThreshold when 0.
	Threshold float64
	// Quiet is how long a player may stay silent after an answer before the conversation
	// counts as resolved (after an unanswered turn: handed off); DefaultQuiet when 0.
	Quiet time.Duration
	// MaxUnanswered turns in a row hand off; DefaultMaxUnanswered when 0.
	MaxUnanswered int
	// AfterResolved is what a player's message after a resolution does: AfterResolvedBot
	// (default) starts over with the bot, AfterResolvedHandoff hands off at once.
	AfterResolved string
}

// Defaults and values of Config.
const (
	DefaultQuiet         = 10 * time.Minute
	DefaultMaxUnanswered = 2
	AfterResolvedBot     = "bot"
	AfterResolvedHandoff = "handoff"
	// thanksMaxWords is the longest message that counts as thanks: a longer one says more.
	thanksMaxWords = 4
)

// Hand-off reasons, the label of gateway_bot_handoffs_total.
const (
	ReasonRequested     = "requested"      // the player asked for a person
	ReasonUnanswered    = "unanswered"     // MaxUnanswered turns in a row, or quiet after one
	ReasonDispute       = "dispute"        // a payment dispute
	ReasonComplaint     = "complaint"      // a complaint
	ReasonSelfExclusion = "self_exclusion" // a self-exclusion request duty of care did not flag
	ReasonDutyOfCare    = "duty_of_care"   // the conversation has the responsible-gambling tag
	ReasonMedia         = "media"          // a file, a photo, a voice message: a person looks
	ReasonReturned      = "returned"       // a player writing after a resolution, with AfterResolved handoff
	ReasonUnconfigured  = "unconfigured"   // the bot holding the conversation is no longer configured
)

// Bot decides what to say to one player's message. It holds no state of its own: the
// conversation's State comes in and goes out (engine.go stores it).
type Bot struct {
	cfg                       Config
	matcher                   *Matcher
	handoff, thanks, excluded *dutyofcare.Matcher
	texts                     map[string]map[string]string
	helpedLabels, agentLabels []string
}

// New builds the bot of cfg.
func New(cfg Config) (*Bot, error) {
	if cfg.Name == "" {
		return nil, errors.New("faqbot: a bot needs a name")
	}
	if err := cfg.Knowledge.check(); err != nil {
		return nil, fmt.Errorf("faqbot: %s: %w", cfg.Name, err)
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = DefaultThreshold
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = DefaultQuiet
	}
	if cfg.MaxUnanswered <= 0 {
		cfg.MaxUnanswered = DefaultMaxUnanswered
	}
	switch cfg.AfterResolved {
	case "":
		cfg.AfterResolved = AfterResolvedBot
	case AfterResolvedBot, AfterResolvedHandoff:
	default:
		return nil, fmt.Errorf("faqbot: %s: after_resolved %q is neither %s nor %s", cfg.Name, cfg.AfterResolved, AfterResolvedBot, AfterResolvedHandoff)
	}
	b := &Bot{cfg: cfg, matcher: NewMatcher(cfg.Knowledge.Entries), texts: map[string]map[string]string{}}
	for lang, t := range builtinTexts {
		b.texts[lang] = maps(t)
	}
	for lang, t := range cfg.Knowledge.Texts {
		if b.texts[lang] == nil {
			b.texts[lang] = map[string]string{}
		}
		for k, v := range t {
			b.texts[lang][k] = v
		}
	}
	for _, lang := range sortedKeys(b.texts) {
		if l := b.texts[lang][TextHelped]; l != "" {
			b.helpedLabels = append(b.helpedLabels, strings.Join(words(l), " "))
		}
		if l := b.texts[lang][TextAgent]; l != "" {
			b.agentLabels = append(b.agentLabels, strings.Join(words(l), " "))
		}
	}
	var err error
	if b.handoff, err = phrases("handoff", map[string]map[string][]string{"handoff": merge(builtinHandoff, cfg.Knowledge.HandoffWords)}); err != nil {
		return nil, fmt.Errorf("faqbot: %s: %w", cfg.Name, err)
	}
	if b.thanks, err = phrases("thanks", map[string]map[string][]string{"thanks": merge(builtinThanks, cfg.Knowledge.Thanks)}); err != nil {
		return nil, fmt.Errorf("faqbot: %s: %w", cfg.Name, err)
	}
	excluded := map[string]map[string][]string{}
	for cat, byLang := range builtinExcluded {
		excluded[cat] = byLang
	}
	// A knowledge file's excluded phrases have no category of their own: they count as
	// complaints, the topic a person must see.
	excluded["complaint"] = merge(excluded["complaint"], cfg.Knowledge.Excluded)
	if b.excluded, err = phrases("excluded", excluded); err != nil {
		return nil, fmt.Errorf("faqbot: %s: %w", cfg.Name, err)
	}
	return b, nil
}

// Name is the bot's name.
func (b *Bot) Name() string { return b.cfg.Name }

// Quiet is how long a silent player's conversation waits before it is settled.
func (b *Bot) Quiet() time.Duration { return b.cfg.Quiet }

// phrases compiles lists by category and language into one matcher whose phrase IDs are
// "<category>.<language>.<n>".
func phrases(version string, lists map[string]map[string][]string) (*dutyofcare.Matcher, error) {
	list := dutyofcare.List{Version: version}
	for _, cat := range sortedKeys(lists) {
		for _, lang := range sortedKeys(lists[cat]) {
			for i, text := range lists[cat][lang] {
				list.Phrases = append(list.Phrases, dutyofcare.Phrase{ID: fmt.Sprintf("%s.%s.%d", cat, lang, i), Language: lang, Text: text})
			}
		}
	}
	return dutyofcare.New(list)
}

func merge(a, b map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range a {
		out[k] = slices.Clone(v)
	}
	for k, v := range b {
		out[k] = append(out[k], v...)
	}
	return out
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Turn is what the bot knows when a player's message arrives.
type Turn struct {
	Message normalize.Message
	// Language is the conversation's (the message's detected language, else the channel's).
	Language string
	// Flagged is true when duty of care tagged the conversation (router.TagResponsibleGambling).
	Flagged bool
	// Player is the directory's knowledge of the player; Known is false when it has none.
	Player playerdir.Player
	Known  bool
}

// Reply is what the bot says to the player.
type Reply struct {
	Text         string
	QuickReplies []string
	// Answer is true for an answer (it counts as the first response, and silence after it
	// resolves the conversation), false for a request to rephrase.
	Answer bool
	Lang   string
}

// Action is the bot's decision on one message.
type Action struct {
	Reply *Reply
	// Handoff, when set, is why the conversation goes to a person now.
	Handoff string
	// Resolve is true when the player confirmed that the answer helped.
	Resolve bool
	// Entry, Source and Score describe an answer: the knowledge entry, "knowledge" or
	// "directory", the match score.
	Entry  string
	Source string
	Score  float64
	// Ignore is true for what needs no answer (a reaction, an edit).
	Ignore bool
}

// Decide returns what to do with t, given the conversation's state so far.
func (b *Bot) Decide(s State, t Turn) Action {
	lang := b.lang(t.Language)
	handoff := func(reason string) Action {
		return Action{Handoff: reason, Reply: &Reply{Text: b.text(lang, TextHandoff), Lang: lang}}
	}
	m := t.Message
	switch {
	case t.Flagged:
		return handoff(ReasonDutyOfCare)
	case s.Status == StatusResolved && b.cfg.AfterResolved == AfterResolvedHandoff:
		return handoff(ReasonReturned)
	}
	switch m.Kind {
	case normalize.KindReaction, normalize.KindEdit, normalize.KindDeletion, normalize.KindSticker, normalize.KindSystem:
		return Action{Ignore: true}
	case normalize.KindText, "":
		if len(m.Attachments) > 0 || m.Callback != nil {
			return handoff(ReasonMedia)
		}
	default:
		return handoff(ReasonMedia)
	}
	text := m.Text
	if hit, ok := b.excluded.Match(text); ok {
		switch strings.SplitN(hit.PhraseID, ".", 2)[0] {
		case "dispute":
			return handoff(ReasonDispute)
		case "self-exclusion":
			return handoff(ReasonSelfExclusion)
		default:
			return handoff(ReasonComplaint)
		}
	}
	folded := strings.Join(words(text), " ")
	if _, ok := b.handoff.Match(text); ok || slices.Contains(b.agentLabels, folded) {
		return handoff(ReasonRequested)
	}
	if s.Answered {
		_, thanks := b.thanks.Match(text)
		if slices.Contains(b.helpedLabels, folded) || (thanks && len(words(text)) <= thanksMaxWords) {
			return Action{Resolve: true, Reply: &Reply{Text: b.text(lang, TextGlad), Answer: true, Lang: lang}}
		}
	}
	if best, ok := b.matcher.Best(text); ok && best.Score >= b.cfg.Threshold {
		e := b.cfg.Knowledge.Entries[best.Entry]
		answerLang := best.Lang
		if e.Answers[answerLang] == "" {
			answerLang = lang
		}
		reply, source := b.answer(e, answerLang, t)
		qr := e.QuickReplies[answerLang]
		if len(qr) == 0 {
			qr = []string{b.text(answerLang, TextHelped), b.text(answerLang, TextAgent)}
		}
		return Action{Reply: &Reply{Text: reply, QuickReplies: qr, Answer: true, Lang: answerLang}, Entry: e.ID, Source: source, Score: best.Score}
	}
	if s.Unanswered+1 >= b.cfg.MaxUnanswered {
		return handoff(ReasonUnanswered)
	}
	return Action{Reply: &Reply{Text: b.text(lang, TextFallback), QuickReplies: []string{b.text(lang, TextAgent)}, Lang: lang}}
}

// answer is e's answer in lang, from the player directory when e asks for it and the
// directory knows the player.
func (b *Bot) answer(e Entry, lang string, t Turn) (string, string) {
	generic := e.Answers[lang]
	if generic == "" {
		generic = e.Answers["en"]
	}
	if !t.Known {
		return generic, "knowledge"
	}
	switch e.Data {
	case DataWithdrawals:
		var lines []string
		for _, w := range t.Player.Withdrawals {
			lines = append(lines, strings.NewReplacer("{amount}", strconv.FormatFloat(w.Amount, 'f', 2, 64), "{currency}", w.Currency,
				"{date}", w.RequestedAt, "{status}", w.Status).Replace(b.text(lang, TextWithdrawal)))
		}
		if len(lines) == 0 {
			return b.text(lang, TextNoWithdrawal), "directory"
		}
		return strings.Join(lines, "\n"), "directory"
	case DataVerification:
		key := map[string]string{"verified": TextKYCVerified, "pending": TextKYCPending, "rejected": TextKYCRejected,
			"none": TextKYCNone, "": TextKYCNone}[strings.ToLower(t.Player.KYCStatus)]
		if key == "" {
			return generic, "knowledge"
		}
		return b.text(lang, key), "directory"
	}
	return generic, "knowledge"
}

// lang is the language the bot speaks for a conversation in lang: the language itself when
// the bot has texts in it, else English. A regional tag ("pt-BR") counts as its language.
func (b *Bot) lang(lang string) string {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	if _, ok := b.texts[base]; ok {
		return base
	}
	return "en"
}

func (b *Bot) text(lang, key string) string {
	if t := b.texts[b.lang(lang)][key]; t != "" {
		return t
	}
	return b.texts["en"][key]
}
