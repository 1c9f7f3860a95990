#!/usr/bin/env bash
# Installs what the test suite talks to on loopback, from Debian's packages. Idempotent: a
# second run installs nothing. PostgreSQL is started by the machine (127.0.0.1:5432); tests
# that need it skip when it is unreachable unless CI is set.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # browser tests (chromedp)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# Request Tracker 5 for connectors/helpdesk/rt (started by test/peers/rt.sh, not by the
# system). dbconfig-no-thanks keeps the package from creating a system database.
rt_need=()
for p in dbconfig-no-thanks request-tracker5 rt5-standalone rt5-db-sqlite curl; do
  installed "$p" || rt_need+=("$p")
done
# request-tracker5 needs an MTA; without one apt picks exim4. Postfix in "No configuration"
# mode satisfies it and never runs.
if [ ${#rt_need[@]} -gt 0 ] && [ ! -x /usr/sbin/sendmail ]; then rt_need+=(postfix); fi
# Dovecot and Postfix for the email connector (started by test/peers/mail.sh with their own
# config and state dir, never as the system's). The system Postfix stays in "No
# configuration" mode, so it is the same package RT's dependency wants, and it never runs.
mail_need=()
for p in dovecot-imapd dovecot-lmtpd postfix openssl; do
  installed "$p" || case " ${rt_need[*]} " in *" $p "*) ;; *) mail_need+=("$p") ;; esac
done
lean=("${rt_need[@]}" "${mail_need[@]}")
need+=("${lean[@]}")

if [ ${#need[@]} -eq 0 ]; then
  echo "test peers: all installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test peers: missing ${need[*]}; run as root, or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "test peers: installing ${need[*]}"
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A policy that forbids service starts keeps packages from starting system daemons (Dovecot
# would listen on 143/993 on every interface). One the machine already has is left alone.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
printf '%s\n' 'postfix postfix/main_mailer_type select No configuration' \
  'request-tracker5 request-tracker5/install-cronjobs boolean false' |
  debconf-set-selections 2>/dev/null || echo "test peers: debconf preseed failed, using defaults" >&2
other=()
for p in "${need[@]}"; do
  case " ${lean[*]} " in *" $p "*) ;; *) other+=("$p") ;; esac
done
if [ ${#other[@]} -gt 0 ]; then apt-get install -y -qq "${other[@]}" >/dev/null; fi
# RT and the mail servers without recommends: they would pull Apache, a system database and
# more than the tests use.
if [ ${#lean[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null; fi
echo "test peers: installed ${need[*]} in $((SECONDS - t0)) s"
