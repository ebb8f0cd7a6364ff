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
