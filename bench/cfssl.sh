#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: sh bench/cfssl.sh BUILD_DIR [SRC_DIR]
#
# N certificate requests end to end through CFSSL (`cfssl serve`, Debian's
# golang-cfssl, on a free 127.0.0.1 port, plain http; a CA made by `cfssl
# gencert -initca`, a profile that signs with an HMAC auth key), EC P-256,
# the key on a throw-away SoftHSM token, three ways:
#   a  `p11enroll request`, one process: the key and profile checked, the
#      key made on the token, the request signed by the token, sent to
#      /authsign, the certificate from the answer checked against the key
#      and the root, written next to the key (every step recorded)
#   b  the pipeline a security officer scripts today: pkcs11-tool
#      --keypairgen, openssl req with libp11's pkcs11 engine, jq to build the
#      sign request, openssl dgst -hmac for its token, base64, curl POST to
#      /authsign, jq for the certificate, pkcs11-tool --write-object
#   c  the floor: the token work of one enrollment (bench/floor: the bare
#      PKCS#11 calls, same N, a token of its own) plus CFSSL's own time for
#      one authsign (see below)
# and prints the median ms of each with the ratios b/a and a/c.
#
# Environment: BENCH_N (20), BENCH_VERBOSE=1 (the median of each step too),
# SOFTHSM_MODULE, TMPDIR (the tokens and the store live there; SoftHSM
# writes a file per object and the store commits each step with fsync, so
# the file system under TMPDIR, and what else writes to it, sets much of
# every figure: TMPDIR=/dev/shm shows the figures without the disk).
# A benchmark, not a test: nothing here fails on a time.
set -eu

[ $# -ge 1 ] || { echo "usage: sh bench/cfssl.sh BUILD_DIR [SRC_DIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
top=$(cd "${2:-$(dirname "$0")/..}" && pwd)
n=${BENCH_N:-20}
verbose=${BENCH_VERBOSE:-0}

case "$n" in
'' | *[!0-9]* | 0) echo "cfssl.sh: BENCH_N must be a positive number" >&2; exit 2 ;;
esac

module=${SOFTHSM_MODULE:-$(sed -n 's/^SOFTHSM_MODULE = //p' "$build/Makefile")}
module=${module:-/usr/lib/softhsm/libsofthsm2.so}
engines=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
for need in softhsm2-util pkcs11-tool openssl curl jq base64 cfssl cfssljson ss; do
	command -v "$need" >/dev/null || { echo "cfssl.sh: $need is missing" >&2; exit 1; }
done
for need in "$module" "$engines/pkcs11.so"; do
	[ -f "$need" ] || {
		echo "cfssl.sh: $need is missing (Debian: softhsm2, libengine-pkcs11-openssl)" >&2
		exit 1
	}
done
if [ "$verbose" = 1 ] && ! command -v perl >/dev/null; then
	echo "cfssl.sh: BENCH_VERBOSE=1 needs perl (Time::HiRes) for the steps of a" >&2
	exit 1
