#!/usr/bin/env bash
# mail.sh - real mail servers on loopback for the email connector's integration tests:
# Dovecot 2.3 (IMAP with IDLE, IMAPS, LMTP, and the SASL auth Postfix asks) and Postfix 3.7
# (SMTP, submission, submissions), Debian 12's packages, run by hand (no systemd) with their
# own config, TLS certificates, queue, maildirs and logs under one state dir. The packages
# come from test/peers/setup.sh; the system's Postfix stays unconfigured and never runs.
#
#   mail.sh start    fresh state, start both; no-op if running (exit 3 if not installed)
#   mail.sh stop     stop both by PID, delete the state dir (mail included)
#   mail.sh status   show their processes and RSS; exit 3 when stopped
#   mail.sh env      print the connection settings (also in $STATE/env)
#
# Endpoints, on 127.0.0.1 (and ::1 when the host has it); ports away from the usual ones:
#   IMAP         18143  plain LOGIN allowed on loopback, STARTTLS offered, IDLE
#   IMAPS        18993  implicit TLS
#   LMTP         18024  Dovecot's LMTP: delivery straight into a mailbox, no Postfix
#   SMTP         18025  the "MX": no AUTH, how a test injects a player's mail
#   submission   18587  STARTTLS required, then AUTH PLAIN/LOGIN required to send
#   submissions  18465  implicit TLS, AUTH PLAIN/LOGIN required
# Users: support, player, agent, catchall, all @example.test; the IMAP/SMTP login is the
# whole address and the password is "<name>-pass" (support@example.test / support-pass). A
# wrong password is refused after 2 s (Dovecot's auth_failure_delay, as in production), but
# earns the address no penalty on later logins.
# Every user has the special-use folders Sent, Drafts, Archive, Junk and Trash besides
# INBOX. Mail to user+anything@example.test goes to user's INBOX. Mail to any other domain
# never leaves: Postfix rewrites it to catchall@example.test, where a test can read it.
# TLS: a CA made at start signs the servers' certificate (localhost, mail.example.test,
# 127.0.0.1, ::1); the CA's PEM is the tests' trust anchor (MAIL_TLS_CA_FILE).
#
# Env overrides: GATEWAY_MAIL_PEER_DIR (state dir, default /tmp/gateway-mail-peer),
# MAIL_IMAP_PORT, MAIL_IMAPS_PORT, MAIL_LMTP_PORT, MAIL_SMTP_PORT, MAIL_SUBMISSION_PORT,
# MAIL_SUBMISSIONS_PORT. Must run as root (both daemons drop privileges themselves).
set -euo pipefail

STATE=${GATEWAY_MAIL_PEER_DIR:-/tmp/gateway-mail-peer}
STATE=${STATE%/}
DOMAIN=example.test
USERS="support player agent catchall"
IMAP_PORT=${MAIL_IMAP_PORT:-18143}
IMAPS_PORT=${MAIL_IMAPS_PORT:-18993}
LMTP_PORT=${MAIL_LMTP_PORT:-18024}
SMTP_PORT=${MAIL_SMTP_PORT:-18025}
SUBMISSION_PORT=${MAIL_SUBMISSION_PORT:-18587}
SUBMISSIONS_PORT=${MAIL_SUBMISSIONS_PORT:-18465}

# Bump when users, folders, ports' meaning or config below change: a peer still running from
# an older definition (a developer's machine) is then restarted instead of reused.
DEFINITION=2

VMAIL_USER=vmail                 # owner of every maildir: Dovecot runs no mail process as root
DOVECOT_CONF=$STATE/etc/dovecot.conf
DOVECOT_PID=$STATE/run/dovecot/master.pid
POSTFIX_CONF=$STATE/etc/postfix
POSTFIX_PID=$STATE/spool/postfix/pid/master.pid
# Beside the state dir, not in it: it outlives a stop, and serialises concurrent start/stop
# (go test runs several packages' test binaries at once, each may start the peers).
LOCK=$STATE.lock

