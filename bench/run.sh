#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: sh bench/run.sh BUILD_DIR [SRC_DIR]
#
# N enrollments of token work (a key generated on the token, a PKCS#10
# request signed by the token, the certificate of a local CA written back
# next to the key) on a throw-away SoftHSM token (one per variant, each
# empty at the start, under $TMPDIR or /tmp), four ways:
#   a  the three p11enroll commands, one process each, as a security officer
#      runs them; the CA is `openssl x509 -req`, one process
#   b  the pipeline in use today: pkcs11-tool --keypairgen, openssl req with
#      libp11's pkcs11 engine, the same `openssl x509 -req`, pkcs11-tool
#      --write-object
#   c  bench/core: the core library in one process (one module load, one
#      login), the CA signing in the process with OpenSSL
#   d  bench/floor: the bare PKCS#11 calls, the floor
# and prints the median ms per enrollment with the ratios a/b, c/d, a/d, b/d.
# Then bench/request.sh adds a second table: whole requests through a CA
# service (p11enroll request against the same pipeline with curl, and the
# floor); BENCH_REQUEST=0 leaves it out. bench/cfssl.sh adds a third, the
# same through cfssl serve; BENCH_CFSSL=0 leaves it out. bench/batch.sh adds a
# fourth: batch enrollment of BENCH_TOKENS tokens with 1 and 2 workers beside
# the pipeline; BENCH_BATCH=0 leaves it out. bench/cmp.sh adds a fifth:
# requests for an existing key through the openssl cmp mock server against the
# openssl cmp pipeline; BENCH_CMP=0 leaves it out.
#
# Environment: BENCH_N (30), BENCH_KEY_TYPE (ec-p256 or rsa-2048),
# BENCH_VERBOSE=1 (the median of each step as well), SOFTHSM_MODULE, TMPDIR
# (SoftHSM writes a file per object: on tmpfs the floor is ~10x lower).
# A benchmark, not a test: nothing here fails on a time.
set -eu

[ $# -ge 1 ] || { echo "usage: sh bench/run.sh BUILD_DIR [SRC_DIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
top=$(cd "${2:-$(dirname "$0")/..}" && pwd)
n=${BENCH_N:-30}
key_type=${BENCH_KEY_TYPE:-ec-p256}
verbose=${BENCH_VERBOSE:-0}

case "$n" in
'' | *[!0-9]* | 0) echo "run.sh: BENCH_N must be a positive number" >&2; exit 2 ;;
esac
case "$key_type" in
ec-p256) tool_type=EC:prime256v1 ;;
rsa-2048) tool_type=rsa:2048 ;;
*) echo "run.sh: BENCH_KEY_TYPE is ec-p256 or rsa-2048" >&2; exit 2 ;;
esac

module=${SOFTHSM_MODULE:-$(sed -n 's/^SOFTHSM_MODULE = //p' "$build/Makefile")}
module=${module:-/usr/lib/softhsm/libsofthsm2.so}
engines=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
for need in softhsm2-util pkcs11-tool openssl; do
	command -v "$need" >/dev/null || { echo "run.sh: $need is missing" >&2; exit 1; }
done
for need in "$module" "$engines/pkcs11.so"; do
	[ -f "$need" ] || {
		echo "run.sh: $need is missing (Debian: softhsm2, libengine-pkcs11-openssl)" >&2
		exit 1
	}
done

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p11enroll-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if ! make -C "$build" bench/floor bench/core p11enroll >"$tmp/make.log" 2>&1; then
	cat "$tmp/make.log" >&2
	exit 1
fi
p11enroll=$build/p11enroll

P11ENROLL_TOKENS_DIR=$top/tokens
P11ENROLL_HOME=$tmp/home
LC_ALL=C
export P11ENROLL_TOKENS_DIR P11ENROLL_HOME LC_ALL
pin=${FIXTURE_USER_PIN:-1234}
printf '%s\n' "$pin" > "$tmp/pin"
token_uri='pkcs11:token=bench'

# Each variant has a token of its own, label "bench", in its own SoftHSM
# directory, made empty before the measured run: SoftHSM reads every object
# file at C_Initialize and opens every one again in each C_FindObjectsInit,
# so the size of the token is part of the cost and must be the same for all.
fresh_token()	# VARIANT
{
	rm -rf "${tmp:?}/$1"
	sh "$top/softhsm-fixtures/make-tokens.sh" "$tmp/$1" bench
}

use_token()	# VARIANT
{
	SOFTHSM2_CONF=$tmp/$1/softhsm2.conf
	export SOFTHSM2_CONF
}

