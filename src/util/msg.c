/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Diagnostics on stderr: "p11enroll: (5) message", warnings, and debug lines
 * shown with -v. Results never come through here; they go to stdout.
 */
#include "config.h"

#include <stdio.h>

#include "util.h"

static const char *progname = "p11enroll";
static enum pe_verbosity verbosity = PE_NORMAL;

void
pe_msg_init(const char *name, enum pe_verbosity level)
{
	if (name != NULL)
		progname = name;
	verbosity = level;
}

/* One line at a time: threads (batch workers) never interleave inside a line. */
static void
say(const char *kind, const char *fmt, va_list ap)
{
	flockfile(stderr);
	if (kind != NULL)
		fprintf(stderr, "%s: %s: ", progname, kind);
	else
		fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
pe_msg_error(const struct pe_err *err)
{
	fprintf(stderr, "%s: (%d) %s\n", progname, (int)err->code,
		err->msg[0] ? err->msg : pe_code_name(err->code));
}

void
pe_msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("warning", fmt, ap);
	va_end(ap);
}

void
pe_msg_info(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < PE_NORMAL)
		return;
	va_start(ap, fmt);
	say(NULL, fmt, ap);
	va_end(ap);
}

void
pe_msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < PE_VERBOSE)
		return;
	va_start(ap, fmt);
	say("debug", fmt, ap);
	va_end(ap);
}

void
pe_msg_bug(const char *func, const char *expr)
{
	fprintf(stderr, "%s: bug: %s: '%s' failed\n", progname, func, expr);
}
