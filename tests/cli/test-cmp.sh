#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The cmp connector against the 'openssl cmp' mock server, run in a private
# network namespace (it binds only the wildcard address) and reached with
# nsenter. The mock never signs: it answers every request with -rsp_cert, so
# the key is made on the token first, a test CA issues its certificate, and
# 'request --key' enrolls that key. Issued (installed next to the key,
# chaining to the test root, certConf sent after installation, none when the
# CA grants implicit confirmation); polled within
# one run while the CA's checkAfter is short (processing meanwhile); left
# pending when it is long and asked again by refresh (the server down in
# between: a connection problem, then installed); rejected with the
# PKIStatus, failInfo and status string shown; the server's error message; a
# wrong shared secret; a certificate for another key; a certConf too late.
set -eu
. "$TEST_LIB/common.sh"
need unshare nsenter ip ss pkcs11-tool

[ "$(id -u)" -eq 0 ] || unshare --net true 2>/dev/null ||
	skip "no network namespaces here (unshare --net needs root)"

make_tokens alpha
P11ENROLL_HOME=$work/home
CMP_SECRET=cmp-shared-secret
WRONG_SECRET=not-the-secret
export P11ENROLL_HOME CMP_SECRET WRONG_SECRET
CMP_PORT=1700 # the namespace is the test's own: every port is free there
CMP_URL=http://127.0.0.1:$CMP_PORT/pkix/
CMP_PID=

# cmp_start ARG...: the mock server in a new network namespace, with ARGs
cmp_start()
{
	cmp_stop
	unshare --net sh -c 'ip link set lo up && exec "$@"' sh openssl cmp -port "$CMP_PORT" \
		-srv_ref 3078 -srv_secret "pass:$CMP_SECRET" -verbosity 7 "$@" >"$work/mock.log" 2>&1 &
	CMP_PID=$!
	_tries=100
	# (in its own namespace: not before unshare made it, and not the port of another)
	until [ "$(readlink "/proc/$CMP_PID/ns/net" 2>/dev/null)" != "$(readlink /proc/$$/ns/net)" ] &&
		nsenter --net="/proc/$CMP_PID/ns/net" ss -ltn 2>/dev/null | grep -q ":$CMP_PORT "; do
		kill -0 "$CMP_PID" 2>/dev/null || { cat "$work/mock.log" >&2; fail "the mock server exited"; }
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || fail "the mock server is not listening"
		sleep 0.05
	done
}

cmp_stop()
{
	if [ -n "$CMP_PID" ]; then
		kill "$CMP_PID" 2>/dev/null || true
		wait "$CMP_PID" 2>/dev/null || true
		CMP_PID=
	fi
}
trap cmp_stop EXIT

# cmp_down: the namespace stays, with nothing listening in it (a server that is down)
cmp_down()
{
	cmp_stop
	unshare --net sh -c 'ip link set lo up && exec sleep 300' &
	CMP_PID=$!
	_tries=100
	until [ "$(readlink "/proc/$CMP_PID/ns/net" 2>/dev/null)" != "$(readlink /proc/$$/ns/net)" ]; do
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || fail "no namespace for the server that is down"
		sleep 0.05
	done
}

# p11enroll inside the server's namespace once it runs (valgrind inside
# nsenter: valgrind does not follow an exec)
pe()
{
	set -- "$P11ENROLL" --module "$SOFTHSM_MODULE" "$@"
	if [ -n "${P11ENROLL_VALGRIND:-}" ]; then
		set -- valgrind -q --error-exitcode=80 --leak-check=full \
			--errors-for-leak-kinds=definite --suppressions="$TEST_LIB/valgrind.supp" "$@"
	fi
	[ -z "$CMP_PID" ] || set -- nsenter --net="/proc/$CMP_PID/ns/net" "$@"
	"$@"
}

# the test CA, and a certificate from it for the token's key (issue_cert OUT)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" \
	-out "$work/ca.pem" -subj "/CN=p11enroll CMP test root" -days 30 \
	-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
	2>/dev/null
expect_json 0 generate-key --token pkcs11:token=alpha --label cmpkey --pin-source env:USER_PIN
key_uri="pkcs11:token=alpha;object=cmpkey"
key_id=$(object_block alpha privkey cmpkey | sed -n 's/^ *ID: *//p')
expect_rc 0 make-csr --key "$key_uri" --subject "/CN=Ivanov Ivan" --pin-source env:USER_PIN \
	--out "$work/key.csr"
issue_cert()
{
	openssl x509 -req -in "$2" -CA "$work/ca.pem" -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days 10 -out "$1" 2>/dev/null || fail "the test CA could not issue $1"
}
issue_cert "$work/issued1.pem" "$work/key.csr"
# a certificate for another key, as a CA gone wrong would send it
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/other.key" \
	-subj "/CN=someone else" -out "$work/other.csr" 2>/dev/null
issue_cert "$work/other.pem" "$work/other.csr"

request()
{
	expect_json "$1" request --service cmp1 --owner-type individual --key "$key_uri" \
		--pin-source env:USER_PIN --field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
		--field C=RU --field SNILS=11223344595 --field INN=500100732259
}

