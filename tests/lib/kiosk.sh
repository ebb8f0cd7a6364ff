# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the kiosk tests (sourced after common.sh): a CA service registered
# with the reference CA, tokens "inserted" into the running kiosk's SoftHSM
# token directory and "removed" from it, and the kiosk in the background with
# its JSON lines events in $work/kiosk.out.
#
# SoftHSM reads its token directory only in C_Initialize, so the kiosk sees a
# token made by another process after it reinitialises the module (it does
# so on every poll while no session is open). A token is made in a staging
# SoftHSM directory of its own and then moved into the kiosk's directory in
# one rename(), so that the kiosk never sees half a token.

# kiosk_kill: stops a kiosk still running (a failed test), quietly
kiosk_kill()
{
	if [ -n "${KIOSK_PID:-}" ]; then
		kill -TERM "$KIOSK_PID" 2>/dev/null || true
		wait "$KIOSK_PID" 2>/dev/null || true
		KIOSK_PID=
	fi
}

# refca_start sets 'trap refca_stop_all EXIT': the kiosk is stopped there too
refca_stop_all()
{
	kiosk_kill
	for _refca_d in ${refca_dirs:-}; do
		if [ -s "$_refca_d.spid" ]; then
			kill -TERM "$(cat "$_refca_d.spid")" 2>/dev/null || true
			wait "$(cat "$_refca_d.spid")" 2>/dev/null || true
			rm -f "$_refca_d.spid"
		fi
	done
}
trap refca_stop_all EXIT

make_tokens
stage=$work/stage
sh "$FIXTURES/make-tokens.sh" "$stage"
mkdir -p "$work/pulled"
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME
ca_home=$work/ca

ca()
{
	refca --home "$ca_home" "$@"
}

# ca_newest: the id of the CA's newest request
ca_newest()
{
	ca --json list-requests | jq -r '[.requests[]] | max_by(.id | tonumber) | .id'
}

ca_count()
{
	ca --json list-requests | jq '.requests | length'
}

# service_setup: the service "main" on the reference CA, registered and approved
service_setup()
{
	expect_json 0 add-service main --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
		--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
		--field SNILS=11223344595 --field INN=500100732259 --email ivanov@example.org
	if [ "$(json .status)" != ready ]; then
		ca approve-registration "$(ca --json list-registrations |
			jq -r '[.registrations[]] | max_by(.id | tonumber) | .id')" >/dev/null
	fi
}

# new_token NAME LABEL full|so: a token in the staging directory, initialised
# with both PINs (full) or with the SO PIN only (so: the kiosk sets the user
# PIN); sets NAME_dir and NAME_serial
new_token()
{
	_before=$(ls "$stage/tokens")
	if [ "$3" = full ]; then
		SOFTHSM2_CONF=$stage/softhsm2.conf softhsm2-util --init-token --free --label "$2" \
			--so-pin "$SO_PIN" --pin "$USER_PIN" >/dev/null
	else
		SOFTHSM2_CONF=$stage/softhsm2.conf pkcs11-tool --module "$SOFTHSM_MODULE" \
			--init-token --label "$2" --so-pin "$SO_PIN" >/dev/null 2>&1 ||
			fail "pkcs11-tool --init-token failed"
	fi
	_dir=$(ls "$stage/tokens" | grep -vxF "$_before" | head -n 1)
	[ -n "$_dir" ] || fail "no token directory was made for $2"
	_serial=$(SOFTHSM2_CONF=$stage/softhsm2.conf softhsm2-util --show-slots |
		awk '/Serial number:/ && NF == 3 { print $3; exit }')
	[ -n "$_serial" ] || fail "no serial for token $2"
	eval "${1}_dir=\$_dir ${1}_serial=\$_serial"
	# in the staging directory only until it is inserted
	mv "$stage/tokens/$_dir" "$work/pulled/$_dir"
}

# insert DIR / remove DIR: the token in or out of the kiosk's slots
insert()
{
	mv "$work/pulled/$1" "$work/tokens/$1"
}

remove()
{
	mv "$work/tokens/$1" "$work/pulled/$1"
}

