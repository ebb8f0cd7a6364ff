#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: sh bench/request.sh BUILD_DIR [SRC_DIR]
#
# N certificate requests end to end through a CA service (EC P-256, the key
# on a throw-away SoftHSM token, the reference CA p11enroll-ca serving with
# --auto-approve on a free 127.0.0.1 port), three ways:
#   a  `p11enroll request`, one process: the key made on the token, the
#      request signed by the token, submitted, polled, the certificate
#      downloaded, checked, written next to the key, the installation
#      acknowledged to the CA (and every step recorded in its store)
#   b  the pipeline a security officer scripts today: pkcs11-tool
#      --keypairgen, openssl req with libp11's pkcs11 engine, base64, curl
#      POST of the request, jq for its id, curl of the certificate,
#      pkcs11-tool --write-object, curl of the acknowledgement
#   c  the floor: the token work of one enrollment (bench/floor: the bare
#      PKCS#11 calls, same N, a token of its own) plus the CA's own time for
#      one submit and one download (see below)
# and prints the median ms of each with the ratios b/a and a/c.
#
# Environment: BENCH_N (20), BENCH_VERBOSE=1 (the median of each step too),
# SOFTHSM_MODULE, TMPDIR (the tokens, the CA and the store live there;
# SoftHSM writes a file per object and the store and the CA commit with
# fsync, so the file system under TMPDIR sets much of every figure).
# A benchmark, not a test: nothing here fails on a time.
set -eu

[ $# -ge 1 ] || { echo "usage: sh bench/request.sh BUILD_DIR [SRC_DIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
top=$(cd "${2:-$(dirname "$0")/..}" && pwd)
n=${BENCH_N:-20}
verbose=${BENCH_VERBOSE:-0}

case "$n" in
'' | *[!0-9]* | 0) echo "request.sh: BENCH_N must be a positive number" >&2; exit 2 ;;
esac

module=${SOFTHSM_MODULE:-$(sed -n 's/^SOFTHSM_MODULE = //p' "$build/Makefile")}
module=${module:-/usr/lib/softhsm/libsofthsm2.so}
engines=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
for need in softhsm2-util pkcs11-tool openssl curl jq base64; do
	command -v "$need" >/dev/null || { echo "request.sh: $need is missing" >&2; exit 1; }
done
for need in "$module" "$engines/pkcs11.so"; do
	[ -f "$need" ] || {
		echo "request.sh: $need is missing (Debian: softhsm2, libengine-pkcs11-openssl)" >&2
		exit 1
	}
done
if [ "$verbose" = 1 ] && ! command -v perl >/dev/null; then
	echo "request.sh: BENCH_VERBOSE=1 needs perl (Time::HiRes) for the steps of a" >&2
	exit 1
