package email

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize"
)

// threadLookback is how many of a conversation's latest messages a reply's threading reads.
const threadLookback = 50

// maxReferences bounds a reply's References: the first of the thread and the newest.
const maxReferences = 20

// Send mails an agent's reply to the player, threaded under the player's latest mail, and
// returns its Message-ID (without angle brackets), which the router records so the player's
// answer to it finds the conversation. The Message-ID derives from msg.ID, so every attempt
// carries the same one.
//
// SMTP gives no idempotency: a reply whose earlier attempt may have been accepted (a timeout
// after DATA, a crash) can go out twice. With sent_folder set, the folder is searched for the
// Message-ID first and a found reply is not sent again; the reply is appended there once
// accepted (unless the server files submitted mail itself, where the search finds it too).
//
// Errors: the server's 4xx and network failures are retried; 5xx is permanent (the message
// becomes a dead letter); a refused AUTH wraps connectors.ErrUnauthorized.
func (c *Channel) Send(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (normalize.ExternalID, error) {
	mid := replyMessageID(msg.ID, c.domain)
	log := c.log.With("conv", conv.ID, "msg_id", msg.ID)
	th, err := c.replyThread(ctx, conv, msg)
	if err != nil {
		return "", fmt.Errorf("email %s: %w", c.name, err)
	}
	// The gateway's own acknowledgement or out-of-hours notice says so, as its size notices
	// do: a vacation responder must not answer it. (The mail it follows was a person's: mail
	// marked automatic or bulk never reaches the store, so nothing answers that.)
	th.auto = msg.AutoReply
	raw, err := c.compose(ctx, conv, msg, th, mid)
	if err != nil {
		return "", fmt.Errorf("email %s: compose reply: %w", c.name, err)
	}
	var sent *imapConn
	if c.cfg.IMAP.SentFolder != "" {
		var found bool
		sent, found, err = c.findSent(ctx, mid)
		if err != nil {
			return "", fmt.Errorf("email %s: look for the reply in %s before sending: %w", c.name, c.cfg.IMAP.SentFolder, err)
		}
		defer sent.close()
		if found {
			log.Info("email: reply found in the Sent folder: an earlier attempt went out, not sending again")
			return normalize.ExternalID(mid), nil
		}
	}
	if err := c.submit(ctx, th.to, raw); err != nil {
		return "", fmt.Errorf("email %s: send reply to %s: %w", c.name, th.to, err)
	}
	if sent != nil {
		if err := sent.Append(c.cfg.IMAP.SentFolder, []string{imap.SeenFlag}, c.now(), literal(raw)); err != nil {
			log.Warn("email: reply sent, but not filed in the Sent folder; a retry of it could not tell it went out", "err", err)
		}
	}
	return normalize.ExternalID(mid), nil
}

// findSent logs in, selects the Sent folder and reports whether it holds the reply mid. The
// connection stays open for the append after sending.
func (c *Channel) findSent(ctx context.Context, mid string) (*imapConn, bool, error) {
	ic, err := c.dialIMAP(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	if _, err := ic.Select(c.cfg.IMAP.SentFolder, false); err != nil {
		ic.close()
		return nil, false, fmt.Errorf("select %s: %w", c.cfg.IMAP.SentFolder, err)
	}
	crit := imap.NewSearchCriteria()
	crit.Header.Add("Message-Id", "<"+mid+">")
	uids, err := ic.UidSearch(crit)
	if err != nil {
		ic.close()
		return nil, false, fmt.Errorf("search %s: %w", c.cfg.IMAP.SentFolder, err)
	}
	return ic, len(uids) > 0, nil
}

// replyThread is where a reply goes and what it answers.
type replyThread struct {
	to, toName string
	subject    string // the player's latest subject
	inReplyTo  string
	references []string
	// auto marks a mail the gateway wrote itself, not an agent (a notice to the player).
	auto bool
}

// replyThread reads the conversation's latest messages: the reply goes to the address of the
// player's latest mail (its Reply-To, else From), answers it, and names the thread's mails
// (the player's and the gateway's replies) in References.
func (c *Channel) replyThread(ctx context.Context, conv normalize.Conversation, msg normalize.Message) (replyThread, error) {
	th := replyThread{to: conv.Player.Email, toName: conv.Player.DisplayName}
	var refs []string
	if c.threads != nil {
		ms, err := c.threads.Thread(ctx, conv.ID, threadLookback)
		if err != nil {
			return th, fmt.Errorf("read the thread of %s: %w", conv.ID, err)
		}
		for _, m := range ms {
			switch {
			case m.ID == msg.ID:
			case m.Direction == normalize.Inbound && m.Author.Role == normalize.RolePlayer:
				if id := string(m.ExternalID); !strings.HasSuffix(id, "@"+syntheticDomain) {
					refs = append(refs, id)
					th.inReplyTo = id
				}
				if m.Author.Email != "" {
					th.to, th.toName = m.Author.Email, m.Author.DisplayName
				}
				if m.Subject != "" {
					th.subject = m.Subject
				}
			case m.Direction == normalize.Outbound && reachedPlayer(m):
				refs = append(refs, replyMessageID(m.ID, c.domain))
			}
		}
	}
	if msg.ReplyTo != "" {
		th.inReplyTo = string(msg.ReplyTo)
	}
	if len(refs) > maxReferences {
		refs = append(refs[:1], refs[len(refs)-maxReferences+1:]...)
	}
	th.references = refs
	if th.to == "" {
		return th, connectors.Permanent(errors.New("the conversation knows no address of the player to answer"))
	}
	return th, nil
}

// reachedPlayer reports whether an outbound message was mailed to the player: a reply sent,
// not a note, a status change, or one that failed.
func reachedPlayer(m normalize.Message) bool {
	switch m.Kind {
	case normalize.KindNote, normalize.KindSystem:
		return false
	}
	switch m.State {
	case normalize.StateSent, normalize.StateDelivered, normalize.StateRead:
		return true
	}
	return false
}
