#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: sh bench/batch.sh BUILD_DIR [SRC_DIR]
#
# Batch enrollment of N SoftHSM tokens (EC P-256, one token per person)
# against the reference CA p11enroll-ca serving with --auto-approve on a free
# 127.0.0.1 port, three ways, each on N fresh tokens of its own:
#   1  `p11enroll batch --workers 1`: one process, one worker thread
#   2  `p11enroll batch --workers 2`: one process, two worker threads
#   p  the shell pipeline of bench/request.sh, once per token, one after the
#      other: pkcs11-tool --keypairgen, openssl req with libp11's pkcs11
#      engine, base64, curl POST of the request, jq for its id, curl of the
#      certificate, pkcs11-tool --write-object, curl of the acknowledgement
# and prints tokens per minute of each (wall time of the whole run: for
# batch the process start, module load, planning and every row; for p the
# N pipelines), with the ratios. BENCH_ROUNDS rounds, the three taking turns
# in a different order each round; the medians are shown (the machines are
# shared, and the store, the audit log and the CA commit with fsync, whose
# time follows the other work on the disk).
#
# Environment: BENCH_TOKENS (50), BENCH_ROUNDS (3), SOFTHSM_MODULE, TMPDIR
# (tokens, CA and store live there). A benchmark, not a test: nothing here
# fails on a time.
set -eu

[ $# -ge 1 ] || { echo "usage: sh bench/batch.sh BUILD_DIR [SRC_DIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
top=$(cd "${2:-$(dirname "$0")/..}" && pwd)
n=${BENCH_TOKENS:-50}
rounds=${BENCH_ROUNDS:-3}

case "$n$rounds" in
'' | *[!0-9]* | 0*) echo "batch.sh: BENCH_TOKENS, BENCH_ROUNDS must be positive" >&2; exit 2 ;;
esac

module=${SOFTHSM_MODULE:-$(sed -n 's/^SOFTHSM_MODULE = //p' "$build/Makefile")}
module=${module:-/usr/lib/softhsm/libsofthsm2.so}
engines=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
for need in softhsm2-util pkcs11-tool openssl curl jq base64; do
	command -v "$need" >/dev/null || { echo "batch.sh: $need is missing" >&2; exit 1; }
done
for need in "$module" "$engines/pkcs11.so"; do
	[ -f "$need" ] || {
		echo "batch.sh: $need is missing (Debian: softhsm2, libengine-pkcs11-openssl)" >&2
		exit 1
	}
done

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p11enroll-batchbench.XXXXXX")
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

if ! make -C "$build" p11enroll p11enroll-ca >"$tmp/make.log" 2>&1; then
	cat "$tmp/make.log" >&2
	exit 1
fi
p11enroll=$build/p11enroll
p11enroll_ca=$build/p11enroll-ca

P11ENROLL_TOKENS_DIR=$top/tokens
LC_ALL=C
pin=${FIXTURE_USER_PIN:-1234}
export P11ENROLL_TOKENS_DIR LC_ALL
printf '%s\n' "$pin" > "$tmp/pin"

die()
{
	echo "batch.sh: $*" >&2
	exit 1
}

now()
{
	date +%s%N
}

# tokens VARIANT: N fresh initialised tokens p001..pN in $tmp/VARIANT
tokens()
{
	labels=
	i=1
	while [ "$i" -le "$n" ]; do
		labels="$labels $(printf 'p%03d' "$i")"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	sh "$top/softhsm-fixtures/make-tokens.sh" "$tmp/$1" $labels
	sync -f "$tmp/$1"
}

# The CA: a registration fixes only the organisation and the person's
# registry numbers, so that every request may carry its own name
"$p11enroll_ca" --home "$tmp/ca" init >"$tmp/ca.init.log" 2>&1 ||
	{ cat "$tmp/ca.init.log" >&2; die "p11enroll-ca init failed"; }
jq '(.RDN[] | select(.Name == "CN" or .Name == "SN" or .Name == "GN")).ProhibitEmpty = false' \
	"$tmp/ca/config.json" >"$tmp/ca/config.new"
mv "$tmp/ca/config.new" "$tmp/ca/config.json"
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

# The people: one row each, their registry numbers those of the registration
{
	echo "CN,SN,GN"
	i=1
	while [ "$i" -le "$n" ]; do
		printf 'Person %03d,Person,Number %03d\n' "$i" "$i"
		i=$((i + 1))
	done
} > "$tmp/people.csv"

# children_cpu FILE: the CPU seconds (user + system) of this shell's finished
# children, from `times` written to FILE by this shell itself (not a subshell)
children_cpu()
{
	awk 'NR == 2 {
		s = 0
		for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
		printf "%.3f\n", s }' "$1"
}