fi

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p11enroll-cfsslbench.XXXXXX")
cfssl_pid=
cleanup()
{
	if [ -n "$cfssl_pid" ]; then
		kill -TERM "$cfssl_pid" 2>/dev/null || true
		wait "$cfssl_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die()
{
	echo "cfssl.sh: $*" >&2
	exit 1
}

if ! make -C "$build" p11enroll bench/floor >"$tmp/make.log" 2>&1; then
	cat "$tmp/make.log" >&2
	exit 1
fi
p11enroll=$build/p11enroll

P11ENROLL_TOKENS_DIR=$top/tokens
P11ENROLL_HOME=$tmp/home
LC_ALL=C
BENCH_PIN=${FIXTURE_USER_PIN:-1234}
export P11ENROLL_TOKENS_DIR P11ENROLL_HOME LC_ALL BENCH_PIN
pin=$BENCH_PIN
printf '%s\n' "$pin" > "$tmp/pin"

# The token of a and b, label "bench", made anew (empty) before each pair
# of requests, as in bench/request.sh: SoftHSM's cost grows with the
# objects on the token. The floor has a token of its own.
fresh_token()
{
	rm -rf "${tmp:?}/tokens"
	sh "$top/softhsm-fixtures/make-tokens.sh" "$tmp/tokens" bench
	sync -f "$tmp/tokens"
}
fresh_token
sh "$top/softhsm-fixtures/make-tokens.sh" "$tmp/floor" bench
SOFTHSM2_CONF=$tmp/tokens/softhsm2.conf
export SOFTHSM2_CONF
token_uri='pkcs11:token=bench'

# The CA: cfssl's own root (EC P-256) and a profile "client" that signs
# with auth key key1 only
mkdir "$tmp/ca"
printf '%s\n' '{"CN":"p11enroll bench CFSSL CA","key":{"algo":"ecdsa","size":256},' \
	'"names":[{"O":"p11enroll bench"}]}' > "$tmp/ca/csr.json"
(cd "$tmp/ca" && cfssl gencert -initca csr.json 2>gencert.log | cfssljson -bare ca) ||
	{ cat "$tmp/ca/gencert.log" >&2; die "cfssl gencert -initca failed"; }
key=$(openssl rand -hex 16)
printf '%s\n' "$key" > "$tmp/auth.key"
cat > "$tmp/ca/config.json" <<EOF
{"auth_keys": {"key1": {"type": "standard", "key": "$key"}},
 "signing": {"default": {"expiry": "8760h", "usages": ["digital signature"], "auth_key": "key1"},
  "profiles": {"client": {"expiry": "8760h", "usages": ["digital signature", "client auth"],
                          "auth_key": "key1"}}}}
EOF
cfssl serve -address 127.0.0.1 -port 0 -ca "$tmp/ca/ca.pem" -ca-key "$tmp/ca/ca-key.pem" \
	-config "$tmp/ca/config.json" 2>"$tmp/ca/serve.log" &
cfssl_pid=$!
tries=100
port=
while [ -z "$port" ]; do
	kill -0 "$cfssl_pid" 2>/dev/null || { cat "$tmp/ca/serve.log" >&2; die "cfssl serve exited"; }
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || die "cfssl serve is not listening after 10 s"
	sleep 0.1
	port=$(ss -Hltnp | awk -v p="pid=$cfssl_pid," 'index($0, p) {
		n = split($4, a, ":"); print a[n]; exit }')
done
url=http://127.0.0.1:$port
api=$url/api/v1/cfssl
root=$tmp/ca/ca.pem

# a's service: the profile as the login, the auth key as the password
"$p11enroll" --module "$module" --json add-service bench --protocol cfssl --url "$url" \
	--login client --password-source "file:$tmp/auth.key" >"$tmp/add.json" 2>"$tmp/add.log" ||
	{ cat "$tmp/add.log" >&2; die "add-service failed"; }
"$p11enroll" --module "$module" install-roots --service bench --accept-fingerprint \
	"$(openssl x509 -in "$root" -noout -fingerprint -sha256 | cut -d= -f2)" \
	>"$tmp/roots.log" 2>&1 || { cat "$tmp/roots.log" >&2; die "install-roots failed"; }

# The subject both a and b put in their requests
subject='/C=RU/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan/INN=500100732259/SNILS=11223344595'

# libp11's engine with MODULE_PATH set to SoftHSM, for the openssl req of b
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
[req_dn]
EOF

# The floor's request to CFSSL: made once, with a software key, wrapped for
# /authsign once
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/premade.key" -subj "$subject" -out "$tmp/premade.csr" 2>"$tmp/premade.log" ||
	{ cat "$tmp/premade.log" >&2; die "openssl req (software key) failed"; }

# authsign_body CSR_PEM OUT: the /authsign request for CSR_PEM, as b builds it
authsign_body()
{
	jq -cn --rawfile csr "$1" '{certificate_request: $csr, profile: "client"}' \
		> "$2.inner" || return 1
	token=$(openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary "$2.inner" |
		base64 -w 0) || return 1
	printf '{"token":"%s","request":"%s"}' "$token" "$(base64 -w 0 "$2.inner")" > "$2"
}
authsign_body "$tmp/premade.csr" "$tmp/premade.json"

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
		--field C=RU --field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
		--field INN=500100732259 --field SNILS=11223344595 \
		--label "$(printf 'req-%04d' "$1")" >/dev/null 2>"$tmp/a.log"
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
		-subj "$subject" -out "$tmp/b.csr" >"$tmp/b.log" 2>&1 || return 1
	step_mark
	authsign_body "$tmp/b.csr" "$tmp/b.json" 2>"$tmp/b.log" || return 1
	step_mark
	curl -sS --fail -H 'Content-Type: application/json' --data-binary @"$tmp/b.json" \
		"$api/authsign" -o "$tmp/b.answer" 2>"$tmp/b.log" || return 1
	step_mark
	jq -er .result.certificate "$tmp/b.answer" > "$tmp/b.pem" 2>"$tmp/b.log" || return 1
	step_mark
	pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--write-object "$tmp/b.pem" --type cert --label "$label" --id "$id" \
		>"$tmp/b.log" 2>&1
}

