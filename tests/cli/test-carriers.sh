#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The software key carriers against the reference CA service on a free
# loopback port: a registry container (HOME/containers/NAME, the key as
# encrypted PKCS#8) and a disk container (a directory the user names: the key
# as encrypted PKCS#8 until the certificate comes, then a PKCS#12 that
# `openssl pkcs12` reads with the container password), each through request,
# approval, refresh and installation; the certificate carries the container's
# key and chains to the CA's root. Then what must fail cleanly and change
# nothing: a wrong or missing password, a missing, read-only, others-writable
# or full directory, a container name in use, and a process killed during the
# installation. --carrier auto both ways, and GOST R 34.10-2012 containers
# (OpenSSL's gost engine), close it. PKCS#12 files are slow to make under
# AddressSanitizer (OpenSSL allocates in every PBKDF2 iteration), so one disk
# container goes through all the medium failures.
set -eu
. "$TEST_LIB/common.sh"
need sqlite3

make_tokens alpha
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME
ca_home=$work/ca
refca_init "$ca_home"
refca_start "$ca_home"
PASSWORD=correct-horse-1
WRONG=wrong-horse-22
export PASSWORD WRONG

ca()
{
	refca --home "$ca_home" "$@"
}

ca_newest()
{
	ca --json "$1" | jq -r "[.${2}[]] | max_by(.id | tonumber) | .id"
}

# request_sw ARGS...: a request for Ivanov on a software carrier; its id in $req
request_sw()
{
	expect_json 0 request --service main --owner-type individual "$@"
	req=$(json .request.id)
}

# approve: the CA operator approves the newest request
approve()
{
	ca approve-request "$(ca_newest list-requests requests)" >/dev/null
}

# tree DIR: every file under DIR with its size and mode, for "nothing changed"
tree()
{
	find "$1" -exec stat -c '%n %s %a' {} + | sort
}

expect_json 0 add-service main --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
	--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
	--field SNILS=11223344595 --field INN=500100732259 --email ivanov@example.org
ca approve-registration "$(ca_newest list-registrations registrations)" >/dev/null

# 1. registry: request, approval, refresh, installed
request_sw --carrier registry --label reg1 --password-source env:PASSWORD
[ "$(json .request.status)" = processing ] || fail "registry request: $(json .request.status)"
[ "$(json .request.carrier)" = registry ] || fail "registry request: carrier $(json .request.carrier)"
reg=$P11ENROLL_HOME/containers/reg1
[ -d "$reg" ] || fail "no container directory $reg"
[ "$(stat -c %a "$reg")" = 700 ] || fail "the container directory is not 0700"
[ "$(stat -c %a "$reg/key.pem")" = 600 ] || fail "the key file is not 0600"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$reg/key.pem" || fail "the key is not encrypted PKCS#8"
grep -q "PRIVATE KEY" "$reg/meta.json" && fail "the metadata holds a key"
[ "$(jq -r .name "$reg/meta.json")" = reg1 ] || fail "metadata: name"
[ "$(jq -r .key_type "$reg/meta.json")" = ec-p256 ] || fail "metadata: key type"
[ "$(jq -r .request_id "$reg/meta.json")" = "$req" ] || fail "metadata: request id"
# the key never touches the disk unencrypted: openssl needs the password
openssl pkey -in "$reg/key.pem" -passin pass:"$WRONG" -noout 2>/dev/null &&
	fail "the registry key opens with a wrong password"
openssl pkey -in "$reg/key.pem" -passin pass: -noout 2>/dev/null &&
	fail "the registry key opens without a password"
openssl pkey -in "$reg/key.pem" -passin env:PASSWORD -pubout -out "$work/reg1.pub" ||
	fail "the registry key does not open with its password"
