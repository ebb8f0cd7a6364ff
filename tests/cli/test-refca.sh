#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# p11enroll-ca, the reference CA: init, the cpca20 user API over HTTPS driven
# with curl (TLS verified against the CA's root, never -k), the operator's
# commands while the server runs, refusals (bad forms, bad credentials, bad
# or foreign CSRs, big bodies), state kept across a restart, --auto-approve,
# and a server that listens on 127.0.0.1 only.
set -eu
. "$TEST_LIB/common.sh"
need curl

[ -n "${P11ENROLL_CA:-}" ] && [ -x "$P11ENROLL_CA" ] || fail "P11ENROLL_CA is not set"
unset P11ENROLL_CA_HOME
ca=$work/ca

# ca_rc N ARGS...: p11enroll-ca --home $ca ARGS exits N; stdout in $work/out
ca_rc()
{
	_want=$1
	shift
	set +e
	refca --home "$ca" "$@" >"$work/out" 2>"$work/err"
	_got=$?
	set -e
	if [ "$_got" -ne "$_want" ]; then
		cat "$work/out" "$work/err" >&2
		fail "p11enroll-ca $* exited $_got, not $_want"
	fi
}

# api METHOD URL [CURL-ARGS...]: one HTTPS call; the body in $work/body, the
# headers in $work/headers, the HTTP status in $status
api()
{
	_method=$1
	_url=$2
	shift 2
	status=$(curl -sS --max-time 10 --cacert "$REFCA_ROOT" -X "$_method" -D "$work/headers" \
		-o "$work/body" -w '%{http_code}' "$@" "$_url") || fail "curl $_method $_url failed"
}

# expect_status N: the last call answered N
expect_status()
{
	[ "$status" = "$1" ] || { cat "$work/body" >&2; echo >&2; fail "HTTP $status, not $1"; }
}

# body FILTER: jq over the last answer
body()
{
	jq -r "$1" "$work/body"
}

# expect_error N TEXT: HTTP N with {"Error":"...TEXT..."}
expect_error()
{
	expect_status "$1"
	body .Error | grep -qF -- "$2" ||
		{ cat "$work/body" >&2; echo >&2; fail "the error does not name '$2'"; }
}

