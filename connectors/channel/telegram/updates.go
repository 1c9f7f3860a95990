package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// maxUpdatesAnswer bounds one getUpdates answer read: 100 updates of Telegram's longest
// texts and captions are a few MB.
const maxUpdatesAnswer = 64 << 20

// updatesAnswer is a getUpdates answer: Telegram's envelope with its result.
type updatesAnswer struct {
	Ok          bool                         `json:"ok"`
	Result      []tgbotapi.Update            `json:"result"`
	ErrorCode   int                          `json:"error_code"`
	Description string                       `json:"description"`
	Parameters  *tgbotapi.ResponseParameters `json:"parameters"`
}

// fetchUpdates calls getUpdates as the library's GetUpdates does (the same form parameters,
// a refusal returned as *tgbotapi.Error for apiError), but reads the answer in one pass: the
// library decodes the envelope, then decodes its result again, both with encoding/json's
// reflection decoder, which was 6 % of the gateway's CPU in a burst (issue 16). The one pass
// runs the reference encoding/json/v2 decoder with its v1 semantics.
func (c *Channel) fetchUpdates(ctx context.Context, client *http.Client, cfg tgbotapi.UpdateConfig) ([]tgbotapi.Update, error) {
	form := url.Values{}
	for key, n := range map[string]int{"offset": cfg.Offset, "limit": cfg.Limit, "timeout": cfg.Timeout} {
		if n != 0 {
			form.Set(key, strconv.Itoa(n))
		}
	}
	allowed, err := json.Marshal(cfg.AllowedUpdates) // "null" when unset, as the library sends it
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", err)
	}
	form.Set("allowed_updates", string(allowed))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"/bot"+c.token+"/getUpdates", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := readUpdates(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("getUpdates: read the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if !answer.Ok {
		e := &tgbotapi.Error{Code: answer.ErrorCode, Message: answer.Description}
		if answer.Parameters != nil {
			e.ResponseParameters = *answer.Parameters
		}
		return nil, e
	}
	return answer.Result, nil
}

// readUpdates reads a getUpdates answer in one pass.
func readUpdates(r io.Reader) (updatesAnswer, error) {
	var answer updatesAnswer
	err := jsonv2.UnmarshalRead(io.LimitReader(r, maxUpdatesAnswer), &answer, jsonv1.DefaultOptionsV1())
	return answer, err
}
