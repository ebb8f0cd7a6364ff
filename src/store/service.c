/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CA services in the store: what the user named them, where they are, how we
 * log in (the password itself is a file, see db.c) and their last status.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define SERVICE_COLUMNS                                                                            \
	"id, name, url, protocol, login, ca_file, reg_request_id, status, status_detail, "         \
	"checked_at, created_at"

static const char *const status_names[] = {
	[PE_SERVICE_UNKNOWN] = "unknown",
	[PE_SERVICE_READY] = "ready",
	[PE_SERVICE_AWAITING_APPROVAL] = "awaiting-approval",
	[PE_SERVICE_NOT_AUTHENTICATED] = "not-authenticated",
	[PE_SERVICE_REJECTED] = "rejected",
	[PE_SERVICE_UNREACHABLE] = "unreachable",
};

const char *
pe_service_status_name(enum pe_service_status status)
{
	if ((unsigned)status >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[status];
}

/* Returns: the status named @name; PE_SERVICE_UNKNOWN for anything else. */
static enum pe_service_status
status_from_name(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (strcmp(status_names[i], name) == 0)
			return (enum pe_service_status)i;
	}
	return PE_SERVICE_UNKNOWN;
}

void
pe_service_free(struct pe_service *svc)
{
	if (svc == NULL)
		return;
	free(svc->name);
	free(svc->url);
	free(svc->protocol);
	free(svc->login);
	free(svc->ca_file);
	free(svc->reg_request_id);
	free(svc->status_detail);
	free(svc->checked_at);
	free(svc->created_at);
	free(svc);
}

void
pe_service_list_free(struct pe_service **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		pe_service_free(list[i]);
	free(list);
}

