package connectors

import (
	"context"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// Records keeps a connector's small keyed records in the gateway's store: one row per key, so
// that replicas writing different keys at once never overwrite each other (unlike a list
// kept in one cursor), each with an expiry after which it is gone. The voice channel keeps
// the pieces of its voicemails here, the e-mail channel the notices it sent; retention
// deletes what expired, so records nobody deletes do not pile up.
type Records interface {
	// PutRecord stores value under key for instance, replacing what was there, in one
	// statement; the record is gone once expires has passed. It returns once it is durable.
	PutRecord(ctx context.Context, instance normalize.InstanceName, key, value string, expires time.Time) error
	// Record returns the value under key for instance; found is false when there is none
	// or it expired.
	Record(ctx context.Context, instance normalize.InstanceName, key string) (value string, found bool, err error)
	// DeleteRecord deletes the record under key for instance; deleting none is no error.
	DeleteRecord(ctx context.Context, instance normalize.InstanceName, key string) error
	// ListRecords returns up to limit records of instance whose keys begin with prefix and
	// sort after after (in the store's order), in that order, none expired. Pass the last
	// key returned as after to read on.
	ListRecords(ctx context.Context, instance normalize.InstanceName, prefix, after string, limit int) ([]Record, error)
}

// Record is one of a connector's records.
type Record struct {
	Key     string
	Value   string
	Expires time.Time
}