# The local CA, EC P-256, and what it puts in each certificate (bench/core.c
# issues the same certificate in its process).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 \
	-subj "/O=p11enroll bench/CN=p11enroll bench CA" 2>"$tmp/ca.log"
cat > "$tmp/ext.cnf" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth,emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
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

now()
{
	date +%s%N
}

# With BENCH_VERBOSE=1 the shell variants take a time stamp between steps.
step_mark()	# VARIANT
{
	[ "$verbose" = 1 ] || return 0
	now >> "$tmp/$1.marks"
}

ca_sign()	# VARIANT INDEX
{
	openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
		-set_serial "$((1000 + $2))" -days 365 -extfile "$tmp/ext.cnf" \
		-outform DER -out "$tmp/$1.der" 2>"$tmp/$1.log"
}

# One enrollment of a: generate-key, make-csr, the CA, import-cert. (Each step
# returns on failure: set -e does not apply inside the `if` of timed().)
enroll_a()	# INDEX
{
	label=$(printf 'cli-%04d' "$1")
	$p11enroll -q --module "$module" generate-key --token "$token_uri" \
		--type "$key_type" --label "$label" --pin-source "file:$tmp/pin" >/dev/null || return 1
	step_mark a
	$p11enroll -q --module "$module" make-csr \
		--key "$token_uri;object=$label;type=private" \
		--subject "/O=p11enroll bench/CN=bench cli $(printf %04d "$1")" \
		--out "$tmp/a.csr" --pin-source "file:$tmp/pin" >/dev/null || return 1
	step_mark a
	ca_sign a "$1" || return 1
	step_mark a
	$p11enroll -q --module "$module" import-cert --token "$token_uri" --cert "$tmp/a.der" \
		--pin-source "file:$tmp/pin" >/dev/null
}

# One enrollment of b: the same with pkcs11-tool and the libp11 engine; the
# security officer picks the CKA_ID.
enroll_b()	# INDEX
{
	label=$(printf 'pipe-%04d' "$1")
	id=$(printf '%040x' "$((0x5000 + $1))")
	pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--keypairgen --key-type "$tool_type" --label "$label" --id "$id" \
		>"$tmp/b.log" 2>&1 || return 1
	step_mark b
	OPENSSL_CONF=$tmp/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
		-key "$token_uri;object=$label;type=private;pin-value=$pin" \
		-subj "/O=p11enroll bench/CN=bench pipe $(printf %04d "$1")" \
		-out "$tmp/b.csr" >"$tmp/b.log" 2>&1 || return 1
	step_mark b
	ca_sign b "$1" || return 1
	step_mark b
	pkcs11-tool --module "$module" --token-label bench --login --pin "$pin" \
		--write-object "$tmp/b.der" --type cert --label "$label" --id "$id" \
		>"$tmp/b.log" 2>&1
}

