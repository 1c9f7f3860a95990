package settings

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration, located by its full key path such as
// "channels[2].token", so that the operator finds it in the file without line numbers.
type Problem struct {
	Key     string
	Message string
}

// Problems collects what Validate finds. Keys given to Add are relative to the entry being
// validated; the loader made the collector with the entry's own path as prefix.
type Problems struct {
	prefix string
	list   []Problem
}

// NewProblems returns an empty collector whose keys lie below prefix ("channels[2]").
func NewProblems(prefix string) *Problems { return &Problems{prefix: prefix} }

// Add records that the value at key is wrong; key "" names the entry itself.
func (p *Problems) Add(key, msg string) {
	p.list = append(p.list, Problem{Key: Join(p.prefix, key), Message: msg})
}

// Addf is Add with a formatted message.
func (p *Problems) Addf(key, format string, args ...any) {
	p.Add(key, fmt.Sprintf(format, args...))
}

// List returns the problems in the order they were added.
func (p *Problems) List() []Problem { return p.list }

// Join appends a relative key path to a key path.
func Join(path, key string) string {
	switch {
	case key == "":
		return path
	case path == "":
		return key
	case key[0] == '[':
		return path + key
	}
	return path + "." + key
}

// Key appends one mapping key, bracketed and quoted when it would make the path ambiguous
// (a greeting's language tag "pt-BR" is plain, a key with a dot or a space is not).
func Key(path, key string) string {
	if key == "" || strings.ContainsAny(key, ".[]\"' \t\r\n") {
		return path + "[" + strconv.Quote(key) + "]"
	}
	return Join(path, key)
}

// Index appends a list index: Index("agents", 2) is "agents[2]".
func Index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// Quote shows a value in a message, shortened so a stray blob does not flood the log.
func Quote(s string) string {
	const max = 60
	if len(s) > max {
		r := []rune(s)
		if len(r) > max {
			s = string(r[:max]) + "…"
		}
	}
	return strconv.Quote(s)
}
