package config

import (
	"maps"
	"reflect"
	"slices"
)

// Keys lists every key path the loader accepts with cat's types, with [] for any list
// index: a type's settings appear below channels[] or helpdesks[], where they sit in the
// file. *_file alternatives of secrets are left out. Documentation tests use it to keep
// example.yaml complete as connectors grow.
func Keys(cat Catalog) []string {
	keys := map[string]bool{}
	schemaKeys(reflect.TypeFor[Config](), "", keys)
	for family, types := range map[string]map[string]NewSettings{"channels[]": cat.Channels, "helpdesks[]": cat.Helpdesks} {
		for _, newSettings := range types {
			schemaKeys(reflect.TypeOf(newSettings()), family, keys)
		}
	}
	return slices.Sorted(maps.Keys(keys))
}

// schemaKeys adds the key paths the decoder accepts for t below path.
func schemaKeys(t reflect.Type, path string, into map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			path += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return
	}
	for name, f := range fieldsOf(t) {
		if f.file {
			continue
		}
		p := joinKey(path, name)
		into[p] = true
		schemaKeys(t.Field(f.index).Type, p, into)
	}
}
