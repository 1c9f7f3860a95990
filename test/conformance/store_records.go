package conformance

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// recordTTL is how long the suite's records live: the fake clock moves past it.
const recordTTL = 30 * 24 * time.Hour

// record returns the value under key of instance, failing on an error.
func (f *storeFixture) record(instance normalize.InstanceName, key string) (string, bool) {
	f.t.Helper()
	v, found, err := f.st.Record(f.ctx, instance, key)
	require.NoError(f.t, err, "Record(%s, %s)", instance, key)
	return v, found
}

// storeRecords: a record is read back as put, replaced by the next put, apart per instance,
// and gone once deleted; deleting none is no error.
func storeRecords(t *testing.T, f *storeFixture) {
	until := f.clk.Now().Add(recordTTL)
	_, found := f.record(chanA, "vm:1")
	require.False(t, found, "no record before the first put")
	require.NoError(t, f.st.PutRecord(f.ctx, chanA, "vm:1", "one", until))
	require.NoError(t, f.st.PutRecord(f.ctx, chanB, "vm:1", "other", until))
	v, found := f.record(chanA, "vm:1")
	require.True(t, found)
	require.Equal(t, "one", v)
	require.NoError(t, f.st.PutRecord(f.ctx, chanA, "vm:1", "", until))
	v, found = f.record(chanA, "vm:1")
	require.True(t, found, "an empty value is a record too")
	require.Empty(t, v)
	require.NoError(t, f.st.DeleteRecord(f.ctx, chanA, "vm:1"))
	require.NoError(t, f.st.DeleteRecord(f.ctx, chanA, "vm:1"), "deleting none is no error")
	_, found = f.record(chanA, "vm:1")
	require.False(t, found)
	v, found = f.record(chanB, "vm:1")
	require.True(t, found, "another instance's record of the same key stays")
	require.Equal(t, "other", v)
}

// storeRecordsList: ListRecords returns the keys under a prefix in order, a page at a time,
// and none of another prefix or instance; a prefix's wildcard-like characters are literal.
func storeRecordsList(t *testing.T, f *storeFixture) {
	until := f.clk.Now().Add(recordTTL)
	var want []string
	for i := range 7 {
		key := fmt.Sprintf("vm:%02d", i)
		want = append(want, key)
		require.NoError(t, f.st.PutRecord(f.ctx, chanA, key, "v"+key, until))
	}
	for _, key := range []string{"end:1", "vmx", "v%:1", "v_:1"} {
		require.NoError(t, f.st.PutRecord(f.ctx, chanA, key, "x", until))
	}
	require.NoError(t, f.st.PutRecord(f.ctx, chanB, "vm:50", "x", until))

	var got []string
	after := ""
	for {
		page, err := f.st.ListRecords(f.ctx, chanA, "vm:", after, 3)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 3)
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			require.Equal(t, "v"+r.Key, r.Value)
			require.Equal(t, until.UnixMilli(), r.Expires.UnixMilli())
			got = append(got, r.Key)
		}
		after = page[len(page)-1].Key
	}
	require.Equal(t, want, got, "every key under the prefix, in order, once")

	page, err := f.st.ListRecords(f.ctx, chanA, "v%:", "", 10)
	require.NoError(t, err)
	require.Len(t, page, 1, "%% in a prefix is no wildcard")
	require.Equal(t, "v%:1", page[0].Key)
}

// storeRecordsExpire: a record past its expiry is no longer read or listed, and
// ExpireRecords deletes it (in batches of its limit) while the others stay.
func storeRecordsExpire(t *testing.T, f *storeFixture) {
	now := f.clk.Now()
	for i := range 3 {
		require.NoError(t, f.st.PutRecord(f.ctx, chanA, fmt.Sprintf("short:%d", i), "x", now.Add(time.Hour)))
	}
	require.NoError(t, f.st.PutRecord(f.ctx, chanA, "long", "x", now.Add(recordTTL)))
	n, err := f.st.ExpireRecords(f.ctx, 10)
	require.NoError(t, err)
	require.Zero(t, n, "nothing expired yet")

	f.clk.Advance(time.Hour)
	_, found := f.record(chanA, "short:0")
	require.False(t, found, "an expired record is not read, deleted or not")
	page, err := f.st.ListRecords(f.ctx, chanA, "short:", "", 10)
	require.NoError(t, err)
	require.Empty(t, page, "nor listed")

	n, err = f.st.ExpireRecords(f.ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 2, n, "one batch of the limit")
	n, err = f.st.ExpireRecords(f.ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 1, n, "then the rest")
	_, found = f.record(chanA, "long")
	require.True(t, found, "a record not yet expired stays")

	// A put renews the expiry of a record that has not been deleted yet.
	require.NoError(t, f.st.PutRecord(f.ctx, chanA, "long", "y", f.clk.Now().Add(time.Hour)))
	f.clk.Advance(time.Hour)
	n, err = f.st.ExpireRecords(f.ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// storeRecordsConcurrent: writers putting different keys of one prefix at once (replicas
// taking the callbacks of one voicemail) lose none of them, and writers putting the same key
// leave one value whole.
func storeRecordsConcurrent(t *testing.T, f *storeFixture) {
	until := f.clk.Now().Add(recordTTL)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- f.st.PutRecord(f.ctx, chanA, fmt.Sprintf("vm:rec%d:%d", i, w), "piece", until)
				errs <- f.st.PutRecord(f.ctx, chanA, "same", fmt.Sprintf("writer %d", w), until)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	page, err := f.st.ListRecords(f.ctx, chanA, "vm:", "", writers*each+1)
	require.NoError(t, err)
	require.Len(t, page, writers*each, "every writer's every key is there")
	v, found := f.record(chanA, "same")
	require.True(t, found)
	require.Regexp(t, `^writer \d$`, v)
}
