#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# request --key: an existing key pair on the token is enrolled instead of a
# new one, against the reference CA: the certificate lands next to that key
# and no key is made; a renewal writes a second certificate beside the first
# and never removes it; keys that a resumed request could not find again (no
# label, a label shared with another key) and ambiguous or absent keys are
# refused before anything is recorded; --key-type and --label do not go with
# --key; through EST, the second request for a certified key is a renewal.
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool

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

ca_newest()
{
	ca --json "$1" | jq -r "[.${2}[]] | max_by(.id | tonumber) | .id"
}

privkeys()
{
	count_objects alpha privkey
}

# request_key URI [OPTION...]: request --key URI for the individual registered
request_key()
{
	_uri=$1
	shift
	expect_json "${want:-0}" request --service main --owner-type individual --key "$_uri" \
		--pin-source env:USER_PIN "$@"
}

expect_json 0 add-service main --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
	--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
	--field SNILS=11223344595 --field INN=500100732259 --email ivanov@example.org
ca approve-registration "$(ca_newest list-registrations registrations)" >/dev/null

expect_json 0 generate-key --token pkcs11:token=alpha --label mine --pin-source env:USER_PIN
key_uri=$(json .key.uri)
[ -n "$key_uri" ] && [ "$key_uri" != null ] || key_uri="pkcs11:token=alpha;object=mine"
key_id=$(object_block alpha privkey mine | sed -n 's/^ *ID: *//p')
[ -n "$key_id" ] || fail "generate-key made no key labelled mine"

# usage: --key names the key; --key-type and --label are for a made one
want=2 request_key "pkcs11:token=alpha;object=mine" --key-type rsa-2048
expect_err "--key names an existing key"
want=2 request_key "pkcs11:token=alpha;object=mine" --label other
expect_err "--key names an existing key"
# no such key, and a URI that names more than one: nothing recorded, no key made
expect_json 0 generate-key --token pkcs11:token=alpha --label spare --pin-source env:USER_PIN
want=3 request_key "pkcs11:token=alpha;object=absent"
expect_err "no private key matching"
want=2 request_key "pkcs11:token=alpha"
expect_err "matches 2 private keys"
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq 0 ] || fail "a refused --key was recorded"
[ "$(privkeys)" -eq 2 ] || fail "a refused --key made a key"

# a key without a label, and one whose label another key shares, cannot be
# found again by a later refresh: refused, saying why
p11tool alpha --keypairgen --key-type EC:prime256v1 --id 0a0b >/dev/null
want=2 request_key "pkcs11:token=alpha;id=%0a%0b"
expect_err "has no label"
p11tool alpha --keypairgen --key-type EC:prime256v1 --id 0c0d --label spare >/dev/null
want=2 request_key "pkcs11:token=alpha;id=%0c%0d"
expect_err "also labelled 'spare'"
keys=$(privkeys)

# the request: signed by the existing key, recorded at key-ready, no key made
request_key "pkcs11:token=alpha;object=mine"
first=$(json .request.id)
[ "$(json .request.status)" = processing ] || fail "a --key request is $(json .request.status)"
[ "$(json .request.key_label)" = mine ] || fail "the request's key is $(json .request.key_label)"
[ "$(json .request.key_id)" = "$key_id" ] || fail "the request's key id is $(json .request.key_id)"
[ "$(json .request.key_type)" = ec-p256 ] || fail "the key type is $(json .request.key_type)"
[ "$(privkeys)" -eq "$keys" ] || fail "request --key made a key"
# the CA got a request for this very key
careq=$(ca_newest list-requests requests)
ca approve-request "$careq" >/dev/null
expect_json 0 refresh "$first" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "not installed: $(json '.requests[0].state')"
p11tool alpha --list-objects --type cert >"$work/certs"
[ "$(grep -c 'Object;' "$work/certs")" -eq 1 ] || fail "not one certificate on the token"
grep -q 'label: *mine' "$work/certs" || fail "the certificate is not labelled like the key"
grep -q "ID: *$key_id" "$work/certs" || fail "the certificate's ID is not the key's"
p11tool alpha --read-object --type cert --label mine -o "$work/first.der"
openssl x509 -inform DER -in "$work/first.der" -pubkey -noout >"$work/cert-pub.pem"
p11tool alpha --read-object --type pubkey --label mine -o "$work/key-pub.der"
openssl pkey -pubin -inform DER -in "$work/key-pub.der" >"$work/key-pub.pem"
cmp -s "$work/cert-pub.pem" "$work/key-pub.pem" || fail "the certificate does not carry the key"
openssl x509 -inform DER -in "$work/first.der" -out "$work/first.pem"
openssl verify -CAfile "$REFCA_ROOT" "$work/first.pem" >/dev/null || fail "does not chain to the root"
[ "$(privkeys)" -eq "$keys" ] || fail "the installation made a key"

