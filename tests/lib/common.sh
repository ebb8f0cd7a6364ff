# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by tests/cli/*.sh (sourced, after 'set -eu'): a fresh work directory
# with its own SoftHSM tokens, the p11enroll under test, and assertions.
# Under CI=true a missing part is a failure, not a skip.

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

skip()
{
	if [ "${CI:-}" = true ]; then
		echo "FAIL: would skip, and CI installs every part: $*" >&2
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

[ -n "${P11ENROLL:-}" ] && [ -x "$P11ENROLL" ] || fail "P11ENROLL is not set to the built program"
[ -n "${SOFTHSM_MODULE:-}" ] && [ -f "$SOFTHSM_MODULE" ] || skip "no SoftHSM2 module"
command -v softhsm2-util >/dev/null || skip "no softhsm2-util"
command -v jq >/dev/null || skip "no jq"
command -v openssl >/dev/null || skip "no openssl"

work=$TEST_TMP/$(basename "$0" .sh)
rm -rf "$work"
mkdir -p "$work"
SOFTHSM2_CONF=$work/softhsm2.conf
SO_PIN=12345678
USER_PIN=1234
export SOFTHSM2_CONF SO_PIN USER_PIN

# make_tokens LABEL...: initialised tokens (SO PIN $SO_PIN, user PIN $USER_PIN)
make_tokens()
{
	FIXTURE_SO_PIN=$SO_PIN FIXTURE_USER_PIN=$USER_PIN \
		sh "$FIXTURES/make-tokens.sh" "$work" "$@"
}

# PE_VALGRIND: the valgrind command line for memcheck (empty otherwise), for
# p11enroll run by an inner shell (setsid sh -c ...) where pe cannot be used
PE_VALGRIND=
if [ -n "${P11ENROLL_VALGRIND:-}" ]; then
	PE_VALGRIND="valgrind -q --error-exitcode=80 --leak-check=full --errors-for-leak-kinds=definite"
	PE_VALGRIND="$PE_VALGRIND --suppressions=$TEST_LIB/valgrind.supp"
fi
export PE_VALGRIND

# pe ARGS...: p11enroll on the test's SoftHSM module (under valgrind for memcheck)
pe()
{
	if [ -n "${P11ENROLL_VALGRIND:-}" ]; then
		valgrind -q --error-exitcode=80 --leak-check=full --errors-for-leak-kinds=definite \
			--suppressions="$TEST_LIB/valgrind.supp" \
			"$P11ENROLL" --module "$SOFTHSM_MODULE" "$@"
	else
		"$P11ENROLL" --module "$SOFTHSM_MODULE" "$@"
	fi
}

# expect_rc N ARGS...: runs pe ARGS, keeps stdout in $work/out and stderr in
# $work/err, and fails unless the exit status is N
expect_rc()
{
	want=$1
	shift
	set +e
	pe "$@" >"$work/out" 2>"$work/err"
	got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout" >&2
		cat "$work/out" >&2
		echo "--- stderr" >&2
		cat "$work/err" >&2
		fail "p11enroll $* exited $got, not $want"
	fi
}

# expect_err TEXT: the last expect_rc's stderr contains TEXT
expect_err()
{
	grep -qF -- "$1" "$work/err" || { cat "$work/err" >&2; fail "stderr lacks '$1'"; }
}

# json FILTER: jq over the last stdout
json()
{
	jq -r "$1" "$work/out"
}

# golden NAME FILTER: the last stdout, with volatile fields removed by FILTER,
# equals tests/data/expected/NAME.json
golden()
{
	jq -S "$2" "$work/out" >"$work/$1.json"
	jq -S . "$TEST_DATA/expected/$1.json" >"$work/$1.expected.json"
	diff -u "$work/$1.expected.json" "$work/$1.json" >&2 || fail "output differs from expected/$1.json"
}

token_uri()
{
	echo "pkcs11:token=$1"
}

# need COMMAND...: every COMMAND is installed (else a skip, a failure under CI=true)
need()
{
	for _cmd in "$@"; do
		command -v "$_cmd" >/dev/null || skip "no $_cmd"
	done
}

# code_name N: the JSON error name of exit status N (enum pe_code in src/util/util.h)
code_name()
{
	case $1 in
	0) echo ok ;;
	1) echo internal ;;
	2) echo usage ;;
	3) echo not_found ;;
	4) echo pkcs11 ;;
	5) echo pin ;;
	6) echo crypto ;;
	7) echo network ;;
	8) echo ca_rejected ;;
	9) echo store ;;
	10) echo pending ;;
	*) fail "code_name: no name for $1 here" ;;
	esac
}

