#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The cfssl connector against a real `cfssl serve` (Debian's golang-cfssl)
# on a free 127.0.0.1 port, with a CA made by `cfssl gencert -initca` and a
# signing policy with an HMAC auth key: add-service with the key (and with a
# wrong one, and without one), install-roots from /info, a request on the
# token issued at once and installed next to the key, chaining to the CFSSL
# root; a request the policy refuses, with CFSSL's reason; a key changed
# under a recorded request; the server gone during a refresh and back; a
# certificate for another key; plain http only to loopback hosts.
set -eu
. "$TEST_LIB/common.sh"
need cfssl cfssljson ss sqlite3

make_tokens alpha
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME

# The CA: an EC P-256 root made by cfssl, a policy whose default profile
# signs without a key, and profiles "client" and "restricted" that need the
# auth key (restricted signs only the name only.example)
ca=$work/ca
mkdir -p "$ca"
(
	cd "$ca"
	printf '%s\n' '{"CN":"p11enroll test CFSSL CA","key":{"algo":"ecdsa","size":256},' \
		'"names":[{"O":"p11enroll tests"}]}' >csr.json
	cfssl gencert -initca csr.json 2>gencert.log | cfssljson -bare ca
) || { cat "$ca/gencert.log" >&2; fail "cfssl gencert -initca failed"; }
[ -s "$ca/ca.pem" ] && [ -s "$ca/ca-key.pem" ] || fail "cfssl made no CA"
AUTH_KEY=$(openssl rand -hex 16)
WRONG_KEY=$(openssl rand -hex 16)
export AUTH_KEY WRONG_KEY
cat >"$ca/config.json" <<EOF
{"auth_keys": {"key1": {"type": "standard", "key": "$AUTH_KEY"}},
 "signing": {
  "default": {"expiry": "8760h", "usages": ["digital signature", "client auth"]},
  "profiles": {
   "client": {"expiry": "8760h", "usages": ["digital signature", "client auth"],
              "auth_key": "key1"},
   "restricted": {"expiry": "8760h", "usages": ["digital signature"], "auth_key": "key1",
                  "name_whitelist": "^only\\\\.example\$"}}}}
EOF
jq -e '.signing.profiles.restricted.name_whitelist == "^only\\.example$"' "$ca/config.json" \
	>/dev/null || fail "the CFSSL config is not what the test means"
key_file=$(secret_file auth.key "$AUTH_KEY")

# cfssl_start [PORT]: serves the CA on PORT (default: any free one) and
# waits, at most 10 s, until it listens; sets CFSSL_PID and CFSSL_PORT
cfssl_start()
{
	cfssl serve -address 127.0.0.1 -port "${1:-0}" -ca "$ca/ca.pem" -ca-key "$ca/ca-key.pem" \
		-config "$ca/config.json" 2>>"$ca/serve.log" &
	CFSSL_PID=$!
	trap cfssl_stop EXIT
	_tries=100
	CFSSL_PORT=
	while [ -z "$CFSSL_PORT" ]; do
		kill -0 "$CFSSL_PID" 2>/dev/null ||
			{ tail -n 20 "$ca/serve.log" >&2; fail "cfssl serve exited"; }
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || fail "cfssl serve is not listening after 10 s"
		sleep 0.1
		CFSSL_PORT=$(ss -Hltnp | awk -v p="pid=$CFSSL_PID," 'index($0, p) {
			n = split($4, a, ":"); print a[n]; exit }')
	done
	CFSSL_URL=http://127.0.0.1:$CFSSL_PORT
}

cfssl_stop()
{
	if [ -n "${CFSSL_PID:-}" ]; then
		kill -TERM "$CFSSL_PID" 2>/dev/null || true
		wait "$CFSSL_PID" 2>/dev/null || true
		CFSSL_PID=
	fi
}

# request_on ARGS...: a request on token alpha (the subject an individual needs)
request_on()
{
	_want=$1
	shift
	expect_json "$_want" request --owner-type individual --token pkcs11:token=alpha \
		--pin-source env:USER_PIN --field C=RU --field CN="Ivanov Ivan" --field SN=Ivanov \
		--field GN=Ivan --field SNILS=11223344595 --field INN=500100732259 "$@"
}

# cert_of LABEL: the certificate labelled LABEL on token alpha, PEM, to $work/LABEL.pem
cert_of()
{
	p11tool alpha --read-object --type cert --label "$1" -o "$work/$1.der" ||
		fail "no certificate labelled '$1' on the token"
	openssl x509 -inform DER -in "$work/$1.der" -out "$work/$1.pem"
}

cfssl_start

# 1. the service, with the profile as the login and the auth key as the password
expect_json 0 add-service cf --protocol cfssl --url "$CFSSL_URL" --login client \
	--password-source "file:$key_file"
