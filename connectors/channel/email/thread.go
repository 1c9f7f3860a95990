package email

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email/parse"
	"github.com/casino-support/gateway/normalize"
)

// thread returns the conversation address (thread token) of a mail, and the conversation's
// language when the mail joins one that has it, in this order:
//
//  1. the conversation of a mail its headers name: its own Message-ID (the same mail read
//     again), In-Reply-To, then References from the newest; a mail the player got from the
//     gateway counts as much as one the gateway got from the player;
//  2. the token in its subject (subject_token);
//  3. the token of a plus address it was sent to (support+TOKEN@...);
//  4. a new thread.
//
// The sender's address plays no part: a player's mail about a new topic opens a new
// conversation, and a reply from another of the player's addresses (or a colleague's) joins
// the thread it answers.
func (c *Channel) thread(ctx context.Context, pm *parse.Message, messageID string) (normalize.Address, string, error) {
	if c.threads != nil {
		ids := []normalize.ExternalID{normalize.ExternalID(messageID)}
		for _, id := range pm.InReplyTo {
			ids = append(ids, normalize.ExternalID(id))
		}
		for _, id := range slices.Backward(pm.References) {
			ids = append(ids, normalize.ExternalID(id))
		}
		conv, err := c.threads.ConversationOfExternal(ctx, c.name, ids)
		switch {
		case err == nil:
			return conv.Address, conv.Language, nil
		case !errors.Is(err, connectors.ErrNotFound):
			return "", "", fmt.Errorf("thread of %s: %w", messageID, err)
		}
	}
	if tok, ok := c.tokens.find(pm.Subject); ok {
		return tok, "", nil
	}
	for _, a := range slices.Concat(pm.To, pm.Cc) {
		if tok, ok := plusToken(a.Email, c.from); ok {
			return tok, "", nil
		}
	}
	tok, err := c.openThread(ctx, messageID)
	return tok, "", err
}

// maxTokenTries bounds the tokens tried for a new thread; one collision in 2^50 is already
// unlikely, several mean something else is wrong.
const maxTokenTries = 4

// openThread returns a token for a new thread opened by the mail messageID, one no
// conversation of the channel has.
func (c *Channel) openThread(ctx context.Context, messageID string) (normalize.Address, error) {
	for i := range maxTokenTries {
		seed := messageID
		if i > 0 {
			seed = fmt.Sprintf("%s#%d", messageID, i)
		}
		tok := newToken(c.name, seed)
		if c.threads == nil {
			return tok, nil
		}
		_, err := c.threads.ConversationAt(ctx, c.name, tok)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			return tok, nil
		case err != nil:
			return "", fmt.Errorf("check the new thread token: %w", err)
		}
	}
	return "", fmt.Errorf("no free thread token for %s after %d tries", messageID, maxTokenTries)
}
