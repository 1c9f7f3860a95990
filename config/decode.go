package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/casino-support/gateway/connectors/settings"
)

// The decoder walks the yaml.Node tree and the Go value together instead of using
// yaml.Unmarshal, because yaml.Unmarshal neither names the key path of a problem, nor expands
// ${ENV} before converting a value to its type, nor knows about *_file secrets or about
// entries whose type decides which struct their other keys belong to.
//
// Decoding rules:
//   - A struct is a mapping; its keys are the fields' yaml tags. Unknown and repeated keys
//     are errors. A Secret field "foo" may instead be given as "foo_file".
//   - A null value ("key:", "key: ~") means "not set" and leaves the field as it was, so
//     defaults survive; an explicit value, even 0, replaces them.
//   - Scalars are expanded (see expand) and then converted by the Go type, not by the YAML
//     tag, so "workers: ${WORKERS}" works like "workers: 16".
//   - Aliases are followed; merge keys (<<) are rejected rather than half-supported.
//   - Decoding continues after a problem so that all of them are reported at once.

// maxValues bounds the number of values decoded from one document. Real configurations have
// hundreds; the bound stops alias "billion laughs" documents from expanding without end.
const maxValues = 100_000

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[settings.Secret]()
)

// decoder holds what decoding needs besides the node and the value.
type decoder struct {
	catalog Catalog
	getenv  func(string) (string, bool)
	baseDir string // resolves relative *_file paths
	probs   *problems
	budget  int // values left before maxValues is hit; below zero, decoding has given up
}

// exhausted reports whether the document had more than maxValues values. The problems found
// until then are an arbitrary part of the story, so Parse reports tooLarge instead.
func (d *decoder) exhausted() bool { return d.budget < 0 }

// tooLarge is the one problem reported for a document over maxValues values.
func tooLarge() *ValidationError {
	msg := fmt.Sprintf("document too large: more than %d values (after expanding aliases)", maxValues)
	return &ValidationError{Errors: []FieldError{{Message: msg}}}
}

// pair is one key and value of a mapping.
type pair struct {
	key   string
	value *yaml.Node
}

