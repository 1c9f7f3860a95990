package voice_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/voice"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/conformance"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/voicefake"
)

const (
	accountSID      = "AC00000000000000000000000000000001"
	authToken       = "twilio-auth-token-for-tests"
	vonageAPIKey    = "vonage-key"
	vonageAPISecret = "vonage-api-secret"
	signatureSecret = "vonage-signature-secret-for-tests"
	lineNumber      = "+493012345678"
	waitFor         = 15 * time.Second
	tick            = 10 * time.Millisecond
)

// appKey is the Vonage application's key pair of the tests.
var appKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func appKeyPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey)}))
}

// env is one voice line, the fake provider API, the hooks' server and a store for cursors.
type env struct {
	t       *testing.T
	ch      *voice.Channel
	fake    *voicefake.Server
	hooks   *httptest.Server
	hookURL string
	store   *store.Store
	// closeStore closes store once.
	closeStore func() error
	blobs      *blobs.Dir
	faults     *httpfault.Transport
	client     *http.Client
	sink       *conformance.RecordingSink
	reg        *prometheus.Registry
	twilio     voicefake.TwilioCaller
	vonage     voicefake.VonageCaller
	dbPath     string
	// dsn, when set, is the PostgreSQL the store is opened on instead of dbPath's SQLite.
	dsn string
	// replicas, when set, take the webhooks in turn instead of ch, as behind a load balancer.
	replicas []*voice.Channel
	turn     atomic.Uint64
	cfg      voice.Config
	stop     context.CancelFunc
	done     chan error
}

// twilioConfig is a valid Twilio line whose REST API is api.
func twilioConfig(api string) voice.Config {
	cfg := *voice.DefaultConfig()
	cfg.Provider = "twilio"
	cfg.Twilio = voice.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, APIURL: api}
	cfg.SMS.From = lineNumber
	cfg.TranscriptWait = time.Minute
	return cfg
}

// vonageConfig is a valid Vonage line whose REST APIs are api.
func vonageConfig(api string) voice.Config {
	cfg := *voice.DefaultConfig()
	cfg.Provider = "vonage"
	cfg.Vonage = voice.VonageConfig{APIKey: vonageAPIKey, APISecret: vonageAPISecret, SignatureSecret: signatureSecret,
		ApplicationID: "app-1", PrivateKey: settings.Secret(appKeyPEM()), APIURL: api, SMSURL: api}
	cfg.SMS.From = lineNumber
	cfg.TranscriptWait = time.Minute
	return cfg
}

// newEnv starts a line configured by edit (on a Twilio or Vonage line, by provider), not
// running yet: call run.
func newEnv(t *testing.T, provider string, edit func(*voice.Config)) *env {
	t.Helper()
	return newEnvOn(t, provider, "", edit)
}

// newEnvOn is newEnv with the store on the PostgreSQL dsn, or SQLite when dsn is empty.
func newEnvOn(t *testing.T, provider, dsn string, edit func(*voice.Config)) *env {
	t.Helper()
	e := &env{t: t, sink: &conformance.RecordingSink{}, reg: prometheus.NewRegistry(), dsn: dsn}
	e.fake = voicefake.New(accountSID, authToken, vonageAPIKey, vonageAPISecret, &appKey.PublicKey)
	api := httptest.NewServer(e.fake)
	e.fake.URL = api.URL
	mux := http.NewServeMux()
	e.hooks = httptest.NewServer(mux)
	t.Cleanup(func() { e.hooks.Close(); api.Close() })
	e.hookURL = e.hooks.URL + "/hooks/voice"
	e.client, e.faults = httpfault.Wrap(api.Client())
	e.faults.Body = voicefake.ErrorBody
	if provider == "vonage" {
		e.cfg = vonageConfig(api.URL)
	} else {
		e.cfg = twilioConfig(api.URL)
	}
	if edit != nil {
		edit(&e.cfg)
	}
	dir := t.TempDir()
	e.dbPath = filepath.Join(dir, "gateway.db")
	var err error
	e.blobs, err = blobs.New(filepath.Join(dir, "blobs"), 25<<20)
	require.NoError(t, err)
	e.open()
	mux.Handle("/hooks/voice", http.HandlerFunc(e.serve))
	mux.Handle("/hooks/voice/", http.HandlerFunc(e.serve))
	e.twilio = voicefake.TwilioCaller{AuthToken: authToken, Client: e.hooks.Client()}
	e.vonage = voicefake.VonageCaller{SignatureSecret: signatureSecret, Client: e.hooks.Client()}
	return e
}

// serve hands a webhook to the line, or with replicas to each in turn.
func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	ch := e.ch
	if n := uint64(len(e.replicas)); n > 0 {
		ch = e.replicas[e.turn.Add(1)%n]
	}
	ch.ServeHTTP(w, r)
}

// openStore opens another handle of the env's store, closed when the test ends.
func (e *env) openStore() *store.Store {
	e.t.Helper()
	var st *store.Store
	var err error
	if e.dsn != "" {
		st, err = store.OpenPostgres(e.t.Context(), e.dsn, store.Options{})
	} else {
		st, err = store.OpenSQLite(e.t.Context(), e.dbPath, store.Options{})
	}
	require.NoError(e.t, err)
	return st
}

// open (re)builds the channel on the env's store, as a restarted gateway does.
func (e *env) open() {
	e.t.Helper()
	st := e.openStore()
	var err error
	e.store = st
	var once sync.Once
	e.closeStore = func() error {
		err := errors.New("closed already")
		once.Do(func() { err = st.Close() })
		return err
	}
	e.t.Cleanup(func() { e.halt(); _ = e.closeStore() })
	e.ch, err = voice.New("voice", e.cfg, voice.Deps{Blobs: e.blobs, Records: st, Cursors: st, Client: e.client,
		PublicURL: e.hooks.URL, Metrics: e.reg})
	require.NoError(e.t, err)
	voice.SetTiming(e.ch, 20*time.Millisecond, 20*time.Millisecond, 300*time.Millisecond, 4)
}

