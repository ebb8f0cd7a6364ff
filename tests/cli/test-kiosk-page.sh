#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kiosk page in a real browser: Debian's chromium, headless, driven by
# playwright-core from npm (installed once into the build tree's tests/node).
# tests/browser/kiosk.mjs walks the page: a new token, its PIN chosen twice,
# "installed"; a second token rejected with its reason. The screenshots are
# kept in this test's directory under the build tree (tests/tmp/test-kiosk-page).
set -eu
. "$TEST_LIB/common.sh"
need pkcs11-tool node npm
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium"

node_dir=$TEST_TMP/../node
if [ ! -f "$node_dir/node_modules/playwright-core/package.json" ]; then
	mkdir -p "$node_dir"
	(cd "$node_dir" && npm install --no-save --no-audit --no-fund --prefix . playwright-core) \
		>"$work/npm.log" 2>&1 || { cat "$work/npm.log" >&2; skip "cannot install playwright-core"; }
fi

# PINs no port number or serial can contain
USER_PIN=58203917
NEW_PIN=73915482
export USER_PIN
. "$TEST_LIB/kiosk.sh"
refca_init "$ca_home"
refca_start "$ca_home"
service_setup

cat >"$work/page.json" <<EOF2
{
	"version": 1,
	"service": "main",
	"template": "1.2.643.2.2.46.0.8",
	"owner_type": "individual",
	"key_type": "ec-p256",
	"init_token": true,
	"so_pin_source": "env:SO_PIN",
	"subject": { "source": "ask", "ask": ["OU"] },
	"pin": { "min_length": 6, "max_length": 8, "digits_only": true },
	"ca_wait_seconds": 60,
	"poll_interval_ms": 100
}
EOF2
new_token a kiosk-page-a so
new_token b kiosk-page-b full
# the operator's commands for the browser walk run natively, also for memcheck
# (the same approve-request and reject-request run under valgrind in test-kiosk.sh)
cat >"$work/helper.sh" <<EOF2
set -eu
newest()
{
	"$P11ENROLL_CA" --home "$ca_home" --json list-requests |
		jq -r '[.requests[]] | max_by(.id | tonumber) | .id'
}
case \$1 in
insert) mv "$work/pulled/\$(cat "$work/dir-\$2")" "$work/tokens/" ;;
remove) mv "$work/tokens/\$(cat "$work/dir-\$2")" "$work/pulled/" ;;
approve) "$P11ENROLL_CA" --home "$ca_home" approve-request "\$(newest)" >/dev/null ;;
reject) "$P11ENROLL_CA" --home "$ca_home" reject-request "\$(newest)" \
	--reason "not on the staff list" >/dev/null ;;
esac
EOF2
echo "$a_dir" >"$work/dir-a"
echo "$b_dir" >"$work/dir-b"

kiosk_start "$work/page.json" --http 127.0.0.1:0
url=$(jq -r 'select(.event == "started") | .url' "$work/kiosk.out")
case $url in http://127.0.0.1:*/) ;; *) fail "no page URL in the started event: '$url'" ;; esac
# the page's status is answered for loopback names only
for host in attacker.example 127.attacker.example; do
	curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "${url}status" |
		grep -qx 403 || fail "the Host name $host was answered"
done
# a form posted from another page is refused
curl -s -o /dev/null -w '%{http_code}' -H 'Origin: http://attacker.example' -d "pin=$NEW_PIN" \
	"${url}pin" | grep -qx 403 || fail "a form from another origin was answered"
# the PIN goes in a POST body: a PIN in the URL is not taken
curl -s -o /dev/null -w '%{http_code}' "${url}pin?pin=$NEW_PIN" | grep -qx 404 ||
	fail "GET /pin was answered"

# under valgrind (memcheck) the kiosk is slower: the page waits three times as long
wait_ms=30000
[ -z "${P11ENROLL_VALGRIND:-}" ] || wait_ms=90000
KIOSK_NODE_DIR=$node_dir KIOSK_URL=$url KIOSK_HELPER=$work/helper.sh KIOSK_PIN=$NEW_PIN \
	KIOSK_OLD_PIN=$USER_PIN KIOSK_OUT=$work KIOSK_WAIT_MS=$wait_ms \
	node "$TEST_LIB/../browser/kiosk.mjs" >"$work/browser.log" 2>&1 ||
	{ cat "$work/browser.log" "$work/kiosk.err" >&2; fail "the browser walk failed"; }
kiosk_stop
for shot in kiosk-waiting kiosk-pin kiosk-processing kiosk-installed kiosk-rejected; do
	[ -s "$work/$shot.png" ] || fail "no screenshot $shot.png"
done
# the PIN chosen on the page is the token's user PIN now; the certificate is there
insert "$a_dir"
USER_PIN=$NEW_PIN
token_check a kiosk-page-a
openssl x509 -in "$work/a.pem" -noout -subject | grep -q "OU *= *Front desk" ||
	fail "the OU typed on the page is not in the certificate"
# no PIN in what the kiosk printed
for f in "$work/kiosk.out" "$work/kiosk.err"; do
	grep -q -e "$NEW_PIN" -e "58203917" "$f" && fail "a PIN is in $f"
done
has "$work/kiosk.out" '.event == "rejected" and (.reason | test("not on the staff list"))' ||
	fail "no rejected event with the reason"
