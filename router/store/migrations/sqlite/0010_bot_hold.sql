-- The FAQ bot (issue 17): a conversation a route with a bot opens has its inbound lane held
-- by that bot, named here. Claims skip held lanes, so the player's messages are stored (and
-- acknowledged) but not posted to the helpdesk until the bot hands the conversation off,
-- which clears the name and makes the lane due. '' is every other lane.
ALTER TABLE lanes ADD COLUMN held TEXT NOT NULL DEFAULT '';