// run starts the channel's Run with the env's sink.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.ch.Run(ctx, e.sink) }()
	e.t.Cleanup(e.halt)
	require.Eventually(e.t, func() bool { return voice.Running(e.ch) }, waitFor, time.Millisecond)
}

// halt stops Run and waits for it.
func (e *env) halt() {
	if e.stop == nil {
		return
	}
	e.stop()
	select {
	case err := <-e.done:
		require.NoError(e.t, err)
	case <-time.After(waitFor):
		e.t.Fatal("Run did not return after its context ended")
	}
	e.stop = nil
}

// restart stops the channel and builds a new one on the same store and blobs.
func (e *env) restart() {
	e.halt()
	require.NoError(e.t, e.closeStore())
	e.open()
	e.run()
}

// post signs form with the auth token and posts it to the hook's path sub (with query).
func (e *env) post(rawURL string, form url.Values) voicefake.Answer {
	e.t.Helper()
	a, err := e.twilio.Post(e.t.Context(), rawURL, form)
	require.NoError(e.t, err)
	return a
}

// callSeq numbers the tests' calls.
var callSeq atomic.Int64

func newCallSid() string { return fmt.Sprintf("CA%032d", callSeq.Add(1)) }
func newRecSid() string  { return fmt.Sprintf("RE%032d", callSeq.Add(1)) }

// response is TwiML as the tests read it.
type response = voicefake.TwiML

func parseTwiML(t *testing.T, a voicefake.Answer) response {
	t.Helper()
	r, err := voicefake.ParseTwiML(a)
	require.NoError(t, err)
	return r
}

// incoming places a Twilio call from caller to the line and returns the TwiML.
func (e *env) incoming(call, caller, called string) response {
	e.t.Helper()
	return parseTwiML(e.t, e.post(e.hookURL, url.Values{"CallSid": {call}, "AccountSid": {accountSID}, "From": {caller},
		"To": {called}, "CallStatus": {"ringing"}, "Direction": {"inbound"}}))
}

// voicemail leaves a voicemail on a Twilio call: the recording-status and transcription
// callbacks (in that order unless transcriptFirst), each answered 2xx.
func (e *env) voicemail(tw response, call, rec string, audio []byte, transcript string, transcriptFirst bool) {
	e.t.Helper()
	recURL := e.fake.AddTwilioRecording(rec, audio)
	recording := func() {
		a := e.post(tw.Record.RecordingStatusCallback, url.Values{"AccountSid": {accountSID}, "CallSid": {call},
			"RecordingSid": {rec}, "RecordingUrl": {recURL}, "RecordingStatus": {"completed"}, "RecordingDuration": {"12"},
			"RecordingChannels": {"1"}, "RecordingSource": {"RecordVerb"}})
		require.Equal(e.t, http.StatusNoContent, a.Status, "recording callback: %s", a.Body)
	}
	transcription := func() {
		a := e.post(tw.Record.TranscribeCallback, url.Values{"AccountSid": {accountSID}, "CallSid": {call},
			"RecordingSid": {rec}, "RecordingUrl": {recURL}, "TranscriptionSid": {"TR" + rec[2:]},
			"TranscriptionText": {transcript}, "TranscriptionStatus": {"completed"}})
		require.Equal(e.t, http.StatusNoContent, a.Status, "transcription callback: %s", a.Body)
	}
	if transcriptFirst {
		transcription()
		recording()
		return
	}
	recording()
	transcription()
}

// messages returns what reached the sink from address, once per ExternalID: the store keeps
// a message delivered twice under the same ExternalID once, which is what a channel relies
// on when a provider repeats a callback.
func (e *env) messages(address string) []normalize.Message {
	seen := map[normalize.ExternalID]bool{}
	var out []normalize.Message
	for _, m := range e.sink.Where(func(m normalize.Message) bool { return string(m.Address) == address }) {
		if !seen[m.ExternalID] {
			seen[m.ExternalID] = true
			out = append(out, m)
		}
	}
	return out
}

// waitMessages waits until n messages of address reached the sink, and a moment more for a
// wrong extra one.
func (e *env) waitMessages(address string, n int) []normalize.Message {
	e.t.Helper()
	require.Eventually(e.t, func() bool { return len(e.messages(address)) >= n }, waitFor, tick,
		"%d of %d messages from %s reached the sink", len(e.messages(address)), n, address)
	time.Sleep(100 * time.Millisecond)
	got := e.messages(address)
	require.Len(e.t, got, n)
	return got
}

// blob reads an attachment's content back.
func (e *env) blob(att normalize.Attachment) string {
	e.t.Helper()
	rc, err := e.blobs.Open(e.t.Context(), att.BlobRef)
	require.NoError(e.t, err)
	defer rc.Close()
	b := make([]byte, att.Size)
	_, err = rc.Read(b)
	require.NoError(e.t, err)
	return string(b)
}

var _ connectors.Sink = (*conformance.RecordingSink)(nil)

var errStoreDown = errors.New("test: the store is down")

func isPermanent(err error) bool { return connectors.IsPermanent(err) }

// rejected reads gateway_voice_rejected_total of the line.
func (e *env) rejected() float64 {
	e.t.Helper()
	families, err := e.reg.Gather()
	require.NoError(e.t, err)
	for _, f := range families {
		if f.GetName() == "gateway_voice_rejected_total" {
			for _, m := range f.GetMetric() {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func vonagePEM() settings.Secret { return settings.Secret(appKeyPEM()) }