# csr NAME SUBJECT [TEMPLATE [OPENSSL-ARGS...]]: an EC P-256 request in
# $work/NAME.der (key $work/NAME.key), its base64 in $work/NAME.b64, with the
# template extension for 1.2.643.2.2.46.0.TEMPLATE (08: User, the default;
# 09: Signature), or none when TEMPLATE is "none"
csr()
{
	_name=$1
	_subj=$2
	_tpl=${3:-08}
	shift 2
	[ $# -eq 0 ] || shift
	if [ "$_tpl" != none ]; then
		# SEQUENCE { OID 1.2.643.2.2.46.0.x, INTEGER 1, INTEGER 0 }
		_der=30:10:06:08:2a:85:03:02:02:2e:00:$_tpl:02:01:01:02:01:00
		set -- -addext "1.3.6.1.4.1.311.21.7=DER:$_der" "$@"
	fi
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$work/$_name.key" -subj "$_subj" "$@" -outform DER \
		-out "$work/$_name.der" 2>"$work/openssl.err" ||
		{ cat "$work/openssl.err" >&2; fail "openssl req $_name"; }
	base64 -w 0 "$work/$_name.der" >"$work/$_name.b64"
}

# submit NAME: POST the request NAME as the user $auth
submit()
{
	api POST "$api/certrequest" -u "$auth" -H 'Content-Type: application/octet-stream' \
		--data-binary "@$work/$1.b64"
}

#
# init
#
refca_init "$ca"
[ "$(stat -c %a "$ca")" = 700 ] || fail "the home is not 0700"
for f in ca-key.pem tls-key.pem state.db; do
	[ "$(stat -c %a "$ca/$f")" = 600 ] || fail "$f is not 0600"
done
openssl x509 -in "$ca/ca-cert.pem" -noout -subject | grep -q "p11enroll reference CA" ||
	fail "the root's subject"
openssl x509 -in "$ca/ca-cert.pem" -noout -ext basicConstraints,keyUsage \
	>"$work/root-ext"
grep -q "critical" "$work/root-ext" && grep -q "CA:TRUE" "$work/root-ext" &&
	grep -q "Certificate Sign, CRL Sign" "$work/root-ext" || fail "the root's extensions"
openssl verify -CAfile "$ca/ca-cert.pem" "$ca/tls-cert.pem" >/dev/null || fail "the TLS cert"
[ "$(jq -r .version "$ca/config.json")" = 1 ] || fail "config.json has no version 1"
folder=$(jq -r .folder "$ca/config.json")
ca_rc 2 init
grep -qF "refusing" "$work/err" || fail "init over an existing home"
set +e
refca --json list-requests >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "no --home and no P11ENROLL_CA_HOME: exit $rc, not 2"
grep -qF "P11ENROLL_CA_HOME" "$work/err" || fail "the missing home is not explained"
[ "$(jq -r .error.name "$work/out")" = usage ] || fail "no JSON usage error"
ca_rc 2 reject-request 1
grep -qF -- "--reason" "$work/err" || fail "reject-request without --reason"
ca_rc 2 approve-request x
ca_rc 2 serve
ca_rc 0 --help
grep -q "approve-request" "$work/out" || fail "--help"

#
# serve; public calls
#
refca_start "$ca"
api="https://127.0.0.1:$REFCA_PORT/ui/api"
[ "$REFCA_URL" = "$api/$folder" ] || fail "REFCA_URL $REFCA_URL"
api GET "https://127.0.0.1:$REFCA_PORT/ca/chain.pem"
expect_status 200
cmp -s "$work/body" "$REFCA_ROOT" || fail "/ca/chain.pem is not the root"
grep -qi '^content-type: application/x-pem-file' "$work/headers" || fail "chain content type"

api GET "$REFCA_URL/userattr"
expect_status 200
[ "$(body '.RDN[] | select(.Oid == "2.5.4.3") | .ProhibitEmpty')" = true ] || fail "CN"
[ "$(body '.RDN[] | select(.Oid == "2.5.4.6") | .DefaultValue')" = RU ] || fail "C"
[ "$(body '.RDN[] | select(.Oid == "1.2.643.100.3") | .Name')" = SNILS ] || fail "SNILS"
members="DefaultValue,LocalizedName,Name,Oid,ProhibitAnyValue,ProhibitChange,ProhibitEmpty"
[ "$(body '.RDN[0] | keys | join(",")')" = "$members,SettingsValues" ] ||
	fail "an RDN field's members: $(body '.RDN[0] | keys | join(",")')"

# registration: the form is checked
reg='{"Comment":"test","Description":"d","Email":"ivanov@example.ru","KeyPhrase":"k",
	"OidArray":[{"2.5.4.3":"Ivanov Ivan"},{"2.5.4.4":"Ivanov"},{"2.5.4.42":"Ivan"},
	{"2.5.4.6":"RU"},{"1.2.643.100.3":"11223344595"}]}'
api POST "$REFCA_URL/regrequest" -H 'Content-Type: application/json' --data-binary "$(echo "$reg" |
	jq -c '.OidArray[4] = {"1.2.643.100.3":"11223344596"}')"
expect_error 400 SNILS
api POST "$REFCA_URL/regrequest" --data-binary "$(echo "$reg" | jq -c 'del(.OidArray[1])')"
expect_error 400 "SN (2.5.4.4) is required"
api POST "$REFCA_URL/regrequest" --data-binary "$(echo "$reg" |
	jq -c '.OidArray[3] = {"2.5.4.6":"US"}')"
expect_error 400 "C (2.5.4.6)"
api POST "$REFCA_URL/regrequest" --data-binary "$(echo "$reg" |
	jq -c '.OidArray += [{"2.5.4.8":"Nowhere"}]')"
expect_error 400 "ST (2.5.4.8)"
api POST "$REFCA_URL/regrequest" --data-binary '{"OidArray":[{"1.2.3.4":"x"}]}'
expect_error 400 "1.2.3.4"
api POST "$REFCA_URL/regrequest" --data-binary 'not json'
expect_error 400 "JSON"
api POST "$api/00000000-0000-4000-8000-000000000000/regrequest" --data-binary "$reg"
expect_status 404