# One timed enrollment of a shell variant; its ms to $tmp/VARIANT.ms.
timed()	# VARIANT INDEX
{
	use_token "$1"
	: > "$tmp/$1.marks"
	t0=$(now)
	if ! enroll_"$1" "$2"; then
		echo "run.sh: variant $1, enrollment $2 failed:" >&2
		cat "$tmp/$1.log" >&2 2>/dev/null || true
		exit 1
	fi
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/$1.ms"
	if [ "$verbose" = 1 ]; then
		{ echo "$t0"; cat "$tmp/$1.marks"; echo "$t1"; } |
			awk 'NR > 1 { printf "%.3f ", ($1 - p) / 1e6 } { p = $1 } END { print "" }' \
			>> "$tmp/$1.steps"
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

# What a pair of time stamps costs in a and b (two date processes).
: > "$tmp/timer.ms"
i=0
while [ "$i" -lt 11 ]; do
	t0=$(now)
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/timer.ms"
	i=$((i + 1))
done

start=$(date +%s)

# d and c: one process runs N enrollments (one module load, one login);
# after a warm-up run of one enrollment, three runs each, d c d c d c, each
# on an empty token, so that a passing load on the machine hits both alike
run_c()	# VARIANT [-n COUNT]
{
	if [ "$1" = d ]; then
		set -- floor bench "$@"
	else
		set -- core "$token_uri" "$@"
	fi
	prog=$1 token=$2 v=$3
	shift 3
	fresh_token "$v"
	use_token "$v"
	"$build/bench/$prog" -m "$module" -t "$token" -p "$tmp/pin" -k "$key_type" "$@"
}

run_c d -n 1 >/dev/null
run_c c -n 1 >/dev/null
: > "$tmp/d.ms"
: > "$tmp/c.ms"
for round in 1 2 3; do
	v_flag=
	[ "$verbose" = 1 ] && [ "$round" = 3 ] && v_flag=-v
	for v in d c; do
		# shellcheck disable=SC2086
		run_c "$v" -n "$n" $v_flag >> "$tmp/$v.ms"
	done
done

# a and b: one warm-up enrollment each, then their enrollments interleaved
# (a b, b a, ...) so that a load on the machine hits both alike
for v in a b; do
	fresh_token "$v"
	timed "$v" 0
	fresh_token "$v"
	: > "$tmp/$v.ms"
	: > "$tmp/$v.steps"
done
i=1
while [ "$i" -le "$n" ]; do
	if [ $((i % 2)) = 1 ]; then
		timed a "$i"
		timed b "$i"
	else
		timed b "$i"
		timed a "$i"
	fi
	i=$((i + 1))
done
elapsed=$(($(date +%s) - start))

if [ "$verbose" = 1 ]; then
	for v in a b; do
		printf '%s: median ms per step: keys %s, request %s, CA %s, certificate %s\n' "$v" \
			"$(median "$tmp/$v.steps" 1)" "$(median "$tmp/$v.steps" 2)" \
			"$(median "$tmp/$v.steps" 3)" "$(median "$tmp/$v.steps" 4)" >&2
	done
	echo "(with BENCH_VERBOSE=1, a and b also pay 3 more date(1) calls per enrollment)" >&2
fi

a=$(median "$tmp/a.ms")
b=$(median "$tmp/b.ms")
c=$(median "$tmp/c.ms")
d=$(median "$tmp/d.ms")
cat <<EOF
p11enroll bench: $n enrollments per variant, $key_type, SoftHSM $(softhsm2-util --version),
$(openssl version | cut -d' ' -f1-2), $(nproc) CPUs. One enrollment: a key pair generated on the
token, a PKCS#10 request signed by the token, a certificate from a local CA
written to the token next to the key. Median wall time per enrollment:

  a  p11enroll generate-key, make-csr, import-cert: 3 processes,
     + openssl x509 -req as the CA: 1 process                      $(printf '%8s ms' "$a")
  b  pkcs11-tool --keypairgen, openssl req -engine pkcs11 (libp11),
     + the same openssl x509 -req, pkcs11-tool --write-object       $(printf '%8s ms' "$b")
  c  core library in 1 process: pe_p11_key_generate, pe_csr_build
     signed on the token, CA signing in process, pe_p11_cert_import  $(printf '%8s ms' "$c")
  d  floor, 1 process: C_GenerateKeyPair, C_GetAttributeValue,
     C_SignInit + C_Sign, C_CreateObject of a ready certificate      $(printf '%8s ms' "$d")

  a/b $(ratio "$a" "$b")   c/d $(ratio "$c" "$d")   a/d $(ratio "$a" "$d")   b/d $(ratio "$b" "$d")

a, b: each process starts, loads the module and logs in; the request and
certificate files between the steps count; the CA process is the same in
both. Each enrollment is timed with two date(1) calls (together about
$(median "$tmp/timer.ms") ms); a and b enrollments alternate.
c, d: module load, token lookup and login once per process, untimed; the
timed loop is the token work and, in c, the request, the checks and the CA
signature (d signs a digest and writes a certificate made before the loop).
Three processes each, alternating; the median is over all 3 x $n.
Every run starts on an empty token of its own (3 objects more per
enrollment), after one warm-up enrollment. Run time: $elapsed s.
EOF

# the second table: requests through a CA service, end to end
if [ "${BENCH_REQUEST:-1}" != 0 ]; then
	sh "$top/bench/request.sh" "$build" "$top"
fi

# the third: requests through cfssl serve, end to end
if [ "${BENCH_CFSSL:-1}" != 0 ]; then
	echo
	sh "$top/bench/cfssl.sh" "$build" "$top"
fi

# the fourth: batch enrollment of many tokens, 1 and 2 workers, beside the pipeline
if [ "${BENCH_BATCH:-1}" != 0 ]; then
	echo
	sh "$top/bench/batch.sh" "$build" "$top"
fi

# the fifth: requests through the openssl cmp mock server (cmp connector)
if [ "${BENCH_CMP:-1}" != 0 ]; then
	echo
	sh "$top/bench/cmp.sh" "$build" "$top"
fi
