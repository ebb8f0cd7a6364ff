#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# set-pin: the user PIN changes (old from env:, new from file:) and only the
# new one logs in afterwards; a wrong PIN is reported, with what the token
# says of its retry counter, and never retried; --so changes the SO PIN;
# --unblock sets a new user PIN with the SO PIN; --so with --unblock is a
# usage error.
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool

make_tokens alpha beta
tok=pkcs11:token=alpha
new_file=$(secret_file new-pin 5678)
OLD_PIN=$USER_PIN
NEW_SO=87654321
UNBLOCKED=24682468
export OLD_PIN NEW_SO UNBLOCKED

# flags LABEL: the token's flags as list-slots shows them, on one line
flags()
{
	expect_json 0 list-slots
	json "[.slots[].token | select(.label == \"$1\") | .flags[]] | join(\" \")"
}

# a wrong current PIN: refused, nothing changed
BAD=0000
export BAD
expect_json 5 set-pin --token "$tok" --pin-source env:BAD --new-pin-source "file:$new_file"
expect_err "not retried"
expect_json 0 generate-key --token "$tok" --label old-pin-works --pin-source env:OLD_PIN

# the user PIN: old from env:, new from file:
expect_json 0 set-pin --token "$tok" --pin-source env:OLD_PIN --new-pin-source "file:$new_file"
[ "$(json .changed)" = user_pin ] || fail "changed is not user_pin"
[ "$(json .unblocked)" = false ] || fail "unblocked is not false"
[ "$(json .token.label)" = alpha ] || fail "the JSON does not describe token alpha"

# the old PIN no longer logs in: one try, reported with the token's count
expect_json 5 generate-key --token "$tok" --label k1 --pin-source env:OLD_PIN
expect_err "not retried"
expect_err "count low"
expect_err "incorrect"
[ "$(grep -c 'C_Login' "$work/err")" -eq 1 ] || fail "C_Login reported more than once"
flags alpha | grep -qw user_pin_count_low || fail "the token does not show user_pin_count_low"
# the next run warns before it tries
expect_json 0 generate-key --token "$tok" --label k1 --pin-source "file:$new_file"
expect_err "wrong user PIN was entered before"
flags alpha | grep -qw user_pin_count_low && fail "a good login left user_pin_count_low"
# and pkcs11-tool agrees: the new PIN, not the old one
USER_PIN=5678
[ "$(count_objects alpha privkey)" -eq 2 ] || fail "pkcs11-tool does not log in with the new PIN"
USER_PIN=$OLD_PIN
p11tool alpha --list-objects >/dev/null 2>&1 && fail "pkcs11-tool logs in with the old PIN"
grep -q CKR_PIN_INCORRECT "$work/p11tool.err" || fail "pkcs11-tool: not CKR_PIN_INCORRECT"
USER_PIN=5678

# the other token keeps its PIN
expect_json 0 generate-key --token pkcs11:token=beta --label b --pin-source env:OLD_PIN

# --so: the SO PIN changes; the old one is refused afterwards, the new one works
expect_json 0 set-pin --token "$tok" --so --so-pin-source env:SO_PIN --new-pin-source env:NEW_SO
[ "$(json .changed)" = so_pin ] || fail "changed is not so_pin"
expect_json 5 set-pin --token "$tok" --unblock --so-pin-source env:SO_PIN \
	--new-pin-source env:UNBLOCKED
expect_err "SO PIN"
expect_err "not retried"
flags alpha | grep -qw so_pin_count_low || fail "the token does not show so_pin_count_low"

# --unblock: the SO sets a new user PIN
expect_json 0 set-pin --token "$tok" --unblock --so-pin-source env:NEW_SO \
	--new-pin-source env:UNBLOCKED
[ "$(json .changed)" = user_pin ] || fail "changed is not user_pin"
[ "$(json .unblocked)" = true ] || fail "unblocked is not true"
expect_json 5 generate-key --token "$tok" --label k2 --pin-source "file:$new_file"
expect_json 0 generate-key --token "$tok" --label k2 --pin-source env:UNBLOCKED
USER_PIN=$UNBLOCKED
[ "$(count_objects alpha privkey)" -eq 3 ] || fail "keys lost across the PIN changes"

# a new PIN the token cannot take is refused before anything changes
SHORT=12
export SHORT
expect_json 5 set-pin --token "$tok" --pin-source env:UNBLOCKED --new-pin-source env:SHORT
expect_err "4 to 255"
expect_json 0 generate-key --token "$tok" --label k3 --pin-source env:UNBLOCKED

# usage errors, found before any token or PIN is touched
expect_json 2 set-pin --token "$tok" --so --unblock --so-pin-source env:UNSET_VAR
expect_err "--so and --unblock"
expect_json 2 set-pin --so --so-pin-source env:NEW_SO --new-pin-source env:UNBLOCKED
expect_err "--token is required"
expect_json 3 set-pin --token pkcs11:token=nothing --pin-source env:UNBLOCKED \
	--new-pin-source "file:$new_file"
