package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzWebhook feeds the webhook body parser and the conversion of what it finds arbitrary
// bodies: whatever a signed POST holds, they must not panic, and every message found becomes
// an Inbound that names it.
func FuzzWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Jana"},"wa_id":"491701234567"}],"messages":[{"from":"491701234567","id":"wamid.1","timestamp":"1760000000","type":"text","text":{"body":"hi"}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"491701234567","id":"wamid.2","timestamp":"x","type":"image","image":{"id":"7","mime_type":"image/jpeg","caption":"c"},"context":{"id":"wamid.0"}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"w","type":"location","location":{"latitude":1e308,"longitude":-1}},{"type":"contacts","contacts":[{"name":{},"phones":[{}]}]},{"type":"reaction","reaction":{"message_id":"w","emoji":""}},{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"title":"t"}}},{"type":"unsupported","unsupported":{"type":"edit"},"errors":[{"code":131051}]}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.9","status":"failed","timestamp":"1","recipient_id":"1","errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"d"}}]}]}}]}]}`,
		`{"object":"page"}`, `{}`, `[]`, ``, `{"object":"whatsapp_business_account","entry":null}`,
	} {
		f.Add([]byte(seed))
	}
	noFetch := func(context.Context, string) (io.ReadCloser, error) {
		return nil, errors.New("no network in a fuzz test")
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			return
		}
		if n.Object != "whatsapp_business_account" {
			t.Fatalf("ParseNotification accepted object %q", n.Object)
		}
		for _, e := range n.Entry {
			for _, ch := range e.Changes {
				for _, m := range ch.Value.Messages {
					in := inbound(m, ch.Value.Contacts, noFetch)
					if in.ID != m.ID || in.From != m.From {
						t.Fatalf("inbound(%+v) = %+v: lost the message's ID or sender", m, in)
					}
					if in.Media != nil && in.Media.Fetch == nil {
						t.Fatal("media without a way to fetch it")
					}
				}
				for _, s := range ch.Value.Statuses {
					_ = failReason(s.Errors)
				}
			}
		}
		if utf8.Valid(body) {
			var v any
			if json.Unmarshal(body, &v) != nil {
				t.Fatal("ParseNotification accepted invalid JSON")
			}
		}
	})
}