api POST "$REFCA_URL/regrequest" -H 'Content-Type: application/json' --data-binary "$reg"
expect_status 200
[ "$(body .RegRequest.Status)" = Q ] || fail "a new registration is not Q"
reg_id=$(body .RegRequest.RegRequestId)
token=$(body .RegRequest.Token)
password=$(body .RegRequest.Password)
[ -n "$token" ] && [ -n "$password" ] && [ "$token" != "$password" ] || fail "Token, Password"
auth=$token:$password

api GET "$api/regrequest" -u "$auth"
expect_status 200
[ "$(body .RegRequest.Status)" = Q ] && [ "$(body .RegRequest.RegRequestId)" = "$reg_id" ] ||
	fail "registration status"
api GET "$api/regrequest" -u "$token:wrong$password"
expect_status 401
grep -qi '^www-authenticate: Basic realm="p11enroll-ca"' "$work/headers" ||
	fail "no WWW-Authenticate on 401"
[ -n "$(body .Error)" ] || fail "a 401 without an Error"
api GET "$api/regrequest"
expect_status 401
api GET "$api/regrequest" -u "nobody:$password"
expect_status 401

# not accepted yet: no certificate requests
csr req1 "/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan/C=RU/SNILS=11223344595" 08 \
	-addext "subjectAltName=email:ivanov@example.ru"
submit req1
expect_error 403 "registration $reg_id"

# the operator accepts, while the server runs
ca_rc 0 --json list-registrations
[ "$(jq -r ".registrations[] | select(.id == $reg_id) | .status" "$work/out")" = Q ] ||
	fail "list-registrations"
