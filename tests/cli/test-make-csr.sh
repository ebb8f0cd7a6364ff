#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make-csr: for EC P-256, P-384, RSA 2048 and Ed25519 keys on the token the
# request verifies with openssl and carries the token's public key (read by
# pkcs11-tool); the subject encodes the Russian registry numbers as
# NumericString, C as PrintableString and CN (Cyrillic too) as UTF8String;
# the template, subjectSignTool, key usage, extended key usage and
# subjectAltName extensions are there; --der, --out and --json write what
# they say. A subject field that is wrong is refused, naming the field,
# before the PIN is read; a key URI that matches nothing exits 3.
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool

make_tokens alpha beta

cn="Иванов Иван"
types="ec-p256 ec-p384 rsa-2048 ed25519"
for type in $types; do
	expect_json 0 generate-key --token pkcs11:token=alpha --type "$type" --label "key-$type" \
		--pin-source env:USER_PIN
	json .key.id >"$work/id-$type"
done

# subject_values FILE: "name|ASN.1 type|value" for each OID the request
# names, in order, from openssl asn1parse
subject_values()
{
	openssl asn1parse -in "$1" | awk '
		/prim: OBJECT/ { obj = $0; sub(/.*prim: OBJECT *:/, "", obj); next }
		obj != "" && /prim:/ {
			t = $0
			sub(/.*prim: /, "", t)
			v = t
			sub(/ *:.*/, "", t)
			sub(/^[^:]*:/, "", v)
			print obj "|" t "|" v
			obj = ""
		}'
}

# ext_value FILE NAME: the asn1parse of the value of the extension whose OID
# openssl prints as NAME (an extended regular expression: the dotted OID or
# the name openssl knows it by)
ext_value()
{
	off=$(openssl asn1parse -in "$1" | awk -v oid="$2" '
		found && /prim: OCTET STRING/ { sub(/:.*/, ""); print $1; exit }
		/prim: OBJECT/ { found = ($0 ~ (":(" oid ")$")) }')
	[ -n "$off" ] || fail "$1: no extension $2"
	openssl asn1parse -in "$1" -strparse "$off"
}

for type in $types; do
	csr=$work/$type.csr
	id=$(cat "$work/id-$type")
	expect_json 0 make-csr --key "pkcs11:token=alpha;object=key-$type" \
		--subject "/C=RU/CN=$cn" --field INN=500100732259 --field SNILS=11223344595 \
		--field OGRN=1027700132195 --out "$csr" --pin-source env:USER_PIN
	[ "$(json .key_type)" = "$type" ] || fail "$type: key_type is $(json .key_type)"
	[ "$(json .out)" = "$csr" ] || fail "$type: out is not $csr"
	case $(json .key_uri) in
	*";object=key-$type;type=private") ;;
	*) fail "$type: key_uri $(json .key_uri)" ;;
	esac
	[ "$(head -n 1 "$csr")" = "-----BEGIN CERTIFICATE REQUEST-----" ] || fail "$type: not PEM"
	openssl req -in "$csr" -verify -noout 2>"$work/verify" ||
		{ cat "$work/verify" >&2; fail "$type: openssl req -verify fails"; }
	grep -q "verify OK" "$work/verify" || fail "$type: openssl does not say verify OK"

	# the request's public key is the token's
	openssl req -in "$csr" -pubkey -noout | openssl pkey -pubin -outform DER \
		-out "$work/csr-spki.der"
	spki_bits "$work/csr-spki.der" >"$work/csr-bits"
	token_pubkey_bits alpha "$id" >"$work/token-bits"
	cmp -s "$work/csr-bits" "$work/token-bits" || fail "$type: not the token's public key"
	if [ -s "$work/token-spki.der" ]; then
		cmp -s "$work/csr-spki.der" "$work/token-spki.der" ||
			fail "$type: the SubjectPublicKeyInfo differs from the token's"
	fi
	[ "$(sha1_hex <"$work/csr-bits")" = "$id" ] || fail "$type: key id is not SHA-1 of it"
	openssl req -in "$csr" -noout -text >"$work/text"
	case $type in
	ec-p256) want_key="NIST CURVE: P-256" want_sig="ecdsa-with-SHA256" ;;
	ec-p384) want_key="NIST CURVE: P-384" want_sig="ecdsa-with-SHA384" ;;
	rsa-2048) want_key="Public-Key: (2048 bit)" want_sig="sha256WithRSAEncryption" ;;
	ed25519) want_key="Public Key Algorithm: ED25519" want_sig="Signature Algorithm: ED25519" ;;
	esac
	grep -qF "$want_key" "$work/text" || fail "$type: not '$want_key'"
	grep -qF "$want_sig" "$work/text" || fail "$type: not signed with $want_sig"

	# the subject, attribute by attribute with its ASN.1 string type
	subject_values "$csr" >"$work/subject"
	for want in "countryName|PRINTABLESTRING|RU" "commonName|UTF8STRING|$cn" \
		"INN|NUMERICSTRING|500100732259" "SNILS|NUMERICSTRING|11223344595" \
		"OGRN|NUMERICSTRING|1027700132195"; do
		grep -qxF "$want" "$work/subject" ||
			{ cat "$work/subject" >&2; fail "$type: subject lacks $want"; }
	done
	openssl req -in "$csr" -noout -subject -nameopt RFC2253,-esc_msb >"$work/dn"
	grep -qxF "subject=OGRN=1027700132195,SNILS=11223344595,INN=500100732259,CN=$cn,C=RU" \
		"$work/dn" || { cat "$work/dn" >&2; fail "$type: the subject does not round-trip"; }
