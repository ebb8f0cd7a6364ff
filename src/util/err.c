/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one error type: a code that is also the exit status, and a message that
 * callers extend outwards with context ("token 'x': C_Login: ...").
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

enum pe_code
pe_err_set(struct pe_err *err, enum pe_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	err->ck_rv = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
pe_err_prefix(struct pe_err *err, const char *fmt, ...)
{
	char joined[PE_ERR_MSG_MAX];
	size_t used, rest;
	va_list ap;
	int n;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(joined, sizeof(joined) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	used = strlen(joined);
	memcpy(joined + used, ": ", 3);
	used += 2;
	rest = strlen(err->msg);
	if (rest > sizeof(joined) - 1 - used)
		rest = sizeof(joined) - 1 - used; /* the innermost detail is cut, not the context */
	memcpy(joined + used, err->msg, rest);
	joined[used + rest] = '\0';
	memcpy(err->msg, joined, sizeof(err->msg));
}

void
pe_err_append(struct pe_err *err, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (err == NULL)
		return;
	used = strlen(err->msg);
	if (used >= sizeof(err->msg) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
	va_end(ap);
}

void
pe_err_clear(struct pe_err *err)
{
	err->code = PE_OK;
	err->ck_rv = 0;
	err->msg[0] = '\0';
}

const char *
pe_code_name(enum pe_code code)
{
	switch (code) {
	case PE_OK:
		return "ok";
	case PE_E_FAIL:
		return "internal";
	case PE_E_USAGE:
		return "usage";
	case PE_E_NOTFOUND:
		return "not_found";
	case PE_E_P11:
		return "pkcs11";
	case PE_E_PIN:
		return "pin";
	case PE_E_CRYPTO:
		return "crypto";
	case PE_E_NET:
		return "network";
	case PE_E_CA:
		return "ca_rejected";
	case PE_E_STORE:
		return "store";
	case PE_E_PENDING:
		return "pending";
	}
	return "unknown";
}
