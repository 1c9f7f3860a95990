package config

import (
	"strings"

	"github.com/casino-support/gateway/connectors/settings"
)

// FieldError is one problem with the configuration, located by its key path such as
// "channels[2].send_url" so that the operator can find it in the file without line numbers.
type FieldError struct {
	// Path is the key path; empty for problems with the document as a whole (YAML syntax).
	Path    string
	Message string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError carries every problem found, so one run of the gateway reports all of them
// instead of making the operator fix the file one error at a time. Parse errors (unknown keys,
// wrong types, unset variables) and validation errors share this type.
type ValidationError struct {
	Errors []FieldError
}

// Error lists the problems one per line, in the order they were found.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// problems collects FieldErrors while decoding or validating.
type problems struct {
	list []FieldError
}

func (p *problems) add(path, msg string) {
	p.list = append(p.list, FieldError{Path: path, Message: msg})
}

// err returns nil when nothing was collected. It exists so that no caller returns a nil
// *ValidationError inside a non-nil error interface.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Errors: p.list}
}

// touches reports whether a problem was already recorded at path, above it or below it.
// Problems without a path (about the document as a whole) do not count.
func (p *problems) touches(path string) bool {
	for _, fe := range p.list {
		if fe.Path != "" && (covers(path, fe.Path) || covers(fe.Path, path)) {
			return true
		}
	}
	return false
}

// covers reports whether path is parent or equal to sub in key-path notation.
func covers(path, sub string) bool {
	if !strings.HasPrefix(sub, path) {
		return false
	}
	rest := sub[len(path):]
	return rest == "" || path == "" || rest[0] == '.' || rest[0] == '['
}

// joinKey appends a mapping key to a key path.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// merge runs check with a settings collector and adds what it found; keys are full paths.
func (p *problems) merge(check func(*settings.Problems)) {
	sp := settings.NewProblems("")
	check(sp)
	for _, pr := range sp.List() {
		p.add(pr.Key, pr.Message)
	}
}
