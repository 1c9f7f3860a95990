package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // rule calendars name IANA zones; a slim container has no zoneinfo

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/calendar"
)

// routingRules turns the validated routes into the router's rules.
func routingRules(cfg *config.Config, sla router.SLA) (router.Rules, error) {
	rules := router.Rules{Default: normalize.InstanceName(cfg.DefaultHelpdesk), SLA: sla, UrgentCallbackVIP: cfg.SLA.UrgentCallbackVIP}
	hours, err := slaCalendar(cfg)
	if err != nil {
		return router.Rules{}, err
	}
	rules.SLA.Hours = hours
	for i, r := range cfg.Routes {
		rule, err := routingRule(r)
		if err != nil {
			return router.Rules{}, fmt.Errorf("routes[%d]: %w", i, err)
		}
		if rule.Name == "" {
			rule.Name = fmt.Sprintf("routes[%d]", i)
		}
		if r.Bot != nil {
			rule.Bot = rule.Name // faqBots names the route's bot so
		}
		rules.List = append(rules.List, rule)
	}
	return rules, nil
}

func routingRule(r config.Route) (router.Rule, error) {
	m := r.Match
	rule := router.Rule{Name: r.Name, Languages: m.Languages, MinVIP: m.MinVIP, Keywords: m.Keywords,
		Countries: m.Countries, AccountStatuses: m.AccountStatuses, KYCStatuses: m.KYCStatuses,
		Player: router.PlayerHistory(m.Player), OutOfHours: m.OutOfHours,
		Helpdesk: normalize.InstanceName(r.Helpdesk), Group: r.Group, Priority: normalize.Priority(r.Priority), Tags: r.Tags,
		AssignManager: r.Assignee == "personal_manager", Complex: r.Complex}
	for _, c := range m.Channels {
		rule.Channels = append(rule.Channels, normalize.InstanceName(c))
	}
	for _, k := range m.Kinds {
		rule.Kinds = append(rule.Kinds, normalize.ChannelKind(k))
	}
	for j, p := range m.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return router.Rule{}, fmt.Errorf("match.patterns[%d]: %w", j, err)
		}
		rule.Patterns = append(rule.Patterns, re)
	}
	if h := m.Hours; h != nil {
		cal, err := calendar.New(h.Timezone, h.Weekly, h.Holidays)
		if err != nil {
			return router.Rule{}, fmt.Errorf("match.hours: %w", err)
		}
		rule.Hours = cal
	}
	if h := r.SLAHours; h != nil {
		cal, err := calendar.New(h.Timezone, h.Weekly, h.Holidays)
		if err != nil {
			return router.Rule{}, fmt.Errorf("sla_hours: %w", err)
		}
		rule.SLAHours = cal
	}
	return rule, nil
}

// sample is a message to explain, as --json gives it; flags fill the same fields.
type sample struct {
	Channel       string `json:"channel"`
	Kind          string `json:"kind"`
	Text          string `json:"text"`
	Language      string `json:"language"`
	VIP           int    `json:"vip"`
	Country       string `json:"country"`
	AccountStatus string `json:"account_status"`
	KYCStatus     string `json:"kyc_status"`
	Manager       string `json:"personal_manager"`
	Returning     bool   `json:"returning"`
	At            string `json:"at"` // RFC 3339; default now
}

func routeCmd(args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("route", flag.ContinueOnError)
	fs.SetOutput(stderr)
	explain := fs.Bool("explain", false, "print every rule tried and why it matched or not")
	path := fs.String("config", "", "configuration file")
	jsonFile := fs.String("json", "", "read the sample message from this JSON file")
	var s sample
	fs.StringVar(&s.Channel, "channel", "", "channel instance name")
	fs.StringVar(&s.Kind, "kind", "", "channel type")
	fs.StringVar(&s.Text, "text", "", "message text")
	fs.StringVar(&s.Language, "language", "", "language tag")
	fs.IntVar(&s.VIP, "vip", 0, "VIP tier")
	fs.StringVar(&s.Country, "country", "", "player country (ISO 3166-1 alpha-2)")
	fs.StringVar(&s.AccountStatus, "account-status", "", "player directory account_status")
	fs.StringVar(&s.KYCStatus, "kyc-status", "", "player directory kyc_status")
	fs.StringVar(&s.Manager, "personal-manager", "", "player's personal manager (agent ID)")
	fs.BoolVar(&s.Returning, "returning", false, "the player wrote from this address before")
	fs.StringVar(&s.At, "at", "", "when the message is written, RFC 3339 (default now)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !*explain || *path == "" {
		fmt.Fprintln(stderr, "gateway route: --explain and --config FILE are required")
		return 2
	}
	if *jsonFile != "" {
		raw, err := os.ReadFile(*jsonFile)
		if err == nil {
			err = json.Unmarshal(raw, &s)
		}
		if err != nil {
			fmt.Fprintf(stderr, "gateway route: sample message: %v\n", err)
			return 2
		}
	}
	f, err := s.facts()
	if err != nil {
		fmt.Fprintf(stderr, "gateway route: %v\n", err)
		return 2
	}
	cfg, err := config.Load(*path, env, catalog(connectorTypes()))
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration:\n%v\n", *path, err)
		return 1
	}
	rules, err := routingRules(cfg, slaPolicy(cfg, connectorTypes()))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *path, err)
		return 1
	}
	trials, d := rules.Explain(f)
	writeExplanation(stdout, rules, trials, d)
	writeSLAExplanation(stdout, rules, f, d)
	return 0
}

func (s sample) facts() (router.Facts, error) {
	now := time.Now()
	if s.At != "" {
		t, err := time.Parse(time.RFC3339, s.At)
		if err != nil {
			return router.Facts{}, fmt.Errorf("--at: want RFC 3339 such as 2026-12-24T18:30:00+02:00, got %q", s.At)
		}
		now = t
	}
	m := normalize.Message{Channel: normalize.InstanceName(s.Channel), ChannelKind: normalize.ChannelKind(s.Kind), Text: s.Text,
		Direction: normalize.Inbound, Kind: normalize.KindText,
		Author: normalize.Author{Role: normalize.RolePlayer, Language: s.Language, VIPTier: s.VIP, Country: s.Country,
			AccountStatus: s.AccountStatus, KYCStatus: s.KYCStatus, PersonalManager: s.Manager, Returning: s.Returning}}
	return router.Facts{Message: m, Now: now}, nil
}

func writeExplanation(w io.Writer, rules router.Rules, trials []router.Trial, d router.Decision) {
	for _, t := range trials {
		if t.Matched {
			fmt.Fprintf(w, "rule %d %s: matched\n", t.Rule, t.Name)
		} else {
			fmt.Fprintf(w, "rule %d %s: no: %s\n", t.Rule, t.Name, t.Failed)
		}
	}
	if d.Rule < 0 {
		fmt.Fprintf(w, "no rule matched: default helpdesk\n")
	} else if rest := len(rules.List) - d.Rule - 1; rest > 0 {
		fmt.Fprintf(w, "(%d later rules not tried: the first match wins)\n", rest)
	}
	fmt.Fprintf(w, "helpdesk: %s\npriority: %s\ntags: %s\n", d.Helpdesk, d.Priority, strings.Join(d.Tags, ", "))
	if d.Assignee != nil {
		fmt.Fprintf(w, "assignee: %s\n", d.Assignee.ID)
	}
	if d.Bot != "" {
		// Only a conversation the rule opens is the bot's, and only unless duty of care flags it.
		fmt.Fprintf(w, "bot: %s (answers first when this opens the conversation)\n", d.Bot)
	}
}
