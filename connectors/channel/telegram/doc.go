// Package telegram owns the Telegram channel: a bot that players write to in private chats.
// It receives updates by long polling (getUpdates, offset advanced only after Sink.Deliver
// returned) or by webhook at /hooks/{instance}, converts them with the pure functions in
// convert.go, fetches attached files into the blob store, and sends agents' replies back with
// the Bot API's per-chat and global rate limits.
//
// Player identification by /start payload is not done: a deep-link start parameter is at
// most 64 characters of A-Za-z0-9_-, too short for the web chat's signed player token and
// without its "." separator. The payload is kept in the delivered message's text instead.
package telegram
