-- Singleton leases (issue 15): a connector that allows one live session per account (a
-- Telegram bot's long polling, an IMAP mailbox, a WhatsApp linked device, RT's poller) runs on
-- the replica that holds the lease named by its key, renewed by a heartbeat. Every take bumps
-- token, and a renewal must present the token of its take: a holder whose lease lapsed and
-- was taken by another replica is refused. lease_until 0 is released.
CREATE TABLE singletons (
    key         TEXT PRIMARY KEY,
    owner       TEXT NOT NULL DEFAULT '',
    token       INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER NOT NULL DEFAULT 0
);
