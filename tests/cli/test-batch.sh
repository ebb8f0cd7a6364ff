#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Batch enrollment against the reference CA (auto-approving): five SoftHSM
# tokens, a CSV file of people, two workers. Every good row ends with its
# certificate on its own token (next to its key, for that key, with the row's
# subject, chaining to the CA); a row with a wrong INN fails alone; the
# --json events parse; a re-run makes no new request and no new key; a serial
# column names tokens, and a serial that is not present fails alone; a
# batch killed mid-way is continued by a re-run; a new token is set up with
# the profile's PIN sources; the audit log of it all is whole.
set -eu
. "$TEST_LIB/common.sh"

# a PIN that cannot turn up in a hash or a serial by chance
USER_PIN=Pin-m4Rt-batch
export USER_PIN
make_tokens t1 t2 t3 t4 t5
P11ENROLL_HOME=$work/home
export P11ENROLL_HOME
ca_home=$work/ca
refca_init "$ca_home"
# the operator enrolls many people with one login: the registration fixes only
# the organisation, so that each request may carry its own person
jq '(.RDN[] | select(.Name == "CN" or .Name == "SN" or .Name == "GN")).ProhibitEmpty = false' \
	"$ca_home/config.json" >"$ca_home/config.new"
mv "$ca_home/config.new" "$ca_home/config.json"
refca_start "$ca_home" --auto-approve

expect_json 0 add-service main --url "$REFCA_URL" --register --ca-file "$REFCA_ROOT" \
	--field O="Example LLC" --email officer@example.org
[ "$(json .status)" = ready ] || fail "the auto-approved registration is $(json .status)"

pin_file=$(secret_file user-pin "$USER_PIN")
cat >"$work/profile.json" <<EOF
{
	"version": 1,
	"service": "main",
	"template": "1.2.643.2.2.46.0.8",
	"owner_type": "employee",
	"key_type": "ec-p256",
	"carrier": "token",
	"pin_source": "file:$pin_file",
	"fields": { "O": "Example LLC", "C": "RU" }
}
EOF

# row 3 has an INN whose check digits do not match
cat >"$work/people.csv" <<'EOF'
CN,SN,GN,INN,SNILS,OU
"Ivanov, Ivan",Ivanov,Ivan,526018159021,83016613165,Sales
Petrova Anna,Petrova,Anna,860913909999,60308246248,"R&D ""Lab"""
Sidorov Oleg,Sidorov,Oleg,819482199352,51819093799,
Smirnova Olga,Smirnova,Olga,865797543274,31948757421,Sales
Kuznetsov Pavel,Kuznetsov,Pavel,911862527617,01895559701,
EOF

serial_of()
{
	pe --json list-slots | jq -r --arg l "$1" '.slots[] | select(.token.label == $l) | .token.serial'
}

# check_token LABEL CN: the token holds one key and one certificate for it,
# with CN in its subject, issued by the CA
check_token()
{
	[ "$(count_objects "$1" privkey)" -eq 1 ] || fail "token $1 does not hold one private key"
	[ "$(count_objects "$1" cert)" -eq 1 ] || fail "token $1 does not hold one certificate"
	p11tool "$1" --list-objects --type cert >"$work/certs"
	cert_id=$(sed -n 's/^ *ID: *//p' "$work/certs")
	key_id=$(object_block "$1" privkey "$(sed -n 's/^ *label: *//p' "$work/certs")" |
		sed -n 's/^ *ID: *//p')
	[ -n "$cert_id" ] && [ "$cert_id" = "$key_id" ] ||
		fail "token $1: the certificate's ID '$cert_id' is not its key's '$key_id'"
	p11tool "$1" --read-object --type cert --id "$cert_id" -o "$work/$1.der"
	openssl x509 -inform DER -in "$work/$1.der" -out "$work/$1.pem"
	openssl verify -CAfile "$REFCA_ROOT" "$work/$1.pem" >/dev/null ||
		fail "token $1: the certificate does not chain to the CA"
	openssl x509 -in "$work/$1.pem" -noout -subject -nameopt sep_multiline,sname,utf8 \
		>"$work/$1.subject"
	grep -qF "CN=$2" "$work/$1.subject" ||
		{ cat "$work/$1.subject" >&2; fail "token $1: the subject is not $2's"; }
	grep -qF "O=Example LLC" "$work/$1.subject" || fail "token $1: the profile's O is missing"
	openssl x509 -in "$work/$1.pem" -noout -pubkey | openssl pkey -pubin -outform DER \
		-out "$work/$1.cert-spki.der"
	spki_bits "$work/$1.cert-spki.der" >"$work/$1.cert-bits"
	token_pubkey_bits "$1" "$cert_id" >"$work/$1.key-bits"
	cmp -s "$work/$1.cert-bits" "$work/$1.key-bits" ||
		fail "token $1: the certificate is not for the key on the token"
}