/* Reads the row SERVICE_COLUMNS that @st stands on into a newly allocated *out. */
static enum pe_code
service_row(struct pe_store *store, sqlite3_stmt *st, struct pe_service **out, struct pe_err *err)
{
	struct pe_service *svc;
	bool oom = false;
	char *status;

	svc = calloc(1, sizeof(*svc));
	if (svc == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	svc->id = sqlite3_column_int64(st, 0);
	svc->name = pe_store_col_text(st, 1, &oom);
	svc->url = pe_store_col_text(st, 2, &oom);
	svc->protocol = pe_store_col_text(st, 3, &oom);
	svc->login = pe_store_col_text(st, 4, &oom);
	svc->ca_file = pe_store_col_text(st, 5, &oom);
	svc->reg_request_id = pe_store_col_text(st, 6, &oom);
	status = pe_store_col_text(st, 7, &oom);
	svc->status = status_from_name(status);
	free(status);
	svc->status_detail = pe_store_col_text(st, 8, &oom);
	svc->checked_at = pe_store_col_text(st, 9, &oom);
	svc->created_at = pe_store_col_text(st, 10, &oom);
	if (oom) {
		pe_service_free(svc);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	svc->has_password = pe_store_secret_exists(store, svc->name);
	*out = svc;
	return PE_OK;
}

enum pe_code
pe_store_service_add(struct pe_store *store, struct pe_service *svc, struct pe_err *err)
{
	char now[PE_STORE_TIME_SIZE];
	sqlite3_stmt *st = NULL;
	char *created = NULL;
	int brc = SQLITE_OK, src;
	sqlite3_int64 id;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && svc != NULL, PE_E_FAIL);
	rc = pe_store_name_check(svc->name, err);
	if (rc != PE_OK)
		return rc;
	pe_store_time_now(now);
	created = strdup(now);
	if (created == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_prepare(store,
			      "INSERT INTO services (name, url, protocol, login, ca_file, "
			      "reg_request_id, status, status_detail, checked_at, created_at) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			      &st, err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, svc->name, &brc);
	pe_store_bind_text(st, 2, svc->url, &brc);
	pe_store_bind_text(st, 3, svc->protocol, &brc);
	pe_store_bind_text(st, 4, svc->login, &brc);
	pe_store_bind_text(st, 5, svc->ca_file, &brc);
	pe_store_bind_text(st, 6, svc->reg_request_id, &brc);
	pe_store_bind_text(st, 7, pe_service_status_name(svc->status), &brc);
	pe_store_bind_text(st, 8, svc->status_detail, &brc);
	pe_store_bind_text(st, 9, svc->checked_at, &brc);
	pe_store_bind_text(st, 10, now, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_CONSTRAINT_UNIQUE) {
		rc = pe_err_set(err, PE_E_USAGE, "a service named '%s' already exists", svc->name);
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	id = sqlite3_last_insert_rowid(store->db);
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_commit(store, err);
	if (rc != PE_OK)
		goto out;
	svc->id = id;
	free(svc->created_at);
	svc->created_at = created;
	created = NULL;
	svc->has_password = pe_store_secret_exists(store, svc->name);
out:
	sqlite3_finalize(st);
	if (rc != PE_OK)
		pe_store_rollback(store);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: adding service '%s'", svc->name);
	free(created);
	return rc;
}

enum pe_code
pe_store_service_get(struct pe_store *store, const char *name, struct pe_service **out,
		     struct pe_err *err)
{
	sqlite3_stmt *st = NULL;
	int brc = SQLITE_OK, src;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && name != NULL && out != NULL, PE_E_FAIL);
	rc = pe_store_prepare(store, "SELECT " SERVICE_COLUMNS " FROM services WHERE name = ?1",
			      &st, err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, name, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no service named '%s'", name);
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = service_row(store, st, out, err);
out:
	sqlite3_finalize(st);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: reading service '%s'", name);
	return rc;
}

static enum pe_code
service_item(struct pe_store *store, sqlite3_stmt *st, void **item, struct pe_err *err)
{
	struct pe_service *svc = NULL;
	enum pe_code rc = service_row(store, st, &svc, err);

	if (rc == PE_OK)
		*item = svc;
	return rc;
}

static void
service_item_free(void *item)
{
	pe_service_free(item);
}

enum pe_code
pe_store_service_list(struct pe_store *store, struct pe_service ***out, size_t *n,
		      struct pe_err *err)
{
	void **items = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && out != NULL && n != NULL, PE_E_FAIL);
	rc = pe_store_rows(store, "SELECT " SERVICE_COLUMNS " FROM services ORDER BY name",
			   service_item, service_item_free, &items, n, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "store: listing services");
		return rc;
	}
	*out = (struct pe_service **)items;
	return PE_OK;
}

enum pe_code
pe_store_service_update(struct pe_store *store, const struct pe_service *svc, struct pe_err *err)
{
	sqlite3_stmt *st = NULL;
	int brc = SQLITE_OK;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && svc != NULL && svc->name != NULL, PE_E_FAIL);
	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_prepare(store,
			      "UPDATE services SET url = ?2, protocol = ?3, login = ?4, "
			      "ca_file = ?5, reg_request_id = ?6, status = ?7, status_detail = ?8, "
			      "checked_at = ?9 WHERE name = ?1",
			      &st, err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, svc->name, &brc);
	pe_store_bind_text(st, 2, svc->url, &brc);
	pe_store_bind_text(st, 3, svc->protocol, &brc);
	pe_store_bind_text(st, 4, svc->login, &brc);
	pe_store_bind_text(st, 5, svc->ca_file, &brc);
	pe_store_bind_text(st, 6, svc->reg_request_id, &brc);
	pe_store_bind_text(st, 7, pe_service_status_name(svc->status), &brc);
	pe_store_bind_text(st, 8, svc->status_detail, &brc);
	pe_store_bind_text(st, 9, svc->checked_at, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_step_done(store, st, err);
	if (rc != PE_OK)
		goto out;
	if (sqlite3_changes(store->db) == 0) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no service named '%s'", svc->name);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_commit(store, err);
out:
	sqlite3_finalize(st);
	if (rc != PE_OK)
		pe_store_rollback(store);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: updating service '%s'", svc->name);
	return rc;
}

enum pe_code
pe_store_service_remove(struct pe_store *store, const char *name, struct pe_err *err)
{
	sqlite3_stmt *st = NULL;
	char *roots_name = NULL;
	int brc = SQLITE_OK;
	enum pe_code rc;
	size_t size;

	pe_return_val_if_fail(store != NULL, PE_E_FAIL);
	rc = pe_store_name_check(name, err);
	if (rc != PE_OK)
		return rc;
	size = strlen(name) + sizeof(".pem");
	roots_name = malloc(size);
	if (roots_name == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	snprintf(roots_name, size, "%s.pem", name);
	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_prepare(store, "DELETE FROM roots WHERE service = ?1", &st, err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, name, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_step_done(store, st, err);
	if (rc != PE_OK)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_prepare(store, "DELETE FROM services WHERE name = ?1", &st, err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, name, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_step_done(store, st, err);
	if (rc != PE_OK)
		goto out;
	if (sqlite3_changes(store->db) == 0) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no service named '%s'", name);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_commit(store, err);
	if (rc != PE_OK)
		goto out;
	/* after the commit, so that a failure cannot leave a service without its password */
	rc = pe_store_file_remove(store, PE_STORE_SECRETS_DIR, name, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_file_remove(store, PE_STORE_ROOTS_DIR, roots_name, err);
out:
	sqlite3_finalize(st);
	if (rc != PE_OK)
		pe_store_rollback(store);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: removing service '%s'", name);
	free(roots_name);
	return rc;
}
