package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email"
	chanloop "github.com/casino-support/gateway/connectors/channel/loopback"
	"github.com/casino-support/gateway/connectors/channel/telegram"
	"github.com/casino-support/gateway/connectors/channel/voice"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/channel/whatsapp"
	wacloud "github.com/casino-support/gateway/connectors/channel/whatsapp/cloud"
	"github.com/casino-support/gateway/connectors/helpdesk/chatwoot"
	"github.com/casino-support/gateway/connectors/helpdesk/freshdesk"
	"github.com/casino-support/gateway/connectors/helpdesk/helpscout"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	deskloop "github.com/casino-support/gateway/connectors/helpdesk/loopback"
	"github.com/casino-support/gateway/connectors/helpdesk/rt"
	"github.com/casino-support/gateway/connectors/helpdesk/webhook"
	"github.com/casino-support/gateway/connectors/helpdesk/zammad"
	"github.com/casino-support/gateway/connectors/helpdesk/zendesk"
	"github.com/casino-support/gateway/connectors/settings"
	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/language"
	"github.com/casino-support/gateway/router/store"
)

// connectorTypes is the one table of the connector types the configuration may name. Adding
// a channel or helpdesk is a package of its own (its settings, their defaults and their
// validation, and the connector) and one row here; the loader learns the type's settings from
// this table and the router the policy of its kind.
func connectorTypes() []connectorType {
	return []connectorType{
		channelType("loopback", connectors.KindChat, chanloop.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *chanloop.Config) (*chanloop.Channel, error) {
				return chanloop.New(name, *c, d.client, d.log), nil
			}),
		channelType("webchat", connectors.KindChat, webchat.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *webchat.Config) (*webchat.Channel, error) {
				return webchat.New(name, *c, webchat.Deps{Blobs: d.blobs, History: d.store, PublicURL: d.cfg.PublicURL,
					SecretsDir: filepath.Join(d.cfg.DataDir, "secrets"), MaxUploadBytes: d.cfg.Attachments.MaxBytes, Log: d.log,
					Metrics: d.metrics, Notices: d.notices})
			}).withMaxText(webchat.MaxTextRunes),
		channelType("telegram", connectors.KindChat, telegram.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *telegram.Config) (*telegram.Channel, error) {
				return telegram.New(name, *c, telegram.Deps{Blobs: d.blobs, Client: d.client, PublicURL: d.cfg.PublicURL, Log: d.log, Metrics: d.metrics})
			}).withMaxText(telegram.MaxInboundText),
		channelType("email", connectors.KindEmail, email.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *email.Config) (*email.Channel, error) {
				return email.New(name, *c, email.Deps{Blobs: d.blobs, Cursors: d.store, Records: d.store, Threads: d.store, Log: d.log,
					Metrics: d.metrics, MaxAttachmentBytes: d.cfg.Attachments.MaxBytes})
			}),
		channelType("whatsapp", connectors.KindChat, whatsapp.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *whatsapp.Config) (*whatsapp.Channel, error) {
				return whatsapp.New(d.ctx, name, *c, whatsapp.Deps{Blobs: d.blobs, MaxMediaBytes: d.cfg.Attachments.MaxBytes,
					Log: d.log, Metrics: d.metrics, Postgres: sessionPostgres(d.cfg)})
			}).singletonRun(),
		channelType("whatsapp-cloud", connectors.KindChat, wacloud.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *wacloud.Config) (*wacloud.Channel, error) {
				return wacloud.New(name, *c, wacloud.Deps{Blobs: d.blobs, Cursors: d.store, Client: d.client, Metrics: d.metrics, Log: d.log})
			}),
		channelType("voice", connectors.KindVoice, voice.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *voice.Config) (*voice.Channel, error) {
				return voice.New(name, *c, voice.Deps{Blobs: d.blobs, Records: d.store, Cursors: d.store, Client: d.client,
					PublicURL: d.cfg.PublicURL, Log: d.log, Metrics: d.metrics})
			}),
		helpdeskType("loopback", deskloop.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *deskloop.Config) (*deskloop.Helpdesk, error) {
				return deskloop.New(name, *c, d.client, d.log), nil
			}),
		helpdeskType("inbox", inbox.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *inbox.Config) (*inbox.Inbox, error) {
				return inbox.New(d.ctx, name, *c, inbox.Deps{Conversations: d.store, Blobs: d.blobs,
					FirstResponse: d.sla.Target, PublicURL: d.cfg.PublicURL, MaxUploadBytes: d.cfg.Attachments.MaxBytes,
					Out: d.out, PasswordCommand: inboxPasswordCommand(d.cfg, d.configFile, name),
					Pairables: pairables(d.channels), Postgres: d.postgres, Notices: d.notices, Log: d.log})
			}),
		helpdeskType("rt", rt.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *rt.Config) (*rt.Helpdesk, error) {
				return rt.New(name, *c, rt.Deps{Blobs: d.blobs, Cursors: d.store, Client: d.client, Log: d.log})
			}).singletonRun(),
		helpdeskType("webhook", webhook.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *webhook.Config) (*webhook.Helpdesk, error) {
				return webhook.New(name, *c, webhook.Deps{Blobs: d.blobs, MaxAttachmentBytes: d.cfg.Attachments.MaxBytes,
					Client: d.client, PublicURL: d.cfg.PublicURL, Log: d.log})
			}),
		helpdeskType("zendesk", zendesk.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *zendesk.Config) (*zendesk.Helpdesk, error) {
				return zendesk.New(name, *c, zendesk.Deps{Blobs: d.blobs, Cursors: d.store, Client: d.client, Metrics: d.metrics, Log: d.log})
			}),
		helpdeskType("chatwoot", chatwoot.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *chatwoot.Config) (*chatwoot.Helpdesk, error) {
				return chatwoot.New(name, *c, chatwoot.Deps{Blobs: d.blobs, Cursors: d.store, MaxAttachmentBytes: d.cfg.Attachments.MaxBytes,
					Client: d.client, Metrics: d.metrics, Log: d.log})
			}),
		helpdeskType("zammad", zammad.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *zammad.Config) (*zammad.Helpdesk, error) {
				return zammad.New(name, *c, zammad.Deps{Blobs: d.blobs, Cursors: d.store, Client: d.client, Metrics: d.metrics, Log: d.log})
			}),
		helpdeskType("freshdesk", freshdesk.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *freshdesk.Config) (*freshdesk.Helpdesk, error) {
				return freshdesk.New(name, *c, freshdesk.Deps{Blobs: d.blobs, Cursors: d.store, Client: d.client, Metrics: d.metrics, Log: d.log})
			}),
		helpdeskType("helpscout", helpscout.DefaultConfig,
			func(d deps, name normalize.InstanceName, c *helpscout.Config) (*helpscout.Helpdesk, error) {
				return helpscout.New(name, *c, helpscout.Deps{Blobs: d.blobs, Cursors: d.store, Client: d.client, Metrics: d.metrics, Log: d.log})
			}),
	}
}

