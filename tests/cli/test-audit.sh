#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The audit log: a full enrollment against the reference CA (auto-approving)
# leaves one line per state of the request, with the token, the service, the
# template and the certificate, and no PIN or password; two enrollments at
# once keep the chain whole; audit-verify passes, then names the line that
# was edited, and the line after one that was removed.
set -eu
. "$TEST_LIB/common.sh"

# PINs that cannot turn up in a hash or a serial by chance
USER_PIN=Pin-q7Wz-user
SO_PIN=Pin-k3Xv-so
export USER_PIN SO_PIN
make_tokens alpha beta
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME
ca_home=$work/ca
refca_init "$ca_home"
refca_start "$ca_home" --auto-approve
log=$P11ENROLL_HOME/audit.log
template=1.2.643.2.2.46.0.8

expect_json 0 add-service main --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
	--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
	--field SNILS=11223344595 --field INN=500100732259 --email ivanov@example.org
[ "$(json .status)" = ready ] || fail "the auto-approved registration is $(json .status)"

# no log yet: audit-verify says so (3)
expect_json 3 audit-verify
expect_err "no audit log"

# 1. one enrollment: a line for each state, in order
expect_json 0 request --service main --owner-type individual --template "$template" \
	--token pkcs11:token=alpha --pin-source env:USER_PIN --label first
id=$(json .request.id)
[ "$(json .request.state)" = acknowledged ] || fail "the request is $(json .request.state)"
[ -f "$log" ] || fail "no audit log after a request"
[ "$(stat -c %a "$log")" = 600 ] || fail "the audit log is not 0600"
jq -c . "$log" >/dev/null || fail "a line of the audit log is not JSON"
states=$(jq -r "select(.request_id == \"$id\") | .state" "$log" | tr '\n' ' ')
case "$states" in
"new key-ready csr-ready submitted "*"issued installed acknowledged ") ;;
*) fail "the audit log has the states '$states'" ;;
esac
last=$(jq -c "select(.request_id == \"$id\")" "$log" | tail -n 1)
serial=$(pe --json list-slots |
	jq -r '.slots[] | select(.token.label == "alpha") | .token.serial')
printf '%s' "$last" | jq -e --arg s "$serial" --arg t "$template" --arg u "$(id -un)" '
	.operator == $u and .service == "main" and .template == $t and
	.token_serial == $s and .token_model != null and .result == "installed" and
	(.cert_serial | test("^[0-9a-f]+$")) and (.cert_sha256 | test("^[0-9a-f]{64}$")) and
	(.prev | test("^[0-9a-f]{64}$")) and (.hash | test("^[0-9a-f]{64}$")) and
	(.time | test("^[0-9-]+T[0-9:]+Z$"))' >/dev/null ||
	fail "the last line lacks what it should say: $last"
# the fingerprint is the certificate's on the token
p11tool alpha --read-object --type cert --label first -o "$work/first.der"
fp=$(openssl dgst -sha256 -r "$work/first.der" | cut -d ' ' -f 1)
[ "$(printf '%s' "$last" | jq -r .cert_sha256)" = "$fp" ] ||
	fail "cert_sha256 is not the installed certificate's fingerprint"

# 2. two enrollments at once, one per token: every line chained
pe -q request --service main --owner-type individual --template "$template" \
	--token pkcs11:token=alpha --pin-source env:USER_PIN --label second >/dev/null 2>"$work/a.err" &
a=$!
pe -q request --service main --owner-type individual --template "$template" \
	--token pkcs11:token=beta --pin-source env:USER_PIN --label third >/dev/null 2>"$work/b.err" &
b=$!
wait "$a" || { cat "$work/a.err" >&2; fail "the request on alpha failed"; }
wait "$b" || { cat "$work/b.err" >&2; fail "the request on beta failed"; }
[ "$(jq -r 'select(.state == "acknowledged") | .request_id' "$log" | wc -l)" -eq 3 ] ||
	fail "not three acknowledged requests in the audit log"

# no secret: neither PIN, nor the service password
! grep -qF -- "$USER_PIN" "$log" || fail "the user PIN is in the audit log"
! grep -qF -- "$SO_PIN" "$log" || fail "the SO PIN is in the audit log"
password=$(cat "$P11ENROLL_HOME/secrets/main")
[ -n "$password" ] || fail "no service password to look for"
! grep -qF -- "$password" "$log" || fail "the service password is in the audit log"

# 3. audit-verify: intact
expect_json 0 audit-verify
[ "$(json .intact)" = true ] || fail "the chain is not intact"
lines=$(wc -l <"$log")
[ "$(json .lines)" -eq "$lines" ] || fail "audit-verify read $(json .lines) of $lines lines"
expect_rc 0 audit-verify
expect_out "chain is intact"

# 4. a line edited in the middle: named
cp "$log" "$work/audit.good"
sed -i '5s/"operator":"[^"]*"/"operator":"mallory"/' "$log"
! cmp -s "$log" "$work/audit.good" || fail "the edit did not change the log"
expect_rc 6 --json audit-verify
[ "$(json .intact)" = false ] || fail "an edited log is intact"
[ "$(json .broken_line)" -eq 5 ] || fail "the edited line 5 is named as $(json .broken_line)"
expect_err "line 5 was altered"

# 5. a line removed in the middle: the line after it is named
cp "$work/audit.good" "$log"
sed -i '7d' "$log"
expect_rc 6 --json audit-verify
[ "$(json .broken_line)" -eq 7 ] || fail "after removing line 7: $(json .broken_line) is named"
expect_err "line 7 does not follow line 6"

# 6. a file given by name; the good copy checks out
expect_rc 0 --json audit-verify "$work/audit.good"
[ "$(json .intact)" = true ] || fail "the good copy is not intact"
expect_json 2 audit-verify a b
