#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# scepserver's -csrverifierexec for test-scep.sh: the DER request comes on
# stdin; a subject with "refuse" in it is refused (exit 1), any other passes.
subject=$(openssl req -inform DER -noout -subject 2>/dev/null) || exit 1
case $subject in
*refuse*) exit 1 ;;
esac
exit 0
