package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// settleLoop settles the pending records when woken by a callback and every sweep interval
// (downloads waiting for their next try, transcripts waited for, calls' ends due, pieces
// another replica's webhooks stored), from the start: records a crash left are taken up again
// at once. Each sweep first moves what an older version left on its pending list in the
// cursors (legacy.go): at the first start after an upgrade, and during a rolling upgrade,
// whatever callbacks the replicas not yet upgraded took.
func (c *Channel) settleLoop(ctx context.Context, sink connectors.Sink) {
	t := time.NewTicker(c.sweep)
	defer t.Stop()
	for {
		c.migrateLegacy(ctx)
		c.settleAll(ctx, sink)
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-t.C:
		}
	}
}

// listPage is how many records one read of the pending ones returns.
const listPage = 500

// listAll returns every record of the line under prefix, a page at a time.
func (c *Channel) listAll(ctx context.Context, prefix string) ([]connectors.Record, error) {
	var out []connectors.Record
	after := ""
	for {
		page, err := c.records.ListRecords(ctx, c.name, prefix, after, listPage)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < listPage {
			return out, nil
		}
		after = page[len(page)-1].Key
	}
}

// pendingVoicemail is a voicemail under way as the settle loop read it: its pieces merged,
// and the keys read, deleted once it is settled. A piece stored after the read is not among
// them and stays for the next sweep.
type pendingVoicemail struct {
	rec  string
	keys []string
	v    voicemail
}

// pendingVoicemails reads the voicemails under way, by recording, in the order of their keys.
func (c *Channel) pendingVoicemails(ctx context.Context) ([]*pendingVoicemail, error) {
	recs, err := c.listAll(ctx, vmPrefix)
	if err != nil {
		return nil, err
	}
	var out []*pendingVoicemail
	byRec := map[string]*pendingVoicemail{}
	for _, r := range recs {
		rest := strings.TrimPrefix(r.Key, vmPrefix)
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			continue
		}
		rec := rest[:i]
		p := byRec[rec]
		if p == nil {
			p = &pendingVoicemail{rec: rec}
			byRec[rec] = p
			out = append(out, p)
		}
		p.keys = append(p.keys, r.Key)
		var piece voicemail
		if err := json.Unmarshal([]byte(r.Value), &piece); err != nil {
			c.log.Error("voice: a voicemail's record cannot be read; it is dropped", "key", r.Key, "err", err)
			continue
		}
		p.v.merge(piece)
	}
	return out, nil
}

// settleAll looks at every pending record once.
func (c *Channel) settleAll(ctx context.Context, sink connectors.Sink) {
	vms, err := c.pendingVoicemails(ctx)
	if err != nil {
		c.logFailure(ctx, "voice: read the voicemails under way", "", err)
		return
	}
	for _, p := range vms {
		if ctx.Err() != nil {
			return
		}
		c.logFailure(ctx, "voice: settling a voicemail failed; trying again later", p.rec, c.settleVoicemail(ctx, sink, p))
	}
	ends, err := c.listAll(ctx, endKey(""))
	if err != nil {
		c.logFailure(ctx, "voice: read the calls ended", "", err)
		return
	}
	for _, r := range ends {
		if ctx.Err() != nil {
			return
		}
		c.logFailure(ctx, "voice: settling a call failed; trying again later", r.Key, c.settleEnd(ctx, sink, r))
	}
}

// logFailure logs err of the settle loop about key, unless there is none or the loop is
// ending; what failed is tried again at the next sweep.
func (c *Channel) logFailure(ctx context.Context, msg, key string, err error) {
	if err == nil || ctx.Err() != nil {
		return
	}
	if key != "" {
		c.log.Warn(msg, "key", key, "err", err)
		return
	}
	c.log.Error(msg, "err", err)
}

// settleVoicemail moves one voicemail on: fetch the audio (and Vonage's transcript) when it
// can be had, deliver the message when it is complete or has waited long enough. Pieces of a
// voicemail delivered already are merged with what it was delivered as, which tells what a
// late piece means.
func (c *Channel) settleVoicemail(ctx context.Context, sink connectors.Sink, p *pendingVoicemail) error {
	var done voicemail
	found, err := c.load(ctx, doneKey(p.rec), &done)
	if err != nil {
		return err
	}
	if found {
		p.v.merge(done)
	}
	v := &p.v
	now := c.now()
	if !v.Delivered && v.URL != "" && v.Audio == nil && v.Problem == "" && !now.Before(v.NextTry) {
		if err := c.fetchAudio(ctx, sink, p); err != nil {
			return err
		}
	}
	if v.TranscriptURL != "" && !v.TranscriptDone && !now.Before(v.NextTry) {
		if err := c.fetchTranscript(ctx, p); err != nil {
			return err
		}
	}
	return c.deliverIfReady(ctx, sink, p)
}

