package faqbot

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// The lease of a conversation's step across replicas: record "l/<conversation>", whose value
// names the holder.
const (
	leasePrefix = "l/"
	// leaseTTL bounds how long a replica that died during a step keeps the others off.
	leaseTTL = 30 * time.Second
	// leaseTries bound the wait for another replica's step (about 10 s with the back-off
	// below): a step takes milliseconds, so a longer wait means its replica died; the
	// delivery then fails and the channel delivers again.
	leaseTries = 25
)

// lock serialises the bot's work on one conversation: within this process (a Take and the
// quiet timer, two deliveries of one chat) by a mutex, and across replicas (a web chat whose
// requests reach two) by a lease in the records, so that each step reads the state the
// previous one saved. The returned func gives both up.
func (e *Engine) lock(ctx context.Context, conv normalize.ConversationID) (func(), error) {
	h := fnv.New32a()
	h.Write([]byte(conv))
	mu := &e.locks[h.Sum32()%uint32(len(e.locks))]
	mu.Lock()
	key, token := leasePrefix+string(conv), e.owner+"/"+strconv.FormatUint(e.seq.Add(1), 10)
	wait := 20 * time.Millisecond
	for try := 1; ; try++ {
		ok, err := e.st.TakeRecord(ctx, RecordInstance, key, token, e.now().Add(leaseTTL))
		if err != nil {
			mu.Unlock()
			return nil, err
		}
		if ok {
			break
		}
		if try == leaseTries {
			mu.Unlock()
			e.m.busy.Inc()
			return nil, fmt.Errorf("another replica has been taking conversation %s for too long", conv)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			mu.Unlock()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
	return func() {
		// Not the step's context, which may have ended: a lease left behind would keep the
		// other replicas off until it lapses.
		if err := e.st.DropRecord(context.WithoutCancel(ctx), RecordInstance, key, token); err != nil {
			e.log.Warn("faqbot: give up the conversation's lease; it lapses", "conv", conv, "err", err)
		}
		mu.Unlock()
	}, nil
}