# CFSSL's part of the floor: curl POSTs the pre-made /authsign request. Its
# ms to ca.ms: the time from the connection being up to the first byte of
# the answer (time_starttransfer - time_connect: the request sent, CFSSL
# checking the token and the request, signing, the answer's way back); the
# wall time of the curl to ca-wall.ms.
ca_round()
{
	t0=$(now)
	curl -sS --fail -H 'Content-Type: application/json' --data-binary @"$tmp/premade.json" \
		-w '%{time_connect} %{time_starttransfer}\n' -o "$tmp/c.answer" \
		"$api/authsign" >"$tmp/c.times" 2>"$tmp/c.log" || die "CA round: POST failed"
	t1=$(now)
	[ "$(jq -r .success "$tmp/c.answer")" = true ] || die "CA round: not signed"
	awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' "$tmp/c.times" >> "$tmp/ca.ms"
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/ca-wall.ms"
}

# One timed request of a or b; its ms to $tmp/VARIANT.ms.
timed()	# VARIANT INDEX
{
	: > "$tmp/b.marks"
	t0=$(now)
	if ! request_"$1" "$2"; then
		echo "cfssl.sh: variant $1, request $2 failed:" >&2
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

# Both requests of a pair ended with their certificate on the token, chaining
# to the CFSSL root? (untimed)
check_token()
{
	certs=$(pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--list-objects --type cert 2>/dev/null | grep -c 'Certificate Object' || true)
	[ "$certs" -eq 2 ] || die "the token holds $certs certificates after a pair, not 2"
	openssl verify -CAfile "$root" "$tmp/b.pem" >/dev/null 2>&1 ||
		die "b's certificate does not chain to the CFSSL root"
}

start=$(date +%s)

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
installed=$("$p11enroll" --module "$module" --json list-requests |
	jq '[.requests[] | select(.status == "installed")] | length')
[ "$installed" -eq $((n + 1)) ] || die "$installed of a's $((n + 1)) requests are installed"

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
				--field C=RU --field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan \
				--field INN=500100732259 --field SNILS=11223344595 \
				--label "$(printf 'verbose-%04d' "$i")" 2>&1 >/dev/null |
				perl -MTime::HiRes=time -ne '$| = 1; printf "%.6f %s", time, $_'
			perl -MTime::HiRes=time -e 'printf "%.6f exit\n", time'
		} > "$tmp/a.verbose"
		# the module message; the key check's answer; the token found
		# twice (the carrier opened, then its key); then each state
		awk '
			/ start$/ { t["start"] = $1 }
			/module\(s\) loaded/ { t["loaded"] = $1 }
			/sign: HTTP 400$/ { t["check"] = $1 }
			/in slot/ { slot++; if (slot == 1) t["carrier"] = $1 }
			/: key-ready$/ { t["key"] = $1 }
			/: csr-ready$/ { t["csr"] = $1 }
			/: issued$/ { t["iss"] = $1 }
			/: acknowledged$/ { t["ack"] = $1 }
			/ exit$/ { t["exit"] = $1 }
			END {
				n = split("start loaded check carrier key csr iss ack exit", k, " ")
				for (i = 2; i <= n; i++) {
					if (!(k[i] in t) || !(k[i - 1] in t)) { print "incomplete"; exit }
					printf "%.3f ", (t[k[i]] - t[k[i - 1]]) * 1000
				}
				print ""
			}' "$tmp/a.verbose" >> "$tmp/a.steps"
		i=$((i + 1))
	done
	if grep -q incomplete "$tmp/a.steps"; then
		echo "cfssl.sh: the steps of a could not be read from -v" >&2
	else
		printf 'a: median ms per step over 5 more requests (p11enroll -v, time-stamped):\n' >&2
		printf '   start, store, module load %s | key check (POST authsign) %s\n' \
			"$(median "$tmp/a.steps" 1)" "$(median "$tmp/a.steps" 2)" >&2
		printf '   token found, profile %s | login, key pair %s | request signed %s\n' \
			"$(median "$tmp/a.steps" 3)" "$(median "$tmp/a.steps" 4)" \
			"$(median "$tmp/a.steps" 5)" >&2
		printf '   authsign, certificate taken %s | check, install %s | close, exit %s\n' \
			"$(median "$tmp/a.steps" 6)" "$(median "$tmp/a.steps" 7)" \
			"$(median "$tmp/a.steps" 8)" >&2
		echo '   (each state step ends with its commit to the store; the first and the' >&2
		echo '   last step include a perl start of the time-stamping)' >&2
	fi
	printf 'b: median ms per step: keypairgen %s, openssl req %s, jq+HMAC+base64 %s,\n' \
		"$(median "$tmp/b.steps" 1)" "$(median "$tmp/b.steps" 2)" \
		"$(median "$tmp/b.steps" 3)" >&2
	printf '   curl authsign %s, jq certificate %s, write-object %s\n' \
		"$(median "$tmp/b.steps" 4)" "$(median "$tmp/b.steps" 5)" \
		"$(median "$tmp/b.steps" 6)" >&2
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

