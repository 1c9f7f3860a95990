package telegram

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/test/httpfault"
	"github.com/casino-support/gateway/test/telegramfake"
)

// getUpdates' refusals and broken answers are read as the library read them: flood control
// waits retry_after, a bad gateway's page (no JSON) is a failure retried with back-off, and
// the update waiting behind both still arrives, once.
func TestGetUpdatesRefusalsAndBrokenAnswers(t *testing.T) {
	e := newEnv(t, nil)
	client, faults := httpfault.Wrap(e.srv.Client())
	cfg := testConfig()
	cfg.APIURL = e.srv.URL
	ch, err := New("tg", cfg, Deps{Blobs: e.blobs, Client: client, PublicURL: "http://gateway.test"})
	require.NoError(t, err)
	ch.backoff = 10 * time.Millisecond
	var logs syncBuffer
	ch.log = slog.New(slog.NewTextHandler(&logs, nil))
	e.ch = ch

	getUpdates := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/getUpdates") }
	faults.Body = func(status int, retryAfter string) (string, []byte) {
		if status == http.StatusBadGateway {
			return "text/html", []byte("<html><body>502 Bad Gateway</body></html>") // a proxy's page
		}
		return telegramfake.ErrorBody(status, retryAfter)
	}
	faults.Next(getUpdates, httpfault.Status(http.StatusTooManyRequests, "1"))
	faults.Next(getUpdates, httpfault.Status(http.StatusBadGateway))
	e.fake.AddUpdate(tgbotapi.Update{Message: msg("behind the faults")})
	sink := newSink()
	e.run(t, sink)

	require.Equal(t, []string{"behind the faults"}, texts(waitMessages(t, sink, 1)))
	require.Contains(t, logs.String(), "getUpdates flood control")
	require.Contains(t, logs.String(), "retry_after=1")
	require.Contains(t, logs.String(), "HTTP 502", "a broken answer is logged with its status")
	require.Zero(t, faults.Pending())
	require.Equal(t, 2, faults.Injected())
}
