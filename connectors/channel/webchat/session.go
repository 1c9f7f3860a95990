package webchat

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/casino-support/gateway/normalize"
)

// historyLimit is how many messages a welcome carries.
const historyLimit = 100

// session is an authenticated page: who is chatting, where the conversation lives and the
// client address (connectors.ClientKey) it is counted against. Both transports build one per
// hello (WebSocket) or per request (HTTP), from the visitor token.
type session struct {
	id     identity
	addr   normalize.Address
	client string
}

// authenticate checks a visitor token presented by the client at client.
func (c *Channel) authenticate(token, client string) (session, *frameError) {
	cl, err := verifyToken(c.tokenKey, token, "visitor token", c.now())
	if err == nil && cl.Visitor == "" {
		err = fmt.Errorf("visitor token: %w: no visitor", ErrTokenMalformed)
	}
	if err != nil {
		msg := "Your chat session is not valid; a new one is started."
		if errors.Is(err, ErrTokenExpired) {
			msg = "Your chat session has expired; a new one is started."
		}
		c.logTokenRefused("visitor token refused", client, err)
		return session{}, &frameError{Code: codeInvalidToken, Message: msg}
	}
	id := cl.identity()
	return session{id: id, addr: id.address(), client: client}, nil
}

// verifyPlayer checks a player token signed by the casino backend.
func (c *Channel) verifyPlayer(token, client string) (claims, *frameError) {
	cl, err := verifyToken(c.playerKey, token, "player token", c.now())
	if err == nil && cl.PlayerID == "" {
		err = fmt.Errorf("player token: %w: player_id is required", ErrTokenMalformed)
	}
	if err != nil {
		c.logTokenRefused("player token refused", client, err)
		c.playerRefused.Inc(refusalReason(err))
		return claims{}, &frameError{Code: codeInvalidPlayer,
			Message: fmt.Sprintf("We could not confirm your casino sign-in (%v). Please reload the page.", err)}
	}
	return cl, nil
}

// identify authenticates a hello from the client at client: a valid visitor token keeps its
// visitor (and identity), none starts a new visitor, a valid player token identifies the
// player. A token that is present must be valid: a forged or expired one is refused, not
// ignored (except player tokens when no player_secret is configured, which cannot be checked at
// all). Anonymous new visitors count against the address's per_address.new_visitors_per_minute,
// and every hello against its conversation's frame rate, since each reads the history.
func (c *Channel) identify(f clientFrame, client string) (identity, *frameError) {
	var id identity
	if f.Token != "" {
		s, ferr := c.authenticate(f.Token, client)
		if ferr != nil {
			return identity{}, ferr
		}
		id = s.id
	} else {
		id.Visitor = newVisitorID()
	}
	if f.Player != "" && c.playerKey == nil {
		// Without a player_secret nothing the page claims can be checked: the player chats
		// anonymously, as config documents.
		c.log.Warn("player token ignored: no player_secret configured")
	} else if f.Player != "" {
		p, ferr := c.verifyPlayer(f.Player, client)
		if ferr != nil {
			return identity{}, ferr
		}
		id.PlayerID, id.VIP, id.Name = string(p.PlayerID), p.VIP, p.Name
		if p.Language != "" {
			f.Language = p.Language // the casino account's language beats the browser's
		}
	}
	if f.Language != "" {
		id.Language = f.Language
	}
	now := c.now()
	// A player token is signed by the casino and cannot be made up by the thousand, so only
	// anonymous visitors count.
	if f.Token == "" && id.PlayerID == "" && !c.limits.visitors.allow(client, now, 1) {
		return identity{}, c.refuse(reasonNewVisitors, client, "", "")
	}
	if !c.limits.frames.allow(id.address(), now, 1) {
		c.refuse(reasonFrames, client, id.address(), "")
		return identity{}, &frameError{Code: codeUnavailable, Message: reconnectingTooOften}
	}
	return id, nil
}

// welcome returns the welcome frame for id: a renewed token (the expiry slides with each
// visit), the greeting and the history. Transports register the page for pushes before they
// call it, so a reply stored while the history loads is pushed rather than lost (a page may
// then get it twice and keys agent messages by id).
func (c *Channel) welcome(ctx context.Context, id identity) (welcomeFrame, *frameError) {
	addr := id.address()
	hist, err := c.thread(ctx, addr, historyLimit)
	if err != nil {
		c.log.Error("history not loaded", "conv", addr, "err", err)
		return welcomeFrame{}, unavailable("")
	}
	return welcomeFrame{
		Type:             typeWelcome,
		Token:            signToken(c.tokenKey, id.claims(c.now().Add(c.cfg.TokenTTL))),
		Visitor:          id.Visitor,
		Title:            c.cfg.Title,
		Greeting:         greeting(c.cfg.Greetings, id.Language),
		Language:         id.Language,
		History:          hist,
		Limits:           limits{TextChars: maxTextRunes, UploadBytes: c.maxUpload, UploadTypes: c.cfg.UploadTypes},
		CallbackRequests: c.cfg.CallbackRequests,
	}, nil
}

// thread returns the last limit messages of addr's conversation in wire form, notes left out.
func (c *Channel) thread(ctx context.Context, addr normalize.Address, limit int) ([]wireMessage, error) {
	msgs, err := c.messages(ctx, addr, limit)
	if err != nil {
		return nil, err
	}
	return c.views(msgs), nil
}

// messages returns the last limit stored messages of addr's conversation; none when the
// conversation does not exist yet.
func (c *Channel) messages(ctx context.Context, addr normalize.Address, limit int) ([]normalize.Message, error) {
	conv, found, err := c.conversation(ctx, addr)
	if err != nil || !found {
		return nil, err
	}
	msgs, err := c.history.Thread(ctx, conv.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: thread of %s: %w", c.name, conv.ID, err)
	}
	return msgs, nil
}

// greeting picks the greeting for lang: exact tag, then its base language, then "en".
func greeting(greetings map[string]string, lang string) string {
	if lang != "" {
		base, _, _ := strings.Cut(lang, "-")
		for _, want := range []string{lang, base} {
			for k, v := range greetings {
				if strings.EqualFold(k, want) {
					return v
				}
			}
		}
	}
	return greetings["en"]
}

// unavailable is the answer to what may work on a retry: the page keeps the message (if any)
// in its outbox and resends it, or reconnects.
func unavailable(clientID string) *frameError {
	msg := "The chat is temporarily unavailable; retrying automatically."
	if clientID != "" {
		msg = "Not sent yet: the chat is busy. Your message is kept and sent again automatically."
	}
	return &frameError{Code: codeUnavailable, ClientID: clientID, Message: msg}
}

// logTokenRefused logs a refused token at most once a minute per address, with how many
// refusals the line stands for: forged tokens are free to send, and each must not cost a line.
func (c *Channel) logTokenRefused(msg, client string, err error) {
	if n, ok := c.refusalLog.note(msg+" "+client, c.now()); ok {
		c.log.Info(msg, "client", client, "refused", n, "err", err)
	}
}