openssl asn1parse -in "$reg/key.pem" >"$work/reg1.asn1"
grep -q ":scrypt" "$work/reg1.asn1" || fail "the registry key is not encrypted with scrypt"
grep -q ":aes-256-cbc" "$work/reg1.asn1" || fail "the registry key is not AES-256"
approve
expect_json 0 refresh "$req" --password-source env:PASSWORD
[ "$(json '.requests[0].status')" = installed ] || fail "registry: not installed"
[ "$(json '.requests[0].state')" = acknowledged ] || fail "registry: not acknowledged"
[ -f "$reg/cert.pem" ] || fail "no certificate beside the registry key"
openssl verify -CAfile "$REFCA_ROOT" "$reg/cert.pem" >/dev/null || fail "registry: does not chain"
openssl x509 -in "$reg/cert.pem" -pubkey -noout >"$work/reg1.cert.pub"
cmp -s "$work/reg1.pub" "$work/reg1.cert.pub" || fail "registry: the certificate is for another key"
[ -n "$(jq -r '.installed_at // empty' "$reg/meta.json")" ] || fail "metadata: not installed"

# 2. disk: the key alone until the certificate comes, then one PKCS#12
usb=$work/usb
mkdir -m 700 "$usb"
request_sw --carrier disk --dir "$usb" --label disk1 --password-source env:PASSWORD
[ "$(json .request.carrier)" = disk ] || fail "disk request: carrier $(json .request.carrier)"
disk1=$req
[ "$(sqlite3 "$P11ENROLL_HOME/p11enroll.db" "SELECT container FROM requests WHERE id = $req")" = "$usb" ] ||
	fail "the request does not record the disk container's directory"
[ -f "$usb/disk1.key" ] || fail "no key file on the disk"
[ ! -e "$usb/disk1.p12" ] || fail "a PKCS#12 before the certificate"
[ "$(stat -c %a "$usb/disk1.key")" = 600 ] || fail "the disk key file is not 0600"
openssl pkey -in "$usb/disk1.key" -passin pass:"$WRONG" -noout 2>/dev/null &&
	fail "the disk key opens with a wrong password"
openssl pkey -in "$usb/disk1.key" -passin env:PASSWORD -pubout -out "$work/disk1.pub" ||
	fail "the disk key does not open with its password"
approve
expect_json 0 refresh "$req" --password-source env:PASSWORD
[ "$(json '.requests[0].status')" = installed ] || fail "disk: not installed"
[ -f "$usb/disk1.p12" ] || fail "no PKCS#12 on the disk"
[ ! -e "$usb/disk1.key" ] || fail "the key file is left beside the PKCS#12"
[ "$(stat -c %a "$usb/disk1.p12")" = 600 ] || fail "the PKCS#12 is not 0600"
openssl pkcs12 -in "$usb/disk1.p12" -info -noout -passin env:PASSWORD 2>"$work/p12.info" ||
	{ cat "$work/p12.info" >&2; fail "openssl pkcs12 cannot read the container with its password"; }
grep -q "PBKDF2" "$work/p12.info" && grep -q "AES-256-CBC" "$work/p12.info" ||
	{ cat "$work/p12.info" >&2; fail "the PKCS#12 key is not PBKDF2 + AES-256-CBC"; }
grep -q "MAC: sha256" "$work/p12.info" || { cat "$work/p12.info" >&2; fail "the PKCS#12 MAC is not SHA-256"; }
openssl pkcs12 -in "$usb/disk1.p12" -info -noout -passin pass:"$WRONG" 2>/dev/null &&
	fail "openssl pkcs12 reads the container with a wrong password"
openssl pkcs12 -in "$usb/disk1.p12" -info -noout -passin pass: 2>/dev/null &&
	fail "openssl pkcs12 reads the container without a password"
openssl pkcs12 -in "$usb/disk1.p12" -clcerts -nokeys -passin env:PASSWORD -out "$work/disk1.pem" 2>/dev/null
openssl verify -CAfile "$REFCA_ROOT" "$work/disk1.pem" >/dev/null || fail "disk: does not chain"
openssl pkcs12 -in "$usb/disk1.p12" -nocerts -nodes -passin env:PASSWORD 2>/dev/null |
	openssl pkey -pubout -out "$work/disk1.p12.pub"
