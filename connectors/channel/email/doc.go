// Package email owns the e-mail channel: one support mailbox per instance. Players' mail is
// read over IMAP (IDLE where the server has it, polling otherwise; a mail is marked \Seen or
// moved, and the mailbox's UID cursor advanced, only after Sink.Deliver stored it), or handed
// over by the operator's MTA over LMTP/SMTP (answered 250 only once stored). Agents' replies
// leave over SMTP submission with a Message-ID derived from the message ID, threaded under
// the player's mail.
//
// A conversation's Address is a thread token (thread.go), not the player's address: one
// player may have several topics open. A mail joins a conversation by the Message-IDs its
// In-Reply-To and References name, else by the token in its subject, else by a plus-address
// token (support+TOKEN@...); otherwise it opens a new thread. Auto-replies, bulk mail and the
// gateway's own mail are dropped (counted and logged); a bounce marks the reply it reports
// failed. MIME parsing is the parse package's.
package email