fi

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p11enroll-reqbench.XXXXXX")
ca_pid=
cleanup()
{
	if [ -n "$ca_pid" ]; then
		kill -TERM "$ca_pid" 2>/dev/null || true
		wait "$ca_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! make -C "$build" p11enroll p11enroll-ca bench/floor >"$tmp/make.log" 2>&1; then
	cat "$tmp/make.log" >&2
	exit 1
fi
p11enroll=$build/p11enroll
p11enroll_ca=$build/p11enroll-ca

P11ENROLL_TOKENS_DIR=$top/tokens
P11ENROLL_HOME=$tmp/home
LC_ALL=C
BENCH_PIN=${FIXTURE_USER_PIN:-1234}
export P11ENROLL_TOKENS_DIR P11ENROLL_HOME LC_ALL BENCH_PIN
pin=$BENCH_PIN
printf '%s\n' "$pin" > "$tmp/pin"

# The token of a and b, label "bench", made anew (empty) before each pair
# of requests: SoftHSM reads every object file at C_Initialize and opens
# every one again in each C_FindObjectsInit, so the size of the token is
# part of the cost; this way a and b each meet either no object or the 3 of
# the other's request, in turn. The floor has a token of its own.
fresh_token()
{
	rm -rf "${tmp:?}/tokens"
	sh "$top/softhsm-fixtures/make-tokens.sh" "$tmp/tokens" bench
	# the new token's files reach the disk now, not in the first fsync of a
	sync -f "$tmp/tokens"
}
fresh_token
sh "$top/softhsm-fixtures/make-tokens.sh" "$tmp/floor" bench
SOFTHSM2_CONF=$tmp/tokens/softhsm2.conf
export SOFTHSM2_CONF
token_uri='pkcs11:token=bench'

die()
{
	echo "request.sh: $*" >&2
	exit 1
}

# The CA: a new p11enroll-ca home, served on a free loopback port
"$p11enroll_ca" --home "$tmp/ca" init >"$tmp/ca.init.log" 2>&1 ||
	{ cat "$tmp/ca.init.log" >&2; die "p11enroll-ca init failed"; }
"$p11enroll_ca" --home "$tmp/ca" serve --listen 127.0.0.1:0 --port-file "$tmp/ca.port" \
	--pid-file "$tmp/ca.pid" --auto-approve 2>>"$tmp/ca.log" &
ca_pid=$!
tries=100
while [ ! -s "$tmp/ca.port" ]; do
	kill -0 "$ca_pid" 2>/dev/null || { cat "$tmp/ca.log" >&2; die "p11enroll-ca serve exited"; }
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || die "p11enroll-ca serve is not listening after 10 s"
	sleep 0.1
done
port=$(cat "$tmp/ca.port")
api=https://127.0.0.1:$port/ui/api
url=$api/$(jq -r .folder "$tmp/ca/config.json")
root=$tmp/ca/ca-cert.pem

# The registered person; the subject both a and b put in their requests.
subject='/C=RU/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan/INN=500100732259/SNILS=11223344595'

# approve_newest: the operator approves the newest registration, if needed
approve_newest()
{
	reg=$("$p11enroll_ca" --home "$tmp/ca" --json list-registrations |
		jq -r '[.registrations[]] | max_by(.id | tonumber) | .id')
	"$p11enroll_ca" --home "$tmp/ca" approve-registration "$reg" >/dev/null 2>&1 || true
}

# a's service: registered by p11enroll, approved
"$p11enroll" --module "$module" --json add-service bench --url "$url" --register \
	--ca-file "$root" --field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
	--field SNILS=11223344595 --field INN=500100732259 --email ivanov@example.org \
	>"$tmp/add.json" 2>"$tmp/add.log" || { cat "$tmp/add.log" >&2; die "add-service failed"; }
if [ "$(jq -r .status "$tmp/add.json")" != ready ]; then
	approve_newest
	"$p11enroll" --module "$module" --json list-services >"$tmp/add.json" 2>"$tmp/add.log"
	[ "$(jq -r '.services[0].status' "$tmp/add.json")" = ready ] ||
		die "the service is not ready: $(cat "$tmp/add.json")"
fi

# b's registration: the same person registered with curl, as a script does
cat > "$tmp/reg.json" <<EOF
{"Comment":"","Description":"","Email":"ivanov@example.org","KeyPhrase":"",
 "OidArray":[{"2.5.4.3":"Ivanov Ivan"},{"2.5.4.4":"Ivanov"},{"2.5.4.42":"Ivan"},
 {"1.2.643.100.3":"11223344595"},{"1.2.643.3.131.1.1":"500100732259"}]}
EOF
curl -sS --fail --cacert "$root" -H 'Content-Type: application/json' \
	--data-binary @"$tmp/reg.json" "$url/regrequest" -o "$tmp/reg.out" ||
	die "registration with curl failed"
[ "$(jq -r .RegRequest.Status "$tmp/reg.out")" = A ] || approve_newest
# curl's -u from a file of its own, not the command line: --config with "user"
printf 'user = "%s:%s"\n' "$(jq -r .RegRequest.Token "$tmp/reg.out")" \
	"$(jq -r .RegRequest.Password "$tmp/reg.out")" > "$tmp/curl.auth"
rm -f "$tmp/reg.out"

# libp11's engine with MODULE_PATH set to SoftHSM, for the openssl req of b;
# the request names the CA's "User" template (1.2.643.2.2.46.0.8, v1.0) in
# the Microsoft certificate-template extension, as p11enroll's does
cat > "$tmp/engine.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engines/pkcs11.so
MODULE_PATH = $module
init = 0
[req]
distinguished_name = req_dn
req_extensions = req_ext
[req_dn]
[req_ext]
1.3.6.1.4.1.311.21.7 = DER:301006082a850302022e0008020101020100
EOF

# The floor's request to the CA: made once, with a software key
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/premade.key" -subj "$subject" -outform DER -out "$tmp/premade.der" \
	-config "$tmp/engine.cnf" -reqexts req_ext 2>"$tmp/premade.log" ||
	{ cat "$tmp/premade.log" >&2; die "openssl req (software key) failed"; }
base64 -w 0 "$tmp/premade.der" > "$tmp/premade.b64"

now()
{
	date +%s%N
}

# With BENCH_VERBOSE=1, b takes a time stamp between steps.
step_mark()
{
	[ "$verbose" = 1 ] || return 0
	now >> "$tmp/b.marks"
}

# One request of a: p11enroll request, one process.
request_a()	# INDEX
{
	"$p11enroll" --module "$module" -q request --service bench --owner-type individual \
		--token "$token_uri" --pin-source env:BENCH_PIN \
		--label "$(printf 'req-%04d' "$1")" >/dev/null 2>"$tmp/a.log"
}

# curl to the CA with b's login
ca_curl()
{
	curl -sS --fail --cacert "$root" --config "$tmp/curl.auth" "$@"
}

# One request of b: the pipeline; the security officer picks the CKA_ID.
request_b()	# INDEX
{
	label=$(printf 'pipe-%04d' "$1")
	id=$(printf '%040x' "$((0x5000 + $1))")
	pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--keypairgen --key-type EC:prime256v1 --label "$label" --id "$id" \
		>"$tmp/b.log" 2>&1 || return 1
	step_mark
	OPENSSL_CONF=$tmp/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
		-key "$token_uri;object=$label;type=private;pin-value=$pin" \
		-subj "$subject" -outform DER -out "$tmp/b.csr" >"$tmp/b.log" 2>&1 || return 1
	step_mark
	base64 -w 0 "$tmp/b.csr" > "$tmp/b.b64" || return 1
	ca_curl -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/b.b64" \
		"$api/certrequest" -o "$tmp/b.json" 2>"$tmp/b.log" || return 1
	ca_id=$(jq -r .CertRequest.CertRequestId "$tmp/b.json") || return 1
	step_mark
	ca_curl "$api/certrequest/$ca_id/rawcert" -o "$tmp/b.der" 2>"$tmp/b.log" || return 1
	step_mark
	pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--write-object "$tmp/b.der" --type cert --label "$label" --id "$id" \
		>"$tmp/b.log" 2>&1 || return 1
	step_mark
	ca_curl -H 'Content-Type: application/json' --data-binary '{"Status":"K"}' \
		"$api/certrequest/$ca_id" -o "$tmp/b.ack" 2>"$tmp/b.log"
}

# The CA's part of the floor: curl POSTs the pre-made request, then GETs the
# certificate (two curl processes, as in b). Its ms to ca.ms: for each
# call, the time from the TLS connection being up to the first byte of the
# answer (time_starttransfer - time_appconnect: the request sent, the CA
# checking the login and the request, signing and storing the certificate,
# then finding it again, the answer's way back); the wall time of both curls
# to ca-wall.ms.
ca_round()
{
	t0=$(now)
	ca_curl -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/premade.b64" \
		-w '%{time_appconnect} %{time_starttransfer}\n' -o "$tmp/c.json" \
		"$api/certrequest" >"$tmp/c.times" 2>"$tmp/c.log" || die "CA round: POST failed"
	ca_id=$(jq -r .CertRequest.CertRequestId "$tmp/c.json")
	[ "$(jq -r .CertRequest.Status "$tmp/c.json")" = C ] || die "CA round: not issued at once"
	ca_curl -w '%{time_appconnect} %{time_starttransfer}\n' -o "$tmp/c.der" \
		"$api/certrequest/$ca_id/rawcert" >>"$tmp/c.times" 2>"$tmp/c.log" ||
		die "CA round: GET rawcert failed"
	t1=$(now)
	awk '{ s += $2 - $1 } END { printf "%.3f\n", s * 1000 }' "$tmp/c.times" >> "$tmp/ca.ms"
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/ca-wall.ms"
}

# One timed request of a or b; its ms to $tmp/VARIANT.ms.
timed()	# VARIANT INDEX
{
	: > "$tmp/b.marks"
	t0=$(now)
	if ! request_"$1" "$2"; then
		echo "request.sh: variant $1, request $2 failed:" >&2
		cat "$tmp/$1.log" >&2 2>/dev/null || true
		exit 1
	fi
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/$1.ms"
	if [ "$verbose" = 1 ] && [ "$1" = b ]; then
		{ echo "$t0"; cat "$tmp/b.marks"; echo "$t1"; } |
			awk 'NR > 1 { printf "%.3f ", ($1 - p) / 1e6 } { p = $1 } END { print "" }' \
			>> "$tmp/b.steps"
	fi
}

median()	# FILE [COLUMN]
{
	sort -n -k "${2:-1},${2:-1}" "$1" | awk -v c="${2:-1}" '{ v[NR] = $c }
		END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2];
		      else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio()
{
	awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'
}

start=$(date +%s)

# Both requests of a pair ended with their certificate on the token? (untimed)
check_token()
{
	certs=$(pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--list-objects --type cert 2>/dev/null | grep -c 'Certificate Object' || true)
	[ "$certs" -eq 2 ] || die "the token holds $certs certificates after a pair, not 2"
}

# one warm-up request each, untimed; then a, b and the CA round take turns
# (a b, b a, ...) so that a load on the machine hits all alike
timed a 0
timed b 0
check_token
ca_round
: > "$tmp/a.ms"
: > "$tmp/b.ms"
: > "$tmp/b.steps"
: > "$tmp/ca.ms"
: > "$tmp/ca-wall.ms"
i=1
while [ "$i" -le "$n" ]; do
	fresh_token
	if [ $((i % 2)) = 1 ]; then
		timed a "$i"
		timed b "$i"
	else
		timed b "$i"
		timed a "$i"
	fi
	check_token
	ca_round
	i=$((i + 1))
done

# Was the CA told of every installation? (The CA's own rounds stay at C.)
acked=$("$p11enroll_ca" --home "$tmp/ca" --json list-requests |
	jq '[.requests[] | select(.status == "K")] | length')
[ "$acked" -eq $((2 * (n + 1))) ] || die "the CA has $acked acknowledged requests, not $((2 * (n + 1)))"

# the floor's token work: bench/floor on its own token, one warm-up
# enrollment dropped
floor_v=
[ "$verbose" = 1 ] && floor_v=-v
# shellcheck disable=SC2086
SOFTHSM2_CONF=$tmp/floor/softhsm2.conf "$build/bench/floor" -m "$module" -t bench \
	-p "$tmp/pin" -k ec-p256 -n "$((n + 1))" $floor_v >"$tmp/floor.all" 2>"$tmp/floor.log" ||
	{ cat "$tmp/floor.log" >&2; die "bench/floor failed"; }
tail -n +2 "$tmp/floor.all" > "$tmp/floor.ms"

# With BENCH_VERBOSE=1: where a's time goes, from p11enroll -v's debug lines
# time-stamped as they come (extra runs, not in the medians above)
if [ "$verbose" = 1 ]; then
	: > "$tmp/a.steps"
	i=1
	while [ "$i" -le 5 ]; do
		fresh_token
		{
			perl -MTime::HiRes=time -e 'printf "%.6f start\n", time'
			"$p11enroll" --module "$module" -v request --service bench \
				--owner-type individual --token "$token_uri" --pin-source env:BENCH_PIN \
				--label "$(printf 'verbose-%04d' "$i")" 2>&1 >/dev/null |
				perl -MTime::HiRes=time -ne '$| = 1; printf "%.6f %s", time, $_'
			perl -MTime::HiRes=time -e 'printf "%.6f exit\n", time'
		} > "$tmp/a.verbose"
		# the module message; the first 'token ... in slot' (after the CA's
		# login status, templates and profile), the second (the token
		# opened, its profile found); then each state
		awk '
			/ start$/ { t["start"] = $1 }
			/module\(s\) loaded/ { t["loaded"] = $1 }
			/in slot/ { slot++; t[slot == 1 ? "ca" : "carrier"] = $1 }
			/: key-ready$/ { t["key"] = $1 }
			/: csr-ready$/ { t["csr"] = $1 }
			/: submitted$/ { t["sub"] = $1 }
			/: issued$/ { t["iss"] = $1 }
			/: installed$/ { t["ins"] = $1 }
			/: acknowledged$/ { t["ack"] = $1 }
			/ exit$/ { t["exit"] = $1 }
			END {
				n = split("start loaded ca carrier key csr sub iss ins ack exit", k, " ")
				for (i = 2; i <= n; i++) {
					if (!(k[i] in t) || !(k[i - 1] in t)) { print "incomplete"; exit }
					printf "%.3f ", (t[k[i]] - t[k[i - 1]]) * 1000
				}
				print ""
			}' "$tmp/a.verbose" >> "$tmp/a.steps"
		i=$((i + 1))
	done
	if grep -q incomplete "$tmp/a.steps"; then
		echo "request.sh: the steps of a could not be read from -v" >&2
	else
		printf 'a: median ms per step over 5 more requests (p11enroll -v, time-stamped):\n' >&2
		printf '   start, store, module load %s | CA: TLS, login status, templates,\n' \
			"$(median "$tmp/a.steps" 1)" >&2
		printf '   profile %s | token found %s | login, key pair, ID set %s | request signed %s\n' \
			"$(median "$tmp/a.steps" 2)" "$(median "$tmp/a.steps" 3)" \
			"$(median "$tmp/a.steps" 4)" "$(median "$tmp/a.steps" 5)" >&2
		printf '   submit %s | status, download %s | check, install %s | acknowledge %s\n' \
			"$(median "$tmp/a.steps" 6)" "$(median "$tmp/a.steps" 7)" \
			"$(median "$tmp/a.steps" 8)" "$(median "$tmp/a.steps" 9)" >&2
		printf '   close, exit %s (each state step ends with its commit to the store;\n' \
			"$(median "$tmp/a.steps" 10)" >&2
		echo '   the first and the last step include a perl start of the time-stamping)' >&2
	fi
	printf 'b: median ms per step: keypairgen %s, openssl req %s, base64+POST+jq %s,\n' \
		"$(median "$tmp/b.steps" 1)" "$(median "$tmp/b.steps" 2)" \
		"$(median "$tmp/b.steps" 3)" >&2
	printf '   GET rawcert %s, write-object %s, ack %s\n' "$(median "$tmp/b.steps" 4)" \
		"$(median "$tmp/b.steps" 5)" "$(median "$tmp/b.steps" 6)" >&2
	echo "(with BENCH_VERBOSE=1, b also pays 5 more date(1) calls per request)" >&2
	echo "floor, median ms per step (the first enrollment included):" >&2
	sed -n 's/^ *\(C_[A-Za-z()+_]*\) *\([0-9.]*\)$/   \1 \2/p' "$tmp/floor.log" >&2
fi
elapsed=$(($(date +%s) - start))

a=$(median "$tmp/a.ms")
b=$(median "$tmp/b.ms")
ft=$(median "$tmp/floor.ms")
ca=$(median "$tmp/ca.ms")
cw=$(median "$tmp/ca-wall.ms")
c=$(awk -v x="$ft" -v y="$ca" 'BEGIN { printf "%.1f", x + y }')
fs=$(stat -f -c %T "$tmp")
cat <<EOF

p11enroll request bench: $n requests per variant, ec-p256, SoftHSM $(softhsm2-util --version),
$(openssl version | cut -d' ' -f1-2), $(curl --version | head -n 1 | cut -d' ' -f1-2), $(nproc) CPUs; tokens, store and CA on $fs.
One request: a key pair generated on the token, a PKCS#10 request signed by
it, submitted to p11enroll-ca (auto-approving, on 127.0.0.1 over TLS), the
certificate downloaded, written to the token next to the key, the
installation acknowledged. Median wall time per request:

  a  p11enroll request: 1 process, 1 TLS connection (login check,
     templates, profile, submit, status, download, acknowledgement),
     the certificate checked, every step committed to its store     $(printf '%8s ms' "$a")
  b  pkcs11-tool --keypairgen, openssl req -engine pkcs11 (libp11),
     base64, curl POST, jq, curl rawcert, pkcs11-tool --write-object,
     curl acknowledgement: 8 processes, 3 TLS connections            $(printf '%8s ms' "$b")
  c  floor: token work (bench/floor) $(printf '%6s' "$ft") ms + the CA's time for
     a submit and a download $(printf '%6s' "$ca") ms                             $(printf '%8s ms' "$c")

  b/a $(ratio "$b" "$a")   a/c $(ratio "$a" "$c")

a, b: one CA; one token, made anew before each pair (a b, then b a, ...),
so each request finds 0 or 3 objects there; timed with two date(1) calls
each; a warm-up request each first.
c: bench/floor in 1 process on a token of its own: C_GenerateKeyPair,
C_GetAttributeValue, C_SignInit + C_Sign, C_CreateObject of a ready
certificate; module load and login untimed. The CA's time: a pre-made
request (software key) POSTed by curl, then its certificate GET by curl:
curl's time_starttransfer - time_appconnect of both, i.e. from the TLS
connection up to the answer's first byte: the CA checking the login (HTTP
Basic) and the request, signing, storing, reading back, plus 2 loopback
round trips; no process start, TCP or TLS handshake (the two curls' wall
time: $cw ms).
c adds the two medians. Run time: $elapsed s.
EOF