[ "$(json .status)" = ready ] || fail "a service with the right key is $(json .status)"
[ "$(json .protocol)" = cfssl ] || fail "the protocol is $(json .protocol)"
[ "$(stat -c %a "$P11ENROLL_HOME/secrets/cf")" = 600 ] || fail "the key file is not 0600"
expect_json 0 list-services
[ "$(json '.services[0].status')" = ready ] || fail "list-services: $(json '.services[0].status')"
# no templates in CFSSL: the profile is the login
expect_json 2 list-templates --service cf
expect_err "no template list"

# 2. the roots: the CA certificate from /info, trusted once its fingerprint matches
fp=$(openssl x509 -in "$ca/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
expect_json 6 install-roots --service cf --accept-fingerprint "$(echo "$fp" | tr 0-9 1-90)"
expect_err "no certificate with the fingerprint"
expect_json 0 install-roots --service cf --accept-fingerprint "$fp"
[ "$(json '.roots | length')" -eq 1 ] || fail "install-roots did not trust one certificate"
json '.roots[0].subject' | grep -q "CN=p11enroll test CFSSL CA" || fail "not the CFSSL root"

# 3. a request: issued at once, installed next to the key, chaining to the root
request_on 0 --service cf --label first
[ "$(json .request.status)" = installed ] || fail "a request is $(json .request.status)"
[ "$(json .request.state)" = acknowledged ] || fail "a request is in state $(json .request.state)"
first=$(json .request.id)
serial=$(json .request.cert_serial)
[ "$(json .request.ca_request_id)" = "$serial" ] || fail "the CA request id is not the serial"
expect_rc 0 show-request "$first"
cert_of first
openssl verify -CAfile "$ca/ca.pem" "$work/first.pem" >/dev/null || fail "does not chain to the root"
key_id=$(object_block alpha privkey first | sed -n 's/^ *ID: *//p')
object_block alpha cert first | grep -q "ID: *$key_id" || fail "the certificate's ID is not the key's"
openssl x509 -in "$work/first.pem" -noout -pubkey | openssl pkey -pubin -outform DER \
	-out "$work/first-spki.der"
spki_bits "$work/first-spki.der" >"$work/first.bits"
token_pubkey_bits alpha "$key_id" >"$work/token.bits"
cmp -s "$work/first.bits" "$work/token.bits" || fail "the certificate is not for the token's key"
openssl x509 -in "$work/first.pem" -noout -ext extendedKeyUsage | grep -q "Client Authentication" ||
	fail "the certificate is not from the client profile"
expect_json 0 list-certs
[ "$(json '.certificates | length')" -eq 1 ] || fail "list-certs does not show one certificate"

# 4. a wrong auth key: refused by add-service, nothing kept
expect_json 5 add-service wrong --protocol cfssl --url "$CFSSL_URL" --login client \
	--password-source env:WRONG_KEY
expect_err "the CA refused the auth key (CFSSL: invalid token)"
NOT_HEX=not-a-key
export NOT_HEX
expect_json 5 add-service nothex --protocol cfssl --url "$CFSSL_URL" --login client \
	--password-source env:NOT_HEX
expect_err "not a CFSSL auth key"
grep -qF "not-a-key" "$work/err" && fail "the password was printed"
# the default profile, which takes no key, with one
expect_json 5 add-service keyed --protocol cfssl --url "$CFSSL_URL" \
	--password-source "file:$key_file"
expect_err "takes no auth key"
expect_json 0 list-services --offline
[ "$(json '.services | length')" -eq 1 ] || fail "a refused service was kept"

# the default profile without a key (/sign); no login and no password at all
expect_json 0 add-service open --protocol cfssl --url "$CFSSL_URL/api/v1/cfssl/"
[ "$(json .status)" = ready ] || fail "a service without a key is $(json .status)"
[ -e "$P11ENROLL_HOME/secrets/open" ] && fail "a service without a key has a secret file"
expect_json 0 install-roots --service open --accept-fingerprint "$fp"
request_on 0 --service open --label open
[ "$(json .request.status)" = installed ] || fail "an unauthenticated request is $(json .request.status)"

# the key changed in the service's secret file after add-service: request refuses, no key made
keys_before=$(count_objects alpha privkey)
cp "$P11ENROLL_HOME/secrets/cf" "$work/cf.key.saved"
printf '%s\n' "$WRONG_KEY" >"$P11ENROLL_HOME/secrets/cf"
request_on 2 --service cf --label never
expect_err "refuses the login 'client': the CA refused the auth key"
[ "$(count_objects alpha privkey)" -eq "$keys_before" ] || fail "a refused key made a key"
expect_json 0 list-services
[ "$(json '.services[] | select(.name == "cf") | .status')" = not-authenticated ] ||
	fail "a wrong key does not show as not-authenticated"

# ... and under a recorded request: kept at csr-ready, continued once the key is right
cp "$work/cf.key.saved" "$P11ENROLL_HOME/secrets/cf"
set +e
P11ENROLL_TEST_KILL_AFTER=key-ready pe request --service cf --owner-type individual \
	--token pkcs11:token=alpha --pin-source env:USER_PIN --field C=RU --field CN="Ivanov Ivan" \
	--field SN=Ivanov --field GN=Ivan --field SNILS=11223344595 --field INN=500100732259 \
	--label rekeyed >/dev/null 2>&1
got=$?
set -e
[ "$got" -eq 137 ] || fail "the request was not killed after key-ready (exit $got)"
expect_json 0 list-requests
rekeyed=$(json '.requests[] | select(.key_label == "rekeyed") | .id')
printf '%s\n' "$WRONG_KEY" >"$P11ENROLL_HOME/secrets/cf"
expect_json 2 refresh "$rekeyed" --pin-source env:USER_PIN
expect_err "the CA refused the auth key"
expect_rc 5 --json show-request "$rekeyed"
[ "$(json .request.state)" = csr-ready ] || fail "a refused key left the request $(json .request.state)"
cp "$work/cf.key.saved" "$P11ENROLL_HOME/secrets/cf"
expect_json 0 refresh "$rekeyed" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "not installed once the key is right"

# 5. a request the policy refuses: rejected, with CFSSL's reason and code
expect_json 0 add-service restricted --protocol cfssl --url "$CFSSL_URL" --login restricted \
	--password-source "file:$key_file"
expect_json 0 install-roots --service restricted --accept-fingerprint "$fp"
keys_before=$(count_objects alpha privkey)
request_on 8 --service restricted --label refused
expect_err "the CA refused the request: Request does not match policy whitelist (CFSSL error 5500)"
[ "$(count_objects alpha privkey)" -eq $((keys_before + 1)) ] || fail "not one key made"
expect_json 0 list-requests
refused=$(json '.requests[] | select(.key_label == "refused") | .id')
[ "$(json ".requests[] | select(.id == \"$refused\") | .status")" = rejected ] ||
	fail "a refused request is not rejected"
json ".requests[] | select(.id == \"$refused\") | .reason" | grep -q "policy whitelist" ||
	fail "list-requests does not show the reason"
expect_rc 2 show-request "$refused"

# 6. the server gone: a connection problem, then the refresh after its restart completes
set +e
P11ENROLL_TEST_KILL_AFTER=key-ready pe request --service cf --owner-type individual \
	--token pkcs11:token=alpha --pin-source env:USER_PIN --field C=RU --field CN="Ivanov Ivan" \
	--field SN=Ivanov --field GN=Ivan --field SNILS=11223344595 --field INN=500100732259 \
	--label gone >/dev/null 2>&1
set -e
expect_json 0 list-requests
gone=$(json '.requests[] | select(.key_label == "gone") | .id')
cfssl_stop
expect_json 7 refresh "$gone" --pin-source env:USER_PIN
expect_err "127.0.0.1:$CFSSL_PORT"
expect_rc 3 --json show-request "$gone"
[ "$(json .request.status)" = connection-problem ] || fail "not a connection problem"
expect_json 0 list-services
[ "$(json '.services[] | select(.name == "cf") | .status')" = unreachable ] ||
	fail "a stopped CFSSL is not unreachable"
cfssl_start "$CFSSL_PORT"
expect_json 0 refresh "$gone" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "not recovered after the restart"
cert_of gone
openssl verify -CAfile "$ca/ca.pem" "$work/gone.pem" >/dev/null || fail "does not chain to the root"

# 7. a certificate for another key is never installed
set +e
P11ENROLL_TEST_KILL_AFTER=issued pe request --service cf --owner-type individual \
	--token pkcs11:token=alpha --pin-source env:USER_PIN --field C=RU --field CN="Ivanov Ivan" \
	--field SN=Ivanov --field GN=Ivan --field SNILS=11223344595 --field INN=500100732259 \
	--label victim >/dev/null 2>&1
set -e
expect_json 0 list-requests
victim=$(json '.requests[] | select(.key_label == "victim") | .id')
sqlite3 "$P11ENROLL_HOME/p11enroll.db" \
	"UPDATE requests SET cert = (SELECT cert FROM requests WHERE id = $first) WHERE id = $victim"
certs_before=$(count_objects alpha cert)
expect_json 6 refresh "$victim" --pin-source env:USER_PIN
expect_err "another key"
[ "$(count_objects alpha cert)" -eq "$certs_before" ] || fail "a foreign certificate was written"

# 8. plain http goes to loopback hosts only
expect_json 2 install-roots --service elsewhere --protocol cfssl --url http://192.0.2.1:8888 \
	--accept-fingerprint "$fp"
expect_err "plain http is allowed only to a loopback host"
expect_json 5 add-service elsewhere --protocol cfssl --url http://192.0.2.1:8888
expect_err "plain http is allowed only to a loopback host"

# the key never reaches output
grep -rqF "$AUTH_KEY" "$work/out" "$work/err" && fail "the auth key was printed"
cfssl_stop
true
