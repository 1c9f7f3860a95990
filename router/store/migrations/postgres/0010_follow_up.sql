-- Issue 18: a player who writes after the helpdesk closed the conversation's ticket gets a new
-- ticket that follows the closed one up (closed_ticket: follow_up, the default). The closed
-- ticket's reference moves here from ticket, so the next post opens a ticket the helpdesk
-- can link to it, and late events on the closed ticket still find the conversation.
ALTER TABLE conversations ADD COLUMN follow_up_of TEXT NOT NULL DEFAULT '';
CREATE INDEX conversations_follow_up ON conversations (helpdesk, follow_up_of) WHERE follow_up_of <> '';
