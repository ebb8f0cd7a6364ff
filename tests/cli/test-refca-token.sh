#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# p11enroll-ca with its CA key on a PKCS#11 token: the key is made on a
# SoftHSM token by p11enroll, init builds the root around it without ever
# holding it, and serve issues certificates that chain to that root, signed
# through the token. Without the PIN the CA cannot issue.
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool

make_tokens catoken user
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME
ca_home=$work/ca

# the CA key, made on the token and never out of it
expect_json 0 generate-key --token pkcs11:token=catoken --type ec-p256 --label ca-key \
	--pin-source env:USER_PIN
key_uri="pkcs11:token=catoken;object=ca-key;type=private"

# no PIN, no CA; nothing half-made is left behind
set +e
refca --home "$ca_home" init --ca-key-uri "$key_uri" --module "$SOFTHSM_MODULE" \
	--pin-source env:UNSET_VAR >"$work/out" 2>"$work/err" </dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "init without a PIN made a CA"
[ ! -e "$ca_home" ] || fail "a failed init left '$ca_home'"

refca --home "$ca_home" init --ca-key-uri "$key_uri" --module "$SOFTHSM_MODULE" \
	--pin-source env:USER_PIN >"$work/init.out"
[ ! -e "$ca_home/ca-key.pem" ] || fail "the CA key was written to a file"
[ "$(stat -c %a "$ca_home/ca-key.uri")" = 600 ] || fail "ca-key.uri is not 0600"

# the root carries the token's public key
p11tool catoken --read-object --type pubkey --label ca-key -o "$work/token-pub.der"
openssl pkey -pubin -inform DER -in "$work/token-pub.der" -outform PEM >"$work/token-pub.pem"
openssl x509 -in "$ca_home/ca-cert.pem" -noout -pubkey >"$work/root-pub.pem"
cmp -s "$work/token-pub.pem" "$work/root-pub.pem" || fail "the root is not for the token's key"
openssl verify -CAfile "$ca_home/ca-cert.pem" "$ca_home/ca-cert.pem" >/dev/null ||
	fail "the root's self-signature, made by the token, does not verify"

# serving without the PIN fails at once, with a message
set +e
refca --home "$ca_home" serve --listen 127.0.0.1:0 --pin-source env:UNSET_VAR \
	>"$work/out" 2>"$work/err" </dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "serve without the PIN started"
grep -q "UNSET_VAR" "$work/err" || fail "serve without the PIN said nothing of it"

# a whole enrollment, issued through the token
refca_start "$ca_home" --auto-approve --pin-source env:USER_PIN
expect_json 0 add-service ca --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
	--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
	--field SNILS=11223344595 --field INN=500100732259
[ "$(json .status)" = ready ] || fail "auto-approved registration is $(json .status)"
expect_json 0 request --service ca --owner-type individual --token pkcs11:token=user \
	--pin-source env:USER_PIN --label mine
[ "$(json .request.status)" = installed ] || fail "not installed: $(json .request.status)"
p11tool user --read-object --type cert --label mine -o "$work/mine.der"
openssl x509 -inform DER -in "$work/mine.der" -out "$work/mine.pem"
openssl verify -CAfile "$REFCA_ROOT" "$work/mine.pem" >/dev/null ||
	fail "the certificate does not chain to the token-held root"

# the operator approves with the PIN too
refca_stop "$ca_home"
refca_start "$ca_home" --pin-source env:USER_PIN --listen "127.0.0.1:$REFCA_PORT"
expect_json 0 request --service ca --owner-type individual --token pkcs11:token=user \
	--pin-source env:USER_PIN --label second
id=$(json .request.id)
careq=$(refca --home "$ca_home" --json list-requests | jq -r '[.requests[].id] | max')
set +e
refca --home "$ca_home" approve-request "$careq" --pin-source env:UNSET_VAR \
	>"$work/out" 2>"$work/err" </dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "approve-request without the PIN issued"
refca --home "$ca_home" approve-request "$careq" --pin-source env:USER_PIN >/dev/null
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "the approved request is not installed"
refca_stop "$ca_home"
