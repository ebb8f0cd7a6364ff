#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The seed workflow end to end against the reference CA service on a free
# loopback port: register (approved and rejected), log in with issued and with
# wrong credentials, request on the token (pending, then issued and installed
# next to the key), a rejection with its reason, invalid subject fields
# refused before any key is made, the CA going away during a refresh and
# coming back, the process killed inside and after key generation, after
# submission and after download, and a certificate for another key refused.
set -eu
. "$TEST_LIB/common.sh"
need sqlite3

make_tokens alpha
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME
ca_home=$work/ca
refca_init "$ca_home"
refca_start "$ca_home"

ca()
{
	refca --home "$ca_home" "$@"
}

# ca_id LIST: the id of the newest entry of 'p11enroll-ca LIST --json'
ca_newest()
{
	ca --json "$1" | jq -r "[.${2}[]] | max_by(.id | tonumber) | .id"
}

privkeys()
{
	count_objects alpha privkey
}

# object_count_label LABEL: private keys labelled LABEL on token alpha
object_count_label()
{
	object_block alpha privkey "$1" | grep -c 'Object;' || true
}

register()
{
	expect_json 0 add-service "$1" --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
		--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
		--field SNILS=11223344595 --field INN=500100732259 --email ivanov@example.org
}

# 1. register: awaiting approval until the operator approves
register main
[ "$(json .status)" = awaiting-approval ] || fail "a new registration is $(json .status)"
[ "$(stat -c %a "$P11ENROLL_HOME/secrets/main")" = 600 ] || fail "the password file is not 0600"
expect_json 0 list-services
[ "$(json '.services[0].status')" = awaiting-approval ] || fail "list-services: not awaiting"

# a request before approval: refused, nothing made
expect_json 10 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN
expect_err "not approved"
[ "$(privkeys)" -eq 0 ] || fail "a request before approval made a key"

reg=$(ca_newest list-registrations registrations)
ca approve-registration "$reg" >/dev/null
expect_json 0 list-services
[ "$(json '.services[0].status')" = ready ] || fail "approved registration is not ready"
expect_json 0 list-templates --service main
json '.templates[].oid' | grep -qx 1.2.643.2.2.46.0.8 || fail "no User template"

# 2. invalid subject fields: refused by name before any key, nothing recorded
expect_json 2 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:UNSET_VAR --field SNILS=11223344596
expect_err "SNILS"
expect_json 2 request --service main --owner-type sole-proprietor --token pkcs11:token=alpha \
	--pin-source env:UNSET_VAR
expect_err "OGRNIP"
[ "$(privkeys)" -eq 0 ] || fail "a refused request made a key"
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq 0 ] || fail "a refused request was recorded"

# on a terminal, what the owner type still requires is asked for by the CA's name for it
need script
printf '304500116000157\n' | script -qec "\"$P11ENROLL\" --module \"$SOFTHSM_MODULE\" --json \
	request --service main --owner-type sole-proprietor --token pkcs11:token=alpha \
	--pin-source env:USER_PIN --label asked" /dev/null >"$work/script.out" 2>&1 ||
	{ cat "$work/script.out" >&2; fail "the request on a terminal failed"; }
grep -q "(1.2.643.100.5): " "$work/script.out" || fail "OGRNIP was not asked for"
expect_json 0 list-requests
json '.requests[] | select(.key_label == "asked") | .subject' | grep -q "OGRNIP=304500116000157" ||
	fail "the answer is not in the subject"

