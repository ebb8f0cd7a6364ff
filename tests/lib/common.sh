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