// saveState records what the settle loop made of p (the audio, the attempts), as the piece
// only it writes.
func (c *Channel) saveState(ctx context.Context, p *pendingVoicemail) error {
	key := pieceKey(p.rec, pieceState)
	if !slices.Contains(p.keys, key) {
		p.keys = append(p.keys, key)
	}
	return c.save(ctx, key, p.v)
}

// fetchAudio downloads the recording into the blob store and records the outcome: the
// attachment, a later try, or (after maxAttempts, or at once for what no retry fixes) the
// problem, with which the voicemail goes to the agents without its audio.
func (c *Channel) fetchAudio(ctx context.Context, sink connectors.Sink, p *pendingVoicemail) error {
	v := &p.v
	att, err := c.download(ctx, v.URL, v.Recording)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.reportDownload(sink, err)
	switch {
	case err == nil:
		v.Audio = &att
	case connectors.IsPermanent(err) || v.Attempts+1 >= c.maxAttempts:
		v.Attempts++
		v.Problem = err.Error()
		c.log.Error("voice: recording could not be fetched; the voicemail goes without its audio",
			"recording", v.Recording, "attempts", v.Attempts, "err", err)
	default:
		v.Attempts++
		v.NextTry = c.now().Add(c.backoff(v.Attempts)).UTC()
		c.log.Warn("voice: recording download failed, will retry", "recording", v.Recording,
			"attempts", v.Attempts, "next_try", v.NextTry, "err", err)
	}
	return c.saveState(ctx, p)
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

// backoff doubles from retryBase up to five minutes.
func (c *Channel) backoff(attempts int) time.Duration {
	d := c.retryBase << min(attempts-1, 20)
	return min(d, 5*time.Minute)
}

// deliverIfReady delivers the voicemail p once it is complete: audio fetched (or given up),
// transcript come (or not asked for, or waited for transcript_wait). A transcript that comes
// after the voicemail was delivered goes as a message of its own.
func (c *Channel) deliverIfReady(ctx context.Context, sink connectors.Sink, p *pendingVoicemail) error {
	v := &p.v
	if v.Delivered {
		switch {
		case v.TranscriptDone && v.Transcript != "" && !v.Late && !v.DeliveredTranscript:
			if err := sink.Deliver(ctx, c.lateTranscriptMessage(*v)); err != nil {
				return err
			}
			v.Late = true
		case v.TranscriptURL != "" && !v.TranscriptDone:
			return nil // a late transcript still being fetched
		}
		return c.finish(ctx, p)
	}
	if !c.ready(*v) {
		return nil
	}
	if err := sink.Deliver(ctx, c.voicemailMessage(*v)); err != nil {
		return err
	}
	v.Delivered = true
	v.DeliveredTranscript = v.TranscriptDone
	c.log.Info("voice: voicemail delivered", "recording", v.Recording, "conv", address(v.From, v.Call),
		"audio", v.Audio != nil, "transcript", v.Transcript != "")
	return c.finish(ctx, p)
}

// finish records p as delivered, then deletes the pieces read: a crash in between leaves
// pieces that the next sweep finds delivered and deletes. A transcript that comes later
// finds the record and goes as a message of its own.
func (c *Channel) finish(ctx context.Context, p *pendingVoicemail) error {
	if err := c.save(ctx, doneKey(p.rec), p.v); err != nil {
		return err
	}
	for _, key := range p.keys {
		if err := c.records.DeleteRecord(ctx, c.name, key); err != nil {
			return err
		}
	}
	return nil
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
func (c *Channel) settleEnd(ctx context.Context, sink connectors.Sink, r connectors.Record) error {
	var e callEnd
	if err := json.Unmarshal([]byte(r.Value), &e); err != nil {
		c.log.Error("voice: a call's end cannot be read; it is dropped", "key", r.Key, "err", err)
		return c.records.DeleteRecord(ctx, c.name, r.Key)
	}
	if c.now().Before(e.Due) {
		return nil
	}
	_, handled, err := c.records.Record(ctx, c.name, handledKey(e.Call))
	if err == nil && !handled {
		// A replica of an older version, during a rolling upgrade, notes it in the cursors.
		var legacy string
		legacy, err = c.cursors.Cursor(ctx, c.name, handledKey(e.Call))
		handled = legacy != ""
	}
	if err != nil {
		return err
	}
	if !handled {
		text := fmt.Sprintf("Call from %s to %s ended after %d s without a message (abandoned).", e.From, e.To, e.Duration)
		if err := sink.Deliver(ctx, c.systemMessage(e.Call, e.From, e.Lang, "abandoned:"+e.Call, text)); err != nil {
			return err
		}
	}
	return c.records.DeleteRecord(ctx, c.name, r.Key)
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
