#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kiosk in the terminal (JSON lines) against the reference CA: tokens
# inserted while it runs are enrolled (both PINs set, or the user PIN set up
# by the kiosk), the certificate is on the token next to its key and chains
# to the root; a kiosk killed after key generation and a token pulled while
# the CA decides both resume with no second key and no second CA request; a
# rejection shows its reason; a request still pending at the time limit is
# left for later; a token not on the roster is refused; SIGTERM stops it.
set -eu
. "$TEST_LIB/common.sh"
need sqlite3 pkcs11-tool
. "$TEST_LIB/kiosk.sh"

refca_init "$ca_home"
refca_start "$ca_home" --auto-approve
service_setup

# profile FILE WAIT: a station profile with a roster, PINs from the environment
profile()
{
	cat >"$1" <<EOF
{
	"version": 1,
	"service": "main",
	"template": "1.2.643.2.2.46.0.8",
	"owner_type": "individual",
	"key_type": "ec-p256",
	"carrier": "token",
	"pin_source": "env:USER_PIN",
	"init_token": true,
	"so_pin_source": "env:SO_PIN",
	"token_label": "kiosk card",
	"fields": { "O": "Example LLC" },
	"subject": { "source": "roster", "roster": "roster.csv" },
	"pin": { "min_length": 4, "max_length": 16, "digits_only": true },
	"ca_wait_seconds": $2,
	"poll_interval_ms": 100
}
EOF
}
profile "$work/kiosk.json" 20
profile "$work/short.json" 1
echo "serial,OU" >"$work/roster.csv"

# roster NAME OU: a roster row for token NAME (the CA checks the registered CN)
roster()
{
	eval "_s=\$${1}_serial"
	echo "$_s,$2" >>"$work/roster.csv"
}

# usage: loopback only, a profile is required
expect_json 2 kiosk --profile "$work/kiosk.json" --http 192.0.2.1:8080
expect_err "loopback only"
expect_json 2 kiosk
expect_err "--profile"
expect_rc 0 kiosk --help
expect_out "--http"

# 1. two tokens inserted while the kiosk runs: one with both PINs, one with
#    the SO PIN only (the kiosk sets the user PIN from pin_source)
kiosk_start "$work/kiosk.json"
new_token a kiosk-a full
roster a "Kiosk Person A"
insert "$a_dir"
wait_event ".event == \"installed\" and .token_serial == \"$a_serial\""
[ "$(event .status)" = installed ] || fail "installed event: status $(event .status)"
new_token b kiosk-b so
roster b "Kiosk Person B"
insert "$b_dir"
wait_event ".event == \"installed\" and .token_serial == \"$b_serial\""
token_check a kiosk-a
token_check b kiosk-b
openssl x509 -in "$work/a.pem" -noout -subject | grep -q "OU *= *Kiosk Person A" ||
	fail "the roster's OU is not in the certificate"
openssl x509 -in "$work/a.pem" -noout -subject | grep -q "O *= *Example LLC" ||
	fail "the profile's fixed O is not in the certificate"
grep -q '"event":"pin"' "$work/kiosk.out" && fail "a PIN was asked for with pin_source set"
grep -q "$USER_PIN\"" "$work/kiosk.out" "$work/kiosk.err" && fail "a PIN is in the output"
# taken out: waiting again; the same token back: already enrolled, nothing new
remove "$a_dir"
wait_event '.event == "waiting"' 2
insert "$a_dir"
wait_event ".event == \"installed\" and .token_serial == \"$a_serial\"" 2
event .message | grep -q "already" || fail "a token enrolled before was not recognised"
[ "$(count_objects kiosk-a privkey)" -eq 1 ] || fail "a second key on a token enrolled before"
kiosk_stop
[ "$(sqlite3 "$P11ENROLL_HOME/p11enroll.db" "SELECT count(*) FROM requests WHERE origin = 'kiosk'")" -eq 2 ] ||
	fail "the store does not hold two kiosk requests"