log() { printf '[mail.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

has_ipv6() { grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; }
read_pid() { head -n1 "$1" | tr -dc 0-9; }
pid_alive() { [[ -s $1 ]] && kill -0 "$(read_pid "$1")" 2>/dev/null; }
any_alive() { local p; for p; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
running() { pid_alive "$DOVECOT_PID" && pid_alive "$POSTFIX_PID"; }
ports() { echo "$IMAP_PORT $IMAPS_PORT $LMTP_PORT $SMTP_PORT $SUBMISSION_PORT $SUBMISSIONS_PORT"; }

wait_ports() {                  # wait_ports SECONDS PORT...
  local deadline=$((SECONDS + $1)) p; shift
  for p in "$@"; do
    until port_open "$p"; do
      ((SECONDS < deadline)) || return 1
      sleep 0.1
    done
  done
}

# Replace the current (sub)shell with CMD, its stdio on /dev/null + LOGFILE and every other
# inherited fd closed. Daemons that kept our stdout/stderr (or a caller's pipe fd, or the
# lock's fd) would make a caller that reads our output through a pipe (Go's exec.Cmd.Output,
# "| tee") wait forever for EOF, and would hold the lock for as long as they run.
detached() {
  local logfile=$1 fd; shift
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
  done
  exec "$@" </dev/null >>"$logfile" 2>&1
}

check_installed() {
  local p
  for p in dovecot-imapd dovecot-lmtpd postfix openssl; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      log "the mail peers are not installed ($p missing): run test/peers/setup.sh as root"
      exit 3
    fi
  done
}

ensure_vmail_user() {
  getent passwd "$VMAIL_USER" >/dev/null ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$VMAIL_USER"
}

make_tls() {
  # A CA apart from the servers' certificate, as in production: clients trust the CA and
  # check the name, and the leaf is a plain server certificate (CA:FALSE, serverAuth).
  local d=$STATE/tls
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=gateway mail peers test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>"$STATE/log/openssl.log"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$d/key.pem" -out "$d/cert.csr" 2>>"$STATE/log/openssl.log"
  printf '%s\n' "subjectAltName=DNS:localhost,DNS:mail.$DOMAIN,IP:127.0.0.1,IP:::1" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" >"$d/cert.ext"
  openssl x509 -req -in "$d/cert.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/cert.ext" -out "$d/cert.pem" 2>>"$STATE/log/openssl.log"
  chmod 600 "$d/ca.key" "$d/key.pem"; chmod 644 "$d/ca.pem" "$d/cert.pem"
}

write_users() {                 # Dovecot passwd-file: user:{SCHEME}pass:uid:gid::home::extra
  local u f=$STATE/etc/users
  : >"$f"
  for u in $USERS; do printf '%s@%s:{PLAIN}%s-pass::::::\n' "$u" "$DOMAIN" "$u" >>"$f"; done
  chown root:dovecot "$f"; chmod 640 "$f"   # read by the auth process, which runs as "dovecot"
  # Postfix accepts RCPT TO only for addresses listed here (texthash: no postmap needed).
  for u in $USERS; do printf '%s@%s OK\n' "$u" "$DOMAIN"; done >"$POSTFIX_CONF/vmailbox"
  # Anything not @$DOMAIN goes to catchall@$DOMAIN instead of the outside world.
  printf 'if !/@%s$/\n/./ catchall@%s\nendif\n' "${DOMAIN//./\\.}" "$DOMAIN" >"$POSTFIX_CONF/catchall.regexp"
}

write_dovecot_conf() {
  local listen='127.0.0.1'
  has_ipv6 && listen='127.0.0.1, ::1'
  cat >"$DOVECOT_CONF" <<EOF
# Generated by test/peers/mail.sh; self-contained, reads nothing of /etc/dovecot.
instance_name = gateway-mail-peer
base_dir = $STATE/run/dovecot
state_dir = $STATE/lib/dovecot
protocols = imap lmtp
listen = $listen
log_path = $STATE/log/dovecot.log
auth_verbose = yes
ssl = yes
ssl_cert = <$STATE/tls/cert.pem
ssl_key = <$STATE/tls/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
# Plain LOGIN on the IMAP port for tests that allow it; STARTTLS is offered. Dovecot counts a
# client whose IP equals its own as secure, so from 127.0.0.1 "yes" would change nothing.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
passdb {
  driver = passwd-file
  args = $STATE/etc/users
}
userdb {
  driver = passwd-file
  args = $STATE/etc/users
  default_fields = uid=$VMAIL_USER gid=$VMAIL_USER home=$STATE/mail/%d/%n
}
first_valid_uid = $(id -u "$VMAIL_USER")
first_valid_gid = $(id -g "$VMAIL_USER")
mail_location = maildir:~/Maildir
# support+TOKEN@ is support's INBOX (the connector's plus-address reply token).
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
# IDLE reports new mail as soon as inotify sees it; where inotify is missing, check every
# second rather than every 30.
mailbox_idle_check_interval = 1 secs
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}
protocol imap {
  # Tests open many connections as one user from one address.
  mail_max_userip_connections = 200
}
protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}
service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = $LMTP_PORT
  }
}
# No penalty on an address after a failed login: in production it slows brute force, here one
# test's deliberate wrong password would hold the next tests' good logins from 127.0.0.1
# for 4 s and more. A failed login is still answered after 2 s (auth_failure_delay).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  # Postfix's smtpd asks Dovecot to check SMTP AUTH passwords: one set of users.
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
}

