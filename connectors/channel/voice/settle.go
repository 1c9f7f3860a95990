package voice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// settleLoop settles the pending records when woken by a callback and every sweep interval
// (downloads waiting for their next try, transcripts waited for, calls' ends due), from the
// start: records a crash left are taken up again at once.
func (c *Channel) settleLoop(ctx context.Context, sink connectors.Sink) {
	t := time.NewTicker(c.sweep)
	defer t.Stop()
	for {
		c.settleAll(ctx, sink)
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-t.C:
		}
	}
}

// settleAll looks at every pending record once.
func (c *Channel) settleAll(ctx context.Context, sink connectors.Sink) {
	c.mu.Lock()
	keys, err := c.pendingKeys(ctx)
	c.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("voice: read the voicemails under way", "err", err)
		}
		return
	}
	for _, key := range keys {
		if ctx.Err() != nil {
			return
		}
		var err error
		switch {
		case strings.HasPrefix(key, "vm:"):
			err = c.settleVoicemail(ctx, sink, key)
		case strings.HasPrefix(key, "end:"):
			err = c.settleEnd(ctx, sink, key)
		default:
			err = c.drop(ctx, key)
		}
		if err != nil && ctx.Err() == nil {
			c.log.Warn("voice: settling a call failed; trying again later", "key", key, "err", err)
		}
	}
}

// drop takes a key off the pending list.
func (c *Channel) drop(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropPending(ctx, key)
}

// loadPending reads the pending record under key into v; a key whose record is gone (a
// crash between listing and writing it) is dropped, and found is false.
func (c *Channel) loadPending(ctx context.Context, key string, v any) (found bool, err error) {
	c.mu.Lock()
	found, err = c.load(ctx, key, v)
	c.mu.Unlock()
	if err == nil && !found {
		err = c.drop(ctx, key)
	}
	return found, err
}

// settleVoicemail moves one voicemail on: fetch the audio (and Vonage's transcript) when it
// can be had, deliver the message when it is complete or has waited long enough.
func (c *Channel) settleVoicemail(ctx context.Context, sink connectors.Sink, key string) error {
	var v voicemail
	if found, err := c.loadPending(ctx, key, &v); err != nil || !found {
		return err
	}
	now := c.now()
	if v.URL != "" && v.Audio == nil && v.Problem == "" && !now.Before(v.NextTry) {
		if err := c.fetchAudio(ctx, sink, key, &v); err != nil {
			return err
		}
	}
	if v.TranscriptURL != "" && !v.TranscriptDone && !now.Before(v.NextTry) {
		if err := c.fetchTranscript(ctx, key, &v); err != nil {
			return err
		}
	}
	return c.deliverIfReady(ctx, sink, key)
}

// fetchAudio downloads the recording into the blob store and records the outcome: the
// attachment, a later try, or (after maxAttempts, or at once for what no retry fixes) the
// problem, with which the voicemail goes to the agents without its audio.
func (c *Channel) fetchAudio(ctx context.Context, sink connectors.Sink, key string, v *voicemail) error {
	att, err := c.download(ctx, v.URL, v.Recording)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.reportDownload(sink, err)
	return c.changeVoicemail(ctx, key, func(stored *voicemail) {
		switch {
		case err == nil:
			stored.Audio = &att
		case connectors.IsPermanent(err) || stored.Attempts+1 >= c.maxAttempts:
			stored.Attempts++
			stored.Problem = err.Error()
			c.log.Error("voice: recording could not be fetched; the voicemail goes without its audio",
				"recording", stored.Recording, "attempts", stored.Attempts, "err", err)
		default:
			stored.Attempts++
			stored.NextTry = c.now().Add(c.backoff(stored.Attempts)).UTC()
			c.log.Warn("voice: recording download failed, will retry", "recording", stored.Recording,
				"attempts", stored.Attempts, "next_try", stored.NextTry, "err", err)
		}
		*v = *stored
	})
}

// reportDownload tells the health details whether the provider accepts the line's
// credentials for downloads: a refusal names the line not ready until a download works.
func (c *Channel) reportDownload(sink connectors.Sink, err error) {
	switch {
	case err == nil:
		connectors.ReportHealth(sink, c.name, nil)
	case connectors.IsUnauthorized(err):
		connectors.ReportHealth(sink, c.name, fmt.Errorf("the %s API refused the line's credentials for a recording download; check them: %w",
			c.cfg.Provider, err))
	}
}

// changeVoicemail applies change to the stored voicemail under key, durably.
func (c *Channel) changeVoicemail(ctx context.Context, key string, change func(v *voicemail)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v voicemail
	found, err := c.load(ctx, key, &v)
	if err != nil || !found {
		return err
	}
	change(&v)
	return c.save(ctx, key, v)
}

// backoff doubles from retryBase up to five minutes.
func (c *Channel) backoff(attempts int) time.Duration {
	d := c.retryBase << min(attempts-1, 20)
	return min(d, 5*time.Minute)
}

