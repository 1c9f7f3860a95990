package cloud_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/connectors/channel/whatsapp/cloud"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/blobs"
	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/whatsappfake"
)

const (
	phoneNumberID = "106540352242922"
	accessToken   = "EAAG-test-access-token"
	appSecret     = "test-app-secret"
	verifyToken   = "test-verify-token"
)

// env is one channel, the fake Cloud API it talks to (with a fault injector between them),
// and the server its webhook is mounted on.
type env struct {
	fake   *whatsappfake.Server
	ch     *cloud.Channel
	faults *httpfault.Transport
	blobs  *blobs.Dir
	hook   string // the webhook's URL
}

// newEnv starts a fake and a channel of cfg (phone number, credentials and api_url filled in).
func newEnv(t *testing.T, change func(*cloud.Config), deps ...func(*cloud.Deps)) *env {
	t.Helper()
	fake := whatsappfake.New(whatsappfake.Options{PhoneNumberID: phoneNumberID, AccessToken: accessToken, AppSecret: appSecret})
	api := httptest.NewServer(fake)
	mux := http.NewServeMux()
	hooks := httptest.NewServer(mux)
	t.Cleanup(func() { hooks.Close(); api.Close() })

	store, err := blobs.New(t.TempDir(), 1<<20)
	require.NoError(t, err)
	client, faults := httpfault.Wrap(api.Client())
	faults.Body = whatsappfake.ErrorBody
	cfg := *cloud.DefaultConfig()
	cfg.PhoneNumberID, cfg.AccessToken, cfg.AppSecret, cfg.VerifyToken, cfg.APIURL = phoneNumberID, accessToken, appSecret, verifyToken, api.URL
	// No pacing: the limiter's pacing is wamsg's, tested there.
	cfg.RateLimit = cloud.RateLimit{GlobalPerSecond: 1000, Burst: 100}
	if change != nil {
		change(&cfg)
	}
	d := cloud.Deps{Blobs: store, Client: client}
	for _, f := range deps {
		f(&d)
	}
	ch, err := cloud.New("wa", cfg, d)
	require.NoError(t, err)
	mux.Handle("/hooks/wa", ch)
	e := &env{fake: fake, ch: ch, faults: faults, blobs: store, hook: hooks.URL + "/hooks/wa"}
	fake.SetHookURL(e.hook)
	return e
}

// nextNumber hands out German mobile numbers no other test uses.
var nextNumber atomic.Int64

func newWaID() string { return fmt.Sprintf("49170%07d", 1000000+nextNumber.Add(1)) }

func address(waID string) normalize.Address { return normalize.Address("+" + waID) }

func waIDOf(a normalize.Address) string { return strings.TrimPrefix(string(a), "+") }
