#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: demo.sh P11ENROLL
#
# The main job on the embedded default: a fresh SoftHSM token is enrolled end
# to end. The token is initialised, a key pair is made on it, the token signs
# the certificate request, a throw-away local CA (openssl) issues the
# certificate, and the certificate is written back next to the key.
# Everything lives in demo-out/ (set DEMO_DIR to move it); nothing touches the
# system's tokens.
set -eu

p11enroll=${1:?usage: demo.sh P11ENROLL}
here=$(cd "$(dirname "$0")" && pwd)
out=${DEMO_DIR:-$here/../demo-out}
module=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
	[ -f "$m" ] && module=$m && break
done
[ -n "$module" ] || { echo "demo: no SoftHSM2 module; install softhsm2" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
umask 077
SOFTHSM2_CONF=$out/softhsm2.conf
P11ENROLL_TOKENS_DIR=${P11ENROLL_TOKENS_DIR:-$here/../tokens}
export SOFTHSM2_CONF P11ENROLL_TOKENS_DIR
sh "$here/make-tokens.sh" "$out"

# The PINs a security officer would type; here they come from files (0600),
# never from the command line.
printf '%s\n' 87654321 > "$out/so-pin"
printf '%s\n' 123456 > "$out/user-pin"

step()
{
	printf '\n==> %s\n' "$*"
}

pe()
{
	printf '$ p11enroll %s\n' "$*"
	"$p11enroll" --module "$module" "$@"
}

step "1. The slots: SoftHSM offers one empty token"
free_slot=$("$p11enroll" --module "$module" --json list-slots |
	jq -r '[.slots[] | select(.token_present and (.token.flags | index("initialized") | not))][0].slot_id')
pe list-slots

step "2. Initialise the token: label, SO PIN, user PIN"
pe init-token --token "pkcs11:slot-id=$free_slot" --label demo-card \
	--so-pin-source "file:$out/so-pin" --pin-source "file:$out/user-pin"

step "3. Generate an EC P-256 key pair on the token (it never leaves it)"
pe generate-key --token pkcs11:token=demo-card --type ec-p256 --label demo-key \
	--pin-source "file:$out/user-pin"

step "4. The token signs a certificate request"
pe make-csr --key "pkcs11:token=demo-card;object=demo-key" \
	--subject "/C=RU/L=Moscow/O=Demo/CN=Ivanov Ivan" \
	--field SNILS=11223344595 --field INN=500100732259 \
	--template 1.2.643.2.2.46.0.8 --sign-tool "p11enroll" \
	--key-usage critical,digitalSignature --ext-key-usage clientAuth,emailProtection \
	--email ivanov@example.org --pin-source "file:$out/user-pin" --out "$out/request.pem"
openssl req -in "$out/request.pem" -verify -noout

step "5. A throw-away local CA issues the certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=p11enroll demo CA" -keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl x509 -req -in "$out/request.pem" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
	-CAcreateserial -days 1 -copy_extensions copy -out "$out/cert.pem" 2>/dev/null
openssl x509 -in "$out/cert.pem" -noout -subject -issuer -serial

step "6. The certificate goes onto the token, next to its key"
pe import-cert --token pkcs11:token=demo-card --cert "$out/cert.pem" \
	--pin-source "file:$out/user-pin"

step "7. What anyone can see on the token now: the certificate beside the key's public half"
pkcs11-tool --module "$module" --token-label demo-card --list-objects 2>/dev/null |
	grep -E 'Object|label|ID|subject' || true
openssl verify -CAfile "$out/ca.pem" "$out/cert.pem"

printf '\ndemo: done; the token and every file are in %s\n' "$out"