cmp -s "$work/disk1.pub" "$work/disk1.p12.pub" || fail "disk: the PKCS#12 holds another key"
openssl x509 -in "$work/disk1.pem" -pubkey -noout >"$work/disk1.cert.pub"
cmp -s "$work/disk1.pub" "$work/disk1.cert.pub" || fail "disk: the certificate is for another key"
true

# 3. list-certs: every container's certificate, with its carrier and container
expect_json 0 list-certs
[ "$(json '[.certificates[] | select(.carrier == "registry")] | length')" -eq 1 ] ||
	fail "list-certs does not show the registry certificate once"
[ "$(json '.certificates[] | select(.carrier == "registry") | .container')" = reg1 ] ||
	fail "list-certs: the registry certificate's container"
[ "$(json '.certificates[] | select(.carrier == "disk") | .location')" = "$usb/disk1.p12" ] ||
	fail "list-certs: the disk certificate's location"
[ "$(json '[.certificates[] | select(.present)] | length')" -eq 2 ] ||
	fail "list-certs: not both present"
expect_rc 0 list-certs
grep -Eq "carrier +registry" "$work/out" && grep -Eq "carrier +disk" "$work/out" ||
	{ cat "$work/out" >&2; fail "list-certs (text) does not name both carriers"; }

# 4. a wrong password: a clear error, and nothing changes (the certificate
#    downloaded is kept for the next try)
request_sw --carrier registry --label reg2 --password-source env:PASSWORD
reg2=$req
approve
tree "$P11ENROLL_HOME/containers" >"$work/before"
expect_json 5 refresh "$reg2" --password-source env:WRONG
expect_err "wrong password"
tree "$P11ENROLL_HOME/containers" >"$work/after"
cmp -s "$work/before" "$work/after" || fail "a wrong password changed the registry"
expect_rc 5 --json show-request "$reg2"
[ "$(json .request.state)" = issued ] || fail "after a wrong password: $(json .request.state)"
# no password at all and no terminal: a clear error naming the option
expect_json 5 refresh "$reg2" </dev/null
expect_err "--password-source"
expect_json 0 refresh "$reg2" --password-source env:PASSWORD
[ "$(json '.requests[0].status')" = installed ] || fail "reg2 not installed with the right password"

# a new container's password: from a descriptor, at least 8 characters, and a
# refused one records nothing
SHORT=short
export SHORT
expect_json 0 list-requests
count=$(json '.requests | length')
expect_json 5 request --service main --owner-type individual --carrier registry \
	--password-source env:SHORT
expect_err "at least 8"
expect_json 5 request --service main --owner-type individual --carrier registry \
	--password-source env:UNSET_VARIABLE
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq "$count" ] || fail "a refused password recorded a request"

# on a terminal the new password is asked twice (no echo) and compared; each
# line is typed a second after the last, as a person would (the prompt
# flushes what was typed before it)
need script
type_twice()
{
	(sleep 1 && printf '%s\n' "$1" && sleep 1 && printf '%s\n' "$2") |
		script -qec "\"$P11ENROLL\" --module \"$SOFTHSM_MODULE\" --json request \
		--service main --owner-type individual --carrier registry --label typed" \
		/dev/null >"$work/script.out" 2>&1 || true
}
type_twice typed-password-1 typed-password-2
grep -q "new container password again" "$work/script.out" || fail "the password was not asked twice"
grep -q "differ" "$work/script.out" || { cat "$work/script.out" >&2; fail "two entries that differ"; }
[ ! -e "$P11ENROLL_HOME/containers/typed" ] || fail "differing entries made a container"
type_twice typed-password-1 typed-password-1
[ -d "$P11ENROLL_HOME/containers/typed" ] ||
	{ cat "$work/script.out" >&2; fail "the password typed twice made no container"; }
