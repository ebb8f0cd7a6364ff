#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The command line itself: --help, 'help CMD' and 'CMD --help' print usage
# on stdout and exit 0; an unknown command or option, a missing required
# option or an extra argument is a usage error: exit 2, the reason and the
# usage on stderr, and with --json exactly one {"ok":false,"error":{"code":2,
# "name":"usage",...}} on stdout. Usage errors come before any module is
# loaded. --version prints the version from configure.ac.
set -eu
. "$TEST_LIB/common.sh"

commands="list-slots init-token set-pin generate-key make-csr import-cert"

# run N ARGS...: the program without the test's --module, like expect_rc
run()
{
	want=$1
	shift
	set +e
	# shellcheck disable=SC2086 # PE_VALGRIND: a command line, empty but for memcheck
	$PE_VALGRIND "$P11ENROLL" "$@" >"$work/out" 2>"$work/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] ||
		{ cat "$work/out" "$work/err" >&2; fail "p11enroll $* exited $got, not $want"; }
}

# usage_error ARGS...: exit 2, stdout empty, the reason and a usage line on stderr
usage_error()
{
	run 2 "$@"
	[ ! -s "$work/out" ] || { cat "$work/out" >&2; fail "$*: a usage error wrote to stdout"; }
	grep -q "^p11enroll: (2) " "$work/err" || { cat "$work/err" >&2; fail "$*: no reason"; }
	grep -q "usage: p11enroll\|p11enroll --help" "$work/err" ||
		{ cat "$work/err" >&2; fail "$*: no usage on stderr"; }
}

# json_usage_error ARGS...: with --json first, exit 2 and one JSON usage error
json_usage_error()
{
	run 2 --json "$@"
	jq -se 'length == 1' "$work/out" >/dev/null ||
		{ cat "$work/out" >&2; fail "--json $*: stdout is not one JSON document"; }
	[ "$(json 'keys_unsorted[0]')" = ok ] || fail "--json $*: ok is not the first key"
	[ "$(json '[.ok, .error.code, .error.name] | map(tostring) | join(" ")')" = \
		"false 2 usage" ] ||
		{ cat "$work/out" >&2; fail "--json $*: not a usage error"; }
	[ -n "$(json '.error.message // empty')" ] || fail "--json $*: no message"
}

# the program's help
run 0 --help
expect_out "usage: p11enroll"
for c in $commands; do
	grep -Eq "^  $c +[A-Z]" "$work/out" || fail "--help does not list $c"
done
[ ! -s "$work/err" ] || fail "--help wrote to stderr"
run 0 -h
run 0 help
expect_out "usage: p11enroll"

# each command's help, three ways, the same text
for c in $commands; do
	run 0 help "$c"
	[ "$(head -n 1 "$work/out" | cut -d ' ' -f 1-3)" = "usage: p11enroll $c" ] ||
		fail "help $c: $(head -n 1 "$work/out")"
	grep -q -- "--help" "$work/out" || fail "help $c does not list --help"
	[ ! -s "$work/err" ] || fail "help $c wrote to stderr"
	cp "$work/out" "$work/help-$c"
	run 0 "$c" --help
	cmp -s "$work/out" "$work/help-$c" || fail "$c --help differs from help $c"
	run 0 "$c" -h
	cmp -s "$work/out" "$work/help-$c" || fail "$c -h differs from help $c"
	# no PIN on the command line: only sources
	grep -Eq -- '--(so-|new-)?pin[= ]' "$work/out" && fail "$c takes a PIN in argv"
	:
done
run 0 help make-csr
for o in --key=URI --subject=DN --field=OID=VALUE --template --sign-tool --out=FILE --der \
	--pin-source=SRC; do
	expect_out "$o"
done
expect_rc 0 make-csr --help
[ ! -s "$work/err" ] || fail "make-csr --help wrote to stderr"

# unknown command
usage_error nope
expect_err "unknown command 'nope'"
usage_error help nope
expect_err "nope"
json_usage_error nope
json .error.message | grep -q "unknown command 'nope'" || fail "the JSON message"
golden usage-unknown-command .
json_usage_error help nope

# unknown options, the command's and the program's
usage_error make-csr --bogus
expect_err "usage: p11enroll make-csr"
expect_err "bogus"
json_usage_error make-csr --bogus
expect_err "usage: p11enroll make-csr"
usage_error --bogus list-slots
expect_err "bogus"
json_usage_error --bogus list-slots
json_usage_error list-slots extra
expect_err "unexpected argument 'extra'"

# there is no --pin, and it is not taken as an abbreviation of --pin-source:
# refused, and nothing is made
make_tokens alpha
expect_rc 2 generate-key --token pkcs11:token=alpha --label x --pin "$USER_PIN"
expect_err "unknown option '--pin'"
expect_rc 3 make-csr --key "pkcs11:token=alpha;object=x" --subject /CN=x --pin-source env:USER_PIN

# no command at all
usage_error
json_usage_error

# missing required options: refused before the module (none here) is loaded
for args in "init-token --label x" "init-token --token pkcs11:" "set-pin --so" \
	"generate-key --label x" "generate-key --token pkcs11:" "make-csr --subject /CN=x" \
	"import-cert --token pkcs11:" "import-cert --cert x.pem"; do
	# shellcheck disable=SC2086 # split on purpose
	usage_error --module /nonexistent/module.so $args
	expect_err "required"
	# shellcheck disable=SC2086
	json_usage_error --module /nonexistent/module.so $args
done

# a module that cannot be loaded is a PKCS#11 error, not a usage error
run 4 --module /nonexistent/module.so --json list-slots
[ "$(json '.error.name')" = pkcs11 ] || fail "a missing module is not a pkcs11 error"
expect_err "/nonexistent/module.so"

# global options go before the command
run 0 -q --json --module "$SOFTHSM_MODULE" list-slots
[ "$(json .ok)" = true ] || fail "-q --json --module list-slots"

# the version: the one configure.ac names
version=$(sed -n 's/^AC_INIT(\[p11enroll\], *\[\([^]]*\)\].*/\1/p' "$TEST_DATA/../../configure.ac")
[ -n "$version" ] || fail "no version in configure.ac"
run 0 --version
[ "$(cat "$work/out")" = "p11enroll $version" ] || fail "--version: $(cat "$work/out")"

# options are spelled out: "--pin 1234" is not taken for --pin-source, and a
# mistyped secret is never repeated in a message
expect_json 2 generate-key --token pkcs11:token=x --label k --pin 98765
expect_err "unknown option '--pin'"
grep -q 98765 "$work/err" "$work/out" && fail "the value of --pin was shown"
expect_json 2 generate-key --token pkcs11:token=x --label k --pin=98765
grep -q 98765 "$work/err" "$work/out" && fail "the value of --pin= was shown"
expect_json 2 generate-key --token pkcs11:token=x --label k --pin-source 98765
grep -q 98765 "$work/err" "$work/out" && fail "a malformed secret source was shown"
true