# ca_cpu: the CPU time the CA process has used, in clock ticks (user + system)
ca_cpu()
{
	awk '{ print $14 + $15 }' "/proc/$ca_pid/stat"
}

# run_batch WORKERS: one batch run on fresh tokens and a fresh store; its wall
# ms added to $tmp/batch-WORKERS.ms
run_batch()
{
	v=batch-$1
	rm -rf "${tmp:?}/$v"
	tokens "$v"
	SOFTHSM2_CONF=$tmp/$v/softhsm2.conf
	P11ENROLL_HOME=$tmp/$v/home
	export SOFTHSM2_CONF P11ENROLL_HOME
	"$p11enroll" --module "$module" --json add-service bench --url "$url" --register \
		--ca-file "$root" --field O="Example LLC" --field SNILS=11223344595 \
		--field INN=500100732259 --email officer@example.org >"$tmp/add.json" \
		2>"$tmp/add.log" || { cat "$tmp/add.log" >&2; die "add-service failed"; }
	[ "$(jq -r .status "$tmp/add.json")" = ready ] || die "the service is not ready"
	cat > "$tmp/profile.json" <<EOF
{ "service": "bench", "template": "1.2.643.2.2.46.0.8", "owner_type": "employee",
  "key_type": "ec-p256", "pin_source": "file:$tmp/pin", "fields": { "O": "Example LLC" } }
EOF
	c0=$(ca_cpu)
	times >"$tmp/times0"
	t0=$(now)
	"$p11enroll" --module "$module" --json batch "$tmp/people.csv" --profile "$tmp/profile.json" \
		--workers "$1" >"$tmp/$v.jsonl" 2>"$tmp/$v.log" ||
		{ tail -n 5 "$tmp/$v.log" >&2; die "batch --workers $1 failed"; }
	t1=$(now)
	c1=$(ca_cpu)
	times >"$tmp/times1"
	u0=$(children_cpu "$tmp/times0")
	u1=$(children_cpu "$tmp/times1")
	echo "$u0 $u1" | awk -v n="$n" '{ printf "%.1f\n", ($2 - $1) * 1000 / n }' >> "$tmp/$v.cpu"
	echo "$c0 $c1" | awk -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'{ printf "%.1f\n", ($2 - $1) * 1000 / hz / n }' >> "$tmp/$v.ca"
	tail -n 1 "$tmp/$v.jsonl" | jq -e --argjson n "$n" '.installed == $n' >/dev/null ||
		die "batch --workers $1 did not install $n certificates"
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/$v.ms"
	tail -n 1 "$tmp/$v.jsonl" | jq -r .seconds >> "$tmp/$v.rows"
}

# The pipeline: the same person registered with curl, as a script does
pipeline_setup()
{
	cat > "$tmp/reg.json" <<EOF
{"Comment":"","Description":"","Email":"officer@example.org","KeyPhrase":"",
 "OidArray":[{"2.5.4.10":"Example LLC"},{"1.2.643.100.3":"11223344595"},
 {"1.2.643.3.131.1.1":"500100732259"}]}
EOF
	curl -sS --fail --cacert "$root" -H 'Content-Type: application/json' \
		--data-binary @"$tmp/reg.json" "$url/regrequest" -o "$tmp/reg.out" ||
		die "registration with curl failed"
	[ "$(jq -r .RegRequest.Status "$tmp/reg.out")" = A ] ||
		die "the registration is not approved at once"
	printf 'user = "%s:%s"\n' "$(jq -r .RegRequest.Token "$tmp/reg.out")" \
		"$(jq -r .RegRequest.Password "$tmp/reg.out")" > "$tmp/curl.auth"
	rm -f "$tmp/reg.out"
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
}

ca_curl()
{
	curl -sS --fail --cacert "$root" --config "$tmp/curl.auth" "$@"
}

# pipe_one INDEX: token pINDEX enrolled by the shell pipeline
pipe_one()
{
	label=$(printf 'p%03d' "$1")
	uri="pkcs11:token=$label"
	subject=$(printf '/C=RU/O=Example LLC/CN=Person %03d/SN=Person/GN=Number %03d/INN=500100732259/SNILS=11223344595' "$1" "$1")
	id=$(printf '%040x' "$((0x5000 + $1))")
	pkcs11-tool --module "$module" --token-label "$label" --login --pin "$pin" \
		--keypairgen --key-type EC:prime256v1 --label key --id "$id" \
		>"$tmp/p.log" 2>&1 || return 1
	OPENSSL_CONF=$tmp/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
		-key "$uri;object=key;type=private;pin-value=$pin" \
		-subj "$subject" -outform DER -out "$tmp/p.csr" >"$tmp/p.log" 2>&1 || return 1
	base64 -w 0 "$tmp/p.csr" > "$tmp/p.b64" || return 1
	ca_curl -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/p.b64" \
		"$api/certrequest" -o "$tmp/p.json" 2>"$tmp/p.log" || return 1
	ca_id=$(jq -r .CertRequest.CertRequestId "$tmp/p.json") || return 1
	ca_curl "$api/certrequest/$ca_id/rawcert" -o "$tmp/p.der" 2>"$tmp/p.log" || return 1
	pkcs11-tool --module "$module" --token-label "$label" --login --pin "$pin" \
		--write-object "$tmp/p.der" --type cert --label key --id "$id" \
		>"$tmp/p.log" 2>&1 || return 1
	ca_curl -H 'Content-Type: application/json' --data-binary '{"Status":"K"}' \
		"$api/certrequest/$ca_id" -o "$tmp/p.ack" 2>"$tmp/p.log"
}

