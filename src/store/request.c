/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Requests in the store: one row per certificate request, holding its state
 * machine (by state name), the key's carrier, the CSR and the certificate, so
 * that any step can be resumed after a crash from what was last committed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define REQUEST_COLUMNS                                                                            \
	"id, service, owner_type, template_oid, carrier, key_type, token_serial, token_model, "    \
	"key_label, key_id, key_uri, subject, csr, ca_request_id, ca_status, cert, cert_serial, "  \
	"cert_sha256, state, resume_state, reason, created_at, updated_at, container, ca_state, "  \
	"origin"

static const char *const state_names[PE_REQ_STATE_MAX] = {
	[PE_REQ_NEW] = "new",
	[PE_REQ_KEY_READY] = "key-ready",
	[PE_REQ_CSR_READY] = "csr-ready",
	[PE_REQ_SUBMITTED] = "submitted",
	[PE_REQ_PENDING] = "pending",
	[PE_REQ_ISSUED] = "issued",
	[PE_REQ_INSTALLED] = "installed",
	[PE_REQ_ACKNOWLEDGED] = "acknowledged",
	[PE_REQ_REJECTED] = "rejected",
	[PE_REQ_CONNECTION_PROBLEM] = "connection-problem",
	[PE_REQ_FAILED] = "failed",
};

const char *
pe_request_state_name(enum pe_request_state state)
{
	if ((unsigned)state >= PE_REQ_STATE_MAX)
		return "unknown";
	return state_names[state];
}

enum pe_request_state
pe_request_state_from_name(const char *name)
{
	unsigned i;

	for (i = 0; name != NULL && i < PE_REQ_STATE_MAX; i++) {
		if (strcmp(state_names[i], name) == 0)
			return (enum pe_request_state)i;
	}
	return PE_REQ_STATE_MAX;
}

const char *
pe_request_user_state(enum pe_request_state state)
{
	switch (state) {
	case PE_REQ_NEW:
	case PE_REQ_KEY_READY:
	case PE_REQ_CSR_READY:
	case PE_REQ_SUBMITTED:
	case PE_REQ_PENDING:
	case PE_REQ_ISSUED:
		return "processing";
	case PE_REQ_INSTALLED:
	case PE_REQ_ACKNOWLEDGED:
		return "installed";
	case PE_REQ_REJECTED:
		return "rejected";
	case PE_REQ_CONNECTION_PROBLEM:
		return "connection-problem";
	case PE_REQ_FAILED:
	case PE_REQ_STATE_MAX:
		break;
	}
	return "failed";
}

void
pe_request_free(struct pe_request *req)
{
	if (req == NULL)
		return;
	free(req->service);
	free(req->owner_type);
	free(req->template_oid);
	free(req->carrier);
	free(req->key_type);
	free(req->token_serial);
	free(req->token_model);
	free(req->key_label);
	free(req->key_id);
	free(req->key_uri);
	free(req->subject);
	free(req->csr);
	free(req->ca_request_id);
	free(req->ca_status);
	free(req->cert);
	free(req->cert_serial);
	free(req->cert_sha256);
	free(req->reason);
	free(req->created_at);
	free(req->updated_at);
	free(req->container);
	free(req->ca_state);
	free(req->origin);
	free(req);
}

void
pe_request_list_free(struct pe_request **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		pe_request_free(list[i]);
	free(list);
}

/* Reads the row REQUEST_COLUMNS that @st stands on into a newly allocated *out. */
static enum pe_code
request_row(sqlite3_stmt *st, struct pe_request **out, struct pe_err *err)
{
	struct pe_request *req;
	char *state = NULL, *resume = NULL;
	enum pe_code rc = PE_OK;
	bool oom = false;

	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	req->id = sqlite3_column_int64(st, 0);
	req->service = pe_store_col_text(st, 1, &oom);
	req->owner_type = pe_store_col_text(st, 2, &oom);
	req->template_oid = pe_store_col_text(st, 3, &oom);
	req->carrier = pe_store_col_text(st, 4, &oom);
	req->key_type = pe_store_col_text(st, 5, &oom);
	req->token_serial = pe_store_col_text(st, 6, &oom);
	req->token_model = pe_store_col_text(st, 7, &oom);
	req->key_label = pe_store_col_text(st, 8, &oom);
	req->key_id = pe_store_col_text(st, 9, &oom);
	req->key_uri = pe_store_col_text(st, 10, &oom);
	req->subject = pe_store_col_text(st, 11, &oom);
	req->csr = pe_store_col_blob(st, 12, &req->csr_len, &oom);
	req->ca_request_id = pe_store_col_text(st, 13, &oom);
	req->ca_status = pe_store_col_text(st, 14, &oom);
	req->cert = pe_store_col_blob(st, 15, &req->cert_len, &oom);
	req->cert_serial = pe_store_col_text(st, 16, &oom);
	req->cert_sha256 = pe_store_col_text(st, 17, &oom);
	state = pe_store_col_text(st, 18, &oom);
	resume = pe_store_col_text(st, 19, &oom);
	req->reason = pe_store_col_text(st, 20, &oom);
	req->created_at = pe_store_col_text(st, 21, &oom);
	req->updated_at = pe_store_col_text(st, 22, &oom);
	req->container = pe_store_col_text(st, 23, &oom);
	req->ca_state = pe_store_col_text(st, 24, &oom);
	req->origin = pe_store_col_text(st, 25, &oom);
	if (oom) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	req->state = pe_request_state_from_name(state);
	req->resume_state = pe_request_state_from_name(resume);
	if (req->state == PE_REQ_STATE_MAX || req->resume_state == PE_REQ_STATE_MAX) {
		rc = pe_err_set(err, PE_E_STORE, "request %lld has an unknown state '%s'",
				(long long)req->id,
				req->state == PE_REQ_STATE_MAX ? state : resume);
		goto out;
	}
	*out = req;
	req = NULL;
out:
	free(state);
	free(resume);
	pe_request_free(req);
	return rc;
}

