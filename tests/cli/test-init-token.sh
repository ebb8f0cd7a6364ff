#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# init-token: the free slot gets a label, an SO PIN and a user PIN from
# env:, file: and fd: sources, and then works with them. A second init is
# refused without --force and leaves the keys alone; with --force and the
# right SO PIN it wipes them, with a wrong one nothing happens. Labels over
# 32 bytes and PINs under 4 characters are refused before the token is
# touched, and with no PIN source and no terminal the message names the
# option to use.
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool setsid

make_tokens alpha
expect_json 0 generate-key --token pkcs11:token=alpha --label mine --pin-source env:USER_PIN

# free_slot: the slot-id of the one slot whose token is not initialised
free_slot()
{
	expect_json 0 list-slots
	json '[.slots[] | select(any(.token.flags[]; . == "initialized") | not)] |
		if length == 1 then .[0].slot_id else error("not one free slot") end'
}

# token_flags LABEL: the flags list-slots shows for token LABEL, one a line
token_flags()
{
	expect_json 0 list-slots
	json ".slots[] | select(.token.label == \"$1\") | .token.flags[]"
}

# labels: every initialised token's label, one a line, sorted
labels()
{
	expect_json 0 list-slots
	json '[.slots[].token | select(any(.flags[]; . == "initialized")) | .label] | sort | .[]'
}

slot=$(free_slot)
free="pkcs11:slot-id=$slot"
so_file=$(secret_file so-pin "$SO_PIN")
pin_file=$(secret_file user-pin 5678)
short_file=$(secret_file short-pin 123)

# refused before anything is done: the slot stays free, no new token appears
expect_rc 5 init-token --token "$free" --label gamma --so-pin-source env:SO_PIN \
	--pin-source "file:$short_file"
expect_err "4 to 255"
expect_err "user PIN"
expect_rc 5 init-token --token "$free" --label gamma --so-pin-source "file:$short_file" \
	--pin-source "file:$pin_file"
expect_err "SO PIN"
# a label is at most 32 bytes: 33 ASCII ones, or 15 Cyrillic letters, two
# hyphens and a digit (33 bytes)
expect_rc 2 init-token --token "$free" --label 123456789012345678901234567890123 \
	--so-pin-source env:SO_PIN --pin-source "file:$pin_file"
expect_err "33 bytes"
expect_rc 2 init-token --token "$free" --label "Токен-подписанта-1" \
	--so-pin-source env:SO_PIN --pin-source "file:$pin_file"
expect_err "33 bytes"
# no source and no controlling terminal: a PIN error naming the option
set +e
# shellcheck disable=SC2016 # expanded by the inner shell; $PE_VALGRIND split on purpose
setsid -w sh -c '$PE_VALGRIND "$P11ENROLL" --module "$SOFTHSM_MODULE" init-token --token "$1" --label gamma \
	--pin-source "file:$2" </dev/null >"$3/out" 2>"$3/err"' sh "$free" "$pin_file" "$work"
rc=$?
set -e
[ "$rc" -eq 5 ] || { cat "$work/err" >&2; fail "no SO PIN source, no terminal: exit $rc"; }
expect_err "--so-pin-source"
expect_err "no terminal"
set +e
# shellcheck disable=SC2016 # expanded by the inner shell; $PE_VALGRIND split on purpose
setsid -w sh -c '$PE_VALGRIND "$P11ENROLL" --module "$SOFTHSM_MODULE" init-token --token "$1" --label gamma \
	--so-pin-source env:SO_PIN </dev/null >"$2/out" 2>"$2/err"' sh "$free" "$work"
rc=$?
set -e
[ "$rc" -eq 5 ] || { cat "$work/err" >&2; fail "no user PIN source, no terminal: exit $rc"; }
expect_err "--pin-source"
[ "$(free_slot)" = "$slot" ] || fail "a refused init-token changed the free slot"
[ "$(labels)" = alpha ] || fail "a refused init-token made a token"

# SO PIN from env:, user PIN from file:
expect_json 0 init-token --token "$free" --label gamma --so-pin-source env:SO_PIN \
	--pin-source "file:$pin_file"
