#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# EST (RFC 7030) end to end against the reference CA on a free loopback port:
# the roots from /cacerts, a login the CA issued (checked, and a wrong one
# refused), a request held for the operator (202) and installed on the token
# after approve-request, the same request recognised when polled, a rejection
# with its reason, an immediate issue under --auto-approve, and a certificate
# for another key refused. Then p11enroll-ca's EST seen by an independent
# client, strongSwan's 'pki --est' and 'pki --estca'.
set -eu
. "$TEST_LIB/common.sh"
need sqlite3 pki curl

make_tokens alpha
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME
ca_home=$work/ca
refca_init "$ca_home"
refca_start "$ca_home"
est_url=https://127.0.0.1:$REFCA_PORT/.well-known/est

ca()
{
	refca --home "$ca_home" "$@"
}

ca_newest()
{
	ca --json "$1" | jq -r "[.${2}[]] | max_by(.id | tonumber) | .id"
}

ca_requests()
{
	ca --json list-requests | jq '.requests | length'
}

# est_request WANT LABEL [CN]: request on token alpha from service est, expecting exit WANT
est_request()
{
	expect_json "$1" request --service est --owner-type individual --token pkcs11:token=alpha \
		--pin-source env:USER_PIN --label "$2" --field CN="${3:-Ivanov Ivan}" --field SN=Ivanov \
		--field GN=Ivan --field C=RU --field SNILS=11223344595 --field INN=500100732259
}

# a user of the CA: registered through the CA 2.0 API and approved; EST logs in as it
expect_json 0 add-service reg --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
	--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan --field SNILS=11223344595 \
	--field INN=500100732259 --email ivanov@example.org
login=$(sqlite3 "$P11ENROLL_HOME/p11enroll.db" "SELECT login FROM services WHERE name = 'reg'")
password_file=$P11ENROLL_HOME/secrets/reg
ca approve-registration "$(ca_newest list-registrations registrations)" >/dev/null

# 1. the roots from /cacerts: what the CA's certificate is
fp=$(openssl x509 -in "$REFCA_ROOT" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
expect_json 0 install-roots --service est --url "$est_url" --protocol est --accept-fingerprint "$fp"
[ "$(json '.roots | length')" -eq 1 ] || fail "/cacerts did not give one root"
[ "$(json '.roots[0].sha256')" = "$(echo "$fp" | tr 'A-F' 'a-f')" ] || fail "the root is not the CA's"
expect_json 6 install-roots --service other --url "$est_url" --protocol est \
	--accept-fingerprint 00112233

# 2. the login: ready with the CA's credentials, refused with a wrong password
expect_json 0 add-service est --protocol est --url "$est_url" --login "$login" \
	--password-source "file:$password_file"
[ "$(json .status)" = ready ] || fail "the EST login is $(json .status)"
WRONG=not-the-password
export WRONG
expect_json 0 install-roots --service bad --url "$est_url" --protocol est --accept-fingerprint "$fp"
expect_json 5 add-service bad --protocol est --url "$est_url" --login "$login" \
	--password-source env:WRONG
expect_err "refuses the login"
expect_json 0 list-services
[ "$(json '.services[] | select(.name == "est") | .status')" = ready ] ||
	fail "list-services does not show the EST service ready"
expect_json 2 list-templates --service est
expect_err "has no template list"
expect_json 2 add-service est2 --protocol est --url "$est_url" --register --field CN=x
expect_err "has no registration"
expect_json 5 add-service est3 --protocol est --url "https://127.0.0.1:$REFCA_PORT/est" \
	--login "$login" --password-source "file:$password_file"
expect_err "is not an EST service URL"

# 3. a request: held for the operator (202), the same request recognised when
#    asked again, then issued, installed on the token next to its key, chaining to the root
est_request 0 first
[ "$(json .request.status)" = processing ] || fail "a held EST request is $(json .request.status)"
[ "$(json .request.ca_status)" = 202 ] || fail "the CA's status is $(json .request.ca_status)"
first=$(json .request.id)
[ "$(ca_requests)" -eq 1 ] || fail "the CA did not record one request"
[ "$(ca --json list-requests | jq -r '.requests[0].status')" = Q ] || fail "the CA's request is not Q"
expect_json 0 -v refresh "$first" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = processing ] || fail "refresh before approval: not processing"
expect_err "HTTP 202, Retry-After 60"
[ "$(ca_requests)" -eq 1 ] || fail "asking again made a second request at the CA"
grep -q "POST /.well-known/est/simpleenroll 202" "$ca_home.log" || fail "the CA did not answer 202"
ca approve-request "$(ca_newest list-requests requests)" >/dev/null
expect_json 0 refresh "$first" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "after approval: $(json '.requests[0].state')"
[ "$(json '.requests[0].state')" = acknowledged ] || fail "after approval: $(json '.requests[0].state')"
expect_rc 0 show-request "$first"
p11tool alpha --list-objects --type cert >"$work/certs"
grep -q 'label: *first' "$work/certs" || fail "no certificate labelled like the key"
key_id=$(object_block alpha privkey first | sed -n 's/^ *ID: *//p')
grep -q "ID: *$key_id" "$work/certs" || fail "the certificate's ID is not the key's"
p11tool alpha --read-object --type cert --label first -o "$work/first.der"
openssl x509 -inform DER -in "$work/first.der" -out "$work/first.pem"
openssl verify -CAfile "$REFCA_ROOT" "$work/first.pem" >/dev/null || fail "does not chain to the root"
openssl x509 -in "$work/first.pem" -noout -subject | grep -q "Ivanov Ivan" || fail "wrong subject"
[ "$(ca_requests)" -eq 1 ] || fail "the CA holds more than the one request"