p11enroll cfssl bench: $n requests per variant, ec-p256, SoftHSM $(softhsm2-util --version),
$(openssl version | cut -d' ' -f1-2), $(curl --version | head -n 1 | cut -d' ' -f1-2), cfssl $(cfssl version 2>/dev/null | sed -n 's/^Version: //p'), $(nproc) CPUs; tokens and store on $fs.
One request: a key pair generated on the token, a PKCS#10 request signed by
it, sent to cfssl serve's /authsign (HMAC auth key, on 127.0.0.1, plain
http), the certificate in the answer written to the token next to the key.
Median wall time per request:

  a  p11enroll request: 1 process, 1 HTTP connection (the key check,
     authsign), the certificate checked against the key and the root,
     every step committed to its store                                $(printf '%8s ms' "$a")
  b  pkcs11-tool --keypairgen, openssl req -engine pkcs11 (libp11),
     jq, openssl dgst -hmac, base64, curl POST authsign, jq,
     pkcs11-tool --write-object: 9 processes                          $(printf '%8s ms' "$b")
  c  floor: token work (bench/floor) $(printf '%6s' "$ft") ms + CFSSL's time for
     one authsign $(printf '%6s' "$ca") ms                                            $(printf '%8s ms' "$c")

  b/a $(ratio "$b" "$a")   a/c $(ratio "$a" "$c")

a, b: one CFSSL; one token, made anew before each pair (a b, then b a, ...),
so each request finds 0 or 3 objects there; timed with two date(1) calls
each; a warm-up request each first.
c: bench/floor in 1 process on a token of its own: C_GenerateKeyPair,
C_GetAttributeValue, C_SignInit + C_Sign, C_CreateObject of a ready
certificate; module load and login untimed. CFSSL's time: a pre-made
/authsign request (software key) POSTed by curl: time_starttransfer -
time_connect, i.e. from the TCP connection up to the answer's first byte:
the request sent, the token and request checked, the certificate signed,
1 loopback round trip; no process start (the curl's wall time: $cw ms).
c adds the two medians. Run time: $elapsed s.
EOF