/* Binds the fields of @req that a request row changes over its life to ?1..?21 and ?23..?25. */
static void
request_bind(sqlite3_stmt *st, const struct pe_request *req, const char *now, int *brc)
{
	pe_store_bind_text(st, 1, req->service, brc);
	pe_store_bind_text(st, 2, req->owner_type, brc);
	pe_store_bind_text(st, 3, req->template_oid, brc);
	pe_store_bind_text(st, 4, req->carrier, brc);
	pe_store_bind_text(st, 5, req->key_type, brc);
	pe_store_bind_text(st, 6, req->token_serial, brc);
	pe_store_bind_text(st, 7, req->token_model, brc);
	pe_store_bind_text(st, 8, req->key_label, brc);
	pe_store_bind_text(st, 9, req->key_id, brc);
	pe_store_bind_text(st, 10, req->key_uri, brc);
	pe_store_bind_text(st, 11, req->subject, brc);
	pe_store_bind_blob(st, 12, req->csr, req->csr_len, brc);
	pe_store_bind_text(st, 13, req->ca_request_id, brc);
	pe_store_bind_text(st, 14, req->ca_status, brc);
	pe_store_bind_blob(st, 15, req->cert, req->cert_len, brc);
	pe_store_bind_text(st, 16, req->cert_serial, brc);
	pe_store_bind_text(st, 17, req->cert_sha256, brc);
	pe_store_bind_text(st, 18, pe_request_state_name(req->state), brc);
	pe_store_bind_text(st, 19, pe_request_state_name(req->resume_state), brc);
	pe_store_bind_text(st, 20, req->reason, brc);
	pe_store_bind_text(st, 21, now, brc);
	pe_store_bind_text(st, 23, req->container, brc);
	pe_store_bind_text(st, 24, req->ca_state, brc);
	pe_store_bind_text(st, 25, req->origin, brc);
}

/* A state outside the enum is a bug in the caller; storing it would lose the request. */
static enum pe_code
request_check(const struct pe_request *req, struct pe_err *err)
{
	if ((unsigned)req->state >= PE_REQ_STATE_MAX ||
	    (unsigned)req->resume_state >= PE_REQ_STATE_MAX)
		return pe_err_set(err, PE_E_FAIL, "state %d or resume state %d is not a state",
				  (int)req->state, (int)req->resume_state);
	return PE_OK;
}

