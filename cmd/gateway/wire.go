package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/connectors/helpdesk/rt"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/store"
	"github.com/casino-support/gateway/test/loopback"
)

// This file is the one explicit list of connector types: adding a channel or helpdesk type
// means a case here and its settings in config.

// deps are what connectors may use from the gateway.
type deps struct {
	ctx    context.Context
	cfg    *config.Config
	client *http.Client
	blobs  connectors.Blobs
	store  *store.Store
	// typing reaches the router, which is built after the connectors it routes between.
	typing func(ctx context.Context, conv normalize.ConversationID) error
	out    io.Writer
	log    *slog.Logger
}

func buildChannel(c config.Channel, d deps) (connectors.Channel, error) {
	name := normalize.InstanceName(c.Name)
	log := d.log.With("channel", c.Name)
	switch c.Type {
	case "loopback":
		return loopback.NewChannel(name, *c.Loopback, d.client, log), nil
	case "webchat":
		ch, err := webchat.New(name, *c.Webchat, webchat.Deps{Blobs: d.blobs, History: d.store, PublicURL: d.cfg.PublicURL,
			SecretsDir: filepath.Join(d.cfg.DataDir, "secrets"), MaxUploadBytes: d.cfg.Attachments.MaxBytes, Log: log})
		if err != nil { // never a typed nil in the interface
			return nil, err
		}
		return ch, nil
	case "telegram":
		ch, err := telegram.New(name, *c.Telegram, telegram.Deps{Blobs: d.blobs, Client: d.client, PublicURL: d.cfg.PublicURL, Log: log})
		if err != nil {
			return nil, err
		}
		return ch, nil
	}
	return nil, fmt.Errorf("channel %s: unknown type %q", c.Name, c.Type)
}

func buildHelpdesk(h config.Helpdesk, d deps) (connectors.Helpdesk, error) {
	name := normalize.InstanceName(h.Name)
	log := d.log.With("helpdesk", h.Name)
	switch h.Type {
	case "loopback":
		return loopback.NewHelpdesk(name, *h.Loopback, d.client, log), nil
	case "inbox":
		box, err := inbox.New(d.ctx, name, *h.Inbox, inbox.Deps{Conversations: d.store, Blobs: d.blobs, Typing: d.typing,
			FirstResponse: slaPolicy(d.cfg).Target, PublicURL: d.cfg.PublicURL, MaxUploadBytes: d.cfg.Attachments.MaxBytes,
			Out: d.out, Log: log})
		if err != nil {
			return nil, err
		}
		return box, nil
	case "rt":
		desk, err := rt.New(name, *h.RT, rt.Deps{Blobs: d.blobs, Cursors: d.store, Client: d.client, Log: log})
		if err != nil {
			return nil, err
		}
		return desk, nil
	case "webhook":
		desk, err := webhook.New(name, *h.Webhook, webhook.Deps{Blobs: d.blobs, MaxAttachmentBytes: d.cfg.Attachments.MaxBytes, Client: d.client, PublicURL: d.cfg.PublicURL, Log: log})
		if err != nil {
			return nil, err
		}
		return desk, nil
	}
	return nil, fmt.Errorf("helpdesk %s: unknown type %q", h.Name, h.Type)
}

func routingRules(cfg *config.Config) router.Rules {
	rules := router.Rules{Default: normalize.InstanceName(cfg.DefaultHelpdesk), SLA: slaPolicy(cfg)}
	for _, r := range cfg.Routes {
		rule := router.Rule{Languages: r.Match.Languages, MinVIP: r.Match.MinVIP, Keywords: r.Match.Keywords,
			Helpdesk: normalize.InstanceName(r.Helpdesk)}
		for _, c := range r.Match.Channels {
			rule.Channels = append(rule.Channels, normalize.InstanceName(c))
		}
		for _, k := range r.Match.Kinds {
			rule.Kinds = append(rule.Kinds, normalize.ChannelKind(k))
		}
		rules.List = append(rules.List, rule)
	}
	return rules
}

// slaPolicy maps the sla settings, given per kind of channel, to channel types.
func slaPolicy(cfg *config.Config) router.SLA {
	fr := cfg.SLA.FirstResponse
	return router.SLA{VIP: fr.VIP, FirstResponse: map[normalize.ChannelKind]time.Duration{
		normalize.KindWebchat: fr.Chat, normalize.KindTelegram: fr.Chat, normalize.KindWhatsApp: fr.Chat, normalize.KindLoopback: fr.Chat,
		normalize.KindEmail: fr.Email,
		normalize.KindVoice: fr.Voice,
	}}
}