# kiosk_start PROFILE [OPTION...]: the kiosk in the background (KIOSK_PID),
# under valgrind for memcheck; waits for its "waiting" event
kiosk_start()
{
	_profile=$1
	shift
	: >"$work/kiosk.out"
	# a simple command, not a function: then $! is the kiosk (or valgrind) itself
	if [ -n "${P11ENROLL_VALGRIND:-}" ]; then
		valgrind -q --error-exitcode=80 --leak-check=full --errors-for-leak-kinds=definite \
			--suppressions="$TEST_LIB/valgrind.supp" \
			"$P11ENROLL" --module "$SOFTHSM_MODULE" --json kiosk --profile "$_profile" "$@" \
			>"$work/kiosk.out" 2>"$work/kiosk.err" &
	else
		"$P11ENROLL" --module "$SOFTHSM_MODULE" --json kiosk --profile "$_profile" "$@" \
			>"$work/kiosk.out" 2>"$work/kiosk.err" &
	fi
	KIOSK_PID=$!
	wait_event '.event == "waiting"' 1
}

# wait_event FILTER [N] [SECONDS]: until the kiosk has printed N events that
# FILTER (jq) selects (at most SECONDS, 30 by default, three times as long
# under valgrind); the last one is in $work/event
wait_event()
{
	_n=${2:-1}
	_tries=$((${3:-30} * 10))
	[ -z "${P11ENROLL_VALGRIND:-}" ] || _tries=$((_tries * 3))
	while :; do
		jq -c "select($1)" "$work/kiosk.out" 2>/dev/null >"$work/events" || true
		if [ "$(wc -l <"$work/events")" -ge "$_n" ]; then
			sed -n "${_n}p" "$work/events" >"$work/event"
			return 0
		fi
		if [ -n "${KIOSK_PID:-}" ] && ! kill -0 "$KIOSK_PID" 2>/dev/null; then
			cat "$work/kiosk.out" "$work/kiosk.err" >&2
			fail "the kiosk exited before an event with $1"
		fi
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || { cat "$work/kiosk.out" "$work/kiosk.err" >&2; fail "no event with $1"; }
		sleep 0.1
	done
}

# has FILE FILTER: a line of the JSON lines FILE that FILTER (jq) selects
has()
{
	jq -c "select($2)" "$1" | grep -q .
}

# event FILTER: jq over the last event wait_event found
event()
{
	jq -r "$1" "$work/event"
}

# kiosk_stop: SIGTERM, and the kiosk must stop cleanly (exit 0, "stopped")
kiosk_stop()
{
	kill -TERM "$KIOSK_PID"
	_rc=0
	wait "$KIOSK_PID" || _rc=$?
	KIOSK_PID=
	[ "$_rc" -eq 0 ] || { cat "$work/kiosk.err" >&2; fail "the kiosk exited $_rc on SIGTERM"; }
	tail -n 2 "$work/kiosk.out" | head -n 1 | jq -e '.event == "stopped"' >/dev/null ||
		fail "the kiosk did not say it stopped"
}

# token_check NAME LABEL: on token LABEL, one key and one certificate next to
# it (same CKA_ID), carrying the key and chaining to the CA's root
token_check()
{
	[ "$(count_objects "$2" privkey)" -eq 1 ] || fail "token $2 does not hold exactly one key"
	[ "$(count_objects "$2" cert)" -eq 1 ] || fail "token $2 does not hold one certificate"
	_kid=$(p11tool "$2" --list-objects --type privkey | sed -n 's/^ *ID: *//p')
	p11tool "$2" --list-objects --type cert | grep -q "ID: *$_kid" ||
		fail "the certificate on $2 does not have its key's ID"
	p11tool "$2" --read-object --type cert --id "$_kid" -o "$work/$1.der" >/dev/null
	openssl x509 -inform DER -in "$work/$1.der" -out "$work/$1.pem"
	openssl verify -CAfile "$REFCA_ROOT" "$work/$1.pem" >/dev/null ||
		fail "the certificate on $2 does not chain to the root"
	token_pubkey_bits "$2" "$_kid" >"$work/$1.key-bits"
	openssl x509 -in "$work/$1.pem" -pubkey -noout | openssl pkey -pubin -outform DER \
		-out "$work/$1.cert-spki.der"
	spki_bits "$work/$1.cert-spki.der" >"$work/$1.cert-bits"
	cmp -s "$work/$1.key-bits" "$work/$1.cert-bits" ||
		fail "the certificate on $2 is not for its key"
}
