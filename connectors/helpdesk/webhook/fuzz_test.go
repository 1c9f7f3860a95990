package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
)

// checkingSink refuses what the store would refuse (see connectors.Helpdesk.Run), or what a
// channel could not send, and counts what it accepts.
type checkingSink struct {
	mu       sync.Mutex
	blobs    *memBlobs // where attachments must be
	accepted int
	bad      error
}

func (s *checkingSink) Deliver(_ context.Context, msgs ...normalize.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		var err error
		switch {
		case m.Direction != normalize.Outbound:
			err = errors.New("not outbound")
		case m.Source != testName:
			err = errors.New("source is not the instance")
		case m.ExternalID == "":
			err = errors.New("no external ID")
		case m.Conversation == "" && m.Ticket == "":
			err = errors.New("neither conversation nor ticket")
		case (m.Status != "" || m.Assignee != nil) && m.Kind != normalize.KindSystem:
			err = errors.New("status or assignee on words")
		case m.Update != nil:
			err = errors.New("an update from a helpdesk")
		case m.Kind != normalize.KindSystem && m.Text == "" && len(m.Attachments) == 0:
			err = errors.New("words without text or files")
		case len(m.Attachments) > 0 && m.Text != "" && strings.TrimSpace(m.Text) == "":
			err = errors.New("files with a blank text")
		default:
			err = s.checkAttachments(m.Attachments)
		}
		if err != nil {
			s.bad = errors.Join(s.bad, err)
			return connectors.Permanent(err)
		}
	}
	s.accepted += len(msgs)
	return nil
}

// checkAttachments refuses attachments a channel could not send: unnamed, untyped, or not in
// the blob store as described.
func (s *checkingSink) checkAttachments(atts []normalize.Attachment) error {
	for _, a := range atts {
		data, ok := s.blobs.get(a.BlobRef)
		switch {
		case strings.TrimSpace(a.Name) == "" || a.MediaType == "":
			return fmt.Errorf("attachment without name or media type: %+v", a)
		case !ok:
			return fmt.Errorf("attachment %s not in the blob store", a.BlobRef)
		case a.Size == 0 || a.Size != int64(len(data)) || a.SHA256 != sha256Hex(data):
			return fmt.Errorf("attachment %+v does not describe its %d bytes", a, len(data))
		}
	}
	return nil
}

func (s *checkingSink) state() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.bad
}

// FuzzIncomingEvent feeds arbitrary bodies, correctly signed, to the hook and with the token
// to the events API: whatever arrives is refused with a 4xx or stored as a well-formed
// message, never a 5xx or a crash.
func FuzzIncomingEvent(f *testing.F) {
	for _, seed := range []string{
		`{"event":"reply.created","reply_id":"r1","ticket":"T-1","text":"hi","agent":{"name":"Anna"}}`,
		`{"event":"reply.created","reply_id":"r2","conversation_id":"c1","text":"note","note":true,"reply_to":"m1"}`,
		`{"event":"conversation.status_changed","event_id":"e1","ticket":"T-1","status":"closed"}`,
		`{"event":"conversation.assigned","event_id":"e2","ticket":"T-1","assignee":{"id":"anna","name":"Anna"}}`,
		`{"event":"conversation.assigned","event_id":"e3","ticket":"T-1","assignee":null}`,
		`{"event":"reply.created","reply_id":"r3","ticket":"T-1","text":"x","status":"closed"}`,
		`{"event":"conversation.assigned","event_id":"e4","ticket":"T-1","assignee":"anna"}`,
		`{"event":"x"}`, `{}`, `[]`, `null`, `{"event":"reply.created"} trailing`, "\xff\xfe", ``,
		`{"event":"reply.created","reply_id":"r4","ticket":"T-1","attachments":[{"name":"a.png","media_type":"image/png","content_base64":"` +
			base64.StdEncoding.EncodeToString(pngFile) + `"}]}`,
		`{"event":"reply.created","reply_id":"r5","ticket":"T-1","text":" ","attachments":[{"name":"f.pdf","media_type":"application/pdf; x=y","content_base64":"JVBERi0xLjQK"},` +
			`{"name":"b.bin","media_type":"application/octet-stream","content_base64":"AAEC"}]}`,
		`{"event":"reply.created","reply_id":"r6","ticket":"T-1","attachments":[{"name":"a.png","media_type":"image/png","content_base64":"JVBERi0xLjQK"}]}`,
		`{"event":"reply.created","reply_id":"r7","ticket":"T-1","attachments":[{"name":"","media_type":"x/y","content_base64":"=="}]}`,
		`{"event":"reply.created","reply_id":"r8","ticket":"T-1","attachments":[]}`,
	} {
		f.Add([]byte(seed))
	}
	store := newMemBlobs(testMaxAttachment)
	sink := &checkingSink{blobs: store}
	hd, err := webhook.New(testName, webhook.Config{URL: "http://127.0.0.1:9/unused", Secret: testSecret, APIToken: testToken,
		Timeout: time.Second, MaxSkew: 5 * time.Minute, AttachmentURLTTL: time.Hour},
		webhook.Deps{Blobs: store, MaxAttachmentBytes: testMaxAttachment})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	go hd.Run(ctx, sink)
	mux := http.NewServeMux()
	hd.Mount(mux)

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/hooks/" + testName, "/api/v1/helpdesks/" + testName + "/events"} {
			before, _ := sink.state()
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			if path[1] == 'h' {
				now := time.Now()
				req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
				req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(testSecret), now, body))
			} else {
				req.Header.Set("Authorization", "Bearer "+testToken)
			}
			rec := httptest.NewRecorder()
			if path[1] == 'h' {
				hd.ServeHTTP(rec, req)
			} else {
				mux.ServeHTTP(rec, req)
			}
			after, bad := sink.state()
			if bad != nil {
				t.Fatalf("%s: the sink got a malformed message from %q: %v", path, body, bad)
			}
			switch rec.Code {
			case http.StatusOK:
				if after != before+1 {
					t.Fatalf("%s: 200 for %q but %d messages stored", path, body, after-before)
				}
			case http.StatusServiceUnavailable:
				// Run has not handed over the sink yet; nothing stored.
			case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
				if after != before {
					t.Fatalf("%s: %d for %q but a message was stored", path, rec.Code, body)
				}
			default:
				t.Fatalf("%s: status %d for %q: %s", path, rec.Code, body, rec.Body)
			}
		}
	})
}
