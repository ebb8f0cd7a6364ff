#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# list-slots: with two tokens and the free slot SoftHSM always adds, text and
# --json show every slot, each token with its URI, serial, label, PIN flags,
# the key types it can make and its vendor profile; the free slot's token is
# not initialised. The JSON structure is compared with
# tests/data/expected/list-slots.json once the volatile values (slot ids,
# serials, URIs, module path, versions) are replaced by their shape.
set -eu
. "$TEST_LIB/common.sh"

make_tokens alpha beta

# --json: one document, three slots, all with a token
expect_json 0 list-slots
[ "$(json '.slots | length')" -eq 3 ] || fail "not 3 slots"
[ "$(json '[.slots[] | select(.token_present and .token != null)] | length')" -eq 3 ] ||
	fail "a slot without its token"
[ "$(json '[.slots[] | select(.module == env.SOFTHSM_MODULE)] | length')" -eq 3 ] ||
	fail "module is not the path given with --module"

for t in alpha beta; do
	tok=".slots[] | select(.token.label == \"$t\") | .token"
	[ "$(json "[$tok] | length")" -eq 1 ] || fail "token $t not listed once"
	serial=$(json "$tok | .serial")
	printf '%s\n' "$serial" | grep -Eq '^[0-9a-f]{16}$' || fail "$t: serial '$serial'"
	uri=$(json "$tok | .uri")
	case $uri in
	pkcs11:*) ;;
	*) fail "$t: uri '$uri' is not a PKCS#11 URI" ;;
	esac
	# the URI names this token by its label and its serial
	printf '%s\n' "$uri" | grep -Eq "[:;]token=$t(;|\$)" || fail "$t: uri '$uri' lacks token=$t"
	printf '%s\n' "$uri" | grep -Eq "[:;]serial=$serial(;|\$)" || fail "$t: uri '$uri': serial"
	for f in initialized login_required user_pin_initialized; do
		[ "$(json "$tok | any(.flags[]; . == \"$f\")")" = true ] ||
			fail "$t: flag $f missing"
	done
	for k in ec-p256 rsa-2048; do
		[ "$(json "$tok | any(.key_types[]; . == \"$k\")")" = true ] ||
			fail "$t: key type $k missing"
	done
	[ "$(json "$tok | .profile")" = "SoftHSM 2" ] || fail "$t: profile is not SoftHSM 2"
done

# the free slot: a token that is not initialised, so no user PIN either
free='.slots[] | select(any(.token.flags[]; . == "initialized") | not)'
[ "$(json "[$free] | length")" -eq 1 ] || fail "not exactly one uninitialised token"
[ "$(json "$free | any(.token.flags[]; . == \"user_pin_initialized\") | not")" = true ] ||
	fail "the free slot's token says its user PIN is initialised"
[ "$(json "$free | .token.label")" = "" ] || fail "the free slot's token has a label"

# the two tokens are told apart by serial and URI, the slots by id
[ "$(json '[.slots[].slot_id] | unique | length')" -eq 3 ] || fail "slot ids are not distinct"
[ "$(json '[.slots[].token.uri] | unique | length')" -eq 3 ] || fail "token URIs are not distinct"

# the structure: volatile values become their shape, slots sorted by label
golden list-slots '
	.slots |= (map(
		.module = (.module == env.SOFTHSM_MODULE)
		| .slot_id |= type
		| .description |= test("^SoftHSM slot ID 0x[0-9a-f]+$")
		| .slot_uri |= test("^pkcs11:.*slot-id=[0-9]+")
		| .token.serial |= test("^([0-9a-f]{16})?$")
		| .token.uri |= test("^pkcs11:")
		| .token.hardware_version |= test("^[0-9]+\\.[0-9]+$")
		| .token.firmware_version |= test("^[0-9]+\\.[0-9]+$")
	) | sort_by(.token.label))'

# text: a heading per slot and the same facts for people
expect_rc 0 list-slots
[ "$(grep -c '^slot [0-9]* (' "$work/out")" -eq 3 ] || fail "text: not 3 slot headings"
for t in alpha beta; do
	grep -Eq "^    label +$t\$" "$work/out" || fail "text: no label $t"
done
pin_flags='^    flags +initialized, login_required, user_pin_initialized'
[ "$(grep -Ec "$pin_flags" "$work/out")" -eq 2 ] || fail "text: not two initialised tokens"
[ "$(grep -Ec '^    key types +.*rsa-2048.*ec-p256' "$work/out")" -eq 3 ] ||
	fail "text: key types missing"
[ "$(grep -Ec '^    profile +SoftHSM 2$' "$work/out")" -eq 3 ] || fail "text: profile missing"
[ "$(grep -Ec '^    uri +pkcs11:' "$work/out")" -eq 3 ] || fail "text: token URIs missing"
[ ! -s "$work/err" ] || { cat "$work/err" >&2; fail "text: something on stderr"; }

# no option is taken, and no argument
expect_rc 2 list-slots --bogus
expect_rc 2 list-slots extra
expect_err "unexpected argument 'extra'"
