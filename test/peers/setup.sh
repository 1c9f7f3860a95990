#!/usr/bin/env bash
# Installs and starts what the test suite talks to on loopback. Idempotent; safe to run twice.
# PostgreSQL is started by the machine (127.0.0.1:5432); tests that need it skip when it is
# unreachable unless CI is set. Real peers (Request Tracker, Dovecot, Postfix, Chromium) are
# added here as the connectors that need them arrive.
set -euo pipefail
echo "test peers: nothing to install yet"