if [ -f "$P11ENROLL_HOME/audit.log" ]; then
	has "$P11ENROLL_HOME/audit.log" ".origin == \"kiosk\" and .token_serial == \"$a_serial\"" ||
		fail "kiosk requests are not in the audit log"
fi
remove "$a_dir"
remove "$b_dir"

# 2. the kiosk killed right after the key was made: the next run continues
#    the same request (no second key, one CA request)
new_token c kiosk-c full
roster c "Kiosk Person C"
insert "$c_dir"
cas=$(ca_count)
set +e
P11ENROLL_TEST_KILL_AFTER=key-ready pe --json kiosk \
	--profile "$work/kiosk.json" --once >"$work/kiosk.out" 2>"$work/kiosk.err"
got=$?
set -e
[ "$got" -eq 137 ] || { cat "$work/kiosk.err" >&2; fail "the kiosk was not killed after key-ready ($got)"; }
[ "$(count_objects kiosk-c privkey)" -eq 1 ] || fail "killed after key-ready: not one key"
expect_rc 0 --json kiosk --profile "$work/kiosk.json" --once
has "$work/out" ".event == \"installed\" and .token_serial == \"$c_serial\" and .resumed" || { cat "$work/out" >&2; fail "the request was not resumed"; }
token_check c kiosk-c
[ "$(ca_count)" -eq $((cas + 1)) ] || fail "the CA did not get exactly one request for token c"
remove "$c_dir"

# 3. an operator decides: a token pulled while the CA decides comes back and
#    finishes; a rejection shows its reason
refca_stop "$ca_home"
refca_start "$ca_home" --listen "127.0.0.1:$REFCA_PORT"
kiosk_start "$work/kiosk.json"
new_token d kiosk-d full
roster d "Kiosk Person D"
cas=$(ca_count)
insert "$d_dir"
wait_event ".event == \"processing\" and .token_serial == \"$d_serial\""
d_req=$(event .request_id)
remove "$d_dir"
wait_event ".event == \"removed\" and .token_serial == \"$d_serial\""
event .message | grep -q "kept" || fail "the removal does not say the request is kept"
ca approve-request "$(ca_newest)" >/dev/null
insert "$d_dir"
wait_event ".event == \"installed\" and .token_serial == \"$d_serial\""
[ "$(event .request_id)" = "$d_req" ] || fail "a second request instead of the first one"
[ "$(event .resumed)" = true ] || fail "the re-inserted token was not resumed"
token_check d kiosk-d
[ "$(ca_count)" -eq $((cas + 1)) ] || fail "the CA got a second request for token d"

new_token e kiosk-e full
roster e "Kiosk Person E"
insert "$e_dir"
wait_event ".event == \"processing\" and .token_serial == \"$e_serial\""
ca reject-request "$(ca_newest)" --reason "not on the staff list" >/dev/null
wait_event ".event == \"rejected\" and .token_serial == \"$e_serial\""
event .reason | grep -q "not on the staff list" || fail "the rejection's reason is not shown"
[ "$(count_objects kiosk-e cert)" -eq 0 ] || fail "a rejected request left a certificate"
kiosk_stop
remove "$d_dir"
remove "$e_dir"

# 4. the time limit: the person is told to come back; the next time it finishes
new_token f kiosk-f full
roster f "Kiosk Person F"
insert "$f_dir"
expect_rc 10 --json kiosk --profile "$work/short.json" --once
has "$work/out" '.event == "processing" and .timed_out' ||
	{ cat "$work/out" >&2; fail "no timed-out processing event"; }
ca approve-request "$(ca_newest)" >/dev/null
expect_rc 0 --json kiosk --profile "$work/short.json" --once
has "$work/out" '.event == "installed" and .resumed' ||
	fail "the pending request did not finish on the next insertion"
token_check f kiosk-f
remove "$f_dir"