done
# the comma form is RFC 4514, the last attribute first: "CN=..,C=RU" is the
# same name as "/C=RU/CN=.."
expect_rc 0 make-csr --key "pkcs11:token=alpha;object=key-ec-p256" \
	--subject "CN=$cn,C=RU" --out "$work/comma.csr" --pin-source env:USER_PIN
subject_values "$work/comma.csr" | head -n 2 | tr '\n' ' ' >"$work/dn"
[ "$(cat "$work/dn")" = "countryName|PRINTABLESTRING|RU commonName|UTF8STRING|$cn " ] ||
	{ cat "$work/dn" >&2; fail "comma form: not C then CN"; }

# extensions
template_oid='1\.3\.6\.1\.4\.1\.311\.21\.7'
key="pkcs11:token=alpha;object=key-ec-p256"
expect_rc 0 make-csr --key "$key" --subject "/C=RU/CN=$cn" \
	--template 1.2.643.2.2.46.0.8 --sign-tool "СКЗИ «КриптоПро CSP»" \
	--key-usage critical,digitalSignature,keyEncipherment \
	--ext-key-usage clientAuth,emailProtection \
	--email ivanov@example.org --email ii@example.org --upn ivanov@corp.example \
	--out "$work/ext.csr" --pin-source env:USER_PIN
openssl req -in "$work/ext.csr" -verify -noout 2>/dev/null || fail "ext: does not verify"
ext_value "$work/ext.csr" "$template_oid" >"$work/template"
grep -q "OBJECT *:1.2.643.2.2.46.0.8\$" "$work/template" || fail "template: not its OID"
[ "$(grep -c 'INTEGER' "$work/template")" -eq 2 ] || fail "template: no major and minor"
ext_value "$work/ext.csr" '1\.2\.643\.100\.111|Signing Tool of Subject' >"$work/signtool"
grep -qF "UTF8STRING        :СКЗИ «КриптоПро CSP»" "$work/signtool" ||
	{ cat "$work/signtool" >&2; fail "subjectSignTool: not the text given"; }
openssl req -in "$work/ext.csr" -noout -text >"$work/text"
for want in "X509v3 Key Usage: critical" "Digital Signature, Key Encipherment" \
	"X509v3 Extended Key Usage:" "TLS Web Client Authentication, E-mail Protection" \
	"X509v3 Subject Alternative Name:" "email:ivanov@example.org" "email:ii@example.org" \
	"UPN::ivanov@corp.example"; do
	grep -qF "$want" "$work/text" || { cat "$work/text" >&2; fail "ext: no '$want'"; }
done
# the template's version numbers
expect_rc 0 make-csr --key "$key" --subject "/CN=x" --template 1.2.643.2.2.46.0.8:2:5 \
	--out "$work/tpl.csr" --pin-source env:USER_PIN
ext_value "$work/tpl.csr" "$template_oid" | sed -n 's/.*INTEGER *://p' | tr '\n' ' ' \
	>"$work/versions"
[ "$(cat "$work/versions")" = "02 05 " ] || fail "template 2:5 gives $(cat "$work/versions")"
# without those options, none of those extensions
expect_rc 0 make-csr --key "$key" --subject "/CN=x" --out "$work/plain.csr" \
	--pin-source env:USER_PIN