# expect_json N ARGS...: expect_rc N --json ARGS, and stdout is exactly one JSON
# object: {"ok":true,...} for 0, else {"ok":false,"error":{"code":N,"name":...,
# "message":...}} with the name of N and a message that is not empty
expect_json()
{
	want=$1
	shift
	expect_rc "$want" --json "$@"
	jq -se 'length == 1 and (.[0] | type) == "object"' "$work/out" >/dev/null ||
		{ cat "$work/out" >&2; fail "--json $*: stdout is not exactly one JSON object"; }
	if [ "$want" -eq 0 ]; then
		[ "$(json .ok)" = true ] || fail "--json $*: ok is not true"
	else
		[ "$(json '.ok')" = false ] || fail "--json $*: ok is not false"
		[ "$(json '.error.code')" = "$want" ] || fail "--json $*: error.code is not $want"
		[ "$(json '.error.name')" = "$(code_name "$want")" ] ||
			fail "--json $*: error.name is not $(code_name "$want")"
		[ -n "$(json '.error.message // empty')" ] || fail "--json $*: no error.message"
	fi
}

# expect_out TEXT: the last expect_rc's stdout contains TEXT
expect_out()
{
	grep -qF -- "$1" "$work/out" || { cat "$work/out" >&2; fail "stdout lacks '$1'"; }
}

# p11tool LABEL ARGS...: pkcs11-tool (OpenSC) on token LABEL, logged in with
# $USER_PIN: the view from outside p11enroll
p11tool()
{
	_token=$1
	shift
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$_token" --login --pin "$USER_PIN" \
		"$@" 2>"$work/p11tool.err" || { cat "$work/p11tool.err" >&2; return 1; }
}

# count_objects LABEL [TYPE]: how many objects (of TYPE: privkey, pubkey, cert)
# token LABEL holds, as pkcs11-tool lists them
count_objects()
{
	if [ $# -ge 2 ]; then
		p11tool "$1" --list-objects --type "$2" >"$work/objects" ||
			fail "pkcs11-tool failed"
	else
		p11tool "$1" --list-objects >"$work/objects" || fail "pkcs11-tool failed"
	fi
	grep -c 'Object;' "$work/objects" || true
}

# object_block TOKEN TYPE LABEL: pkcs11-tool's description of the objects of
# TYPE (privkey, pubkey, cert) labelled LABEL on token TOKEN
object_block()
{
	p11tool "$1" --list-objects --type "$2" >"$work/objects" || fail "pkcs11-tool failed"
	awk -v want="$3" '
		function flush() { if (hit) printf "%s", blk; blk = ""; hit = 0 }
		/^[^ \t]/ { flush() }
		{ blk = blk $0 "\n" }
		/^[ \t]+label:/ {
			v = $0
			sub(/^[ \t]+label:[ \t]*/, "", v)
			if (v == want)
				hit = 1
		}
		END { flush() }' "$work/objects"
}

# unhex: hex on stdin (blanks, colons and newlines ignored) as bytes on stdout
unhex()
{
	# shellcheck disable=SC2059 # the format is the data: octal escapes only
	printf "$(tr -d ' :\n' | tr 'A-F' 'a-f' | awk '{
		for (i = 1; i < length($0); i += 2) {
			hi = index("0123456789abcdef", substr($0, i, 1)) - 1
			lo = index("0123456789abcdef", substr($0, i + 1, 1)) - 1
			printf "\\%03o", hi * 16 + lo
		}
	}')"
}

# sha1_hex: SHA-1 of stdin, lowercase hex
sha1_hex()
{
	openssl dgst -sha1 -r | cut -d ' ' -f 1
}