# 5. a token not on the roster: refused before anything is made
new_token g kiosk-g full
insert "$g_dir"
expect_rc 2 --json kiosk --profile "$work/kiosk.json" --once
has "$work/out" '.event == "failed" and (.message | test("roster"))' || fail "no roster failure"
[ "$(count_objects kiosk-g privkey)" -eq 0 ] || fail "a key was made for a token not on the roster"
# the terminal status lines
expect_rc 2 kiosk --profile "$work/kiosk.json" --once
expect_out "kiosk: failed [token $g_serial]"
remove "$g_dir"

# 6. the PIN from pin_source, an attribute asked on the page: the form asks for
#    the attribute only, refuses it empty, and the request carries it
sed 's/"subject": {[^}]*}/"subject": { "source": "ask", "ask": ["OU"] }/' "$work/kiosk.json" \
	>"$work/ask.json"
new_token h kiosk-h full
insert "$h_dir"
kiosk_start "$work/ask.json" --http 127.0.0.1:0 --once
url=$(jq -r 'select(.event == "started") | .url' "$work/kiosk.out")
wait_event '.event == "pin"'
[ "$(event .pin_new)" = false ] || fail "a PIN from pin_source is asked as new"
curl -s "${url}status" >"$work/status.json"
[ "$(jq -c '[.step, .pin, .ask]' "$work/status.json")" = '["pin",null,["OU"]]' ] ||
	{ cat "$work/status.json" >&2; fail "the form does not ask for OU alone"; }
curl -s -d 'f0=' "${url}pin" | jq -r .message | grep -q "fill in OU" ||
	fail "an empty attribute was taken"
[ "$(curl -s -d 'f0=Asked+on+the+page' "${url}pin" | jq .ok)" = true ] ||
	fail "the form was not taken"
wait_event '.event == "processing"'
ca approve-request "$(ca_newest)" >/dev/null
wait "$KIOSK_PID" || { cat "$work/kiosk.err" >&2; fail "the kiosk --once did not exit 0"; }
KIOSK_PID=
has "$work/kiosk.out" ".event == \"installed\" and .token_serial == \"$h_serial\"" ||
	fail "token h was not installed"
token_check h kiosk-h
openssl x509 -in "$work/h.pem" -noout -subject | grep -q "OU *= *Asked on the page" ||
	fail "the attribute typed on the page is not in the certificate"
remove "$h_dir"

# 7. the CA goes away while the kiosk waits: a connection problem, the request
#    kept; the CA back, the next insertion finishes it
profile "$work/wait3.json" 3
new_token i kiosk-i full
roster i "Kiosk Person I"
insert "$i_dir"
kiosk_start "$work/wait3.json" --once
wait_event ".event == \"processing\" and .token_serial == \"$i_serial\""
refca_stop "$ca_home"
set +e
wait "$KIOSK_PID"
got=$?
set -e
KIOSK_PID=
[ "$got" -eq 7 ] || { cat "$work/kiosk.err" >&2; fail "a CA gone away: exit $got, not 7"; }
has "$work/kiosk.out" '.event == "connection-problem" and .status == "connection-problem"' ||
	fail "no connection-problem event"
refca_start "$ca_home" --listen "127.0.0.1:$REFCA_PORT"
ca approve-request "$(ca_newest)" >/dev/null
expect_rc 0 --json kiosk --profile "$work/wait3.json" --once
has "$work/out" ".event == \"installed\" and .resumed and .token_serial == \"$i_serial\"" ||
	fail "the request was not finished after the connection problem"
token_check i kiosk-i
# the CA down before anything is recorded: the page's connection problem, nothing made
remove "$i_dir"
new_token j kiosk-j full
roster j "Kiosk Person J"
insert "$j_dir"
refca_stop "$ca_home"
expect_rc 7 --json kiosk --profile "$work/wait3.json" --once
has "$work/out" '.event == "connection-problem"' || fail "no connection-problem event"
[ "$(count_objects kiosk-j privkey)" -eq 0 ] || fail "a key was made while the CA was down"
