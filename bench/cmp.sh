#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: sh bench/cmp.sh BUILD_DIR [SRC_DIR]
#
# N certificate requests for an existing EC P-256 key on a throw-away
# SoftHSM token through the 'openssl cmp' mock server (lightweight CMP over
# HTTP, P10CR, MAC protection from a shared secret, certConf), two ways:
#   a  `p11enroll request --key URI`, one process: the request signed by the
#      token, the CMP exchange (general message for the login check, P10CR,
#      certConf after installation) on one connection, the certificate
#      checked against the key and the trusted root, written next to the key,
#      every step committed to its store
#   b  the pipeline a security officer scripts today: openssl req with
#      libp11's pkcs11 engine for the token-signed request, the openssl cmp
#      client (P10CR, certConf), openssl x509 to DER, pkcs11-tool
#      --write-object
# and prints the median ms of each and the ratio b/a.
#
# The mock server binds only the wildcard address, so the whole benchmark
# runs in a network namespace of its own (unshare --net; root, or a kernel
# that lets users make one). The mock never signs: it answers with the
# certificate it was started with, so before each timed request (untimed) a
# new key pair is made on the token, a test CA issues its certificate and
# the mock is started anew with it.
#
# Environment: BENCH_N (20), SOFTHSM_MODULE, TMPDIR.
# A benchmark, not a test: nothing here fails on a time.
set -eu

[ $# -ge 1 ] || { echo "usage: sh bench/cmp.sh BUILD_DIR [SRC_DIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
top=$(cd "${2:-$(dirname "$0")/..}" && pwd)

if [ -z "${BENCH_CMP_NETNS:-}" ]; then
	command -v unshare >/dev/null || { echo "cmp.sh: unshare is missing (util-linux)" >&2; exit 1; }
	if [ "$(id -u)" -eq 0 ]; then
		exec unshare --net env BENCH_CMP_NETNS=1 sh "$0" "$build" "$top"
	fi
	exec unshare --user --map-root-user --net env BENCH_CMP_NETNS=1 sh "$0" "$build" "$top"
fi
ip link set lo up

n=${BENCH_N:-20}
case "$n" in
'' | *[!0-9]* | 0) echo "cmp.sh: BENCH_N must be a positive number" >&2; exit 2 ;;
esac
module=${SOFTHSM_MODULE:-$(sed -n 's/^SOFTHSM_MODULE = //p' "$build/Makefile")}
module=${module:-/usr/lib/softhsm/libsofthsm2.so}
engines=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
for need in softhsm2-util pkcs11-tool openssl ss; do
	command -v "$need" >/dev/null || { echo "cmp.sh: $need is missing" >&2; exit 1; }
done
for need in "$module" "$engines/pkcs11.so"; do
	[ -f "$need" ] || { echo "cmp.sh: $need is missing" >&2; exit 1; }
done

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p11enroll-cmpbench.XXXXXX")
mock_pid=
mock_stop()
{
	if [ -n "$mock_pid" ]; then
		kill "$mock_pid" 2>/dev/null || true
		wait "$mock_pid" 2>/dev/null || true
		mock_pid=
	fi
}
cleanup()
{
	mock_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die()
{
	echo "cmp.sh: $*" >&2
	exit 1
}

make -C "$build" p11enroll >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; exit 1; }
p11enroll=$build/p11enroll
P11ENROLL_TOKENS_DIR=$top/tokens
P11ENROLL_HOME=$tmp/home
LC_ALL=C
BENCH_PIN=${FIXTURE_USER_PIN:-1234}
BENCH_SECRET=bench-shared-secret
export P11ENROLL_TOKENS_DIR P11ENROLL_HOME LC_ALL BENCH_PIN BENCH_SECRET
pin=$BENCH_PIN
port=1700
url=http://127.0.0.1:$port/pkix/
subject='/C=RU/CN=Ivanov Ivan/SN=Ivanov/GN=Ivan/INN=500100732259/SNILS=11223344595'

# The token, made anew (empty) before each pair of requests: SoftHSM reads
# every object file at C_Initialize and in each C_FindObjectsInit, so a
# token that grows would charge later requests more
fresh_token()
{
	rm -rf "${tmp:?}/tokens"
	sh "$top/softhsm-fixtures/make-tokens.sh" "$tmp/tokens" bench
	sync -f "$tmp/tokens"
}
fresh_token
SOFTHSM2_CONF=$tmp/tokens/softhsm2.conf
export SOFTHSM2_CONF

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
EOF

# the test CA
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" \
	-out "$tmp/ca.pem" -subj "/CN=bench CMP root" -days 30 \
	-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
	2>/dev/null || die "the test CA could not be made"

# mock_start CERT: the mock server answering with CERT, listening
mock_start()
{
	mock_stop
	openssl cmp -port "$port" -srv_ref bench -srv_secret env:BENCH_SECRET -rsp_cert "$1" \
		>>"$tmp/mock.log" 2>&1 &
	mock_pid=$!
	tries=200
	until ss -ltn | grep -q ":$port "; do
		kill -0 "$mock_pid" 2>/dev/null || { cat "$tmp/mock.log" >&2; die "the mock exited"; }
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || die "the mock server is not listening"
		sleep 0.01
	done
}