# spki_bits FILE: the subjectPublicKey bits (EC point, Ed25519 key, DER
# RSAPublicKey) of the DER SubjectPublicKeyInfo in FILE: the BIT STRING is
# its last element, so its content less the unused-bits byte ends the file
spki_bits()
{
	_l=$(openssl asn1parse -inform DER -in "$1" |
		sed -n 's/.* l= *\([0-9][0-9]*\) prim: BIT STRING.*/\1/p' | tail -n 1)
	[ -n "$_l" ] || fail "$1 is not a SubjectPublicKeyInfo"
	tail -c $((_l - 1)) "$1"
}

# token_pubkey_bits TOKEN ID: the subjectPublicKey bits of the public key
# object with CKA_ID ID, read from the token by pkcs11-tool (PEM or DER,
# whichever it writes). pkcs11-tool 0.23 cannot convert a P-384 key
# (--read-object fails), so then the bits come from the CKA_EC_POINT it
# lists: a DER OCTET STRING around the point. $work/token-spki.der holds the SubjectPublicKeyInfo
# when pkcs11-tool could read it.
token_pubkey_bits()
{
	rm -f "$work/token-pub.der" "$work/token-spki.der"
	if p11tool "$1" --read-object --type pubkey --id "$2" -o "$work/token-pub.der" \
		>/dev/null 2>&1 && [ -s "$work/token-pub.der" ]; then
		openssl pkey -pubin -in "$work/token-pub.der" -outform DER \
			-out "$work/token-spki.der" || fail "pkcs11-tool wrote no public key"
		spki_bits "$work/token-spki.der"
		return
	fi
	p11tool "$1" --list-objects --type pubkey >"$work/objects" || fail "pkcs11-tool failed"
	_point=$(awk -v want="$2" '
		/^[^ \t]/ { pt = ""; id = "" }
		/^[ \t]+EC_POINT:/ { pt = $2 }
		/^[ \t]+ID:/ { if ($2 == want && pt != "") { print pt; exit } }' "$work/objects")
	[ -n "$_point" ] || fail "token $1 has no public key with ID $2"
	_len=$(printf '%s' "$_point" | cut -c 3-4)
	[ "$(printf '%s' "$_point" | cut -c 1-2)" = 04 ] && [ $((0x$_len)) -lt 128 ] ||
		fail "CKA_EC_POINT $_point is not a short DER OCTET STRING"
	[ $(((${#_point} - 4) / 2)) -eq $((0x$_len)) ] || fail "CKA_EC_POINT $_point: bad length"
	printf '%s' "$_point" | cut -c 5- | unhex
}

# secret_file NAME VALUE: VALUE in $work/NAME, mode 0600; prints the path
secret_file()
{
	(umask 077 && printf '%s\n' "$2" >"$work/$1")
	echo "$work/$1"
}

# The reference CA, p11enroll-ca ($P11ENROLL_CA), for tests that need a CA
# service: refca_init DIR makes one, refca_start DIR serves it on a free
# 127.0.0.1 port, refca_stop DIR stops it. Every server started is stopped
# when the test exits (an EXIT trap; a test that sets its own EXIT trap calls
# refca_stop_all from it).

# refca ARGS...: p11enroll-ca (under valgrind for memcheck)
refca()
{
	[ -n "${P11ENROLL_CA:-}" ] && [ -x "$P11ENROLL_CA" ] ||
		fail "P11ENROLL_CA is not set to the built p11enroll-ca"
	if [ -n "${P11ENROLL_VALGRIND:-}" ]; then
		valgrind -q --error-exitcode=80 --leak-check=full --errors-for-leak-kinds=definite \
			--suppressions="$TEST_LIB/valgrind.supp" "$P11ENROLL_CA" "$@"
	else
		"$P11ENROLL_CA" "$@"
	fi
}

# refca_init DIR: a new CA in DIR (which must not exist yet)
refca_init()
{
	refca --home "$1" init >"$1.init.out" 2>&1 ||
		{ cat "$1.init.out" >&2; fail "p11enroll-ca --home $1 init failed"; }
}

# refca_start DIR [SERVE-OPTION...]: serves the CA in DIR in the background
# (e.g. refca_start DIR --auto-approve; refca_start DIR --listen
# 127.0.0.1:$REFCA_PORT comes back on the port it had, the later --listen
# winning) and waits, at most 10 s (30 s under valgrind), until it listens. Sets and exports REFCA_PID, REFCA_PORT,
# REFCA_URL (the cpca20 service URL, https://127.0.0.1:PORT/ui/api/FOLDER)
# and REFCA_ROOT (the CA certificate, PEM, for curl --cacert). The server's
# stderr, one line per request, goes to DIR.log.
refca_start()
{
	_refca_dir=$1
	shift
	[ -n "${P11ENROLL_CA:-}" ] && [ -x "$P11ENROLL_CA" ] ||
		fail "P11ENROLL_CA is not set to the built p11enroll-ca"
	rm -f "$_refca_dir.port" "$_refca_dir.pid"
	# a simple command, not a function: then $! is the server itself, not a subshell
	if [ -n "${P11ENROLL_VALGRIND:-}" ]; then
		valgrind -q --error-exitcode=80 --leak-check=full --errors-for-leak-kinds=definite \
			--suppressions="$TEST_LIB/valgrind.supp" \
			"$P11ENROLL_CA" --home "$_refca_dir" serve --listen 127.0.0.1:0 \
			--port-file "$_refca_dir.port" --pid-file "$_refca_dir.pid" "$@" \
			2>>"$_refca_dir.log" &
	else
		"$P11ENROLL_CA" --home "$_refca_dir" serve --listen 127.0.0.1:0 \
			--port-file "$_refca_dir.port" --pid-file "$_refca_dir.pid" "$@" \
			2>>"$_refca_dir.log" &
	fi
	REFCA_PID=$!
	echo "$REFCA_PID" >"$_refca_dir.spid"
	refca_dirs="${refca_dirs:-} $_refca_dir"
	trap refca_stop_all EXIT
	_refca_tries=100
	[ -z "${P11ENROLL_VALGRIND:-}" ] || _refca_tries=300
	while [ ! -s "$_refca_dir.port" ]; do
		if ! kill -0 "$REFCA_PID" 2>/dev/null; then
			cat "$_refca_dir.log" >&2
			fail "p11enroll-ca serve ($_refca_dir) exited before listening"
		fi
		_refca_tries=$((_refca_tries - 1))
		[ "$_refca_tries" -gt 0 ] ||
			fail "p11enroll-ca serve ($_refca_dir) is not listening"
		sleep 0.1
	done
	REFCA_PORT=$(cat "$_refca_dir.port")
	REFCA_URL=https://127.0.0.1:$REFCA_PORT/ui/api/$(jq -r .folder "$_refca_dir/config.json")
	REFCA_ROOT=$_refca_dir/ca-cert.pem
	export REFCA_PID REFCA_PORT REFCA_URL REFCA_ROOT
}

# refca_stop DIR: stops the server of DIR (SIGTERM) and fails unless it
# exits 0, which under ASan or valgrind also means no leak
refca_stop()
{
	[ -s "$1.spid" ] || fail "refca_stop: no server was started for $1"
	_refca_pid=$(cat "$1.spid")
	rm -f "$1.spid"
	kill -TERM "$_refca_pid" 2>/dev/null || true
	_refca_rc=0
	wait "$_refca_pid" || _refca_rc=$?
	[ "$_refca_rc" -eq 0 ] ||
		{ tail -n 30 "$1.log" >&2; fail "p11enroll-ca serve ($1) exited $_refca_rc"; }
}

# refca_stop_all: stops every server still running, quietly (the EXIT trap)
refca_stop_all()
{
	for _refca_d in ${refca_dirs:-}; do
		if [ -s "$_refca_d.spid" ]; then
			kill -TERM "$(cat "$_refca_d.spid")" 2>/dev/null || true
			wait "$(cat "$_refca_d.spid")" 2>/dev/null || true
			rm -f "$_refca_d.spid"
		fi
	done
}
