#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# generate-key: EC P-256, P-384, RSA 2048 and Ed25519 keys made on the token,
# checked from outside with pkcs11-tool and openssl: the private key is
# sensitive and was never extractable, CKA_ID is the SHA-1 of the public key
# bits, and the URI printed names the key. Refused, with nothing written:
# a label or CKA_ID already there, an unknown type, a type the token cannot
# make, a wrong PIN, and a URI that matches two tokens (refused before any
# PIN is read).
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool

make_tokens alpha beta
tok=pkcs11:token=alpha

for type in ec-p256 ec-p384 rsa-2048 ed25519; do
	label=key-$type
	expect_json 0 generate-key --token "$tok" --type "$type" --label "$label" \
		--pin-source env:USER_PIN
	id=$(json .key.id)
	uri=$(json .key.uri)
	printf '%s\n' "$id" | grep -Eq '^[0-9a-f]{40}$' || fail "$type: id '$id' is not SHA-1 hex"
	[ "$(json .key.type)" = "$type" ] || fail "$type: key.type is $(json .key.type)"
	[ "$(json .key.label)" = "$label" ] || fail "$type: key.label"
	[ "$(json .key.sensitive)" = true ] || fail "$type: not sensitive"
	[ "$(json .key.extractable)" = false ] || fail "$type: extractable"
	[ "$(json .key.never_extractable)" = true ] || fail "$type: not never_extractable"
	# the URI names this token, this object and this CKA_ID
	case $uri in
	pkcs11:*";token=alpha;"*";object=$label;type=private") ;;
	*) fail "$type: uri '$uri'" ;;
	esac
	uri_id=$(printf '%s\n' "$uri" | sed -n 's/.*;id=\([^;]*\);.*/\1/p' | tr -d % | tr A-F a-f)
	[ "$uri_id" = "$id" ] || fail "$type: the URI's id is $uri_id, not $id"

	# from outside: the private key as pkcs11-tool sees it
	object_block alpha privkey "$label" >"$work/priv"
	[ "$(grep -c 'Object;' "$work/priv")" -eq 1 ] || fail "$type: not one private key $label"
	grep -q "Access: *sensitive, always sensitive, never extractable, local" "$work/priv" ||
		{ cat "$work/priv" >&2; fail "$type: not sensitive and never extractable"; }
	grep -Eq "^ +ID: +$id\$" "$work/priv" || fail "$type: the private key's ID is not $id"
	case $type in
	ec-*) kind="EC" ;;
	rsa-*) kind="RSA" ;;
	ed25519) kind="EC_EDWARDS" ;;
	esac
	grep -q "^Private Key Object; $kind *\$" "$work/priv" || fail "$type: not a $kind key"
	object_block alpha pubkey "$label" >"$work/pub"
	grep -Eq "^ +ID: +$id\$" "$work/pub" || fail "$type: the public key's ID is not $id"
	case $type in
	ec-p256) grep -q "EC_POINT 256 bits" "$work/pub" || fail "$type: not 256 bits" ;;
	ec-p384) grep -q "EC_POINT 384 bits" "$work/pub" || fail "$type: not 384 bits" ;;
	rsa-2048) grep -q "RSA 2048 bits" "$work/pub" || fail "$type: not 2048 bits" ;;
	ed25519) grep -q "EC_PARAMS: *06032b6570" "$work/pub" || fail "$type: not Ed25519" ;;
	esac
	# CKA_ID = SHA-1 over the public key bits (raw point; DER RSAPublicKey)
	token_pubkey_bits alpha "$id" >"$work/bits"
	case $type in
	ec-p256) [ "$(wc -c <"$work/bits")" -eq 65 ] || fail "$type: not a P-256 point" ;;
	ec-p384) [ "$(wc -c <"$work/bits")" -eq 97 ] || fail "$type: not a P-384 point" ;;
	ed25519) [ "$(wc -c <"$work/bits")" -eq 32 ] || fail "$type: not an Ed25519 key" ;;
	esac
	sha1=$(sha1_hex <"$work/bits")
	[ "$sha1" = "$id" ] || fail "$type: CKA_ID $id is not the public key's SHA-1 $sha1"
