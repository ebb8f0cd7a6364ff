/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whole files read into memory with a cap: certificates, profiles,
 * configuration, PEM bundles. What was read is zeroised when it is let go on
 * failure, since some of these files hold keys.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util.h"

enum pe_code
pe_file_read(const char *path, size_t max, char **out, size_t *len, struct pe_err *err)
{
	struct pe_buf buf;
	char chunk[4096];
	enum pe_code rc = PE_OK;
	size_t got;
	FILE *f;

	f = fopen(path, "rbe");
	if (f == NULL)
		return pe_err_set(err, errno == ENOENT ? PE_E_NOTFOUND : PE_E_USAGE,
				  "cannot open '%s': %s", path, strerror(errno));
	pe_buf_init(&buf, max);
	/* an empty file is an empty text, not a missing one */
	rc = pe_buf_add(&buf, "", 0, err);
	while (rc == PE_OK && (got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (pe_buf_add(&buf, chunk, got, err) != PE_OK)
			rc = pe_err_set(err, PE_E_USAGE, "'%s' is larger than %zu bytes", path,
					max);
	}
	if (rc == PE_OK && ferror(f))
		rc = pe_err_set(err, PE_E_USAGE, "'%s': read error", path);
	fclose(f);
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (rc != PE_OK) {
		if (buf.data != NULL)
			OPENSSL_cleanse(buf.data, buf.len);
		pe_buf_cleanup(&buf);
		return rc;
	}
	if (len != NULL)
		*len = buf.len;
	*out = (char *)pe_buf_take(&buf, NULL);
	return PE_OK;
}