# a renewal for the same key, killed after the request was built: refresh
# continues; the new certificate is written beside the old one, which stays
set +e
P11ENROLL_TEST_KILL_AFTER=csr-ready pe request --service main --owner-type individual \
	--key "$key_uri" --pin-source env:USER_PIN >/dev/null 2>&1
got=$?
set -e
[ "$got" -eq 137 ] || fail "the renewal was not killed after csr-ready (exit $got)"
expect_json 0 list-requests
second=$(json '[.requests[].id | tonumber] | max')
expect_json 0 refresh "$second" --pin-source env:USER_PIN
ca approve-request "$(ca_newest list-requests requests)" >/dev/null
expect_json 0 refresh "$second" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "the renewal is not installed"
p11tool alpha --list-objects --type cert >"$work/certs"
[ "$(grep -c 'Object;' "$work/certs")" -eq 2 ] || fail "the renewal did not keep both certificates"
[ "$(grep -c "ID: *$key_id" "$work/certs")" -eq 2 ] || fail "the certificates' IDs are not the key's"
expect_json 0 list-certs
[ "$(json '.certificates | length')" -eq 2 ] || fail "list-certs does not show both"
[ "$(privkeys)" -eq "$keys" ] || fail "the renewal made a key"

# through a protocol with a renewal call (EST, the same user on the same CA):
# the key's first certificate from this service comes from /simpleenroll, the
# next one, for the same subject, is a renewal (/simplereenroll)
need sqlite3
login=$(sqlite3 "$P11ENROLL_HOME/p11enroll.db" "SELECT login FROM services WHERE name = 'main'")
est_url=https://127.0.0.1:$REFCA_PORT/.well-known/est
fp=$(openssl x509 -in "$REFCA_ROOT" -noout -fingerprint -sha256 | sed 's/.*=//')
expect_json 0 install-roots --service est --file "$REFCA_ROOT" --accept-fingerprint "$fp"
expect_json 0 add-service est --protocol est --url "$est_url" --login "$login" \
	--password-source "file:$P11ENROLL_HOME/secrets/main"
est_request()
{
	expect_json 0 request --service est --owner-type individual --key "$key_uri" \
		--pin-source env:USER_PIN --field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
		--field C=RU --field SNILS=11223344595 --field INN=500100732259
	_id=$(json .request.id)
	ca approve-request "$(ca_newest list-requests requests)" >/dev/null
	expect_json 0 refresh "$_id" --pin-source env:USER_PIN
	[ "$(json '.requests[0].status')" = installed ] || fail "EST: not installed"
}
est_request
grep -q "POST /.well-known/est/simpleenroll 202" "$ca_home.log" || fail "EST: no /simpleenroll"
grep -q "simplereenroll" "$ca_home.log" && fail "EST: the key's first EST certificate was a renewal"
est_request
grep -q "POST /.well-known/est/simplereenroll 202" "$ca_home.log" ||
	fail "EST: the second request for the key was not a renewal"
[ "$(privkeys)" -eq "$keys" ] || fail "EST: a key was made"
true