// decode fills v, which must be addressable, from n. path names n in messages.
func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value) {
	if d.budget--; d.budget < 0 {
		return
	}
	n = resolve(n)
	if n == nil || isNull(n) {
		return
	}
	if v.Type() == durationType {
		d.decodeDuration(path, n, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(path, n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(path, n, v)
	case reflect.Slice:
		d.decodeSlice(path, n, v)
	case reflect.Map:
		d.decodeMap(path, n, v)
	case reflect.String:
		if v.Type() == secretType {
			d.decodeSecret(path, n, v)
			return
		}
		if s, ok := d.scalar(path, n, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		d.decodeBool(path, n, v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.decodeInt(path, n, v)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.decodeUint(path, n, v)
	case reflect.Float32, reflect.Float64:
		d.decodeFloat(path, n, v)
	default:
		// A field type this decoder does not know is a bug in types.go, not in the file.
		d.probs.add(path, fmt.Sprintf("cannot decode into Go type %s", v.Type()))
	}
}

// decodeStruct decodes a mapping into a struct, strictly.
func (d *decoder) decodeStruct(path string, n *yaml.Node, v reflect.Value) {
	pairs, ok := d.pairs(path, n)
	if !ok {
		return
	}
	if v.CanAddr() {
		if e, ok := v.Addr().Interface().(typedEntry); ok {
			d.decodeTyped(path, pairs, v, e)
			return
		}
	}
	d.decodeFields(path, pairs, v, d.unknownKey)
}

// decodeTyped decodes a channel or helpdesk: the struct's own keys (name, type) first, then
// the remaining keys strictly into fresh settings of the type, made by the catalog with their
// defaults. With a missing or unknown type the remaining keys are left alone: Validate
// reports the type, and guessing which keys are wrong would only add noise.
func (d *decoder) decodeTyped(path string, pairs []pair, v reflect.Value, e typedEntry) {
	var rest []pair
	d.decodeFields(path, pairs, v, func(_ string, kv pair) { rest = append(rest, kv) })
	newSettings, ok := e.types(d.catalog)[e.entryType()]
	if !ok || d.probs.touches(keyPath(path, "type")) {
		return
	}
	s := newSettings()
	sv := reflect.ValueOf(s)
	if sv.Kind() != reflect.Pointer || sv.Elem().Kind() != reflect.Struct {
		// A constructor that returns anything else is a bug in the connector, not in the file.
		d.probs.add(path, fmt.Sprintf("settings of %s type %q are a %T, not a pointer to a struct", e.family(), e.entryType(), s))
		return
	}
	*e.settings() = s
	d.decodeFields(path, rest, sv.Elem(), d.unknownKey)
}

func (d *decoder) unknownKey(path string, kv pair) {
	d.probs.add(keyPath(path, kv.key), "unknown key")
}

// decodeFields decodes the pairs that name fields of the struct v, in document order, and
// hands the others to other.
func (d *decoder) decodeFields(path string, pairs []pair, v reflect.Value, other func(path string, kv pair)) {
	fields := fieldsOf(v.Type())
	set := make(map[string]bool, len(pairs))
	for _, kv := range pairs {
		if !isNull(resolve(kv.value)) {
			set[kv.key] = true
		}
	}
	for _, kv := range pairs {
		f, ok := fields[kv.key]
		if !ok {
			other(path, kv)
			continue
		}
		p := keyPath(path, kv.key)
		fv := v.Field(f.index)
		if !f.file {
			d.decode(p, kv.value, fv)
			continue
		}
		if inline := strings.TrimSuffix(kv.key, "_file"); set[inline] && set[kv.key] {
			d.probs.add(p, fmt.Sprintf("%s and %s are both set; use one", inline, kv.key))
			continue
		}
		d.decodeSecretFile(p, kv.value, fv)
	}
}

// field locates a struct field for a mapping key.
type field struct {
	index int
	file  bool // the key is "<name>_file" of a Secret field: its value is a file path
}

// fieldsOf maps the mapping keys a struct accepts to its fields. Untagged exported fields use
// their lower-cased name, as yaml.v3 does; fields tagged "-" are not keys.
func fieldsOf(t reflect.Type) map[string]field {
	m := make(map[string]field, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		m[name] = field{index: i}
	}
	for name, f := range m {
		if t.Field(f.index).Type != secretType {
			continue
		}
		if _, taken := m[name+"_file"]; !taken {
			m[name+"_file"] = field{index: f.index, file: true}
		}
	}
	return m
}

// decodeSecretFile sets the Secret v to the content of the file named by n.
func (d *decoder) decodeSecretFile(path string, n *yaml.Node, v reflect.Value) {
	if d.budget--; d.budget < 0 {
		return
	}
	n = resolve(n)
	if n == nil || isNull(n) {
		return
	}
	name, ok := d.scalar(path, n, "a file path")
	if !ok {
		return
	}
	if name == "" {
		d.probs.add(path, "empty file path")
		return
	}
	s, err := readSecretFile(d.baseDir, name)
	if err != nil {
		d.probs.add(path, err.Error())
		return
	}
	v.SetString(s)
}

// decodeSlice decodes a sequence, replacing whatever v held.
func (d *decoder) decodeSlice(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.mismatch(path, n, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i))
	}
	v.Set(s)
}

// decodeMap decodes a mapping into a map with string keys, adding to what v held.
func (d *decoder) decodeMap(path string, n *yaml.Node, v reflect.Value) {
	if v.Type().Key().Kind() != reflect.String {
		d.probs.add(path, fmt.Sprintf("cannot decode into Go type %s", v.Type()))
		return
	}
	pairs, ok := d.pairs(path, n)
	if !ok {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(pairs)))
	}
	for _, kv := range pairs {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(keyPath(path, kv.key), kv.value, elem)
		v.SetMapIndex(reflect.ValueOf(kv.key).Convert(v.Type().Key()), elem)
	}
}

// pairs returns the entries of a mapping node, reporting keys that are not plain strings,
// merge keys and repeated keys (yaml.v3 does not reject those when decoding to a Node).
func (d *decoder) pairs(path string, n *yaml.Node) ([]pair, bool) {
	if n.Kind != yaml.MappingNode {
		d.mismatch(path, n, "a mapping")
		return nil, false
	}
	// Keys count against the budget too: an aliased mapping of many unknown keys would
	// otherwise be walked, and complained about, once per alias.
	if d.budget -= len(n.Content) / 2; d.budget < 0 {
		return nil, false
	}
	out := make([]pair, 0, len(n.Content)/2)
	line := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.probs.add(path, fmt.Sprintf("line %d: mapping keys must be strings, got %s", n.Content[i].Line, describe(k)))
			continue
		}
		p := keyPath(path, k.Value)
		if k.ShortTag() == "!!merge" {
			d.probs.add(p, "merge keys are not supported; write the keys out")
			continue
		}
		if first, dup := line[k.Value]; dup {
			d.probs.add(p, fmt.Sprintf("duplicate key (first on line %d)", first))
			continue
		}
		line[k.Value] = k.Line
		out = append(out, pair{key: k.Value, value: n.Content[i+1]})
	}
	return out, true
}