# 1. the first run: two workers, four rows installed, row 3 failed alone (exit 2)
expect_rc 2 --json batch "$work/people.csv" --profile "$work/profile.json" --workers 2
cp "$work/out" "$work/run1.jsonl"
jq -e . "$work/run1.jsonl" >/dev/null || fail "--json events are not JSON lines"
tail -n 1 "$work/run1.jsonl" | jq -e '.ok == true and .event == "summary" and .rows == 5 and
	.installed == 4 and .failed == 1 and .skipped == 0 and .workers == 2 and
	.exit_status == 2 and .tokens == 5' >/dev/null ||
	{ tail -n 1 "$work/run1.jsonl" >&2; fail "the summary is not 4 installed, 1 failed"; }
jq -se '[.[] | select(.event == "row" and .row == 3)] | last |
	.state == "failed" and .error == "usage" and (.reason | test("INN"))' \
	"$work/run1.jsonl" >/dev/null || fail "row 3 did not fail on its INN"
# every state of a request is an event: new ... acknowledged
jq -se '[.[] | select(.event == "row" and .row == 1) | .request_state] |
	index("new") != null and index("key-ready") != null and index("acknowledged") != null' \
	"$work/run1.jsonl" >/dev/null || fail "the events of row 1 lack request states"
for i in 1 2 4 5; do
	jq -se --argjson r "$i" '[.[] | select(.event == "row" and .row == $r)] | last |
		.state == "installed" and .request_state == "acknowledged" and .token_serial != null' \
		"$work/run1.jsonl" >/dev/null || fail "row $i is not installed"
done
# rows in file order get tokens in slot order (SoftHSM numbers its slots by
# serial); the row that failed takes none
set -- $(pe --json list-slots | jq -r '.slots[] | select(.token.label != "") | .token.label')
[ $# -eq 5 ] || fail "not five tokens in the slots: $*"
L1=$1 L2=$2 L3=$3 L4=$4 L5=$5
for pair in "1 $L1 Ivanov, Ivan" "2 $L2 Petrova Anna" "4 $L3 Smirnova Olga" \
	"5 $L4 Kuznetsov Pavel"; do
	set -- $pair
	row=$1
	label=$2
	shift 2
	serial=$(jq -sr --argjson r "$row" '[.[] | select(.event == "row" and .row == $r)] | last |
		.token_serial' "$work/run1.jsonl")
	[ "$serial" = "$(serial_of "$label")" ] || fail "row $row is not on token $label"
	check_token "$label" "$*"
done
[ "$(count_objects "$L5" privkey)" -eq 0 ] || fail "token $L5 was used, with only four good rows"
grep -qF 'OU=R&D "Lab"' "$work/$L2.subject" ||
	{ cat "$work/$L2.subject" >&2; fail "the quoted CSV field did not reach the subject"; }
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq 4 ] || fail "not four requests recorded"

# 2. a re-run: every done row skipped, no new request, no new key; still exit 2
expect_rc 2 batch "$work/people.csv" --profile "$work/profile.json" --workers 2
expect_out "row 1 (line 2): skipped"
expect_out "row 3 (line 4): failed"
expect_out "skipped                  4"
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq 4 ] || fail "the re-run made new requests"
for label in "$L1" "$L2" "$L3" "$L4"; do
	[ "$(count_objects "$label" privkey)" -eq 1 ] || fail "the re-run made a key on $label"
done

# 3. a serial column: the named token is used; a serial not present fails alone (exit 3)
cat >"$work/named.csv" <<EOF
serial,CN,SN,GN,INN,SNILS
$(serial_of "$L5"),Popov Ilya,Popov,Ilya,971147104916,74650752921
0123456789abcdef,Lebedev Yuri,Lebedev,Yuri,170342366774,12768426891
EOF
expect_rc 3 --json batch "$work/named.csv" --profile "$work/profile.json"
tail -n 1 "$work/out" | jq -e '.installed == 1 and .failed == 1 and .exit_status == 3' \
	>/dev/null || { tail -n 1 "$work/out" >&2; fail "named.csv: not 1 installed, 1 failed"; }
jq -se '[.[] | select(.event == "row" and .row == 2)] | last |
	.state == "failed" and .error == "not_found" and (.reason | test("0123456789abcdef"))' \
	"$work/out" >/dev/null || fail "the absent serial is not named"