// connectorType is one row of the table.
type connectorType struct {
	name string
	kind connectors.Kind
	// newConfig returns the type's settings with their defaults set.
	newConfig config.NewSettings
	// build makes the connector of an instance from its settings, which newConfig made and
	// the loader filled; it returns a connectors.Channel for a channel kind, else a
	// connectors.Helpdesk.
	build func(d deps, name normalize.InstanceName, s settings.Settings) (any, error)
	// maxText is the most characters of text a player's message of a channel type carries;
	// the router cuts longer text (a channel that lets through more than its remote allows, a
	// forged webhook). 0 is the router's generous default.
	maxText int
	// singleton runs the whole Run of an instance on one replica at a time (a WhatsApp linked
	// device, RT's transaction poller: all their Run does allows one session). Connectors
	// whose Run does more than that say which part is the singleton themselves, through
	// connectors.RunSingleton (a Telegram bot's polling, a mailbox's intake).
	singleton bool
}

// singletonRun sets the row's singleton.
func (t connectorType) singletonRun() connectorType {
	t.singleton = true
	return t
}

// withMaxText sets the row's maxText.
func (t connectorType) withMaxText(n int) connectorType {
	t.maxText = n
	return t
}

// channelType is a row for a channel type whose settings are *C and whose connector is T.
func channelType[C settings.Settings, T connectors.Channel](name string, kind connectors.Kind, newConfig func() C,
	build func(deps, normalize.InstanceName, C) (T, error)) connectorType {
	if !kind.IsChannel() {
		panic(fmt.Sprintf("connector type %s: %q is no kind of channel", name, kind))
	}
	return connectorType{name: name, kind: kind, newConfig: func() settings.Settings { return newConfig() }, build: typedBuild(build)}
}

// helpdeskType is a row for a helpdesk type whose settings are *C and whose connector is T.
func helpdeskType[C settings.Settings, T connectors.Helpdesk](name string, newConfig func() C,
	build func(deps, normalize.InstanceName, C) (T, error)) connectorType {
	return connectorType{name: name, kind: connectors.KindHelpdesk, newConfig: func() settings.Settings { return newConfig() },
		build: typedBuild(build)}
}

// typedBuild adapts a build function of the type's own settings and connector to the table.
// It never puts a typed nil into the interface the caller checks.
func typedBuild[C settings.Settings, T any](build func(deps, normalize.InstanceName, C) (T, error)) func(deps, normalize.InstanceName, settings.Settings) (any, error) {
	return func(d deps, name normalize.InstanceName, s settings.Settings) (any, error) {
		c, ok := s.(C)
		if !ok {
			return nil, fmt.Errorf("%s: settings are %T, want %T", name, s, c)
		}
		conn, err := build(d, name, c)
		if err != nil {
			return nil, err
		}
		return conn, nil
	}
}

// storeDrivers are the stores this build opens (assemble, in serve.go).
var storeDrivers = store.Drivers

