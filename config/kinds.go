package config

import (
	"sort"
	"strings"
)

// settings is the type-specific part of a channel or helpdesk: the keys beside name and type.
type settings interface {
	// validate reports problems with the settings; path is the entry's own path, such as
	// "channels[2]", because the settings' keys sit in the entry's mapping.
	validate(path string, p *problems)
}

// channelTypes maps each channel type to the Channel field that holds its settings.
// To add a type: define its settings struct with a validate method (and a defaults method when
// it has defaults, see defaulter), add a pointer field of it to Channel (with yaml:"-"), and
// add one line here.
var channelTypes = map[string]func(*Channel) settings{
	"loopback": func(c *Channel) settings { return ensure(&c.Loopback) },
	"webchat":  func(c *Channel) settings { return ensure(&c.Webchat) },
	"telegram": func(c *Channel) settings { return ensure(&c.Telegram) },
}

// helpdeskTypes is channelTypes for helpdesks.
var helpdeskTypes = map[string]func(*Helpdesk) settings{
	"loopback": func(h *Helpdesk) settings { return ensure(&h.Loopback) },
	"inbox":    func(h *Helpdesk) settings { return ensure(&h.Inbox) },
	"rt":       func(h *Helpdesk) settings { return ensure(&h.RT) },
	"webhook":  func(h *Helpdesk) settings { return ensure(&h.Webhook) },
}

// ensure allocates *p when it is nil and returns it, so the decoder always has a struct to
// fill and validation of a hand-built Config treats missing settings as empty ones.
func ensure[T any](p **T) *T {
	if *p == nil {
		*p = new(T)
	}
	return *p
}

// typeNames lists a table's types for error messages, sorted so messages are stable.
func typeNames[F any](table map[string]F) string {
	names := make([]string, 0, len(table))
	for name := range table {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// typedEntry is a list entry whose type selects the struct that the remaining keys of its
// mapping decode into. Channel and Helpdesk implement it; the decoder needs nothing else.
type typedEntry interface {
	// family names the kind of entry in messages: "channel" or "helpdesk".
	family() string
	// entryType is the entry's type as decoded so far.
	entryType() string
	// typeSettings returns the settings of the entry's type, allocating them when missing,
	// or false for an unknown type.
	typeSettings() (settings, bool)
	// knownTypes lists the valid types for messages.
	knownTypes() string
}

func (c *Channel) family() string     { return "channel" }
func (c *Channel) knownTypes() string { return typeNames(channelTypes) }
func (c *Channel) entryType() string  { return c.Type }
func (c *Channel) typeSettings() (settings, bool) {
	f, ok := channelTypes[c.Type]
	if !ok {
		return nil, false
	}
	return f(c), true
}

func (h *Helpdesk) family() string     { return "helpdesk" }
func (h *Helpdesk) knownTypes() string { return typeNames(helpdeskTypes) }
func (h *Helpdesk) entryType() string  { return h.Type }
func (h *Helpdesk) typeSettings() (settings, bool) {
	f, ok := helpdeskTypes[h.Type]
	if !ok {
		return nil, false
	}
	return f(h), true
}