check_token "$L5" "Popov Ilya"

# 4. rows beyond the tokens wait (exit 10): no token is free now
cat >"$work/more.csv" <<'EOF'
CN,SN,GN,INN,SNILS
Volkov Denis,Volkov,Denis,465632122354,30792440269
EOF
expect_rc 10 batch "$work/more.csv" --profile "$work/profile.json"
expect_out "waiting"
expect_out "wait for a token"

# 5. usage: a bad column, a missing profile, no file
printf 'CN,Shoe size\nX,42\n' >"$work/bad.csv"
expect_json 2 batch "$work/bad.csv" --profile "$work/profile.json"
expect_err "Shoe size"
expect_json 2 batch "$work/people.csv" --profile "$work/none.json"
expect_json 2 batch --profile "$work/profile.json"

# 6. killed mid-way (after a request is submitted), then run again: the rows
# under way are continued on their tokens, no second request, no second key.
# One worker, so that the kill finds no other row inside C_GenerateKeyPair:
# SoftHSM killed there leaves a public key with the request's label and a
# private key without one, and the re-run then refuses the taken label.
make_tokens k1 k2
printf '%s\n' CN,SN,GN,INN,SNILS "Orlov Ivan,Orlov,Ivan,526018159021,83016613165" \
	"Belova Anna,Belova,Anna,860913909999,60308246248" >"$work/killed.csv"
expect_json 0 list-requests
before=$(json '.requests | length')
set +e
P11ENROLL_TEST_KILL_AFTER=submitted pe batch "$work/killed.csv" --profile "$work/profile.json" \
	--workers 1 >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 137 ] || { cat "$work/err" >&2; fail "the killed batch exited $rc, not 137 (SIGKILL)"; }
expect_json 0 list-requests
json '.requests[].state' | grep -qx submitted || fail "no request was left submitted"
expect_rc 0 --json batch "$work/killed.csv" --profile "$work/profile.json" --workers 2
tail -n 1 "$work/out" | jq -e '.installed + .skipped == 2 and .failed == 0 and .installed >= 1' \
	>/dev/null || { tail -n 1 "$work/out" >&2; fail "the re-run did not finish both rows"; }
expect_json 0 list-requests
[ "$(json '.requests | length')" -eq $((before + 2)) ] ||
	fail "the rows killed mid-way got new requests on the re-run"
for label in k1 k2; do
	[ "$(count_objects "$label" privkey)" -eq 1 ] || fail "token $label has not one key"
	[ "$(count_objects "$label" cert)" -eq 1 ] || fail "token $label has not one certificate"
done

# 7. init_token: the empty slot SoftHSM offers is set up (label, SO PIN, user
# PIN from the profile's sources) and enrolled
so_file=$(secret_file so-pin "$SO_PIN")
jq --arg so "file:$so_file" '. + {"init_token": true, "so_pin_source": $so,
	"token_label": "batch-new"}' "$work/profile.json" >"$work/init.json"
printf '%s\n' CN,SN,GN,INN,SNILS "Zaitseva Vera,Zaitseva,Vera,465632122354,30792440269" \
	>"$work/new.csv"
expect_rc 0 --json batch "$work/new.csv" --profile "$work/init.json"
tail -n 1 "$work/out" | jq -e '.installed == 1' >/dev/null ||
	{ tail -n 1 "$work/out" >&2; fail "the new token was not enrolled"; }
check_token batch-new "Zaitseva Vera"
# the SO PIN is the one of so_pin_source: it sets the user PIN (to the same)
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label batch-new --login --login-type so \
	--so-pin "$SO_PIN" --init-pin --new-pin "$USER_PIN" >"$work/so.out" 2>&1 ||
	{ cat "$work/so.out" >&2; fail "the new token does not take the SO PIN of so_pin_source"; }

# the audit log holds every state of every row, chained, without the PIN
expect_json 0 audit-verify
[ "$(jq -r 'select(.state == "acknowledged") | .request_id' "$P11ENROLL_HOME/audit.log" |
	wc -l)" -eq 8 ] || fail "the audit log does not hold eight acknowledged requests"
jq -se 'map(select(.state == "new")) | length == 8 and all(.origin | startswith("batch:"))' \
	"$P11ENROLL_HOME/audit.log" >/dev/null || fail "the audit log lacks the batch origins"
! grep -qF -- "$USER_PIN" "$P11ENROLL_HOME/audit.log" || fail "the PIN is in the audit log"
! grep -qF -- "$SO_PIN" "$P11ENROLL_HOME/audit.log" || fail "the SO PIN is in the audit log"
