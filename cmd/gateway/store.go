package main

import (
	"context"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/connectors/channel/email"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/router"
	"github.com/casino-support/gateway/router/adminapi"
	"github.com/casino-support/gateway/router/store"
)

// gatewayStore is what the gateway's pieces take from the store, each by its own interface;
// store.Open returns one on either dialect, and nothing here depends on which. A connector
// that needs more of the store declares it in its Deps and it is added here.
type gatewayStore interface {
	router.Store
	router.RetentionStore
	adminapi.Store
	connectors.Cursors
	connectors.Records
	webchat.History
	email.Threads
	inbox.Conversations
	Ping(ctx context.Context) error
	Close() error
}

var _ gatewayStore = (*store.Store)(nil)
