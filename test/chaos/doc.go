// Package chaos holds the chaos test of issue 15 (chaos_test.go): three replicas of the real
// gateway binary on one PostgreSQL schema, loaded from a fake Telegram, the web chat and the
// webhook helpdesk's agents, SIGKILLed and restarted at seeded random moments while the
// helpdesk fake fails now and then; at the end nothing was lost or doubled. See
// docs/postgres.md, "Chaos test".
package chaos