certs_on_token()
{
	count_objects alpha cert
}

# the service: the shared secret is checked with a general message
cmp_start -rsp_cert "$work/issued1.pem" -rsp_extracerts "$work/ca.pem"
expect_json 5 add-service bad --protocol cmp --url "$CMP_URL" --login 3078 \
	--password-source env:WRONG_SECRET
expect_err "password is wrong"
expect_json 0 add-service cmp1 --protocol cmp --url "$CMP_URL" --login 3078 \
	--password-source env:CMP_SECRET
[ "$(json .status)" = ready ] || fail "the CMP service is $(json .status)"
expect_json 2 install-roots --service cmp1
expect_err "--file"
fp=$(openssl x509 -in "$work/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
# install-roots --file: a file without a certificate, one that is not there, a
# fingerprint that is not in it, --url beside it: nothing trusted
expect_json 2 install-roots --service cmp1 --file "$work/key.csr" --accept-fingerprint "$fp"
expect_err "--file"
expect_json 3 install-roots --service cmp1 --file "$work/absent.pem" --accept-fingerprint "$fp"
expect_json 6 install-roots --service cmp1 --file "$work/other.pem" --accept-fingerprint "$fp"
expect_err "nothing was trusted"
expect_json 2 install-roots --service cmp1 --file "$work/ca.pem" --url "$CMP_URL"
# a request before any root: the certificate is kept (issued) until there is one
request 2
expect_err "no trusted root"
expect_json 0 list-requests
early=$(json '.requests[] | select(.state == "issued") | .id')
[ -n "$early" ] || fail "the certificate of a request without roots was not kept"
expect_json 0 install-roots --service cmp1 --file "$work/ca.pem" --accept-fingerprint "$fp"
expect_json 0 refresh "$early" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "the kept certificate was not installed"

# 1. issued at once: on the token next to the key, chaining to the root, confirmed
request 0
[ "$(json .request.state)" = acknowledged ] || fail "issued: the request is $(json .request.state)"
[ "$(json .request.status)" = installed ] || fail "issued: not installed"
p11tool alpha --list-objects --type cert >"$work/certs"
grep -q 'label: *cmpkey' "$work/certs" || fail "no certificate labelled like the key"
grep -q "ID: *$key_id" "$work/certs" || fail "the certificate's ID is not the key's"
p11tool alpha --read-object --type cert --label cmpkey -o "$work/got.der"
openssl x509 -inform DER -in "$work/got.der" -out "$work/got.pem"
openssl verify -CAfile "$work/ca.pem" "$work/got.pem" >/dev/null || fail "does not chain to the root"
[ "$(count_objects alpha privkey)" -eq 1 ] || fail "a key was made"
grep -q "received CERTCONF" "$work/mock.log" || fail "the CA got no certConf"

# 1b. the CA grants implicit confirmation (and the request with modifications):
#     nothing more to send after installation
issue_cert "$work/issued1b.pem" "$work/key.csr"
cmp_start -rsp_cert "$work/issued1b.pem" -grant_implicitconf -pkistatus 1
request 0
[ "$(json .request.state)" = acknowledged ] || fail "implicit: the request is $(json .request.state)"
[ "$(json .request.ca_status)" = grantedWithMods ] || fail "implicit: $(json .request.ca_status)"
grep -q "received P10CR" "$work/mock.log" || fail "implicit: the CA got no P10CR"
grep -q "received CERTCONF" "$work/mock.log" && fail "implicit: a certConf was sent all the same"

# 2. waiting for a few short polls, all in one run: processing meanwhile
issue_cert "$work/issued2.pem" "$work/key.csr"
cmp_start -rsp_cert "$work/issued2.pem" -poll_count 2 -check_after 2
pe --json request --service cmp1 --owner-type individual --key "$key_uri" \
	--pin-source env:USER_PIN --field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
	--field C=RU --field SNILS=11223344595 --field INN=500100732259 \
	>"$work/bg.out" 2>"$work/bg.err" &
bg=$!
# another process sees it processing while the run waits for the CA
seen=
while kill -0 "$bg" 2>/dev/null; do
	expect_json 0 list-requests
	if [ "$(json '[.requests[] | select(.status == "processing")] | length')" -eq 1 ]; then
		seen=yes
		break
	fi
	sleep 0.2
done
[ -n "$seen" ] || fail "the polled request was never shown as processing"
wait "$bg" || { cat "$work/bg.err" >&2; fail "the polled request failed"; }
[ "$(jq -r .request.status "$work/bg.out")" = installed ] || fail "polled: not installed"
[ "$(certs_on_token)" -eq 3 ] || fail "polled: the certificate is not beside the others"
[ "$(grep -c "received POLLREQ" "$work/mock.log")" -eq 2 ] || fail "polled: not two polls"
[ "$(grep -c "Received request" "$work/mock.log")" -eq 5 ] ||
	fail "polled: not genm, p10cr, 2 polls and certConf"

# 3. the CA asks to wait longer than a run waits: pending, asked again by refresh
issue_cert "$work/issued3.pem" "$work/key.csr"
# (OpenSSL polls once at once: the second poll answer carries the long checkAfter)
cmp_start -rsp_cert "$work/issued3.pem" -poll_count 2 -check_after 60
request 0
[ "$(json .request.status)" = processing ] || fail "long wait: $(json .request.status)"
[ "$(json .request.ca_status)" = waiting ] || fail "long wait: ca_status $(json .request.ca_status)"
id=$(json .request.id)
expect_rc 5 show-request "$id"
expect_json 0 list-requests
[ "$(json ".requests[] | select(.id == \"$id\") | .status")" = processing ] ||
	fail "list-requests does not show the waiting request as processing"
# the mock counted the poll: asked again in a new transaction, it issues
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "refresh after the wait: not installed"
expect_rc 0 show-request "$id"
[ "$(certs_on_token)" -eq 4 ] || fail "the fourth certificate is not on the token"

# 3b. the server goes away while the CA holds a request, and comes back: a
#     connection problem in between, nothing lost
issue_cert "$work/issued3b.pem" "$work/key.csr"
cmp_start -rsp_cert "$work/issued3b.pem" -poll_count 2 -check_after 60
request 0
id=$(json .request.id)
[ "$(json .request.status)" = processing ] || fail "3b: $(json .request.status)"
cmp_down
expect_json 7 refresh "$id" --pin-source env:USER_PIN
expect_rc 3 --json show-request "$id"
[ "$(json .request.status)" = connection-problem ] || fail "3b: not a connection problem"
[ "$(json .request.ca_status)" = waiting ] || fail "3b: the CA's last state is lost"
expect_json 0 list-services
[ "$(json '.services[] | select(.name == "cmp1") | .status')" = unreachable ] ||
	fail "3b: a stopped CMP server is not unreachable"
cmp_start -rsp_cert "$work/issued3b.pem"
expect_json 0 list-services
[ "$(json '.services[] | select(.name == "cmp1") | .status')" = ready ] ||
	fail "3b: the CMP service is not ready again"
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "3b: not installed after the server came back"
[ "$(certs_on_token)" -eq 5 ] || fail "3b: the certificate is not on the token"

# 4. rejected: PKIStatus, failInfo and the status string reach the user
cmp_start -rsp_cert "$work/issued1.pem" -pkistatus 2 -failure 2 -statusstring "unknown department"
certs=$(certs_on_token)
request 8
expect_err "unknown department"
expect_err "badRequest"
id=$(json '.error.message' | sed -n 's/^request \([0-9]*\).*/\1/p')
expect_json 0 list-requests
json '.requests[] | select(.status == "rejected") | .reason' | grep -q "unknown department" ||
	fail "list-requests does not show the reason"
[ "$(certs_on_token)" -eq "$certs" ] || fail "a rejected request wrote a certificate"

# 5. the server answers with an error message: a clear error, nothing recorded
cmp_start -rsp_cert "$work/issued1.pem" -send_error
expect_json 0 list-requests
before=$(json '.requests | length')
request 7
expect_err "answered with an error"
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq "$before" ] || fail "a request was recorded against an error"

# 6. a wrong shared secret: refused, saying so
cmp_start -rsp_cert "$work/issued1.pem"
(umask 077 && printf '%s' "$WRONG_SECRET" >"$P11ENROLL_HOME/secrets/cmp1")
request 2
expect_err "password is wrong"
(umask 077 && printf '%s' "$CMP_SECRET" >"$P11ENROLL_HOME/secrets/cmp1")

# 7. a certificate for another key is never installed
cmp_start -rsp_cert "$work/other.pem"
certs=$(certs_on_token)
request 6
expect_err "another key"
[ "$(certs_on_token)" -eq "$certs" ] || fail "a foreign certificate was written"

# 8. killed right after the installation: the transaction died with the
#    connection, so the certConf comes too late; the certificate stays, and
#    the request says why
issue_cert "$work/issued8.pem" "$work/key.csr"
cmp_start -rsp_cert "$work/issued8.pem"
certs=$(certs_on_token)
set +e
P11ENROLL_TEST_KILL_AFTER=installed pe request --service cmp1 --owner-type individual \
	--key "$key_uri" --pin-source env:USER_PIN --field CN="Ivanov Ivan" --field SN=Ivanov \
	--field GN=Ivan --field C=RU --field SNILS=11223344595 --field INN=500100732259 \
	>/dev/null 2>&1
got=$?
set -e
[ "$got" -eq 137 ] || fail "the request was not killed after installed (exit $got)"
[ "$(certs_on_token)" -eq $((certs + 1)) ] || fail "killed after installed: no certificate"
expect_json 0 list-requests
id=$(json '[.requests[].id | tonumber] | max')
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "late certConf: not installed"
json '.requests[0].reason' | grep -q "no longer takes the certConf" ||
	fail "late certConf: the reason is $(json '.requests[0].reason')"
[ "$(certs_on_token)" -eq $((certs + 1)) ] || fail "late certConf: the certificate changed"

# the secret never reaches output
grep -rqF "$CMP_SECRET" "$work/out" "$work/err" && fail "the shared secret was printed"
cmp_stop
true
