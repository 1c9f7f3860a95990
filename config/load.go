package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path; see Parse. Relative *_file paths are resolved
// against the file's directory. Callers pass os.LookupEnv as getenv; tests pass a fake.
func Load(path string, getenv func(string) (string, bool), cat Catalog) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, filepath.Dir(path), getenv, cat)
}

// Parse decodes a YAML configuration strictly, applies defaults and validates the result.
// Every problem, from the decoding and the validation alike, is returned together in one
// *ValidationError; on error the Config is nil. baseDir resolves relative *_file paths; a nil
// getenv means no environment variable is set. cat names the types of channels and helpdesks.
// Empty input gives the defaults without any channel or helpdesk; only Default, for running
// without a file, has the embedded ones.
func Parse(data []byte, baseDir string, getenv func(string) (string, bool), cat Catalog) (*Config, error) {
	cfg := baseDefaults()
	cfg.catalog = cat
	root, err := document(data)
	if err != nil {
		return nil, &ValidationError{Errors: []FieldError{{Message: err.Error()}}}
	}
	var decodeProbs problems
	if root != nil {
		d := decoder{catalog: cat, getenv: getenv, baseDir: baseDir, probs: &decodeProbs, budget: maxValues}
		d.decode("", root, reflect.ValueOf(cfg).Elem())
		if d.exhausted() {
			return nil, tooLarge()
		}
	}
	cfg.deriveDefaults()

	var validateProbs problems
	cfg.validate(&validateProbs)
	all := decodeProbs.list
	for _, fe := range validateProbs.list {
		// A value that failed to decode kept its zero or default value; complaining about
		// that value too would only repeat the decoding problem. A secret given as foo_file
		// has its decoding problem at that key, not at foo: "foo: required" beside an
		// unreadable foo_file would send the operator looking for a key they never meant to set.
		if !decodeProbs.touches(fe.Path) && !decodeProbs.touches(fe.Path+"_file") {
			all = append(all, fe)
		}
	}
	if len(all) > 0 {
		return nil, &ValidationError{Errors: all}
	}
	return cfg, nil
}

// document parses data as exactly one YAML document whose top level is a mapping and returns
// that mapping, or nil for an empty document. A second document is rejected rather than
// ignored because whatever it says would silently not apply.
func document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document; want exactly one")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("want one YAML document")
	}
	top := resolve(doc.Content[0])
	switch {
	case isNull(top):
		return nil, nil
	case top == nil || top.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("want a mapping of settings at the top level, got %s", describe(top))
	}
	return top, nil
}