// catalog is what the configuration loader learns from the table.
func catalog(types []connectorType) config.Catalog {
	cat := config.Catalog{Channels: map[string]config.NewSettings{}, Helpdesks: map[string]config.NewSettings{},
		StoreDrivers: storeDrivers, CheckLanguages: language.Check}
	for _, t := range types {
		if t.kind.IsChannel() {
			cat.Channels[t.name] = t.newConfig
		} else {
			cat.Helpdesks[t.name] = t.newConfig
		}
	}
	return cat
}

// lookupType returns the row of a type of the family of kind (channel or helpdesk).
func lookupType(types []connectorType, channel bool, name string) (connectorType, bool) {
	for _, t := range types {
		if t.name == name && t.kind.IsChannel() == channel {
			return t, true
		}
	}
	return connectorType{}, false
}

// deps are what connectors may use from the gateway.
type deps struct {
	ctx context.Context
	cfg *config.Config
	// configFile is where cfg was read from; "" is the embedded default.
	configFile string
	client     *http.Client
	blobs      connectors.Blobs
	store      gatewayStore
	// postgres is the store's PostgreSQL database for connectors' shared state (the inbox's
	// tables); nil on SQLite.
	postgres *sql.DB
	// notices wakes connectors' live pages on the other replicas; nil on SQLite.
	notices connectors.Notices
	sla     router.SLA
	out     io.Writer
	log     *slog.Logger
	// metrics registers connectors' own instruments (the web chat's refusals, the e-mail
	// channels' dropped and oversized mails).
	metrics prometheus.Registerer
	// channels returns the channels built; a helpdesk that acts on them (the inbox pairs
	// WhatsApp) calls it when it needs them, not while it is built.
	channels func() map[normalize.InstanceName]connectors.Channel
}

// buildConnectors makes every configured channel and helpdesk.
func buildConnectors(types []connectorType, d deps) (map[normalize.InstanceName]connectors.Channel, map[normalize.InstanceName]connectors.Helpdesk, error) {
	channels := map[normalize.InstanceName]connectors.Channel{}
	helpdesks := map[normalize.InstanceName]connectors.Helpdesk{}
	d.channels = func() map[normalize.InstanceName]connectors.Channel { return channels }
	build := func(family string, channel bool, name, typ string, s settings.Settings) (any, error) {
		t, ok := lookupType(types, channel, typ)
		if !ok {
			return nil, fmt.Errorf("%s %s: unknown type %q", family, name, typ)
		}
		dd := d
		dd.log = d.log.With(family, name)
		conn, err := t.build(dd, normalize.InstanceName(name), s)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", family, name, err)
		}
		return conn, nil
	}
	for _, c := range d.cfg.Channels {
		conn, err := build("channel", true, c.Name, c.Type, c.Settings)
		if err != nil {
			closeAll(channels, helpdesks, d.log)
			return nil, nil, err
		}
		channels[normalize.InstanceName(c.Name)] = conn.(connectors.Channel)
	}
	for _, h := range d.cfg.Helpdesks {
		conn, err := build("helpdesk", false, h.Name, h.Type, h.Settings)
		if err != nil {
			closeAll(channels, helpdesks, d.log)
			return nil, nil, err
		}
		helpdesks[normalize.InstanceName(h.Name)] = conn.(connectors.Helpdesk)
	}
	return channels, helpdesks, nil
}

// closeAll releases what connectors hold open (the inbox's database).
func closeAll(channels map[normalize.InstanceName]connectors.Channel, helpdesks map[normalize.InstanceName]connectors.Helpdesk, log *slog.Logger) {
	for n, c := range channels {
		closeConnector("channel", n, c, log)
	}
	for n, h := range helpdesks {
		closeConnector("helpdesk", n, h, log)
	}
}

func closeConnector(family string, name normalize.InstanceName, c any, log *slog.Logger) {
	if cl, ok := c.(io.Closer); ok {
		if err := cl.Close(); err != nil {
			log.Warn("close connector", family, name, "err", err)
		}
	}
}

// textLimits are the channel types' limits on a player's text, for the router. A channel
// type's messages carry its type name as their ChannelKind.
func textLimits(types []connectorType) map[normalize.ChannelKind]int {
	limits := map[normalize.ChannelKind]int{}
	for _, t := range types {
		if t.kind.IsChannel() && t.maxText > 0 {
			limits[normalize.ChannelKind(t.name)] = t.maxText
		}
	}
	return limits
}

// slaPolicy gives every channel type the first-response target of its kind. A channel type's
// messages carry its type name as their ChannelKind.
func slaPolicy(cfg *config.Config, types []connectorType) router.SLA {
	sla := slaStages(cfg)
	for _, t := range types {
		switch t.kind {
		case connectors.KindChat:
			slaTargets(cfg, &sla, normalize.ChannelKind(t.name), "chat")
		case connectors.KindEmail:
			slaTargets(cfg, &sla, normalize.ChannelKind(t.name), "email")
		case connectors.KindVoice:
			slaTargets(cfg, &sla, normalize.ChannelKind(t.name), "voice")
		case connectors.KindHelpdesk:
		default:
			panic(fmt.Sprintf("connector type %s: kind %q has no first-response target", t.name, t.kind))
		}
	}
	return sla
}