[ "$(jq -r ".registrations[0].profile[0][\"2.5.4.3\"]" "$work/out")" = "Ivanov Ivan" ] ||
	fail "list-registrations: the profile"
grep -qF "$password" "$work/out" && fail "list-registrations shows the password"
ca_rc 0 list-registrations
grep -q "Ivanov Ivan" "$work/out" || fail "list-registrations, text"
ca_rc 3 approve-registration 999
ca_rc 0 --json approve-registration "$reg_id"
[ "$(jq -r .registration.status "$work/out")" = A ] || fail "approve-registration --json"
api GET "$api/regrequest" -u "$auth"
[ "$(body .RegRequest.Status)" = A ] || fail "the registration is not A"

api GET "$api/regrequest/profile?type=json" -u "$auth"
expect_status 200
[ "$(body '.Profile | map(to_entries[0] | "\(.key)=\(.value)") | join(";")')" = \
	"2.5.4.3=Ivanov Ivan;2.5.4.4=Ivanov;2.5.4.42=Ivan;2.5.4.6=RU;1.2.643.100.3=11223344595" ] ||
	fail "profile: $(cat "$work/body")"
api GET "$api/certtemplate" -u "$auth"
expect_status 200
[ "$(body '[.Template[].Oid] | join(" ")')" = "1.2.643.2.2.46.0.8 1.2.643.2.2.46.0.9" ] ||
	fail "templates: $(cat "$work/body")"
[ "$(body '.Template[0].LocalizedName')" = User ] || fail "template name"

#
# a request, pending, then issued by the operator
#
submit req1
expect_status 200
[ "$(body .CertRequest.Status)" = Q ] || fail "a new request is not Q"
id1=$(body .CertRequest.CertRequestId)
api GET "$api/certrequest/$id1" -u "$auth"
expect_status 200
[ "$(body .CertRequest.Status)" = Q ] && [ "$(body .CertRequest.CertRequestId)" = "$id1" ] ||
	fail "poll"
api GET "$api/certrequest/$id1/rawcert" -u "$auth"
expect_status 409
ca_rc 0 list-requests
grep -q "Ivanov Ivan" "$work/out" || fail "list-requests"
ca_rc 3 approve-request 999
ca_rc 0 --json approve-request "$id1"
[ "$(jq -r .request.status "$work/out")" = C ] || fail "approve-request: $(cat "$work/out")"
serial=$(jq -r .request.serial "$work/out")
[ ${#serial} -eq 32 ] || fail "serial $serial is not 16 bytes"
ca_rc 2 approve-request "$id1"
api GET "$api/certrequest/$id1" -u "$auth"
[ "$(body .CertRequest.Status)" = C ] || fail "issued is not C"
api GET "$api/certrequest/$id1/rawcert" -u "$auth"
expect_status 200
grep -qi '^content-type: application/pkix-cert' "$work/headers" || fail "rawcert content type"
cp "$work/body" "$work/cert1.der"
openssl x509 -inform DER -in "$work/cert1.der" -out "$work/cert1.pem"
openssl verify -CAfile "$REFCA_ROOT" "$work/cert1.pem" >/dev/null || fail "cert1 does not verify"
openssl x509 -in "$work/cert1.pem" -noout -pubkey >"$work/cert1.pub"
openssl pkey -in "$work/req1.key" -pubout >"$work/req1.pub"
cmp -s "$work/cert1.pub" "$work/req1.pub" || fail "cert1 is not for the request's key"
[ "$(openssl x509 -in "$work/cert1.pem" -noout -serial | tr 'A-F' 'a-f')" = "serial=$serial" ] ||
	fail "serial"
openssl x509 -in "$work/cert1.pem" -noout -text >"$work/cert1.txt"
grep -A1 "Key Usage: critical" "$work/cert1.txt" | grep -q "Digital Signature, Key Encipherment" ||
	fail "cert1 key usage"
grep -A1 "Extended Key Usage" "$work/cert1.txt" |
	grep -q "TLS Web Client Authentication, E-mail Protection" || fail "cert1 EKU"
grep -A1 "Basic Constraints: critical" "$work/cert1.txt" | grep -q "CA:FALSE" ||
	fail "cert1 basicConstraints"
grep -q "email:ivanov@example.ru" "$work/cert1.txt" || fail "cert1 SAN"
grep -q "Subject Key Identifier" "$work/cert1.txt" &&
	grep -q "Authority Key Identifier" "$work/cert1.txt" || fail "cert1 SKI, AKI"
grep -q "ecdsa-with-SHA256" "$work/cert1.txt" || fail "cert1 signature"
[ "$(openssl x509 -in "$work/cert1.pem" -noout -subject -nameopt RFC2253)" = \
	"$(openssl req -inform DER -in "$work/req1.der" -noout -subject -nameopt RFC2253)" ] ||
	fail "cert1 subject"
days=$((($(date -d "$(openssl x509 -in "$work/cert1.pem" -noout -enddate | cut -d= -f2)" +%s) - \
	$(date +%s)) / 86400))
[ "$days" -ge 364 ] && [ "$days" -le 365 ] || fail "cert1 is valid $days days, not 365"

# acknowledged
api POST "$api/certrequest/$id1" -u "$auth" --data-binary '{"Status":"X"}'
expect_status 400
api POST "$api/certrequest/$id1" -u "$auth" -H 'Content-Type: application/json' \
	--data-binary '{"Status":"K"}'
expect_status 200
[ "$(body .CertRequest.Status)" = K ] || fail "ack"
api GET "$api/certrequest/$id1" -u "$auth"
[ "$(body .CertRequest.Status)" = K ] || fail "acknowledged is not K"

#
# a Signature request, rejected by the operator with a reason
#
csr req2 "/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan/C=RU/SNILS=11223344595/INN=500100732259" 09
submit req2
expect_status 200
id2=$(body .CertRequest.CertRequestId)
ca_rc 2 reject-request "$id1" --reason "too late"
reason="Паспорт не предъявлен"
ca_rc 0 reject-request "$id2" --reason "$reason"
api GET "$api/certrequest/$id2" -u "$auth"
[ "$(body .CertRequest.Status)" = R ] || fail "rejected is not R"
[ "$(body .CertRequest.Comment)" = "$reason" ] || fail "no reason in Comment"
api GET "$api/certrequest/$id2/rawcert" -u "$auth"
expect_status 409
ca_rc 2 approve-request "$id2"

#
# refused requests
#
# the Signature template wants an individual's INN
csr noinn "/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan/C=RU/SNILS=11223344595" 09
submit noinn
expect_error 400 "INN (1.2.643.3.131.1.1)"
# someone else
csr petrov "/CN=Petrov Petr/SN=Ivanov/GN=Ivan/C=RU"
submit petrov
expect_error 400 "CN (2.5.4.3) 'Petrov Petr' differs"
csr snils "/CN=Ivanov Ivan/SNILS=08765430300"
submit snils
expect_error 400 "SNILS (1.2.643.100.3) '08765430300' differs"
csr badinn "/CN=Ivanov Ivan/INN=500100732258"
submit badinn
expect_error 400 "INN"
# a template this CA does not have
csr tpl "/CN=Ivanov Ivan" 07
submit tpl
expect_error 400 "1.2.643.2.2.46.0.7"
# no template extension: "User"
csr plain "/CN=Ivanov Ivan" none
submit plain
expect_status 200
id3=$(body .CertRequest.CertRequestId)
# a broken signature: the last byte of the DER flipped
size=$(wc -c <"$work/req1.der")
head -c $((size - 1)) "$work/req1.der" >"$work/broken.der"
last=$(tail -c 1 "$work/req1.der" | od -An -tu1 | tr -d ' ')
# shellcheck disable=SC2059 # an octal escape made on purpose
printf "\\$(printf %03o $((last ^ 1)))" >>"$work/broken.der"
base64 -w 0 "$work/broken.der" >"$work/broken.b64"
submit broken
expect_error 400 "signature"
printf 'not base64!' >"$work/junk.b64"
submit junk
expect_error 400 "base64"
printf 'aGVsbG8=' >"$work/hello.b64"
submit hello
expect_error 400 "PKCS#10"
# too big: refused from Content-Length, and when it comes chunked
head -c 100000 /dev/zero | tr '\0' A >"$work/big.b64"
submit big
expect_status 413
api POST "$api/certrequest" -u "$auth" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$work/big.b64"
expect_status 413

#
# another user sees none of it
#
api POST "$REFCA_URL/regrequest" --data-binary \
	'{"OidArray":[{"2.5.4.3":"Petrov Petr"},{"2.5.4.4":"Petrov"},{"2.5.4.42":"Petr"}]}'
expect_status 200
reg2=$(body .RegRequest.RegRequestId)
auth2=$(body '"\(.RegRequest.Token):\(.RegRequest.Password)"')
ca_rc 0 reject-registration "$reg2" --reason "unknown person"
api GET "$api/regrequest" -u "$auth2"
[ "$(body .RegRequest.Status)" = R ] && [ "$(body .RegRequest.Comment)" = "unknown person" ] ||
	fail "rejected registration: $(cat "$work/body")"
api POST "$api/certrequest" -u "$auth2" --data-binary "@$work/petrov.b64"
expect_status 403
ca_rc 0 approve-registration "$reg2"
api GET "$api/certrequest/$id1" -u "$auth2"
expect_status 404
api GET "$api/certrequest/$id1/rawcert" -u "$auth2"
expect_status 404
api POST "$api/certrequest/$id1" -u "$auth2" --data-binary '{"Status":"K"}'
expect_status 404

# unknown paths and methods
for path in /ui/api/nope /ui/api/certrequest/abc /ui/api/certrequest/1/nope / /ui/api/$folder/nope \
	"/ui/api/regrequest/"; do
	api GET "https://127.0.0.1:$REFCA_PORT$path" -u "$auth"
	expect_status 404
	[ -n "$(body .Error)" ] || fail "404 without an Error"
done
api DELETE "$api/certrequest/$id1" -u "$auth"
expect_status 405
api GET "$api/certrequest" -u "$auth"
expect_status 405

# listening on 127.0.0.1 only
set +e
curl -sS --max-time 5 --cacert "$REFCA_ROOT" "https://127.0.0.2:$REFCA_PORT/ca/chain.pem" \
	>/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 7 ] || fail "127.0.0.2:$REFCA_PORT answered (curl exit $rc)"
need ss
ss -Hltn "sport = :$REFCA_PORT" | awk '{ print $4 }' >"$work/listening"
[ "$(cat "$work/listening")" = "127.0.0.1:$REFCA_PORT" ] ||
	fail "listening on $(cat "$work/listening")"


#
# a restart keeps everything
#
refca_stop "$ca"
[ ! -e "$ca.port" ] && [ ! -e "$ca.pid" ] || fail "the port and pid files stay behind"
refca_start "$ca"
api="https://127.0.0.1:$REFCA_PORT/ui/api"
api GET "$api/certrequest/$id1" -u "$auth"
[ "$(body .CertRequest.Status)" = K ] || fail "after the restart, request $id1 is not K"
api GET "$api/certrequest/$id1/rawcert" -u "$auth"
expect_status 200
cmp -s "$work/body" "$work/cert1.der" || fail "after the restart, another certificate"
api GET "$api/certrequest/$id2" -u "$auth"
[ "$(body .CertRequest.Status)" = R ] && [ "$(body .CertRequest.Comment)" = "$reason" ] ||
	fail "after the restart, request $id2"
api GET "$api/certrequest/$id3" -u "$auth"
[ "$(body .CertRequest.Status)" = Q ] || fail "after the restart, request $id3"
api GET "$api/regrequest/profile?type=json" -u "$auth"
[ "$(body '.Profile[0]["2.5.4.3"]')" = "Ivanov Ivan" ] || fail "after the restart, the profile"
ca_rc 0 approve-request "$id3"
api GET "$api/certrequest/$id3/rawcert" -u "$auth"
expect_status 200
openssl x509 -inform DER -in "$work/body" -out "$work/cert3.pem"
openssl verify -CAfile "$REFCA_ROOT" "$work/cert3.pem" >/dev/null || fail "cert3"
ca_rc 0 --json list-requests
[ "$(jq -r '[.requests[].status] | join("")' "$work/out")" = KRC ] ||
	fail "list-requests: $(jq -c '[.requests[].status]' "$work/out")"
refca_stop "$ca"

#
# --auto-approve: accepted and issued at once
#
refca_start "$ca" --auto-approve
api="https://127.0.0.1:$REFCA_PORT/ui/api"
# UTF-8 all the way: the form, the request, the certificate
api POST "$REFCA_URL/regrequest" --data-binary \
	'{"OidArray":[{"2.5.4.3":"Сидоров Сидор"},{"2.5.4.4":"Сидоров"},{"2.5.4.42":"Сидор"},
	{"1.2.643.100.3":"11223344595"},{"1.2.643.3.131.1.1":"500100732259"}]}'
