#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The scep connector against Debian's scepserver, run in a private network
# namespace (it binds only the wildcard address) and reached with nsenter:
# install-roots by GetCACert; a request for an RSA key on the token, signed
# and decrypted by the token, issued and installed next to the key, chaining
# to the SCEP CA; the same with a registry container's software key; a wrong challenge password and a request the CA's verifier
# refuses, rejected with the reason; an EC key refused before anything is
# sent; the CA unreachable, then back. scepserver never answers PENDING:
# that path is covered by tests/unit/test-scep.c.
set -eu
. "$TEST_LIB/common.sh"
need scepserver unshare nsenter ip ss pkcs11-tool sqlite3

[ "$(id -u)" -eq 0 ] || unshare --net true 2>/dev/null ||
	skip "no network namespaces here (unshare --net needs root)"

make_tokens alpha
P11ENROLL_HOME=$work/home
CHALLENGE=scep-challenge-secret
WRONG=not-the-challenge
export P11ENROLL_HOME CHALLENGE WRONG
SCEP_PORT=2016 # the namespace is the test's own: every port is free there
SCEP_URL=http://127.0.0.1:$SCEP_PORT/scep
SCEP_PID=
depot=$work/depot

# the SCEP CA (2048 bits: the default 4096 takes seconds)
(cd "$work" && scepserver ca -init -depot "$depot" -keySize 2048 \
	-organization "p11enroll SCEP test" >"$work/ca-init.log" 2>&1) ||
	{ cat "$work/ca-init.log" >&2; fail "scepserver ca -init failed"; }
SCEP_ROOT=$depot/ca.pem

# scep_start: scepserver in a new network namespace, with the challenge and the verifier
scep_start()
{
	scep_stop
	unshare --net sh -c 'ip link set lo up && exec "$@"' sh scepserver -depot "$depot" \
		-port "$SCEP_PORT" -challenge "$CHALLENGE" -allowrenew 0 \
		-csrverifierexec "$TEST_LIB/../cli/scep-verifier.sh" >>"$work/scep.log" 2>&1 &
	SCEP_PID=$!
	_tries=200
	until nsenter --net="/proc/$SCEP_PID/ns/net" ss -ltn 2>/dev/null | grep -q ":$SCEP_PORT "; do
		kill -0 "$SCEP_PID" 2>/dev/null || { cat "$work/scep.log" >&2; fail "scepserver exited"; }
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || fail "scepserver is not listening"
		sleep 0.05
	done
}

scep_stop()
{
	if [ -n "$SCEP_PID" ]; then
		kill "$SCEP_PID" 2>/dev/null || true
		wait "$SCEP_PID" 2>/dev/null || true
		SCEP_PID=
	fi
}
trap scep_stop EXIT

# scep_request LABEL CN SERVICE [OPTION...]: a request for an individual named CN
scep_request()
{
	_label=$1
	_cn=$2
	_svc=$3
	shift 3
	${expect:-expect_json} "$want_rc" request --service "$_svc" --owner-type individual \
		--token pkcs11:token=alpha --pin-source env:USER_PIN --key-type rsa-2048 \
		--label "$_label" --field "CN=$_cn" --field SN=Ivanov --field GN=Ivan --field C=RU \
		--field SNILS=11223344595 --field INN=500100732259 "$@"
}

# p11enroll inside the server's namespace (the namespace outlives a stopped server: NS_PID),
# under valgrind for memcheck
NS_PID=
pe()
{
	set -- "$P11ENROLL" --module "$SOFTHSM_MODULE" "$@"
	if [ -n "${P11ENROLL_VALGRIND:-}" ]; then
		set -- valgrind -q --error-exitcode=80 --leak-check=full \
			--errors-for-leak-kinds=definite --suppressions="$TEST_LIB/valgrind.supp" "$@"
	fi
	[ -z "$NS_PID" ] || set -- nsenter --net="/proc/$NS_PID/ns/net" "$@"
	"$@"
}

scep_start
NS_PID=$SCEP_PID
root_sha256=$(openssl x509 -in "$SCEP_ROOT" -outform DER | openssl dgst -sha256 -r | cut -d ' ' -f 1)

# 1. the service: the challenge password is its password, kept 0600
expect_json 0 add-service scep --protocol scep --url "$SCEP_URL" --password-source env:CHALLENGE
[ "$(json .status)" = ready ] || fail "a SCEP service is $(json .status)"
[ "$(stat -c %a "$P11ENROLL_HOME/secrets/scep")" = 600 ] || fail "the challenge file is not 0600"
[ "$(json .login)" = null ] || fail "a SCEP service has a login"
expect_json 0 add-service wrong --protocol scep --url "$SCEP_URL" --password-source env:WRONG
expect_json 0 list-services
[ "$(json '[.services[] | select(.protocol == "scep") | .status] | unique | join(",")')" = ready ] ||
	fail "list-services: the SCEP services are not ready"

# 2. install-roots: GetCACert, pinned by the fingerprint
expect_json 0 install-roots --service scep --accept-fingerprint "$root_sha256"
[ "$(json '.roots | length')" -eq 1 ] || fail "install-roots did not trust one certificate"
[ "$(json '.roots[0].sha256')" = "$root_sha256" ] || fail "install-roots trusted another certificate"
expect_json 0 install-roots --service wrong --accept-fingerprint "$root_sha256"

