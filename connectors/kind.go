package connectors

// Kind is what sort of connector a type is: a channel of one medium, or a helpdesk. Policy
// that differs by medium, such as the first-response target of the support policy, follows
// the kind of a conversation's channel, so a new channel type gets its medium's policy by
// declaring its kind, and there is no list of types to forget it in.
type Kind string

const (
	// KindChat is live messaging: the web chat, Telegram, WhatsApp.
	KindChat Kind = "chat"
	// KindEmail is e-mail.
	KindEmail Kind = "email"
	// KindVoice is the phone: voicemail, call-back requests.
	KindVoice Kind = "voice"
	// KindHelpdesk is a ticket system or the built-in inbox.
	KindHelpdesk Kind = "helpdesk"
)

// IsChannel reports whether k is a kind of channel.
func (k Kind) IsChannel() bool {
	switch k {
	case KindChat, KindEmail, KindVoice:
		return true
	}
	return false
}