[ "$(json .token.label)" = gamma ] || fail "the JSON does not describe token gamma"
[ ! -s "$work/err" ] || { cat "$work/err" >&2; fail "warnings for 0600 PIN files"; }
[ "$(labels | tr '\n' ' ')" = "alpha gamma " ] || fail "token gamma is not listed"
token_flags gamma >"$work/flags"
grep -qx initialized "$work/flags" || fail "gamma is not initialized"
grep -qx user_pin_initialized "$work/flags" || fail "gamma has no user PIN"
# the user PIN is the one given: it makes a key (the SO PIN is proven by
# --force below)
expect_json 0 generate-key --token pkcs11:token=gamma --label before --pin-source "file:$pin_file"

# already initialised: refused without --force before any PIN is read, and
# nothing changes
expect_json 2 init-token --token pkcs11:token=gamma --label delta \
	--so-pin-source env:UNSET_VAR --pin-source env:UNSET_VAR
expect_err "already initialised"
expect_err "--force"
USER_PIN=5678
[ "$(count_objects gamma privkey)" -eq 1 ] || fail "init without --force lost the key"
object_block gamma privkey before | grep -q 'label: *before' || fail "key 'before' is gone"
# --force with a wrong SO PIN: a PIN error, and the key is still there
WRONG_SO=87654321
export WRONG_SO
expect_json 5 init-token --token pkcs11:token=gamma --label delta --force \
	--so-pin-source env:WRONG_SO --pin-source "file:$pin_file"
expect_err "C_InitToken"
expect_err "SO PIN"
expect_err "not retried"
[ "$(labels | tr '\n' ' ')" = "alpha gamma " ] || fail "a wrong SO PIN relabelled the token"
[ "$(count_objects gamma privkey)" -eq 1 ] || fail "a wrong SO PIN wiped the token"

# --force and the right SO PIN (from a file): relabelled and wiped. The new
# user PIN comes from a descriptor.
expect_json 0 init-token --token pkcs11:token=gamma --label delta --force \
	--so-pin-source "file:$so_file" --pin-source fd:3 3<"$pin_file"
[ "$(labels | tr '\n' ' ')" = "alpha delta " ] || fail "token gamma is not now delta"
[ "$(count_objects delta)" -eq 0 ] || fail "--force left objects on the token"
expect_json 0 generate-key --token pkcs11:token=delta --label after --pin-source "file:$pin_file"

# both PINs on one descriptor, one a line: each reader takes its own line.
# A label of exactly 32 bytes (UTF-8) is taken and read back as given.
printf '%s\n%s\n' "$SO_PIN" 4444 >"$work/both"
expect_json 0 init-token --token pkcs11:token=delta --force \
	--label "Токен-подписанта1" --so-pin-source fd:3 --pin-source fd:3 3<"$work/both"
[ "$(labels | tr '\n' ' ')" = "alpha Токен-подписанта1 " ] || fail "the UTF-8 label"
USER_PIN=4444
[ "$(count_objects "Токен-подписанта1")" -eq 0 ] || fail "wiped again"
expect_json 0 list-slots
uri=$(json '.slots[].token | select(.label == "Токен-подписанта1") | .uri')
case $uri in
*"token=%D0%A2%D0%BE%D0%BA%D0%B5%D0%BD-"*) ;;
*) fail "the URI does not percent-encode the UTF-8 label: $uri" ;;
esac
expect_json 0 generate-key --token "$uri" --label k --pin-source env:USER_PIN

# the other token was never touched
USER_PIN=1234
[ "$(count_objects alpha privkey)" -eq 1 ] || fail "token alpha lost its key"

# usage errors
expect_json 2 init-token --label x --so-pin-source env:SO_PIN
expect_err "--token and --label are required"
expect_json 2 init-token --token "pkcs11:token=alpha" --so-pin-source env:SO_PIN
expect_json 3 init-token --token "pkcs11:token=nothing-here" --label x \
	--so-pin-source env:SO_PIN --pin-source env:USER_PIN