expect_status 200
[ "$(body .RegRequest.Status)" = A ] || fail "auto-approve: registration $(body .RegRequest.Status)"
auth=$(body '"\(.RegRequest.Token):\(.RegRequest.Password)"')
csr sidorov "/CN=Sidorov Sidor/SN=Сидоров/GN=Сидор/C=RU" 08 -utf8
submit sidorov
expect_error 400 "CN (2.5.4.3) 'Sidorov Sidor' differs from the registered 'Сидоров Сидор'"
csr auto "/CN=Сидоров Сидор/SN=Сидоров/GN=Сидор/C=RU/SNILS=11223344595/INN=500100732259" 09 \
	-utf8
submit auto
expect_status 200
[ "$(body .CertRequest.Status)" = C ] || fail "auto-approve: request $(body .CertRequest.Status)"
id4=$(body .CertRequest.CertRequestId)
api GET "$api/certrequest/$id4/rawcert" -u "$auth"
expect_status 200
openssl x509 -inform DER -in "$work/body" -out "$work/cert4.pem"
openssl verify -CAfile "$REFCA_ROOT" "$work/cert4.pem" >/dev/null || fail "cert4"
openssl x509 -in "$work/cert4.pem" -noout -text >"$work/cert4.txt"
grep -A1 "Key Usage: critical" "$work/cert4.txt" |
	grep -q "Digital Signature, Non Repudiation" || fail "cert4 key usage (Signature)"
openssl x509 -in "$work/cert4.pem" -noout -subject -nameopt RFC2253,-esc_msb |
	grep -qF "CN=Сидоров Сидор" || fail "cert4 subject"
ca_rc 0 list-requests
grep -qF "CN=Сидоров Сидор" "$work/out" || fail "list-requests: the UTF-8 subject"
refca_stop "$ca"

# nothing secret in the log, and a line per request
grep -qF "$password" "$ca.log" && fail "a password in the server log"
grep -qi "authorization" "$ca.log" && fail "an Authorization header in the server log"
grep -q "^p11enroll-ca: GET /ui/api/regrequest 401$" "$ca.log" || fail "no request log"
true