grep -q typed-password "$work/script.out" && fail "the password was echoed"
expect_json 0 list-requests
count=$(json '.requests | length')

# 5. names and places: an existing container is never overwritten; a missing,
#    unnamed or others-writable directory is refused before anything is made
tree "$P11ENROLL_HOME/containers" >"$work/before"
expect_json 2 request --service main --owner-type individual --carrier registry --label reg1 \
	--password-source env:PASSWORD
expect_err "already has a key labelled 'reg1'"
expect_json 2 request --service main --owner-type individual --carrier registry \
	--label ../escape --password-source env:PASSWORD
expect_err "cannot name a container"
tree "$P11ENROLL_HOME/containers" >"$work/after"
cmp -s "$work/before" "$work/after" || fail "a refused name changed the registry"
tree "$usb" >"$work/before"
expect_json 2 request --service main --owner-type individual --carrier disk --dir "$usb" \
	--label disk1 --password-source env:PASSWORD
expect_err "already has a key labelled 'disk1'"
tree "$usb" >"$work/after"
cmp -s "$work/before" "$work/after" || fail "a refused name changed the disk"
expect_json 3 request --service main --owner-type individual --carrier disk \
	--dir "$work/no-such-medium" --password-source env:PASSWORD
expect_err "does not exist"
expect_json 2 request --service main --owner-type individual --carrier disk \
	--password-source env:PASSWORD
expect_err "--dir"
mkdir -m 777 "$work/open"
expect_json 2 request --service main --owner-type individual --carrier disk --dir "$work/open" \
	--password-source env:PASSWORD
expect_err "can be written by others"
[ -z "$(ls -A "$work/open")" ] || fail "a container was made in an others-writable directory"
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq "$count" ] || fail "a refused place recorded a request"

# The media below are small file systems this test mounts (tmpfs, as root:
# root ignores permissions, so a read-only medium must really be one); where
# it cannot mount, a read-only medium is an immutable directory (chattr +i),
# and the full-medium case is left out (a failure under CI=true).
mounts=
immutable=
cleanup()
{
	for _m in $mounts; do
		umount "$_m" 2>/dev/null || true
	done
	[ -z "$immutable" ] || chattr -i "$immutable" 2>/dev/null || true
	refca_stop_all
}
trap cleanup EXIT

# medium DIR: DIR, a directory only its owner writes, on a 1 MiB tmpfs when possible
medium()
{
	mkdir -m 700 "$1"
	if mount -t tmpfs -o size=1m,mode=0700 tmpfs "$1" 2>/dev/null; then
		mounts="$mounts $1"
		return 0
	fi
	return 1
}

# files DIR: the container files in DIR, sizes and modes (no leftover temporary file)
files()
{
	find "$1" -name '.*.tmp.*' -prune -o -type f -exec stat -c '%n %s %a' {} + | sort
}

# 6. a medium that goes wrong under one disk container: read-only, full, and
#    the process killed during the installation (the PKCS#12 written to its
#    temporary file, not yet renamed). Each is a clear error that changes
#    nothing: the key stays, the downloaded certificate is kept, and the last
#    refresh completes the container.
med=$work/medium
if medium "$med"; then
	ro_on() { mount -o remount,ro "$med"; }
	ro_off() { mount -o remount,rw "$med"; }
	fillable=true
	echo "read-only medium: a tmpfs remounted read-only; full medium: the tmpfs filled up"
elif chattr +i "$med" 2>/dev/null && chattr -i "$med"; then
	immutable=$med
	ro_on() { chattr +i "$med"; }
	ro_off() { chattr -i "$med"; }
	fillable=false
	echo "read-only medium: an immutable directory (chattr +i)"
else
	skip "neither a tmpfs nor chattr +i can make a read-only directory here"
fi
ro_on
expect_json 9 request --service main --owner-type individual --carrier disk --dir "$med" \
	--password-source env:PASSWORD
