package wake

// Channel is the PostgreSQL channel b listens on; tests end its listener's connection.
func (b *Bus) Channel() string { return b.channel }