# 4. rejected by the operator: the reason is shown, and kept
est_request 0 second
second=$(json .request.id)
ca reject-request "$(ca_newest list-requests requests)" --reason "wrong department" >/dev/null
expect_json 8 refresh "$second" --pin-source env:USER_PIN
expect_err "wrong department"
expect_rc 2 show-request "$second"
expect_json 0 list-requests
[ "$(json ".requests[] | select(.id == \"$second\") | .status")" = rejected ] || fail "not rejected"
json ".requests[] | select(.id == \"$second\") | .reason" | grep -q "wrong department" ||
	fail "list-requests does not show the reason"

# 5. a request the CA refuses at once (its subject differs from the registration): the CA's text
est_request 8 third "Petrov Petr"
expect_err "differs from the registered"
expect_json 0 list-requests
[ "$(json '.requests[] | select(.key_label == "third") | .status')" = rejected ] ||
	fail "a refused subject is not recorded as rejected"
json '.requests[] | select(.key_label == "third") | .reason' | grep -q "differs from the registered" ||
	fail "the CA's reason is lost"

# 6. --auto-approve: issued at once (200), installed by the request itself
refca_stop "$ca_home"
refca_start "$ca_home" --listen "127.0.0.1:$REFCA_PORT" --auto-approve
est_request 0 fourth
[ "$(json .request.status)" = installed ] || fail "auto-approved: $(json .request.status)"
grep -q "POST /.well-known/est/simpleenroll 200" "$ca_home.log" || fail "the CA did not answer 200"

# 7. killed after submission, the certificate not kept: the same request
#    sent again brings it back, and the CA holds no second one
kill_at()
{
	set +e
	P11ENROLL_TEST_KILL_AFTER=$1 pe request --service est --owner-type individual \
		--token pkcs11:token=alpha --pin-source env:USER_PIN --label "$2" \
		--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan --field C=RU \
		--field SNILS=11223344595 --field INN=500100732259 >/dev/null 2>&1
	got=$?
	set -e
	[ "$got" -eq 137 ] || fail "the request was not killed after $1 (exit $got)"
	expect_json 0 list-requests
	json '[.requests[] | select(.key_label == "'"$2"'")][0].id'
}
before=$(ca_requests)
id=$(kill_at submitted killed-sub)
expect_json 0 refresh "$id" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "not recovered after a kill"
[ "$(ca_requests)" -eq $((before + 1)) ] || fail "the CA got a second request"

# 8. a certificate for another key is never installed
victim=$(kill_at issued victim)
sqlite3 "$P11ENROLL_HOME/p11enroll.db" \
	"UPDATE requests SET cert = (SELECT cert FROM requests WHERE id = $first) WHERE id = $victim"
certs_before=$(count_objects alpha cert)
expect_json 6 refresh "$victim" --pin-source env:USER_PIN
expect_err "another key"
[ "$(count_objects alpha cert)" -eq "$certs_before" ] || fail "a foreign certificate was written"
expect_rc 4 show-request "$victim"

# 9. p11enroll-ca's EST seen by strongSwan's pki: the login and password go
#    in an options file (0600), not in argv
printf -- '--userpass %s:%s\n' "$login" "$(cat "$password_file")" >"$work/pki.opts"
chmod 600 "$work/pki.opts"
pki_est()
{
	pki --est --url "https://127.0.0.1:$REFCA_PORT" --cacert "$REFCA_ROOT" \
		--options "$work/pki.opts" --outform pem "$@"
}
# csr_for LABEL: a key on token alpha and a request for it, in $work/LABEL.csr (PEM)
csr_for()
{
	expect_json 0 generate-key --token pkcs11:token=alpha --label "$1" --pin-source env:USER_PIN
	expect_json 0 make-csr --key "pkcs11:token=alpha;object=$1" --pin-source env:USER_PIN \
		--subject "/C=RU/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan" --field SNILS=11223344595 \
		--field INN=500100732259 --out "$work/$1.csr"
}
# chains LABEL: $work/LABEL.pem chains to the root and carries the key of $work/LABEL.csr
chains()
{
	openssl verify -CAfile "$REFCA_ROOT" "$work/$1.pem" >/dev/null ||
		fail "strongSwan's $1 certificate does not chain to the root"
	[ "$(openssl x509 -in "$work/$1.pem" -noout -pubkey)" = \
		"$(openssl req -in "$work/$1.csr" -noout -pubkey)" ] ||
		fail "strongSwan's $1 certificate is not for the key of the request"
}

pki --estca --url "https://127.0.0.1:$REFCA_PORT" --cacert "$REFCA_ROOT" \
	--caout "$work/estca.der" >"$work/pki.out" 2>&1 || { cat "$work/pki.out" >&2; fail "pki --estca"; }
[ "$(openssl x509 -inform DER -in "$work/estca.der" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')" = \
	"$fp" ] || fail "pki --estca got another root"

# issued at once (--auto-approve is on)
csr_for sw1
pki_est --in "$work/sw1.csr" >"$work/sw1.pem" 2>"$work/pki.out" ||
	{ cat "$work/pki.out" >&2; fail "pki --est failed"; }
chains sw1

# held (202): pki polls, the operator approves, pki gets the certificate
refca_stop "$ca_home"
refca_start "$ca_home" --listen "127.0.0.1:$REFCA_PORT" --retry-after 1
csr_for sw2
before=$(ca_requests)
pki_est --in "$work/sw2.csr" --interval 1 --maxpolltime 60 >"$work/sw2.pem" 2>"$work/pki.out" &
pki_pid=$!
tries=100
while [ "$(ca_requests)" -eq "$before" ]; do
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || { kill "$pki_pid"; fail "pki --est sent nothing"; }
	sleep 0.1
done
ca approve-request "$(ca_newest list-requests requests)" >/dev/null
wait "$pki_pid" || { cat "$work/pki.out" >&2; fail "pki --est did not get the approved certificate"; }
chains sw2
[ "$(ca_requests)" -eq $((before + 1)) ] || fail "pki's polls made more than one request"
grep -q "POST /.well-known/est/simpleenroll 202" "$ca_home.log" || fail "no 202 was sent"

# rejected: pki gives up, with the CA's reason
csr_for sw3
pki_est --in "$work/sw3.csr" --interval 1 --maxpolltime 60 >"$work/sw3.pem" 2>"$work/pki.out" &
pki_pid=$!
tries=100
while [ "$(ca_requests)" -eq $((before + 1)) ]; do
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || { kill "$pki_pid"; fail "pki --est sent nothing"; }
	sleep 0.1
done
ca reject-request "$(ca_newest list-requests requests)" --reason "no such person" >/dev/null
if wait "$pki_pid"; then
	fail "pki --est took a rejected request for issued"
fi
grep -q "simpleenroll 403" "$ca_home.log" || fail "the rejection was not a 403"

# /simplereenroll (curl, the login in a 0600 netrc file): a renewal keeps the
# subject of a certificate the user holds; another subject is refused
printf 'machine 127.0.0.1 login %s password %s\n' "$login" "$(cat "$password_file")" >"$work/netrc"
chmod 600 "$work/netrc"
reenroll()
{
	openssl req -in "$work/$1.csr" -outform DER | openssl base64 -A >"$work/$1.b64"
	curl -s -o "$work/$1.answer" -w '%{http_code}' --cacert "$REFCA_ROOT" \
		--netrc-file "$work/netrc" -H 'Content-Type: application/pkcs10' \
		--data-binary "@$work/$1.b64" "$est_url/simplereenroll"
}
csr_for sw4
[ "$(reenroll sw4)" = 202 ] || fail "a renewal with the same subject is not held for approval"
expect_json 0 generate-key --token pkcs11:token=alpha --label sw5 --pin-source env:USER_PIN
expect_json 0 make-csr --key "pkcs11:token=alpha;object=sw5" --pin-source env:USER_PIN \
	--subject "/C=RU/O=Elsewhere/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan" --field SNILS=11223344595 \
	--field INN=500100732259 --out "$work/sw5.csr"
[ "$(reenroll sw5)" = 400 ] || fail "a renewal with another subject is not refused"
grep -q "a renewal keeps the subject" "$work/sw5.answer" || fail "the refusal does not say why"

# the password never reaches output
password=$(cat "$password_file")
grep -rqF "$password" "$work/out" "$work/err" "$ca_home.log" && fail "a password was printed"
true