// deliverIfReady delivers the voicemail under key once it is complete: audio fetched (or
// given up), transcript come (or not asked for, or waited for transcript_wait). A transcript
// that comes after the voicemail was delivered goes as a message of its own. The record is
// read and the message stored under c.mu, so no piece slips in between.
func (c *Channel) deliverIfReady(ctx context.Context, sink connectors.Sink, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v voicemail
	found, err := c.load(ctx, key, &v)
	if err != nil || !found {
		return err
	}
	if v.Delivered {
		if v.TranscriptDone && v.Transcript != "" && !v.Late && !v.DeliveredTranscript {
			if err := sink.Deliver(ctx, c.lateTranscriptMessage(v)); err != nil {
				return err
			}
			v.Late = true
			if err := c.save(ctx, key, v); err != nil {
				return err
			}
		}
		return c.dropPending(ctx, key)
	}
	if !c.ready(v) {
		return nil
	}
	if err := sink.Deliver(ctx, c.voicemailMessage(v)); err != nil {
		return err
	}
	v.Delivered = true
	v.DeliveredTranscript = v.TranscriptDone
	if err := c.save(ctx, key, v); err != nil {
		return err
	}
	c.log.Info("voice: voicemail delivered", "recording", v.Recording, "conv", address(v.From, v.Call),
		"audio", v.Audio != nil, "transcript", v.Transcript != "")
	if v.DeliveredTranscript || !v.ExpectTranscript {
		return c.dropPending(ctx, key)
	}
	return nil // kept pending a while, for a late transcript
}

// ready says whether v has all it will get.
func (c *Channel) ready(v voicemail) bool {
	now := c.now()
	switch {
	case v.URL == "":
		// Only the transcript came; the recording's callback follows, unless it was lost:
		// after a long wait the transcript goes alone.
		return v.TranscriptDone && now.Sub(v.First) > c.cfg.TranscriptWait+time.Hour
	case v.Audio == nil && v.Problem == "":
		return false
	case v.TranscriptDone || !v.ExpectTranscript:
		return true
	}
	return now.Sub(v.First) >= c.cfg.TranscriptWait
}

// settleEnd tells the agents of a call that ended without leaving anything, once its
// voicemail has had time to arrive.
func (c *Channel) settleEnd(ctx context.Context, sink connectors.Sink, key string) error {
	var e callEnd
	if found, err := c.loadPending(ctx, key, &e); err != nil || !found || c.now().Before(e.Due) {
		return err
	}
	handled, err := c.cursors.Cursor(ctx, c.name, handledKey(e.Call))
	if err != nil {
		return err
	}
	if handled == "" {
		text := fmt.Sprintf("Call from %s to %s ended after %d s without a message (abandoned).", e.From, e.To, e.Duration)
		if err := sink.Deliver(ctx, c.systemMessage(e.Call, e.From, e.Lang, "abandoned:"+e.Call, text)); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.cursors.SetCursor(ctx, c.name, key, ""); err != nil {
		return err
	}
	return c.dropPending(ctx, key)
}

// maxAudio bounds a download before the blob store's own limit applies: two hours of
// telephone-quality MP3 fit easily.
const maxAudio = 256 << 20

// download fetches a recording with the provider's credentials into the blob store.
func (c *Channel) download(ctx context.Context, raw, rec string) (att normalize.Attachment, err error) {
	resp, err := c.fetchMedia(ctx, raw)
	if err != nil {
		return att, fmt.Errorf("download recording %s: %w", rec, err)
	}
	defer resp.Body.Close()
	mediaType := resp.Header.Get("Content-Type")
	if mediaType == "" || mediaType == "application/octet-stream" {
		mediaType = "audio/mpeg"
	}
	name := "voicemail-" + rec + extension(mediaType)
	att, err = c.blobs.Put(ctx, io.LimitReader(resp.Body, maxAudio), name, mediaType)
	if errors.Is(err, connectors.ErrTooLarge) {
		return att, connectors.Permanent(fmt.Errorf("recording %s: %w", rec, err))
	}
	if err != nil {
		return att, fmt.Errorf("store recording %s: %w", rec, err)
	}
	return att, nil
}

// fetchMedia GETs a recording or transcript with the provider's credentials, only from the
// provider's own API host, and returns the 200 answer. A 404 is retried like a 5xx: right
// after its callback a recording may not be served yet.
func (c *Channel) fetchMedia(ctx context.Context, raw string) (*http.Response, error) {
	if err := c.checkMediaHost(raw); err != nil {
		return nil, connectors.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, connectors.Permanent(err)
	}
	if err := c.authorize(req); err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, errors.New("HTTP 404: not there (yet)")
	}
	return nil, connectors.HTTPStatusError(resp, c.now())
}

// extension names a file of mediaType.
func extension(mediaType string) string {
	switch {
	case strings.Contains(mediaType, "wav"):
		return ".wav"
	case strings.Contains(mediaType, "mpeg"), strings.Contains(mediaType, "mp3"):
		return ".mp3"
	}
	return ""
}

// checkMediaHost allows downloads only from the provider's API host or its siblings
// (api-us.nexmo.com next to api.nexmo.com), since the credentials go with them.
func (c *Channel) checkMediaHost(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("recording URL %q is not an http(s) URL", raw)
	}
	api, _ := url.Parse(c.apiURL())
	if u.Host == api.Host {
		return nil
	}
	if labels := strings.SplitN(api.Hostname(), ".", 2); len(labels) == 2 && strings.Contains(labels[1], ".") &&
		strings.HasSuffix(u.Hostname(), "."+labels[1]) && u.Scheme == "https" {
		return nil
	}
	return fmt.Errorf("recording URL host %q is not the provider's API host %q; not sending credentials there", u.Host, api.Host)
}

// apiURL is the provider's REST base.
func (c *Channel) apiURL() string {
	if c.cfg.Provider == "vonage" {
		return c.cfg.Vonage.APIURL
	}
	return c.cfg.Twilio.APIURL
}

// authorize adds the provider's credentials for a media download.
func (c *Channel) authorize(req *http.Request) error {
	if c.cfg.Provider == "vonage" {
		tok, err := c.applicationJWT()
		if err != nil {
			return connectors.Permanent(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
	req.SetBasicAuth(c.cfg.Twilio.AccountSID, c.cfg.Twilio.AuthToken.Value())
	return nil
}
