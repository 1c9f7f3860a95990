package router

import (
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// Rule sends new conversations that match every non-empty condition to Helpdesk.
type Rule struct {
	Channels  []normalize.InstanceName
	Kinds     []normalize.ChannelKind
	Languages []string // "de" matches "de" and "de-AT"
	MinVIP    int
	Keywords  []string // any of them in the first message, case-insensitive
	Helpdesk  normalize.InstanceName
}

// Rules are the operator's routing policy: List picks the helpdesk of a new conversation
// (the first matching rule, else Default), SLA sets the first-response targets.
type Rules struct {
	List    []Rule
	Default normalize.InstanceName
	SLA     SLA
}

// Pick returns the helpdesk for a conversation that first opens with m.
func (rs Rules) Pick(m normalize.Message) normalize.InstanceName {
	for _, r := range rs.List {
		if r.matches(m) {
			return r.Helpdesk
		}
	}
	return rs.Default
}

func (r Rule) matches(m normalize.Message) bool {
	if len(r.Channels) > 0 && !contains(r.Channels, m.Channel) {
		return false
	}
	if len(r.Kinds) > 0 && !contains(r.Kinds, m.ChannelKind) {
		return false
	}
	if len(r.Languages) > 0 && !languageIn(m.Author.Language, r.Languages) {
		return false
	}
	if m.Author.VIPTier < r.MinVIP {
		return false
	}
	if len(r.Keywords) > 0 {
		text := strings.ToLower(m.Text)
		found := false
		for _, k := range r.Keywords {
			if strings.Contains(text, strings.ToLower(k)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
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

// priorityFor gives VIP players' conversations a higher priority from the first message
// that shows the tier on.
func priorityFor(m normalize.Message) (normalize.Priority, []string) {
	if m.Author.VIPTier > 0 {
		return normalize.PriorityHigh, []string{"vip"}
	}
	return normalize.PriorityNormal, nil
}