expect_err "cannot be written"
ro_off
request_sw --carrier disk --dir "$med" --label med1 --password-source env:PASSWORD
med1=$req
approve
P11ENROLL_TEST_KILL_AFTER=issued pe refresh "$med1" --password-source env:PASSWORD \
	>/dev/null 2>&1 && fail "refresh was not killed after issued"
files "$med" >"$work/before"

# still_issued WHAT: the medium's files as before, the request still issued
still_issued()
{
	files "$med" >"$work/after"
	cmp -s "$work/before" "$work/after" || fail "$1 changed the container"
	expect_rc 5 --json show-request "$med1"
	[ "$(json .request.state)" = issued ] || fail "$1: the request is $(json .request.state)"
}

ro_on
expect_json 9 refresh "$med1" --password-source env:PASSWORD
expect_err "cannot be written"
ro_off
still_issued "a read-only medium"

if [ "$fillable" = true ]; then
	dd if=/dev/zero of="$med/filler" bs=4096 2>/dev/null || true
	expect_json 9 refresh "$med1" --password-source env:PASSWORD
	expect_err "No space left on device"
	rm -f "$med/filler"
	still_issued "a full medium"
elif [ "${CI:-}" = true ]; then
	fail "cannot mount a tmpfs for the full-medium case, and CI must run it"
else
	# a file size limit would stop the state database first: no way to fill only the medium
	echo "SKIP (part): no tmpfs can be mounted here for the full-medium case"
fi

set +e
P11ENROLL_TEST_KILL_AFTER=temp-written pe refresh "$med1" --password-source env:PASSWORD \
	>/dev/null 2>&1
got=$?
set -e
[ "$got" -eq 137 ] || fail "refresh was not killed during the installation (exit $got)"
still_issued "an interrupted installation"
[ -f "$med/med1.key" ] && [ ! -e "$med/med1.p12" ] || fail "killed mid-install: not as before"

expect_json 0 refresh "$med1" --password-source env:PASSWORD
[ "$(json '.requests[0].status')" = installed ] || fail "not installed in the end"
[ -f "$med/med1.p12" ] && [ ! -e "$med/med1.key" ] || fail "the PKCS#12 is not complete"
[ -z "$(find "$med" -name '.*.tmp.*')" ] || fail "a temporary file was left on the medium"

# 7. --carrier auto: the one usable token (alpha; SoftHSM's spare empty slot
#    does not count beside it), else the registry; the choice is told
expect_json 0 request --service main --owner-type individual --carrier auto \
	--pin-source env:USER_PIN --password-source env:PASSWORD --label auto-token
[ "$(json .carrier)" = token ] || fail "auto with one token chose $(json .carrier)"
[ "$(json .request.carrier)" = token ] || fail "auto: the request's carrier is $(json .request.carrier)"
json .carrier_reason | grep -q alpha || fail "auto does not say which token"
auto_token=$(json .request.id)
approve
expect_json 0 refresh "$auto_token" --pin-source env:USER_PIN
[ "$(json '.requests[0].status')" = installed ] || fail "auto token: not installed"
# list-certs shows the token's certificate as present, and so does another
# state directory that never installed it (what the tokens present hold)
expect_json 0 list-certs
[ "$(json '[.certificates[] | select(.carrier == "token" and .present)] | length')" -eq 1 ] ||
	fail "list-certs does not show the token's certificate as present"
expect_json 0 --home "$work/other-home" list-certs
[ "$(json '[.certificates[] | select(.carrier == "token")] | length')" -eq 1 ] ||
	fail "list-certs does not show what the token holds"
json '.certificates[0].location' | grep -q "token=alpha" || fail "list-certs: the token is not named"
make_tokens beta
expect_rc 0 request --service main --owner-type individual --carrier auto \
	--pin-source env:USER_PIN --password-source env:PASSWORD --label auto-registry
expect_err "carrier: registry"
[ -d "$P11ENROLL_HOME/containers/auto-registry" ] || fail "auto with two tokens made no registry container"

