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
	// UrgentCallbackVIP is the VIP tier from which a player's call-back request makes their
	// conversation urgent; below it (and for players without a tier) it makes it high. 0
	// makes none urgent.
	UrgentCallbackVIP int
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