write_postfix_conf() {
  local ips=(127.0.0.1) proto=ipv4 ip
  has_ipv6 && { ips+=('[::1]'); proto=all; }
  cat >"$POSTFIX_CONF/main.cf" <<EOF
# Generated by test/peers/mail.sh, used through "postfix -c $POSTFIX_CONF"; the system's
# /etc/postfix is not read.
compatibility_level = 3.6
queue_directory = $STATE/spool/postfix
data_directory = $STATE/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = $proto
mynetworks = 127.0.0.0/8 [::1]/128
# No syslog here: log to a file through postlogd. It must sit under maillog_file_prefixes.
maillog_file = $STATE/log/postfix.log
maillog_file_prefixes = $STATE/log
biff = no
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:local delivery is disabled
recipient_delimiter = +
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$POSTFIX_CONF/vmailbox
virtual_alias_maps = regexp:$POSTFIX_CONF/catchall.regexp
# Must be empty: it defaults to \$virtual_alias_maps, and the catch-all regexp would then make
# $DOMAIN an alias domain ("User unknown in virtual alias table").
virtual_alias_domains =
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
# Belt and braces: nothing ever leaves this host.
default_transport = error:outbound delivery is disabled (test peer)
relay_transport = error:outbound delivery is disabled (test peer)
smtpd_banner = \$myhostname ESMTP gateway-mail-peer
smtpd_tls_cert_file = $STATE/tls/cert.pem
smtpd_tls_key_file = $STATE/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $STATE/run/dovecot/auth-postfix
smtpd_sasl_auth_enable = yes
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination
message_size_limit = 52428800
# Retry LMTP soon if Dovecot was briefly away, and give up within minutes.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
maximal_queue_lifetime = 10m
bounce_queue_lifetime = 10m
EOF
  {
    echo "# Generated by test/peers/mail.sh. No chroot: every path is absolute."
    for ip in "${ips[@]}"; do
      echo "$ip:$SMTP_PORT inet n - n - - smtpd"
      # Submission as a mail provider runs it: TLS first, then AUTH, then anything.
      echo "$ip:$SUBMISSION_PORT inet n - n - - smtpd"
      echo "  -o syslog_name=postfix/submission"
      echo "  -o smtpd_tls_security_level=encrypt"
      echo "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject"
      echo "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
      echo "$ip:$SUBMISSIONS_PORT inet n - n - - smtpd"
      echo "  -o syslog_name=postfix/submissions"
      echo "  -o smtpd_tls_wrappermode=yes"
      echo "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject"
      echo "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
    done
    cat <<'EOF'
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
EOF
  } >"$POSTFIX_CONF/master.cf"
}

write_env() {                   # KEY=VALUE lines: for bash "source" and the Go tests' parser
  local u U
  {
    echo "# test/peers/mail.sh endpoints. IMAP: plain LOGIN or STARTTLS, IDLE; IMAPS: TLS."
    echo "# SMTP: the MX, no AUTH (inject players' mail); SUBMISSION: STARTTLS then AUTH;"
    echo "# SUBMISSIONS: TLS then AUTH. LMTP: Dovecot's, straight into a mailbox. Mail to other"
    echo "# domains lands in the catchall user's INBOX. Trust MAIL_TLS_CA_FILE for TLS."
    echo "MAIL_DOMAIN=$DOMAIN"
    echo "MAIL_IMAP_ADDR=127.0.0.1:$IMAP_PORT"
    echo "MAIL_IMAPS_ADDR=127.0.0.1:$IMAPS_PORT"
    echo "MAIL_LMTP_ADDR=127.0.0.1:$LMTP_PORT"
    echo "MAIL_SMTP_ADDR=127.0.0.1:$SMTP_PORT"
    echo "MAIL_SUBMISSION_ADDR=127.0.0.1:$SUBMISSION_PORT"
    echo "MAIL_SUBMISSIONS_ADDR=127.0.0.1:$SUBMISSIONS_PORT"
    echo "MAIL_TLS_CA_FILE=$STATE/tls/ca.pem"
    for u in $USERS; do
      U=$(tr '[:lower:]-' '[:upper:]_' <<<"$u")
      echo "MAIL_${U}_USER=$u@$DOMAIN"
      echo "MAIL_${U}_PASS=$u-pass"
    done
    echo "MAIL_STATE_DIR=$STATE"
  } >"$STATE/env"
  chmod 644 "$STATE/env"
}

