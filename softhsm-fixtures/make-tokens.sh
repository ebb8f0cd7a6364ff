#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: make-tokens.sh DIR [LABEL...]
#
# Makes throw-away SoftHSM2 tokens in DIR, never in the system token directory:
# DIR/softhsm2.conf and DIR/tokens/, with one initialised token per LABEL
# (SO PIN $FIXTURE_SO_PIN, default 12345678; user PIN $FIXTURE_USER_PIN,
# default 1234). With no LABEL, only the empty slot SoftHSM always offers.
# Run it again with more labels to add tokens. Then use the tokens with
#   SOFTHSM2_CONF=DIR/softhsm2.conf
set -eu

[ $# -ge 1 ] || { echo "usage: make-tokens.sh DIR [LABEL...]" >&2; exit 2; }
dir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
case "$dir/tokens" in
/var/lib/softhsm/*|/var/lib/softhsm)
	echo "make-tokens.sh: refusing the system token directory" >&2
	exit 2
	;;
esac
chmod 0700 "$dir/tokens"
sed "s|@TOKENDIR@|$dir/tokens|" "$here/softhsm2.conf.in" > "$dir/softhsm2.conf"
SOFTHSM2_CONF=$dir/softhsm2.conf
export SOFTHSM2_CONF
for label in "$@"; do
	softhsm2-util --init-token --free --label "$label" \
		--so-pin "${FIXTURE_SO_PIN:-12345678}" --pin "${FIXTURE_USER_PIN:-1234}" >/dev/null
done