# 3. a request on the token: issued at once, installed next to the key
want_rc=0 scep_request scepkey "Ivanov Ivan" scep
first=$(json .request.id)
[ "$(json .request.status)" = installed ] || fail "a SCEP request is $(json .request.status)"
expect_rc 0 show-request "$first"
p11tool alpha --list-objects --type cert >"$work/certs"
grep -q 'label: *scepkey' "$work/certs" || fail "no certificate labelled like the key"
key_id=$(object_block alpha privkey scepkey | sed -n 's/^ *ID: *//p')
grep -q "ID: *$key_id" "$work/certs" || fail "the certificate's ID is not the key's"
p11tool alpha --read-object --type cert --label scepkey -o "$work/scep.der"
openssl x509 -inform DER -in "$work/scep.der" -out "$work/scep.pem"
openssl verify -CAfile "$SCEP_ROOT" "$work/scep.pem" >/dev/null || fail "does not chain to the SCEP CA"
openssl x509 -in "$work/scep.pem" -noout -subject | grep -q "Ivanov Ivan" || fail "wrong subject"
# the certificate carries the token's key
openssl x509 -in "$work/scep.pem" -pubkey -noout | openssl pkey -pubin -outform DER >"$work/cert-spki.der"
[ "$(token_pubkey_bits alpha "$key_id" | sha1_hex)" = "$(spki_bits "$work/cert-spki.der" | sha1_hex)" ] ||
	fail "the certificate is not for the token's key"
# the stored request holds no challenge password
sqlite3 "$P11ENROLL_HOME/p11enroll.db" "SELECT hex(csr) FROM requests WHERE id = $first" >"$work/csr.hex"
[ -s "$work/csr.hex" ] || fail "no stored request"
challenge_hex=$(printf %s "$CHALLENGE" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
! grep -q "$challenge_hex" "$work/csr.hex" || fail "the stored request holds the challenge"
expect_json 0 list-certs
[ "$(json '.certificates | length')" -eq 1 ] || fail "list-certs does not show one certificate"

# 3b. a registry container: its software key signs the request and decrypts the answer
PASSWORD=correct-horse-1
export PASSWORD
expect_json 0 request --service scep --owner-type individual --carrier registry \
	--password-source env:PASSWORD --key-type rsa-2048 --label screg --field "CN=Sidorov Ivan" \
	--field SN=Sidorov --field GN=Ivan --field C=RU --field SNILS=11223344595 \
	--field INN=500100732259
[ "$(json .request.status)" = installed ] || fail "a SCEP registry request is $(json .request.status)"
reg=$P11ENROLL_HOME/containers/screg
openssl verify -CAfile "$SCEP_ROOT" "$reg/cert.pem" >/dev/null || fail "registry: does not chain"
openssl x509 -in "$reg/cert.pem" -pubkey -noout >"$work/screg.cert.pub"
openssl pkey -in "$reg/key.pem" -passin env:PASSWORD -pubout >"$work/screg.pub"
cmp -s "$work/screg.pub" "$work/screg.cert.pub" || fail "registry: the certificate is for another key"

# 4. a wrong challenge password: rejected, the CA's reason shown
want_rc=8 scep_request wrongkey "Petrov Petr" wrong
expect_err "badRequest"
expect_json 0 list-requests
json '.requests[] | select(.key_label == "wrongkey") | .status' | grep -qx rejected ||
	fail "a wrong challenge is not rejected"
json '.requests[] | select(.key_label == "wrongkey") | .reason' | grep -q "SCEP CA refused" ||
	fail "list-requests does not show the reason"

# 5. the CA's verifier refuses the request
want_rc=8 scep_request refusedkey "please refuse me" scep
expect_err "the SCEP CA refused the request: badRequest"
grep -q "CSR verify failed" "$work/scep.log" || fail "the verifier did not refuse it"

# 6. an EC key: refused before anything is made or sent, with what to do
keys_before=$(count_objects alpha privkey)
want_rc=2 scep_request eckey "Ivanov Ivan" scep --key-type ec-p256
expect_err "needs an RSA key"
expect_err "--key-type rsa-2048"
[ "$(count_objects alpha privkey)" -eq "$keys_before" ] || fail "an EC request made a key"
expect_json 0 list-requests
[ -z "$(json '.requests[] | select(.key_label == "eckey") | .id')" ] ||
	fail "a refused EC request was recorded"

# 7. killed once the request is made; the CA away at the next refresh, then back
P11ENROLL_TEST_KILL_AFTER=csr-ready expect=expect_rc want_rc=137 scep_request laterkey "Later Ivan" scep
expect_json 0 list-requests
later=$(json '.requests[] | select(.key_label == "laterkey") | .id')
[ -n "$later" ] || fail "the killed request was not recorded"
scep_stop
unshare --net sh -c 'ip link set lo up && exec sleep 600' >/dev/null 2>&1 &
NS_PID=$!
until [ "$(readlink "/proc/$NS_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ]; do
	sleep 0.02
done
expect_json 7 refresh "$later" --pin-source env:USER_PIN
expect_json 0 list-services
[ "$(json '.services[] | select(.name == "scep") | .status')" = unreachable ] ||
	fail "a stopped SCEP server is not unreachable"
expect_rc 3 --json show-request "$later"
[ "$(json .request.status)" = connection-problem ] || fail "an unreachable CA: $(json .request.status)"
kill "$NS_PID"
wait "$NS_PID" 2>/dev/null || true
scep_start
NS_PID=$SCEP_PID
expect_json 0 refresh "$later" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "not recovered after the CA came back"
