// Package settings is the vocabulary that connector configurations share with the loader in
// config/: the Settings contract a connector type's configuration implements, secrets that
// never print, problems named by their key path, and the checks many connectors' validation
// uses. It imports nothing of the gateway, so config/ and every connector depend on it
// without depending on each other.
package settings

// Settings is one connector type's configuration: the keys of a channel or helpdesk entry
// besides name and type. A connector package defines it as a struct with yaml tags, and a
// constructor that returns it with its defaults set (see config.Catalog): the loader decodes
// the entry's keys over those defaults, strictly, so an explicit value (even 0 or "") replaces
// a default and is validated instead of being taken for "not set".
type Settings interface {
	// Validate reports every problem with the settings to p, with keys relative to the
	// entry ("token", "agents[0].name"). It must not change the settings.
	Validate(p *Problems)
}

// Deriver is implemented by settings whose defaults depend on the rest of the configuration
// or on the instance's name. The loader calls Derive once the whole file is decoded, before
// Validate, for settings left unset. Maps belong here rather than in the constructor: the
// loader adds a file's entries to a map instead of replacing it, so a default map set before
// decoding would be merged with the operator's.
type Deriver interface {
	Derive(env Env)
}

// Env is what Derive may depend on.
type Env struct {
	// Name is the instance's name.
	Name string
	// DataDir is the gateway's data directory, where connectors keep files of their own.
	DataDir string
}

// PageOwner is implemented by settings that serve pages at a path of their own (the web
// chat, the inbox). All pages share the one listener, so the loader refuses a path that is,
// contains or lies below another's.
type PageOwner interface {
	PagePath() string
}

// FileOwner is implemented by settings that keep a database file of their own. The loader
// refuses a file that another instance or the store uses already.
type FileOwner interface {
	DatabaseFile() string
}

// Secret is a credential. It prints as a placeholder so it never reaches a log by accident.
// In YAML it is given inline (`token: ...`, usually `token: ${TG_TOKEN}`) or as a file
// reference (`token_file: /run/secrets/tg`), whose content, minus one trailing newline, is used.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// MarshalText redacts the secret in encoders that bypass String: encoding/json, YAML
// encoders and slog's JSON and text handlers.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Value returns the secret itself; call it only where the secret is used.
func (s Secret) Value() string { return string(s) }
