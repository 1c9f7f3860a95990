// Package telegram owns the Telegram channel: a bot that players write to in private chats.
// It receives updates by long polling (getUpdates, offset advanced only after Sink.Deliver
// returned) or by webhook at /hooks/{instance}, converts them with the pure functions in
// convert.go, fetches attached files into the blob store, and sends agents' replies back with
// the Bot API's per-chat and global rate limits.
//
// Players are identified by a /start deep-link payload signed with player_secret
// (identity.go; the format, which fits Telegram's 64-character start parameter, is documented
// in docs/telegram.md). A verified identity is remembered per chat in memory for the
// channel's lifetime. A reply refused with 403 (the player blocked the bot) also adds a system
// message to the conversation, and Typing implements connectors.Typer with sendChatAction.
package telegram