# 3. a request: the key on the token, pending, then issued and installed
expect_json 0 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN --label first
[ "$(json .request.status)" = processing ] || fail "a new request is $(json .request.status)"
first=$(json .request.id)
[ "$(privkeys)" -eq 2 ] || fail "the request did not make one key (beside the asked one)"
expect_rc 5 show-request "$first"
expect_json 0 refresh "$first" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = processing ] || fail "refresh before approval: not processing"
careq=$(ca_newest list-requests requests)
ca approve-request "$careq" >/dev/null
expect_json 0 refresh "$first" --pin-source env:USER_PIN
[ "$(json '.requests[0].state')" = acknowledged ] || fail "after approval: $(json '.requests[0].state')"
[ "$(json '.requests[0].status')" = installed ] || fail "after approval: not installed"
expect_rc 0 show-request "$first"
# on the token next to its key, carrying the key, chaining to the root
p11tool alpha --list-objects --type cert >"$work/certs"
grep -q 'label: *first' "$work/certs" || fail "no certificate labelled like the key"
key_id=$(object_block alpha privkey first | sed -n 's/^ *ID: *//p')
grep -q "ID: *$key_id" "$work/certs" || fail "the certificate's ID is not the key's"
p11tool alpha --read-object --type cert --label first -o "$work/first.der"
openssl x509 -inform DER -in "$work/first.der" -out "$work/first.pem"
openssl verify -CAfile "$REFCA_ROOT" "$work/first.pem" >/dev/null || fail "does not chain to the root"
expect_json 0 list-certs
[ "$(json '.certificates | length')" -eq 1 ] || fail "list-certs does not show one certificate"
[ "$(json '.certificates[0].carrier')" = token ] || fail "list-certs: carrier is not token"
[ "$(ca --json list-requests | jq -r ".requests[] | select((.id | tostring) == \"$careq\") | .status")" = K ] ||
	fail "the CA was not told of the installation"

# 4. rejected by the operator: the reason is shown
expect_json 0 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN --label second
second=$(json .request.id)
ca reject-request "$(ca_newest list-requests requests)" --reason "wrong department" >/dev/null
expect_json 8 refresh "$second" --pin-source env:USER_PIN
expect_err "wrong department"
expect_rc 2 show-request "$second"
expect_json 0 list-requests
[ "$(json ".requests[] | select(.id == \"$second\") | .status")" = rejected ] || fail "not rejected"
json ".requests[] | select(.id == \"$second\") | .reason" | grep -q "wrong department" ||
	fail "list-requests does not show the reason"

# 5. the CA goes away during a refresh, then comes back on the same port
expect_json 0 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN --label third
third=$(json .request.id)
refca_stop "$ca_home"
expect_json 7 refresh "$third" --pin-source env:USER_PIN
expect_rc 3 --json show-request "$third"
[ "$(json .request.status)" = connection-problem ] || fail "not a connection problem"
[ "$(json .request.ca_status)" = Q ] || fail "the last known server state is lost"
expect_json 0 list-services
[ "$(json '.services[0].status')" = unreachable ] || fail "a stopped CA is not unreachable"
refca_start "$ca_home" --listen "127.0.0.1:$REFCA_PORT"
ca approve-request "$(ca_newest list-requests requests)" >/dev/null
expect_json 0 refresh "$third" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "not recovered after the CA came back"

# 6. killed after key generation, after submission, after download: no second
#    key, no second CA request, no lost certificate
kill_at()
{
	set +e
	P11ENROLL_TEST_KILL_AFTER=$1 pe request --service main --owner-type individual \
		--token pkcs11:token=alpha --pin-source env:USER_PIN --label "$2" >/dev/null 2>&1
	got=$?
	set -e
	[ "$got" -eq 137 ] || fail "the request was not killed after $1 (exit $got)"
	expect_json 0 list-requests
	json '[.requests[] | select(.key_label == "'"$2"'")][0].id'
}
# killed inside key generation: the token kept the public key, never the private one
# (SoftHSM writes them in turn); the next refresh removes the lone public key and makes the key
id=$(kill_at key-ready killed-gen)
p11tool alpha --delete-object --type privkey --label killed-gen
sqlite3 "$P11ENROLL_HOME/p11enroll.db" "UPDATE requests SET state = 'new', resume_state = 'new',
	key_id = NULL, key_uri = NULL WHERE id = $id"
[ "$(object_block alpha pubkey killed-gen | grep -c 'Object;')" -eq 1 ] || fail "no lone public key"
expect_json 0 refresh "$id" --pin-source env:USER_PIN
expect_err "removed the public key labelled 'killed-gen'"
[ "$(object_count_label killed-gen)" -eq 1 ] || fail "no key after an interrupted generation"
[ "$(object_block alpha pubkey killed-gen | grep -c 'Object;')" -eq 1 ] ||
	fail "not one public key after an interrupted generation"
# and the request goes on to the CA
expect_rc 5 --json show-request "$id"
cas_before=$(ca --json list-requests | jq '.requests | length')
id=$(kill_at key-ready killed-key)
[ "$(object_count_label killed-key)" -eq 1 ] || fail "killed after key-ready: not one key"
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(object_count_label killed-key)" -eq 1 ] || fail "refresh made a second key"
id=$(kill_at submitted killed-sub)
cas_mid=$(ca --json list-requests | jq '.requests | length')
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(ca --json list-requests | jq '.requests | length')" -eq "$cas_mid" ] ||
	fail "refresh after submission sent a second request"
[ "$cas_mid" -eq $((cas_before + 2)) ] || fail "the CA did not get exactly the two requests"
ca approve-request "$(ca_newest list-requests requests)" >/dev/null
set +e
P11ENROLL_TEST_KILL_AFTER=issued pe refresh "$id" --pin-source env:USER_PIN >/dev/null 2>&1
got=$?
set -e
[ "$got" -eq 137 ] || fail "refresh was not killed after issued (exit $got)"
expect_rc 5 --json show-request "$id"
[ "$(json .request.state)" = issued ] || fail "killed after download: not issued"
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "the downloaded certificate was lost"

# 7. a certificate for another key is never installed
expect_json 0 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN --label victim
victim=$(json .request.id)
ca approve-request "$(ca_newest list-requests requests)" >/dev/null
set +e
P11ENROLL_TEST_KILL_AFTER=issued pe refresh "$victim" --pin-source env:USER_PIN >/dev/null 2>&1
set -e
# swap in the first request's certificate, as a CA gone wrong would send it
sqlite3 "$P11ENROLL_HOME/p11enroll.db" \
	"UPDATE requests SET cert = (SELECT cert FROM requests WHERE id = $first) WHERE id = $victim"
certs_before=$(count_objects alpha cert)
expect_json 6 refresh "$victim" --pin-source env:USER_PIN
expect_err "another key"
[ "$(count_objects alpha cert)" -eq "$certs_before" ] || fail "a foreign certificate was written"
expect_rc 4 show-request "$victim"

# 8. log in with the issued credentials, and with wrong ones
expect_json 0 add-service second --url "$REFCA_URL" --ca-file "$REFCA_ROOT" \
	--login "$(sqlite3 "$P11ENROLL_HOME/p11enroll.db" "SELECT login FROM services WHERE name = 'main'")" \
	--password-source "file:$P11ENROLL_HOME/secrets/main"
[ "$(json .status)" = ready ] || fail "login with issued credentials is $(json .status)"
WRONG=not-the-password
export WRONG
expect_json 5 add-service third --url "$REFCA_URL" --ca-file "$REFCA_ROOT" --login nobody \
	--password-source env:WRONG
expect_json 0 list-services --offline
json '.services[].name' | grep -qx third && fail "a refused login was kept"

# 9. a registration the operator rejects
register fourth
ca reject-registration "$(ca_newest list-registrations registrations)" --reason "unknown person" >/dev/null
expect_json 0 list-services
[ "$(json '.services[] | select(.name == "fourth") | .status')" = rejected ] ||
	fail "a rejected registration is not shown as rejected"

# a key label is the request's own: one in use is refused, and a default one
# that another store's request took on this token is not reused
keys_before=$(privkeys)
expect_json 2 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN --label first
expect_err "already has a key labelled 'first'"
[ "$(privkeys)" -eq "$keys_before" ] || fail "a refused label made a key"
# a label that any object carries is not the request's own (a lone public key here)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/lonely.pem" 2>/dev/null
openssl pkey -in "$work/lonely.pem" -pubout -outform DER -out "$work/lonely.der"
p11tool alpha --write-object "$work/lonely.der" --type pubkey --label lonely >/dev/null
expect_json 2 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN --label lonely
expect_err "already has an object labelled 'lonely'"
[ "$(object_block alpha pubkey lonely | grep -c 'Object;')" -eq 1 ] || fail "the public key is gone"
expect_json 0 list-requests
next=$(($(json '[.requests[].id | tonumber] | max') + 1))
expect_json 0 generate-key --token pkcs11:token=alpha --label "p11enroll-$next" \
	--pin-source env:USER_PIN
expect_json 0 request --service main --owner-type individual --token pkcs11:token=alpha \
	--pin-source env:USER_PIN
[ "$(json .request.key_label)" = "p11enroll-$next-2" ] ||
	fail "the default label is $(json .request.key_label), not p11enroll-$next-2"
[ "$(object_count_label "p11enroll-$next")" -eq 1 ] || fail "the taken label got a second key"

# refresh --all installs every approved request with one PIN, even from a descriptor
for q in $(ca --json list-requests | jq -r '.requests[] | select(.status == "Q") | .id'); do
	ca approve-request "$q" >/dev/null
done
printf '%s\n' "$USER_PIN" >"$work/pin"
expect_json 0 refresh --all --pin-source fd:3 3<"$work/pin"
[ "$(json '[.requests[] | select(.status == "installed")] | length')" -ge 2 ] ||
	fail "refresh --all did not install the approved requests"
[ "$(json '[.requests[] | select(.status == "processing")] | length')" -eq 0 ] ||
	fail "refresh --all left approved requests processing"

# the password never reaches output
password=$(cat "$P11ENROLL_HOME/secrets/main")
grep -rqF "$password" "$work/out" "$work/err" && fail "a password was printed"
true
