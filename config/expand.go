package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand replaces ${NAME} and ${NAME:-default} in a scalar value with environment variables,
// so that secrets and per-host settings need not be written into the file. It runs on values
// after YAML parsing, so a variable's content is never parsed as YAML.
//
// Rules, kept close to docker compose and the shell:
//   - ${NAME} is an error when NAME is unset; set-but-empty gives "".
//   - ${NAME:-default} gives default when NAME is unset or empty. The default is literal
//     text up to the first "}"; it is not expanded again.
//   - $${ is a literal "${". Any other "$" is kept as it is, so "pa$$word" needs no escaping.
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$${"):
			b.WriteString("${")
			s = s[3:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return "", errors.New(`unterminated "${" (write "$${" for a literal "${")`)
			}
			v, err := lookup(s[2:end], getenv)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			s = s[end+1:]
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
}

// errInvalidName is wrapped by the error for a ${...} whose name is not a variable name. Its
// message quotes the reference, so the decoder words it afresh for secrets.
var errInvalidName = errors.New("invalid environment variable name")

// lookup resolves the inside of one ${...}: "NAME" or "NAME:-default".
func lookup(ref string, getenv func(string) (string, bool)) (string, error) {
	name, def, hasDef := strings.Cut(ref, ":-")
	if !validVarName(name) {
		return "", fmt.Errorf("%w %q in ${%s}", errInvalidName, name, ref)
	}
	var v string
	var ok bool
	if getenv != nil {
		v, ok = getenv(name)
	}
	switch {
	case hasDef && v == "":
		return def, nil
	case !ok:
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

// validVarName accepts the portable shell variable names: [A-Za-z_][A-Za-z0-9_]*.
func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