// scalar returns the expanded value of a scalar node, reporting what else it got.
func (d *decoder) scalar(path string, n *yaml.Node, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(path, n, want)
		return "", false
	}
	s, err := expand(n.Value, d.getenv)
	if err != nil {
		d.probs.add(path, err.Error())
		return "", false
	}
	return s, true
}

// decodeSecret is scalar for a Secret, except that a malformed ${...} is reported without its
// text: that is the secret's default (${TOKEN-s3cret}, ${TOKEN:=s3cret}) or the secret itself
// when a literal secret holds "${", and the message goes to logs.
func (d *decoder) decodeSecret(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(path, n, "a string")
		return
	}
	s, err := expand(n.Value, d.getenv)
	switch {
	case errors.Is(err, errInvalidName):
		d.probs.add(path, `invalid environment variable reference: want ${NAME} or ${NAME:-default}, NAME of A-Z, a-z, 0-9 and _ (a literal "${" is written "$${")`)
	case err != nil:
		d.probs.add(path, err.Error())
	default:
		v.SetString(s)
	}
}

func (d *decoder) decodeDuration(path string, n *yaml.Node, v reflect.Value) {
	const want = `a duration such as "30s" or "2m"`
	s, ok := d.scalar(path, n, want)
	if !ok {
		return
	}
	dur, err := parseDuration(s)
	if err != nil {
		d.probs.add(path, fmt.Sprintf("want %s, got %s", want, quote(s)))
		return
	}
	v.SetInt(int64(dur))
}

// maxDays keeps a duration in days far from time.Duration's limit of about 292 years.
const maxDays = 100 * 365

// parseDuration is time.ParseDuration that also takes whole days in front: "90d", "1d12h".
// Retention periods are counted in days, and "2160h" says 90 days badly.
func parseDuration(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseUint(days, 10, 32)
	if err != nil || n > maxDays {
		return 0, fmt.Errorf("want whole days from 0 to %d before \"d\", got %s", maxDays, quote(days))
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 {
		return 0, fmt.Errorf("want a duration after the days, got %s", quote(rest))
	}
	return d + r, nil
}

func (d *decoder) decodeBool(path string, n *yaml.Node, v reflect.Value) {
	s, ok := d.scalar(path, n, "true or false")
	if !ok {
		return
	}
	// The YAML 1.2 core schema spellings; "yes", "on" and "1" are YAML 1.1 traps.
	switch s {
	case "true", "True", "TRUE":
		v.SetBool(true)
	case "false", "False", "FALSE":
		v.SetBool(false)
	default:
		d.probs.add(path, fmt.Sprintf("want true or false, got %s", quote(s)))
	}
}

func (d *decoder) decodeInt(path string, n *yaml.Node, v reflect.Value) {
	s, ok := d.scalar(path, n, "an integer")
	if !ok {
		return
	}
	i, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, v.Type().Bits())
	if err != nil {
		d.probs.add(path, fmt.Sprintf("want an integer, got %s%s", quote(s), rangeNote(err)))
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeUint(path string, n *yaml.Node, v reflect.Value) {
	s, ok := d.scalar(path, n, "a non-negative integer")
	if !ok {
		return
	}
	u, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, v.Type().Bits())
	if err != nil {
		d.probs.add(path, fmt.Sprintf("want a non-negative integer, got %s%s", quote(s), rangeNote(err)))
		return
	}
	v.SetUint(u)
}

func (d *decoder) decodeFloat(path string, n *yaml.Node, v reflect.Value) {
	s, ok := d.scalar(path, n, "a number")
	if !ok {
		return
	}
	f, err := strconv.ParseFloat(s, v.Type().Bits())
	if err != nil {
		d.probs.add(path, fmt.Sprintf("want a number, got %s%s", quote(s), rangeNote(err)))
		return
	}
	v.SetFloat(f)
}

// rangeNote explains a syntactically fine number that does not fit.
func rangeNote(err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return " (out of range)"
	}
	return ""
}

func (d *decoder) mismatch(path string, n *yaml.Node, want string) {
	d.probs.add(path, fmt.Sprintf("want %s, got %s", want, describe(n)))
}

// resolve follows aliases to the node they stand for. Unknown and self-referencing anchors
// are rejected by the YAML parser, so the loop ends; nil stands for a dangling alias.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an explicit or empty null ("key:", "~", "null").
func isNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return quote(n.Value)
	}
	return "a YAML document"
}

// quote shows a value in a message, shortened so a stray blob does not flood the log.
func quote(s string) string { return settings.Quote(s) }

// keyPath appends a mapping key to a key path, bracketing keys that would make it ambiguous.
func keyPath(path, key string) string { return settings.Key(path, key) }