openssl asn1parse -in "$work/plain.csr" >"$work/plain.asn1"
grep -q "Extension Request" "$work/plain.asn1" && fail "extensions nobody asked for"

# --der --out writes DER; for RSA (deterministic signatures) it is the PEM
# request's DER byte for byte
rkey="pkcs11:token=alpha;object=key-rsa-2048"
expect_json 0 make-csr --key "$rkey" --subject "/C=RU/CN=$cn" --der --out "$work/r.der" \
	--pin-source env:USER_PIN
openssl req -inform DER -in "$work/r.der" -verify -noout 2>/dev/null || fail "DER: no verify"
[ "$(head -c 1 "$work/r.der" | od -An -tx1 | tr -d ' ')" = 30 ] || fail "--der: not DER"
expect_json 0 make-csr --key "$rkey" --subject "/C=RU/CN=$cn" --out "$work/r.pem" \
	--pin-source env:USER_PIN
openssl req -in "$work/r.pem" -outform DER | cmp -s - "$work/r.der" ||
	fail "--der is not the DER of the PEM request"

# --json without --out: the PEM in csr_pem, nothing else on stdout
expect_json 0 make-csr --key "$rkey" --subject "/C=RU/CN=$cn" --pin-source env:USER_PIN
json .csr_pem >"$work/json.pem"
openssl req -in "$work/json.pem" -verify -noout 2>/dev/null || fail "csr_pem does not verify"
openssl req -in "$work/json.pem" -outform DER | cmp -s - "$work/r.der" || fail "csr_pem differs"
[ "$(json 'has("out")')" = false ] || fail "--json without --out names an out file"
# text without --out: the PEM on stdout
expect_rc 0 make-csr --key "$rkey" --subject "/C=RU/CN=$cn" --pin-source env:USER_PIN
openssl req -in "$work/out" -outform DER | cmp -s - "$work/r.der" || fail "stdout PEM differs"

# a wrong field: refused naming it, before the PIN (an unset variable) is read
check_refused()
{
	field=$1
	shift
	expect_json 2 make-csr --key "$key" --pin-source env:UNSET_VAR "$@"
	expect_err "$field"
	grep -q UNSET_VAR "$work/err" && fail "$field: the PIN source was read"
	json .error.message | grep -qF "$field" || fail "$field: the JSON message does not name it"
}
check_refused "INN '50010073225'" --subject "/CN=x" --field INN=50010073225
check_refused "C 'RUS'" --subject "/C=RUS/CN=x"
check_refused "SNILS '1122334459a'" --subject "/CN=x" --field SNILS=1122334459a
check_refused "OGRN '10277001321950'" --subject "/CN=x" --field OGRN=10277001321950
check_refused "1.2.643.100.3" --subject "/CN=x" --field 1.2.643.100.3=11223344595x
check_refused "NOSUCH" --subject "/CN=x/NOSUCH=1"
check_refused "subject is empty"
# the check digits of the registry numbers (protocols/ru-subject.md)
check_refused "SNILS '11223344596'" --subject "/CN=x" --field SNILS=11223344596
check_refused "INN '500100732258'" --subject "/CN=x" --field INN=500100732258
check_refused "OGRN '1022500001328'" --subject "/CN=x" --field OGRN=1022500001328
check_refused "OGRNIP '304500116000158'" --subject "/CN=x" --field OGRNIP=304500116000158
check_refused "OID=VALUE" --subject "/CN=x" --field INN

# nothing matches the key URI: 3
expect_json 3 make-csr --key "pkcs11:token=alpha;object=no-such-key" --subject "/CN=x" \
	--pin-source env:USER_PIN
expect_err "no-such-key"
expect_json 3 make-csr --key "pkcs11:token=beta;object=key-ec-p256" --subject "/CN=x" \
	--pin-source env:USER_PIN
expect_json 3 make-csr --key "pkcs11:token=gamma;object=key-ec-p256" --subject "/CN=x" \
	--pin-source env:USER_PIN
# usage
expect_json 2 make-csr --subject "/CN=x" --pin-source env:USER_PIN
expect_err "--key is required"
expect_json 2 make-csr --key "$key" --subject "/CN=x" --der --pin-source env:USER_PIN
expect_err "--der needs --out"
expect_json 2 make-csr --key "$key" --subject "/CN=x" --template 1.2.3:x \
	--pin-source env:USER_PIN
