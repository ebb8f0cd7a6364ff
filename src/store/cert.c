/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates in the store: the personal index of what was installed on
 * which carrier, and the roots trusted per service, which also go out as a
 * PEM file for libcurl.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store-int.h"

#define CERT_COLUMNS                                                                               \
	"id, request_id, carrier, token_serial, key_id, subject, issuer, serial, sha256, "         \
	"not_after, der, installed_at"

/* Far more roots than any service has */
#define ROOTS_PEM_MAX (16 * 1024 * 1024)

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----\n";
static const char pem_end[] = "-----END CERTIFICATE-----\n";

/* The personal certificate index */

void
pe_cert_entry_free(struct pe_cert_entry *entry)
{
	if (entry == NULL)
		return;
	free(entry->carrier);
	free(entry->token_serial);
	free(entry->key_id);
	free(entry->subject);
	free(entry->issuer);
	free(entry->serial);
	free(entry->sha256);
	free(entry->not_after);
	free(entry->der);
	free(entry->installed_at);
	free(entry);
}

void
pe_cert_entry_list_free(struct pe_cert_entry **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		pe_cert_entry_free(list[i]);
	free(list);
}

enum pe_code
pe_store_cert_add(struct pe_store *store, struct pe_cert_entry *entry, struct pe_err *err)
{
	char now[PE_STORE_TIME_SIZE];
	sqlite3_stmt *st = NULL;
	char *installed = NULL;
	bool oom = false;
	int brc = SQLITE_OK, src;
	sqlite3_int64 id;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && entry != NULL, PE_E_FAIL);
	pe_store_time_now(now);
	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		goto out;
	/* the same certificate again (same sha256) keeps the row and its first install time */
	rc = pe_store_prepare(store,
			      "INSERT INTO certs (request_id, carrier, token_serial, key_id, "
			      "subject, issuer, serial, sha256, not_after, der, installed_at) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
			      "ON CONFLICT (sha256) DO NOTHING",
			      &st, err);
	if (rc != PE_OK)
		goto out;
	if (entry->request_id != 0)
		pe_store_bind_int64(st, 1, entry->request_id, &brc);
	else
		pe_store_bind_text(st, 1, NULL, &brc);
	pe_store_bind_text(st, 2, entry->carrier, &brc);
	pe_store_bind_text(st, 3, entry->token_serial, &brc);
	pe_store_bind_text(st, 4, entry->key_id, &brc);
	pe_store_bind_text(st, 5, entry->subject, &brc);
	pe_store_bind_text(st, 6, entry->issuer, &brc);
	pe_store_bind_text(st, 7, entry->serial, &brc);
	pe_store_bind_text(st, 8, entry->sha256, &brc);
	pe_store_bind_text(st, 9, entry->not_after, &brc);
	pe_store_bind_blob(st, 10, entry->der, entry->der_len, &brc);
	pe_store_bind_text(st, 11, now, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no request %lld",
				(long long)entry->request_id);
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_prepare(store, "SELECT id, installed_at FROM certs WHERE sha256 = ?1", &st,
			      err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, entry->sha256, &brc);
	if (brc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	id = sqlite3_column_int64(st, 0);
	installed = pe_store_col_text(st, 1, &oom);
	if (oom) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_commit(store, err);
	if (rc != PE_OK)
		goto out;
	entry->id = id;
	free(entry->installed_at);
	entry->installed_at = installed;
	installed = NULL;
out:
	sqlite3_finalize(st);
	if (rc != PE_OK)
		pe_store_rollback(store);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: indexing certificate '%s'",
			      entry->sha256 ? entry->sha256 : "");
	free(installed);
	return rc;
}

static enum pe_code
cert_row(sqlite3_stmt *st, struct pe_cert_entry **out, struct pe_err *err)
{
	struct pe_cert_entry *entry;
	bool oom = false;

	entry = calloc(1, sizeof(*entry));
	if (entry == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	entry->id = sqlite3_column_int64(st, 0);
	entry->request_id = sqlite3_column_int64(st, 1); /* NULL reads as 0 */
	entry->carrier = pe_store_col_text(st, 2, &oom);
	entry->token_serial = pe_store_col_text(st, 3, &oom);
	entry->key_id = pe_store_col_text(st, 4, &oom);
	entry->subject = pe_store_col_text(st, 5, &oom);
	entry->issuer = pe_store_col_text(st, 6, &oom);
	entry->serial = pe_store_col_text(st, 7, &oom);
	entry->sha256 = pe_store_col_text(st, 8, &oom);
	entry->not_after = pe_store_col_text(st, 9, &oom);
	entry->der = pe_store_col_blob(st, 10, &entry->der_len, &oom);
	entry->installed_at = pe_store_col_text(st, 11, &oom);
	if (oom) {
		pe_cert_entry_free(entry);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	*out = entry;
	return PE_OK;
}

static enum pe_code
cert_item(struct pe_store *store, sqlite3_stmt *st, void **item, struct pe_err *err)
{
	struct pe_cert_entry *entry = NULL;
	enum pe_code rc = cert_row(st, &entry, err);

	if (rc == PE_OK)
		*item = entry;
	return rc;
}

static void
cert_item_free(void *item)
{
	pe_cert_entry_free(item);
}

enum pe_code
pe_store_cert_list(struct pe_store *store, struct pe_cert_entry ***out, size_t *n,
		   struct pe_err *err)
{
	void **items = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && out != NULL && n != NULL, PE_E_FAIL);
	rc = pe_store_rows(store, "SELECT " CERT_COLUMNS " FROM certs ORDER BY id", cert_item,
			   cert_item_free, &items, n, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "store: listing certificates");
		return rc;
	}
	*out = (struct pe_cert_entry **)items;
	return PE_OK;
}

