// Package whatsapp owns the linked-device WhatsApp channel (type whatsapp): the gateway joins
// a WhatsApp number as a companion device, like WhatsApp Web, through go.mau.fi/whatsmeow.
//
// The session (the device's keys) lives in a SQLite file of the instance's own (session.go),
// paired from the terminal (`gateway whatsapp pair`, Pair) or, while the gateway runs, from
// the QR code the channel exposes through Status. Player messages are acknowledged to
// WhatsApp only after Sink.Deliver returned (whatsmeow's SynchronousAck: a handler that
// returns false leaves the message unacknowledged, and WhatsApp delivers it again); they are
// read into wamsg.Inbound by convert.go and converted by the shared wamsg.Converter. Replies go
// out paced by wamsg.Limiter, never to a number that has not written first, with a WhatsApp
// message ID derived from the gateway's message ID so that a retried send is one message on
// the player's phone. Everything the channel uses of whatsmeow's client sits behind Client, so
// the tests run on real whatsmeow event values without WhatsApp's servers.
package whatsapp