done
# for RSA, the bits are the DER RSAPublicKey: the same as openssl makes it
expect_json 0 generate-key --token "$tok" --type rsa-2048 --label key-rsa-check \
	--pin-source env:USER_PIN
rsa_id=$(json .key.id)
token_pubkey_bits alpha "$rsa_id" >"$work/bits"
openssl rsa -pubin -inform DER -in "$work/token-spki.der" -RSAPublicKey_out -outform DER \
	2>/dev/null | cmp -s - "$work/bits" || fail "rsa-2048: the bits are not the RSAPublicKey"

# the default type is ec-p256; text output for people
expect_rc 0 generate-key --token "$tok" --label key-default --pin-source env:USER_PIN
expect_out "generated ec-p256 key 'key-default' on token 'alpha'"
grep -Eq '^  id +[0-9a-f]{40}$' "$work/out" || fail "text: no id line"
grep -Eq '^  sensitive +yes$' "$work/out" || fail "text: not sensitive"
grep -Eq '^  extractable +no$' "$work/out" || fail "text: extractable"

# an explicit CKA_ID
expect_json 0 generate-key --token "$tok" --label key-explicit --id 0102ABcd \
	--pin-source env:USER_PIN
[ "$(json .key.id)" = 0102abcd ] || fail "--id: key.id is $(json .key.id)"
object_block alpha privkey key-explicit | grep -Eq '^ +ID: +0102abcd$' ||
	fail "--id: the token does not hold CKA_ID 0102abcd"

# refused, and nothing new on the token
objects=$(count_objects alpha)
p256_id=$(object_block alpha privkey key-ec-p256 | sed -n 's/^ *ID: *//p')
expect_json 2 generate-key --token "$tok" --type rsa-2048 --label key-ec-p256 \
	--pin-source env:USER_PIN
expect_err "already has an object labelled 'key-ec-p256'"
expect_json 2 generate-key --token "$tok" --label key-new --id "$p256_id" \
	--pin-source env:USER_PIN
expect_err "CKA_ID"
expect_json 2 generate-key --token "$tok" --label key-new --id "not-hex" --pin-source env:USER_PIN
expect_err "--id"
expect_json 2 generate-key --token "$tok" --label key-new --type ec-p999 \
	--pin-source env:USER_PIN
expect_err "unknown key type 'ec-p999'"
for t in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519; do
	expect_err "$t"
done
WRONG=9999
export WRONG
expect_json 5 generate-key --token "$tok" --label key-new --pin-source env:WRONG
expect_err "incorrect"
expect_err "not retried"
[ "$(count_objects alpha)" -eq "$objects" ] || fail "a refused generate-key wrote objects"

# a type SoftHSM cannot make: refused before the PIN, naming what it can make
for t in gost2012-256 gost2012-512; do
	expect_json 2 generate-key --token "$tok" --label key-gost --type "$t" \
		--pin-source env:UNSET_VAR
	expect_err "$t"
	expect_err "ec-p256"
	expect_err "rsa-2048"
	grep -q UNSET_VAR "$work/err" && fail "$t: the PIN source was read"
done
[ "$(count_objects alpha)" -eq "$objects" ] || fail "a refused GOST key wrote objects"

# a URI that matches both tokens: refused before any login, both named; the
# PIN source (an unset variable) is never read
expect_json 2 generate-key --token "pkcs11:model=SoftHSM%20v2" --label key-amb \
	--pin-source env:UNSET_VAR
expect_err "'alpha'"
expect_err "'beta'"
grep -q UNSET_VAR "$work/err" && fail "ambiguous URI: the PIN source was read"
[ "$(count_objects alpha)" -eq "$objects" ] || fail "an ambiguous URI wrote to alpha"
[ "$(count_objects beta)" -eq 0 ] || fail "an ambiguous URI wrote to beta"

# no such token; missing options
expect_json 3 generate-key --token pkcs11:token=gamma --label k --pin-source env:USER_PIN
expect_json 2 generate-key --token "$tok" --pin-source env:USER_PIN
expect_err "--label"
expect_json 2 generate-key --label k --pin-source env:USER_PIN
