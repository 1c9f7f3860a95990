package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/casino-support/gateway/connectors/settings"
)

// NewSettings returns a connector type's settings with their defaults set, ready for the
// loader to decode an entry's keys over them.
type NewSettings func() settings.Settings

// Catalog is the types of channels and helpdesks the loader knows, by the name an entry's
// type key gives. config/ knows no connector: cmd/gateway/wire.go makes the catalog from its
// table of connector types, and each connector package owns its settings, their defaults
// and their validation.
type Catalog struct {
	Channels  map[string]NewSettings
	Helpdesks map[string]NewSettings
	// StoreDrivers are the store.driver values the build can open; none means sqlite only.
	StoreDrivers []string
	// CheckLanguages is the build's language detector's check of language.detect, so that
	// check-config refuses a code serve could not detect; nil checks only the form.
	CheckLanguages func(codes []string) error
}

// CheckDriver reports whether the build can open the store driver, so that check-config
// refuses what serve could not open, with the same words.
func (c Catalog) CheckDriver(driver string) error {
	drivers := c.StoreDrivers
	if len(drivers) == 0 {
		drivers = []string{"sqlite"}
	}
	if slices.Contains(drivers, driver) {
		return nil
	}
	return fmt.Errorf("%q is not supported by this build yet; use %s", driver, strings.Join(drivers, " or "))
}

// typeNames lists a table's types for error messages, sorted so messages are stable.
func typeNames(table map[string]NewSettings) string {
	names := make([]string, 0, len(table))
	for name := range table {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// typedEntry is a list entry whose type selects the settings that the remaining keys of its
// mapping decode into. Channel and Helpdesk implement it; the decoder needs nothing else.
type typedEntry interface {
	// family names the kind of entry in messages: "channel" or "helpdesk".
	family() string
	// entryType is the entry's type as decoded so far.
	entryType() string
	// types returns the catalog's table of the entry's family.
	types(c Catalog) map[string]NewSettings
	// settings returns the settings slot of the entry.
	settings() *settings.Settings
}

func (c *Channel) family() string                            { return "channel" }
func (c *Channel) entryType() string                         { return c.Type }
func (c *Channel) types(cat Catalog) map[string]NewSettings  { return cat.Channels }
func (c *Channel) settings() *settings.Settings              { return &c.Settings }
func (h *Helpdesk) family() string                           { return "helpdesk" }
func (h *Helpdesk) entryType() string                        { return h.Type }
func (h *Helpdesk) types(cat Catalog) map[string]NewSettings { return cat.Helpdesks }
func (h *Helpdesk) settings() *settings.Settings             { return &h.Settings }