/* Trusted roots */

enum pe_code
pe_store_root_add(struct pe_store *store, const char *service, const unsigned char *der, size_t len,
		  const char *sha256_hex, const char *subject, struct pe_err *err)
{
	char now[PE_STORE_TIME_SIZE];
	sqlite3_stmt *st = NULL;
	int brc = SQLITE_OK;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && der != NULL && len > 0 && sha256_hex != NULL,
			      PE_E_FAIL);
	rc = pe_store_name_check(service, err);
	if (rc != PE_OK)
		return rc;
	pe_store_time_now(now);
	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_prepare(store,
			      "INSERT INTO roots (service, sha256, subject, der, added_at) "
			      "VALUES (?1, ?2, ?3, ?4, ?5) "
			      "ON CONFLICT (service, sha256) DO NOTHING",
			      &st, err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, service, &brc);
	pe_store_bind_text(st, 2, sha256_hex, &brc);
	pe_store_bind_text(st, 3, subject, &brc);
	pe_store_bind_blob(st, 4, der, len, &brc);
	pe_store_bind_text(st, 5, now, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_step_done(store, st, err);
	if (rc != PE_OK)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_commit(store, err);
out:
	sqlite3_finalize(st);
	if (rc != PE_OK)
		pe_store_rollback(store);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: trusting root '%s' for service '%s'", sha256_hex,
			      service);
	return rc;
}

/* Appends one certificate in PEM to @buf. */
static enum pe_code
pem_add(struct pe_buf *buf, const unsigned char *der, size_t len, struct pe_err *err)
{
	enum pe_code rc;
	char *b64;

	b64 = pe_base64_encode(der, len, 64);
	if (b64 == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = pe_buf_add(buf, pem_begin, strlen(pem_begin), err);
	if (rc == PE_OK)
		rc = pe_buf_add(buf, b64, strlen(b64), err);
	if (rc == PE_OK)
		rc = pe_buf_add(buf, pem_end, strlen(pem_end), err);
	free(b64);
	return rc;
}

enum pe_code
pe_store_roots_pem(struct pe_store *store, const char *service, char **pem, size_t *count,
		   struct pe_err *err)
{
	struct pe_buf buf;
	sqlite3_stmt *st = NULL;
	const void *der;
	size_t found = 0;
	int brc = SQLITE_OK, src, len;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && service != NULL && pem != NULL && count != NULL,
			      PE_E_FAIL);
	pe_buf_init(&buf, ROOTS_PEM_MAX);
	/* the empty text too is a string, not NULL */
	rc = pe_buf_add(&buf, "", 0, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_prepare(store, "SELECT der FROM roots WHERE service = ?1 ORDER BY id", &st,
			      err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, service, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = pe_store_sql_err(store, err);
			goto out;
		}
		der = sqlite3_column_blob(st, 0);
		len = sqlite3_column_bytes(st, 0);
		if (der == NULL || len <= 0) {
			rc = pe_err_set(err, PE_E_STORE, "root %zu of the service is empty",
					found + 1);
			goto out;
		}
		rc = pem_add(&buf, der, (size_t)len, err);
		if (rc != PE_OK)
			goto out;
		found++;
	}
	*pem = (char *)pe_buf_take(&buf, NULL);
	*count = found;
out:
	sqlite3_finalize(st);
	pe_buf_cleanup(&buf);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: reading the roots of service '%s'", service);
	return rc;
}

/* Returns: true when the file at @path, ours (0600), holds exactly @text. */
static bool
file_holds(const char *path, const char *text)
{
	size_t len = strlen(text), got;
	struct stat st;
	bool same = false;
	char *have;
	FILE *f;

	f = fopen(path, "rbe");
	if (f == NULL)
		return false;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0 &&
	    (size_t)st.st_size == len) {
		have = malloc(len + 1);
		if (have != NULL) {
			got = fread(have, 1, len + 1, f);
			same = got == len && memcmp(have, text, len) == 0;
			free(have);
		}
	}
	fclose(f);
	return same;
}

enum pe_code
pe_store_roots_file(struct pe_store *store, const char *service, char **path, struct pe_err *err)
{
	char *pem = NULL, *name = NULL;
	size_t count = 0, size;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && path != NULL, PE_E_FAIL);
	rc = pe_store_name_check(service, err);
	if (rc != PE_OK)
		return rc;
	rc = pe_store_roots_pem(store, service, &pem, &count, err);
	if (rc != PE_OK)
		return rc;
	if (count == 0) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "service '%s' trusts no root certificate",
				service);
		goto out;
	}
	size = strlen(service) + sizeof(".pem");
	name = malloc(size);
	if (name == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	snprintf(name, size, "%s.pem", service);
	/* every connection asks for it: write (and fsync) only what changed */
	*path = pe_store_path(store, PE_STORE_ROOTS_DIR, name);
	if (*path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (file_holds(*path, pem))
		goto out;
	free(*path);
	*path = NULL;
	rc = pe_store_file_write(store, PE_STORE_ROOTS_DIR, name, pem, strlen(pem), path, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "store: writing the roots of service '%s'", service);
out:
	free(name);
	free(pem);
	return rc;
}