# 8. GOST R 34.10-2012: refused with what to install when OpenSSL's gost
#     engine is missing; with it, a 256-bit key in the registry and a 512-bit
#     one on disk, requests that `openssl req -engine gost` verifies
expect_json 0 list-requests
count=$(json '.requests | length')
OPENSSL_ENGINES=$work/no-engines
export OPENSSL_ENGINES
expect_json 2 request --service main --owner-type individual --carrier registry \
	--key-type gost2012-256 --password-source env:PASSWORD
expect_err "libengine-gost-openssl"
unset OPENSSL_ENGINES
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq "$count" ] || fail "a refused GOST request was recorded"
openssl engine gost >/dev/null 2>&1 || skip "no OpenSSL gost engine (install libengine-gost-openssl)"

# csr_of ID FILE: the request's PKCS#10 (DER) from the state database
csr_of()
{
	sqlite3 "$P11ENROLL_HOME/p11enroll.db" "SELECT hex(csr) FROM requests WHERE id = $1" | unhex >"$2"
}

request_sw --carrier registry --label gost256 --key-type gost2012-256 --password-source env:PASSWORD
gost256=$req
csr_of "$gost256" "$work/gost256.der"
openssl req -engine gost -inform DER -in "$work/gost256.der" -verify -noout >"$work/req.out" 2>&1 ||
	{ cat "$work/req.out" >&2; fail "openssl req -engine gost does not verify the GOST request"; }
grep -q "verify OK" "$work/req.out" || fail "the GOST request does not verify"
openssl req -engine gost -inform DER -in "$work/gost256.der" -text -noout 2>/dev/null |
	grep -q "GOST R 34.10-2012 with GOST R 34.11-2012 (256 bit)" || fail "not a GOST 2012-256 signature"
approve
expect_json 0 refresh "$gost256" --password-source env:PASSWORD
[ "$(json '.requests[0].status')" = installed ] || fail "gost2012-256: not installed"
g=$P11ENROLL_HOME/containers/gost256
openssl verify -CAfile "$REFCA_ROOT" "$g/cert.pem" >/dev/null 2>&1 ||
	openssl verify -engine gost -CAfile "$REFCA_ROOT" "$g/cert.pem" >/dev/null ||
	fail "gost2012-256: does not chain"
openssl pkey -engine gost -in "$g/key.pem" -passin env:PASSWORD -pubout -out "$work/g256.pub" 2>/dev/null
openssl x509 -engine gost -in "$g/cert.pem" -pubkey -noout -out "$work/g256.cert.pub" 2>/dev/null ||
	openssl x509 -engine gost -in "$g/cert.pem" -pubkey -noout >"$work/g256.cert.pub" 2>/dev/null
cmp -s "$work/g256.pub" "$work/g256.cert.pub" || fail "gost2012-256: the certificate is for another key"

request_sw --carrier disk --dir "$usb" --label gost512 --key-type gost2012-512 \
	--password-source env:PASSWORD
gost512=$req
csr_of "$gost512" "$work/gost512.der"
openssl req -engine gost -inform DER -in "$work/gost512.der" -verify -noout >"$work/req.out" 2>&1 ||
	{ cat "$work/req.out" >&2; fail "openssl req -engine gost does not verify the GOST 512 request"; }
approve
expect_json 0 refresh "$gost512" --password-source env:PASSWORD
[ "$(json '.requests[0].status')" = installed ] || fail "gost2012-512: not installed"
openssl pkcs12 -engine gost -in "$usb/gost512.p12" -info -noout -passin env:PASSWORD \
	>"$work/p12.out" 2>&1 || { cat "$work/p12.out" >&2; fail "the GOST PKCS#12 cannot be read"; }

# the password never reaches output or the state database
grep -rqF "$PASSWORD" "$work/out" "$work/err" "$P11ENROLL_HOME/p11enroll.db" &&
	fail "a container password was printed or stored"
true
