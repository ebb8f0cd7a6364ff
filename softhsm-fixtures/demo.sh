#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: demo.sh BUILD_DIR
#
# The main job on the embedded default: the seed workflow end to end on a
# fresh SoftHSM token and the reference CA service (p11enroll-ca) on loopback.
# Connect the service by registering (the operator approves), request a
# certificate with the key made on the token (the operator approves), refresh,
# and find the certificate installed on the token next to its key.
# Everything lives in demo-out/ (DEMO_DIR moves it); nothing touches the
# system's tokens or the user's own p11enroll state.
set -eu

build=${1:?usage: demo.sh BUILD_DIR}
build=$(cd "$build" && pwd)
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
P11ENROLL_HOME=$out/p11enroll
P11ENROLL_TOKENS_DIR=${P11ENROLL_TOKENS_DIR:-$here/../tokens}
export SOFTHSM2_CONF P11ENROLL_HOME P11ENROLL_TOKENS_DIR
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
	"$build/p11enroll" --module "$module" "$@"
}

ca()
{
	printf '$ p11enroll-ca %s\n' "$*"
	"$build/p11enroll-ca" --home "$out/ca" "$@"
}

newest()
{
	"$build/p11enroll-ca" --home "$out/ca" --json "$1" | jq -r "[.$2[]] | max_by(.id | tonumber) | .id"
}

step "0. The CA operator sets up the reference CA service on loopback"
ca init
"$build/p11enroll-ca" --home "$out/ca" serve --listen 127.0.0.1:0 \
	--port-file "$out/ca.port" --pid-file "$out/ca.pid" 2>"$out/ca.log" &
trap 'kill "$(cat "$out/ca.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
i=0
while [ ! -s "$out/ca.port" ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { cat "$out/ca.log" >&2; echo "demo: the CA did not start" >&2; exit 1; }
	sleep 0.1
done
port=$(cat "$out/ca.port")
url=https://127.0.0.1:$port/ui/api/$(jq -r .folder "$out/ca/config.json")
echo "the service: $url"

step "1. Trust the CA's root: check its fingerprint with the CA operator"
fingerprint=$(openssl x509 -in "$out/ca/ca-cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
pe install-roots --service demo-ca --url "$url" --accept-fingerprint "$fingerprint"

step "2. Connect the service: register a new user"
pe add-service demo-ca --url "$url" --register \
	--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
	--field SNILS=11223344595 --field INN=500100732259 --email ivanov@example.org
pe list-services

step "3. The CA operator approves the registration"
ca approve-registration "$(newest list-registrations registrations)"
pe list-services

step "4. The token: SoftHSM offers one empty token; the request sets it up"
free_slot=$("$build/p11enroll" --module "$module" --json list-slots |
	jq -r '[.slots[] | select(.token_present and (.token.flags | index("initialized") | not))][0].slot_id')
pe list-templates --service demo-ca

step "5. Request a certificate: the key is made on the token, the token signs the request"
pe request --service demo-ca --owner-type individual --template 1.2.643.2.2.46.0.8 \
	--carrier token --token "pkcs11:slot-id=$free_slot" --token-label demo-card \
	--key-type ec-p256 --so-pin-source "file:$out/so-pin" --pin-source "file:$out/user-pin"
pe list-requests

step "6. The CA operator approves the request"
ca approve-request "$(newest list-requests requests)"

step "7. Refresh: the certificate is downloaded, checked, installed next to its key"
pe refresh --all --pin-source "file:$out/user-pin"
pe list-certs

step "8. What anyone can see on the token now: the certificate beside the key's public half"
pkcs11-tool --module "$module" --token-label demo-card --list-objects 2>/dev/null |
	grep -E 'Object|label|ID|subject' || true

printf '\ndemo: done; the token, the CA and every file are in %s\n' "$out"