start() {
  [[ $EUID -eq 0 ]] || die "run as root"
  if running; then
    if [[ $(cat "$STATE/definition" 2>/dev/null) == "$DEFINITION" ]]; then
      log "already running (state in $STATE)"; return 0
    fi
    log "running from an older definition; restarting with definition $DEFINITION"
  fi
  stop quiet                    # clear half-started leftovers and old mail
  local t_all; t_all=$(now)
  check_installed
  ensure_vmail_user
  local p
  for p in $(ports); do
    ! port_open "$p" || die "port $p already in use by something else"
  done

  # Dovecot's auth (user dovecot), Postfix (user postfix) and mail processes (user vmail) all
  # need to traverse the state dir: keep it 0755.
  install -d -m 755 "$STATE" "$STATE"/{etc,tls,log,run,lib} "$POSTFIX_CONF"
  install -d -m 755 -o "$VMAIL_USER" -g "$VMAIL_USER" "$STATE/mail"
  install -d -m 755 "$STATE/spool/postfix"                     # Postfix wants it root's
  install -d -m 700 -o postfix -g postfix "$STATE/lib/postfix"
  make_tls
  write_users
  write_dovecot_conf
  write_postfix_conf
  write_env
  # What a later start compares to decide between reusing and restarting.
  echo "$DEFINITION" >"$STATE/definition"

  (detached "$STATE/log/dovecot.start.log" dovecot -c "$DOVECOT_CONF") ||
    die "dovecot failed: $(tail -5 "$STATE/log/dovecot.start.log")"
  # "postfix start" runs postfix-script, which makes the queue dirs with their owners and
  # forks master as a daemon. Its errors go to a terminal or to maillog_file only, never to a
  # stderr that is not a terminal: hence the hint.
  (detached "$STATE/log/postfix.start.log" postfix -c "$POSTFIX_CONF" start) ||
    die "postfix failed: see $STATE/log/postfix.log (or rerun: script -qc 'postfix -c $POSTFIX_CONF start')"

  # shellcheck disable=SC2046
  wait_ports 30 $(ports) || die "ports did not open; logs in $STATE/log"
  # Postfix's master writes its PID file a moment after it forked.
  local deadline=$((SECONDS + 10))
  until running; do ((SECONDS < deadline)) || die "no PID files; logs in $STATE/log"; sleep 0.1; done
  log "running: dovecot pid $(read_pid "$DOVECOT_PID"), postfix master pid $(read_pid "$POSTFIX_PID"), started in $(since "$t_all") s; env in $STATE/env"
}

stop() {
  # SIGTERM to both masters at once (each takes its children down), wait up to 15 s, then
  # SIGKILL whatever is left.
  local f pid pids=()
  for f in "$POSTFIX_PID" "$DOVECOT_PID"; do
    pid_alive "$f" && pids+=("$(read_pid "$f")")
  done
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 150); do
      any_alive "${pids[@]}" || break
      sleep 0.1
    done
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored SIGTERM, sending SIGKILL"; kill -KILL "$pid"; fi
    done
    [[ ${1:-} == quiet ]] || log "stopped pids ${pids[*]}"
  fi
  # Only delete what looks like our state dir (guards against a bad GATEWAY_MAIL_PEER_DIR).
  if [[ -d $STATE && ( -f $STATE/env || -d $STATE/etc/postfix ) ]]; then rm -rf "$STATE"; fi
  [[ ${1:-} == quiet ]] || log "stopped"
}

status() {
  local f pid
  for f in "$DOVECOT_PID" "$POSTFIX_PID"; do
    if pid_alive "$f"; then
      pid=$(read_pid "$f")
      ps -o pid=,rss=,user=,args= --pid "$pid" --ppid "$pid"   # masters and their children
    fi
  done | awk '{ rss += $2; print } END { if (NR) printf "total RSS: %.1f MiB\n", rss / 1024 }'
  running && { echo "status: running"; return 0; }
  echo "status: stopped"; return 3
}

locked() {                      # run "$@" holding the lock, so two callers never interleave
  exec 9>>"$LOCK"
  flock -w 120 9 || die "waited 120 s for $LOCK"
  "$@"
}

case ${1:-} in
  start) locked start ;;
  stop) locked stop ;;
  status) status ;;
  env) [[ -f $STATE/env ]] || die "not running (no $STATE/env)"; cat "$STATE/env" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
