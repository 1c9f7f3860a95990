package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casino-support/gateway/normalize"
)

// convMeta is the metadata of a conversation that inbound messages can change.
type convMeta struct {
	language string
	priority normalize.Priority
	tags     []string
	player   normalize.Author
}

func (c convMeta) equal(o convMeta) bool {
	return c.language == o.language && c.priority == o.priority && c.player == o.player && slices.Equal(c.tags, o.tags)
}

// merge returns the metadata after m and what changed that the helpdesk should know. An
// identified author (with a player ID) is taken as the truth about the player; otherwise only
// gaps are filled and a VIP tier only rises, so an anonymous message cannot undo an identity.
func (c convMeta) merge(m normalize.Message, a Assessment) (convMeta, []normalize.Field) {
	next := c
	next.tags = slices.Clone(c.tags)
	var changed []normalize.Field
	if m.Author.Role == normalize.RolePlayer {
		au := m.Author
		if au.Language != "" && !strings.EqualFold(au.Language, c.language) {
			next.language = au.Language
			changed = append(changed, normalize.FieldLanguage)
		}
		if au.Language != "" {
			next.player.Language = au.Language
		}
		if au.DisplayName != "" && (au.PlayerID != "" || c.player.DisplayName == "") {
			next.player.DisplayName = au.DisplayName
		}
		if au.PlayerID != "" && au.PlayerID != c.player.PlayerID {
			next.player.PlayerID, next.player.PlayerIDBy = au.PlayerID, au.PlayerIDBy
			changed = append(changed, normalize.FieldPlayerID)
		}
		if au.VIPTier != c.player.VIPTier && (au.PlayerID != "" || au.VIPTier > c.player.VIPTier) {
			next.player.VIPTier = au.VIPTier
			changed = append(changed, normalize.FieldVIPTier)
		}
		if au.ExternalID != "" && c.player.ExternalID == "" {
			next.player.ExternalID = au.ExternalID
		}
		// The first address stays the requester's: a helpdesk's ticket keeps the one it was
		// opened with, and a channel that answers elsewhere (the address of the latest mail)
		// reads it from the message, not from here.
		if au.Email != "" && c.player.Email == "" {
			next.player.Email = au.Email
		}
		if next.player.Role == "" {
			next.player.Role = normalize.RolePlayer
		}
	}
	if a.Priority != "" && a.Priority.Rank() > c.priority.Rank() {
		next.priority = a.Priority
		changed = append(changed, normalize.FieldPriority)
	}
	for _, t := range a.Tags {
		if !slices.Contains(next.tags, t) {
			next.tags = append(next.tags, t)
		}
	}
	return next, changed
}

// updateMessage is the Update a player's message m caused, as an inbound system message of
// the same conversation; its dedup key derives from m's, which is unique.
func updateMessage(conv normalize.ConversationID, m normalize.Message, u *normalize.Update, now int64) normalize.Message {
	return normalize.Message{
		ID: normalize.NewMessageID(), Direction: normalize.Inbound,
		Source: m.Source, ExternalID: "update-" + m.ExternalID,
		Conversation: conv, Channel: m.Channel, ChannelKind: m.ChannelKind, Address: m.Address,
		Author: normalize.Author{Role: normalize.RoleSystem},
		Kind:   normalize.KindSystem, Text: describeUpdate(u), Update: u, SentAt: fromMillis(now),
	}
}

// describeUpdate says an Update in words for helpdesks that can only post it.
func describeUpdate(u *normalize.Update) string {
	var parts []string
	for _, f := range u.Changed {
		switch f {
		case normalize.FieldLanguage:
			parts = append(parts, "language "+u.Language)
		case normalize.FieldPlayerID:
			parts = append(parts, "player ID "+u.PlayerID)
		case normalize.FieldVIPTier:
			parts = append(parts, fmt.Sprintf("VIP tier %d", u.VIPTier))
		case normalize.FieldPriority:
			parts = append(parts, "priority "+string(u.Priority))
		case normalize.FieldSLA:
			if u.SLA.State() == normalize.SLABreached {
				parts = append(parts, fmt.Sprintf("first-response target missed: the player has waited since %s, the answer was due at %s",
					u.SLA.AwaitingSince.UTC().Format(time.RFC3339), u.SLA.DueAt.UTC().Format(time.RFC3339)))
			}
		}
	}
	return "Conversation updated: " + strings.Join(parts, "; ") + "."
}