# new_key LABEL ID: a key pair on the token, and the mock answering with its certificate
new_key()
{
	pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" --keypairgen \
		--key-type EC:prime256v1 --label "$1" --id "$2" >"$tmp/keygen.log" 2>&1 ||
		{ cat "$tmp/keygen.log" >&2; die "keypairgen failed"; }
	OPENSSL_CONF=$tmp/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
		-key "pkcs11:token=bench;object=$1;type=private;pin-value=$pin" -subj "$subject" \
		-out "$tmp/issue.csr" >"$tmp/issue.log" 2>&1 || { cat "$tmp/issue.log" >&2; die "req failed"; }
	openssl x509 -req -in "$tmp/issue.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 10 -out "$tmp/issued.pem" 2>/dev/null ||
		die "the test CA could not issue"
	mock_start "$tmp/issued.pem"
}

now()
{
	date +%s%N
}

request_a()	# INDEX
{
	"$p11enroll" --module "$module" -q request --service bench --owner-type individual \
		--key "pkcs11:token=bench;object=$(printf 'a-%04d' "$1")" --pin-source env:BENCH_PIN \
		--field CN="Ivanov Ivan" --field SN=Ivanov --field GN=Ivan --field C=RU \
		--field SNILS=11223344595 --field INN=500100732259 >"$tmp/a.out" 2>"$tmp/a.log"
}

request_b()	# INDEX
{
	label=$(printf 'b-%04d' "$1")
	OPENSSL_CONF=$tmp/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
		-key "pkcs11:token=bench;object=$label;type=private;pin-value=$pin" \
		-subj "$subject" -out "$tmp/b.csr" >"$tmp/b.log" 2>&1 || return 1
	openssl cmp -server "127.0.0.1:$port" -path pkix/ -cmd p10cr -csr "$tmp/b.csr" \
		-ref bench -secret env:BENCH_SECRET -recipient "/CN=bench" -certout "$tmp/b.pem" \
		>"$tmp/b.log" 2>&1 || return 1
	openssl x509 -in "$tmp/b.pem" -outform DER -out "$tmp/b.der" 2>"$tmp/b.log" || return 1
	pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--write-object "$tmp/b.der" --type cert --label "$label" \
		--id "$(printf '%040x' "$((0xb000 + $1))")" >"$tmp/b.log" 2>&1
}

timed()	# VARIANT INDEX
{
	t0=$(now)
	if ! request_"$1" "$2"; then
		echo "cmp.sh: variant $1, request $2 failed:" >&2
		cat "$tmp/$1.log" >&2 2>/dev/null || true
		exit 1
	fi
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/$1.ms"
}

median()
{
	sort -n "$1" | awk '{ v[NR] = $1 }
		END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2];
		      else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

start=$(date +%s)
# the service and its root, once (a's store keeps them)
mock_start "$tmp/ca.pem"
"$p11enroll" --module "$module" -q add-service bench --protocol cmp --url "$url" --login bench \
	--password-source env:BENCH_SECRET >/dev/null 2>"$tmp/add.log" ||
	{ cat "$tmp/add.log" >&2; die "add-service failed"; }
fp=$(openssl x509 -in "$tmp/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
"$p11enroll" -q install-roots --service bench --file "$tmp/ca.pem" --accept-fingerprint "$fp" \
	>/dev/null 2>"$tmp/add.log" || { cat "$tmp/add.log" >&2; die "install-roots failed"; }

# a warm-up each, untimed; then a and b take turns (a b, b a, ...)
: > "$tmp/a.ms"
: > "$tmp/b.ms"
i=0
while [ "$i" -le "$n" ]; do
	fresh_token
	for v in a b; do
		[ $((i % 2)) = 1 ] && v=$(echo "$v" | tr ab ba)
		new_key "$(printf '%s-%04d' "$v" "$i")" "$(printf '%040x' "$((0x${v}000 + i))")"
		timed "$v" "$i"
	done
	certs=$(pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--list-objects --type cert 2>/dev/null | grep -c 'Certificate Object' || true)
	[ "$certs" -eq 2 ] || die "the token holds $certs certificates after a pair, not 2"
	i=$((i + 1))
done
mock_stop
sed -i 1d "$tmp/a.ms"
sed -i 1d "$tmp/b.ms"

elapsed=$(($(date +%s) - start))

a=$(median "$tmp/a.ms")
b=$(median "$tmp/b.ms")
cat <<EOF

p11enroll CMP bench: $n requests per variant, ec-p256 key already on the token,
SoftHSM $(softhsm2-util --version), $(openssl version | cut -d' ' -f1-2), $(nproc) CPUs; token and store on $(stat -f -c %T "$tmp").
One request: a PKCS#10 request signed by the token, sent as a MAC-protected
P10CR to the openssl cmp mock server (HTTP on loopback), the certificate
written to the token next to the key, certConf. Median wall time per request:

  a  p11enroll request --key: 1 process, 1 module load and login, the
     login check (genm), P10CR and certConf on one connection, the
     certificate checked, every step committed to its store          $(printf '%8s ms' "$a")
  b  openssl req -engine pkcs11 (libp11), openssl cmp -cmd p10cr,
     openssl x509 -outform DER, pkcs11-tool --write-object:
     4 processes, 3 module loads                                      $(printf '%8s ms' "$b")

  b/a $(awk -v x="$b" -v y="$a" 'BEGIN { printf "%.2f", x / y }')

Each request on its own new key (made untimed, with the mock restarted to
answer with its certificate) on a token made anew before each pair, so each
request finds 1 or 4 objects there; a and b take turns (a b, then b a, ...);
a warm-up each first.
Run time: $elapsed s.
EOF
