-- Issue 17, the SLA's stages. sla_warn_at is when the running clock is near its breach,
-- sla_warned_at when the router marked that; first_answered_at is an agent's first answer,
-- after which a player's message starts a next-response clock rather than a first-response
-- one. complex_at is when the conversation was flagged complex, complex_escalated_at when
-- its escalation clock ran out and it went to the senior group.
ALTER TABLE conversations ADD COLUMN sla_warn_at BIGINT;
ALTER TABLE conversations ADD COLUMN sla_warned_at BIGINT;
ALTER TABLE conversations ADD COLUMN first_answered_at BIGINT;
ALTER TABLE conversations ADD COLUMN complex_at BIGINT;
ALTER TABLE conversations ADD COLUMN complex_escalated_at BIGINT;
CREATE INDEX conversations_sla_warn ON conversations (sla_warn_at) WHERE sla_warn_at IS NOT NULL AND sla_warned_at IS NULL;
CREATE INDEX conversations_complex ON conversations (complex_at) WHERE complex_at IS NOT NULL AND complex_escalated_at IS NULL;
