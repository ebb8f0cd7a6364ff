#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# import-cert: a certificate issued by a throw-away openssl CA for a request
# made on the token is written next to its key, with the key's CKA_ID and
# label, as pkcs11-tool sees it; importing it again writes nothing and
# leaves one certificate object; PEM and DER both work. A certificate for a
# key the token does not hold (the CA's own, another token's) exits 3 and
# writes nothing; a file that is not a certificate exits 2.
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool

make_tokens alpha beta

# the CA
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Test CA" \
	-days 2 -keyout "$work/ca.key" -out "$work/ca.pem" 2>"$work/openssl.err" ||
	{ cat "$work/openssl.err" >&2; fail "openssl cannot make the CA"; }

# issue TOKEN LABEL TYPE SERIAL: a key on TOKEN, a request for it, and the
# CA's certificate for that request in $work/LABEL.pem; the key's CKA_ID in
# $work/LABEL.id
issue()
{
	expect_json 0 generate-key --token "pkcs11:token=$1" --label "$2" --type "$3" \
		--pin-source env:USER_PIN
	json .key.id >"$work/$2.id"
	expect_json 0 make-csr --key "pkcs11:token=$1;object=$2" --subject "/C=RU/CN=$2" \
		--key-usage critical,digitalSignature --out "$work/$2.csr" --pin-source env:USER_PIN
	openssl x509 -req -in "$work/$2.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
		-set_serial "$4" -days 1 -copy_extensions copy -out "$work/$2.pem" \
		2>"$work/openssl.err" || { cat "$work/openssl.err" >&2; fail "the CA refuses $2"; }
}

issue alpha key-a ec-p256 4660
issue alpha key-r rsa-2048 4661
issue beta key-b ec-p256 4662
id_a=$(cat "$work/key-a.id")
openssl x509 -in "$work/key-r.pem" -outform DER -out "$work/key-r.der"
[ "$(count_objects alpha cert)" -eq 0 ] || fail "certificates on a new token"

# PEM: written next to key-a
expect_json 0 import-cert --token pkcs11:token=alpha --cert "$work/key-a.pem" \
	--pin-source env:USER_PIN
[ "$(json .written)" = true ] || fail "written is not true"
[ "$(json .label)" = key-a ] || fail "label is $(json .label), not the key's"
[ "$(json .id)" = "$id_a" ] || fail "id is $(json .id), not the key's $id_a"
case $(json .key_uri) in
*";object=key-a;type=private") ;;
*) fail "key_uri $(json .key_uri)" ;;
esac
case $(json .cert_uri) in
*";token=alpha;"*";object=key-a;type=cert") ;;
*) fail "cert_uri $(json .cert_uri)" ;;
esac
[ "$(json .serial)" = 1234 ] || fail "serial is $(json .serial), not 1234 (4660)"
fpr=$(openssl x509 -in "$work/key-a.pem" -noout -fingerprint -sha256 | sed 's/.*=//' |
	tr -d : | tr A-F a-f)
[ "$(json .sha256)" = "$fpr" ] || fail "sha256 is not the certificate's fingerprint"
json .subject | grep -q "CN=key-a" || fail "subject $(json .subject)"

# from outside: one certificate object with the key's ID and label, holding
# this very certificate
[ "$(count_objects alpha cert)" -eq 1 ] || fail "not one certificate on the token"
object_block alpha cert key-a >"$work/cert-block"
grep -q '^Certificate Object' "$work/cert-block" || fail "no certificate labelled key-a"
grep -Eq "^ +ID: +$id_a\$" "$work/cert-block" || fail "the certificate's ID is not $id_a"
p11tool alpha --read-object --type cert --id "$id_a" -o "$work/token-cert.der" >/dev/null ||
	fail "pkcs11-tool cannot read the certificate"
openssl x509 -in "$work/key-a.pem" -outform DER | cmp -s - "$work/token-cert.der" ||
	fail "the token holds another certificate"

# again, PEM then DER: nothing written, still one certificate object
expect_json 0 import-cert --token pkcs11:token=alpha --cert "$work/key-a.pem" \
	--pin-source env:USER_PIN
[ "$(json .written)" = false ] || fail "a second import says written"
[ "$(json .id)" = "$id_a" ] || fail "a second import: id"
openssl x509 -in "$work/key-a.pem" -outform DER -out "$work/key-a.der"
expect_rc 0 import-cert --token pkcs11:token=alpha --cert "$work/key-a.der" \
	--pin-source env:USER_PIN
expect_out "already on token 'alpha'"
[ "$(count_objects alpha cert)" -eq 1 ] || fail "importing again added a certificate object"

# DER for the RSA key
expect_rc 0 import-cert --token pkcs11:token=alpha --cert "$work/key-r.der" \
	--pin-source env:USER_PIN
expect_out "certificate written to token 'alpha'"
expect_out "next to key 'key-r'"
[ "$(count_objects alpha cert)" -eq 2 ] || fail "not two certificates"
object_block alpha cert key-r | grep -Eq "^ +ID: +$(cat "$work/key-r.id")\$" ||
	fail "the RSA certificate's ID is not its key's"

# for a key the token does not hold: 3, nothing written
for cert in ca.pem key-b.pem; do
	expect_json 3 import-cert --token pkcs11:token=alpha --cert "$work/$cert" \
		--pin-source env:USER_PIN
	expect_err "matches no private key"
	expect_err "nothing was written"
	[ "$(count_objects alpha cert)" -eq 2 ] || fail "$cert: a certificate object was written"
done
# on its own token, key-b's certificate goes in
expect_json 0 import-cert --token pkcs11:token=beta --cert "$work/key-b.pem" \
	--pin-source env:USER_PIN
[ "$(json .label)" = key-b ] || fail "key-b: label"
[ "$(count_objects beta cert)" -eq 1 ] || fail "key-b: not written"

# not a certificate: 2, before the PIN (an unset variable) is read
printf 'not a certificate\n' >"$work/text.pem"
: >"$work/empty"
head -c 300 "$work/key-r.der" >"$work/truncated.der"
for bad in key-a.csr ca.key text.pem empty truncated.der; do
	expect_json 2 import-cert --token pkcs11:token=alpha --cert "$work/$bad" \
		--pin-source env:UNSET_VAR
	expect_err "$bad"
	grep -q UNSET_VAR "$work/err" && fail "$bad: the PIN source was read"
done
expect_json 3 import-cert --token pkcs11:token=alpha --cert "$work/no-such-file" \
	--pin-source env:UNSET_VAR
expect_err "no-such-file"
[ "$(count_objects alpha cert)" -eq 2 ] || fail "a refused file wrote a certificate"

# a wrong PIN: 5, nothing written
WRONG=9999
export WRONG
issue alpha key-c ec-p384 4663
expect_json 5 import-cert --token pkcs11:token=alpha --cert "$work/key-c.pem" \
	--pin-source env:WRONG
expect_err "not retried"
[ "$(count_objects alpha cert)" -eq 2 ] || fail "a wrong PIN wrote a certificate"
expect_json 0 import-cert --token pkcs11:token=alpha --cert "$work/key-c.pem" \
	--pin-source env:USER_PIN
[ "$(count_objects alpha cert)" -eq 3 ] || fail "key-c's certificate"

# usage
expect_json 2 import-cert --token pkcs11:token=alpha --pin-source env:USER_PIN
expect_err "--cert"
expect_json 2 import-cert --cert "$work/key-a.pem" --pin-source env:USER_PIN
expect_json 3 import-cert --token pkcs11:token=gamma --cert "$work/key-a.pem" \
	--pin-source env:USER_PIN