run_pipeline()
{
	rm -rf "${tmp:?}/pipe"
	tokens pipe
	SOFTHSM2_CONF=$tmp/pipe/softhsm2.conf
	export SOFTHSM2_CONF
	t0=$(now)
	i=1
	while [ "$i" -le "$n" ]; do
		pipe_one "$i" || { cat "$tmp/p.log" >&2; die "pipeline $i failed"; }
		i=$((i + 1))
	done
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >> "$tmp/pipe.ms"
}

median()	# FILE
{
	sort -n "$1" | awk '{ v[NR] = $1 }
		END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2];
		      else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

load=$(cut -d ' ' -f 1-3 /proc/loadavg)
start=$(date +%s)
pipeline_setup
: > "$tmp/batch-1.ms"
: > "$tmp/batch-2.ms"
: > "$tmp/batch-1.rows"
: > "$tmp/batch-2.rows"
: > "$tmp/batch-1.ca"
: > "$tmp/batch-2.ca"
: > "$tmp/batch-1.cpu"
: > "$tmp/batch-2.cpu"
: > "$tmp/pipe.ms"
round=1
while [ "$round" -le "$rounds" ]; do
	case $((round % 3)) in
	1) run_batch 1; run_batch 2; run_pipeline ;;
	2) run_batch 2; run_pipeline; run_batch 1 ;;
	0) run_pipeline; run_batch 1; run_batch 2 ;;
	esac
	round=$((round + 1))
done
elapsed=$(($(date +%s) - start))

per_min()	# MS
{
	awk -v ms="$1" -v n="$n" 'BEGIN { printf "%.1f", n * 60000 / ms }'
}

ratio()
{
	awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'
}

w1=$(median "$tmp/batch-1.ms")
w2=$(median "$tmp/batch-2.ms")
p=$(median "$tmp/pipe.ms")
r1=$(per_min "$w1")
r2=$(per_min "$w2")
rp=$(per_min "$p")
cat <<EOF
p11enroll batch bench: $n SoftHSM tokens, EC P-256, one certificate each from
p11enroll-ca (auto-approve, TLS on loopback), SoftHSM $(softhsm2-util --version),
$(openssl version | cut -d' ' -f1-2), $(nproc) CPUs, load average before: $load.
Median over $rounds rounds of the wall time of the whole run:

                                            total          tokens/min
  batch --workers 1                  $(printf '%10.0f ms' "$w1")   $(printf '%10s' "$r1")
  batch --workers 2                  $(printf '%10.0f ms' "$w2")   $(printf '%10s' "$r2")
  shell pipeline, $n runs one by one  $(printf '%10.0f ms' "$p")   $(printf '%10s' "$rp")

  2 workers / 1 worker $(ratio "$r2" "$r1")   batch 1 / pipeline $(ratio "$r1" "$rp")   batch 2 / pipeline $(ratio "$r2" "$rp")

Each round, in ms: 1 worker $(tr '\n' ' ' <"$tmp/batch-1.ms" | awk '{ for (i = 1; i <= NF; i++) printf "%.0f ", $i }')
                  2 workers $(tr '\n' ' ' <"$tmp/batch-2.ms" | awk '{ for (i = 1; i <= NF; i++) printf "%.0f ", $i }')
                  pipeline  $(tr '\n' ' ' <"$tmp/pipe.ms" | awk '{ for (i = 1; i <= NF; i++) printf "%.0f ", $i }')
(batch's own count of its rows, without the process start, module load and
planning, median: $(median "$tmp/batch-1.rows") s with 1 worker, $(median "$tmp/batch-2.rows") s with 2.)
CPU per token, median: p11enroll (with SoftHSM in it) $(median "$tmp/batch-1.cpu") ms with 1 worker,
$(median "$tmp/batch-2.cpu") ms with 2; the CA (one thread, libmicrohttpd's polling thread)
$(median "$tmp/batch-1.ca") ms with 1 worker, $(median "$tmp/batch-2.ca") ms with 2. Run time: $elapsed s.
EOF