enum pe_code
pe_store_request_add(struct pe_store *store, struct pe_request *req, struct pe_err *err)
{
	char now[PE_STORE_TIME_SIZE];
	char *created = NULL, *updated = NULL;
	sqlite3_stmt *st = NULL;
	int brc = SQLITE_OK;
	sqlite3_int64 id;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && req != NULL, PE_E_FAIL);
	rc = request_check(req, err);
	if (rc != PE_OK)
		goto out;
	pe_store_time_now(now);
	created = strdup(now);
	updated = strdup(now);
	if (created == NULL || updated == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_prepare(store,
			      "INSERT INTO requests (service, owner_type, template_oid, carrier, "
			      "key_type, token_serial, token_model, key_label, key_id, key_uri, "
			      "subject, csr, ca_request_id, ca_status, cert, cert_serial, "
			      "cert_sha256, state, resume_state, reason, updated_at, created_at, "
			      "container, ca_state, origin) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
			      "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
			      &st, err);
	if (rc != PE_OK)
		goto out;
	request_bind(st, req, now, &brc);
	pe_store_bind_text(st, 22, now, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_step_done(store, st, err);
	if (rc != PE_OK)
		goto out;
	id = sqlite3_last_insert_rowid(store->db);
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_commit(store, err);
	if (rc != PE_OK)
		goto out;
	req->id = id;
	free(req->created_at);
	req->created_at = created;
	created = NULL;
	free(req->updated_at);
	req->updated_at = updated;
	updated = NULL;
out:
	sqlite3_finalize(st);
	if (rc != PE_OK) {
		pe_store_rollback(store);
		pe_err_prefix(err, "store: adding a request for service '%s'",
			      req->service ? req->service : "");
	}
	free(created);
	free(updated);
	return rc;
}

enum pe_code
pe_store_request_get(struct pe_store *store, int64_t id, struct pe_request **out,
		     struct pe_err *err)
{
	sqlite3_stmt *st = NULL;
	int brc = SQLITE_OK, src;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && out != NULL, PE_E_FAIL);
	rc = pe_store_prepare(store, "SELECT " REQUEST_COLUMNS " FROM requests WHERE id = ?1", &st,
			      err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_int64(st, 1, id, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no request %lld", (long long)id);
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = request_row(st, out, err);
out:
	sqlite3_finalize(st);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: reading request %lld", (long long)id);
	return rc;
}

enum pe_code
pe_store_request_find_origin(struct pe_store *store, const char *origin, struct pe_request **out,
			     struct pe_err *err)
{
	sqlite3_stmt *st = NULL;
	int brc = SQLITE_OK, src;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && origin != NULL && out != NULL, PE_E_FAIL);
	rc = pe_store_prepare(store,
			      "SELECT " REQUEST_COLUMNS " FROM requests WHERE origin = ?1 "
			      "ORDER BY id DESC LIMIT 1",
			      &st, err);
	if (rc != PE_OK)
		goto out;
	pe_store_bind_text(st, 1, origin, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no request from '%s'", origin);
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = request_row(st, out, err);
out:
	sqlite3_finalize(st);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: looking for the request from '%s'", origin);
	return rc;
}

static enum pe_code
request_item(struct pe_store *store, sqlite3_stmt *st, void **item, struct pe_err *err)
{
	struct pe_request *req = NULL;
	enum pe_code rc = request_row(st, &req, err);

	if (rc == PE_OK)
		*item = req;
	return rc;
}

static void
request_item_free(void *item)
{
	pe_request_free(item);
}

enum pe_code
pe_store_request_list(struct pe_store *store, struct pe_request ***out, size_t *n,
		      struct pe_err *err)
{
	void **items = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && out != NULL && n != NULL, PE_E_FAIL);
	/* ids only grow (AUTOINCREMENT), so they order by creation finer than created_at */
	rc = pe_store_rows(store, "SELECT " REQUEST_COLUMNS " FROM requests ORDER BY id",
			   request_item, request_item_free, &items, n, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "store: listing requests");
		return rc;
	}
	*out = (struct pe_request **)items;
	return PE_OK;
}

enum pe_code
pe_store_request_update(struct pe_store *store, struct pe_request *req, struct pe_err *err)
{
	char now[PE_STORE_TIME_SIZE];
	sqlite3_stmt *st = NULL;
	char *updated = NULL;
	int brc = SQLITE_OK;
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && req != NULL, PE_E_FAIL);
	rc = request_check(req, err);
	if (rc != PE_OK)
		goto out;
	pe_store_time_now(now);
	updated = strdup(now);
	if (updated == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_prepare(
		store,
		"UPDATE requests SET service = ?1, owner_type = ?2, "
		"template_oid = ?3, carrier = ?4, key_type = ?5, token_serial = ?6, "
		"token_model = ?7, key_label = ?8, key_id = ?9, key_uri = ?10, "
		"subject = ?11, csr = ?12, ca_request_id = ?13, ca_status = ?14, "
		"cert = ?15, cert_serial = ?16, cert_sha256 = ?17, state = ?18, "
		"resume_state = ?19, reason = ?20, updated_at = ?21, container = ?23, "
		"ca_state = ?24, origin = ?25 WHERE id = ?22",
		&st, err);
	if (rc != PE_OK)
		goto out;
	request_bind(st, req, now, &brc);
	pe_store_bind_int64(st, 22, req->id, &brc);
	if (brc != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_step_done(store, st, err);
	if (rc != PE_OK)
		goto out;
	if (sqlite3_changes(store->db) == 0) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no request %lld", (long long)req->id);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = pe_store_commit(store, err);
	if (rc != PE_OK)
		goto out;
	free(req->updated_at);
	req->updated_at = updated;
	updated = NULL;
out:
	sqlite3_finalize(st);
	if (rc != PE_OK)
		pe_store_rollback(store);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: updating request %lld (state '%s')", (long long)req->id,
			      pe_request_state_name(req->state));
	free(updated);
	return rc;
}
