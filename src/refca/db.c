/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * state.db: registrations and certificate requests (CSR, certificate, status
 * letter, reason, times) in SQLite, WAL mode, so that serve and the operator
 * commands share it while both run. Status changes are conditional updates.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "refca.h"

#define SCHEMA_VERSION 1
#define BUSY_MS	       10000

struct pe_refca_db {
	sqlite3 *db;
};

static const char schema[] = "CREATE TABLE registrations ("
			     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
			     " token TEXT NOT NULL UNIQUE,"
			     " pw_salt BLOB NOT NULL,"
			     " pw_hash BLOB NOT NULL,"
			     " pw_iter INTEGER NOT NULL,"
			     " status TEXT NOT NULL,"
			     " reason TEXT,"
			     " email TEXT,"
			     " comment TEXT,"
			     " description TEXT,"
			     " profile TEXT NOT NULL,"
			     " created INTEGER NOT NULL,"
			     " updated INTEGER NOT NULL);"
			     "CREATE TABLE requests ("
			     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
			     " registration INTEGER NOT NULL REFERENCES registrations(id),"
			     " template TEXT NOT NULL,"
			     " subject TEXT NOT NULL,"
			     " csr BLOB NOT NULL,"
			     " status TEXT NOT NULL,"
			     " reason TEXT,"
			     " cert BLOB,"
			     " serial TEXT,"
			     " created INTEGER NOT NULL,"
			     " updated INTEGER NOT NULL);"
			     "CREATE INDEX requests_registration ON requests(registration);"
			     "PRAGMA user_version = 1;";

static enum pe_code
db_fail(struct pe_refca_db *db, struct pe_err *err, const char *what)
{
	return pe_err_set(err, PE_E_STORE, "state.db: %s: %s", what, sqlite3_errmsg(db->db));
}

static enum pe_code
exec_sql(struct pe_refca_db *db, const char *sql, struct pe_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		pe_err_set(err, PE_E_STORE, "state.db: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return PE_E_STORE;
	}
	return PE_OK;
}

static enum pe_code
prepare(struct pe_refca_db *db, const char *sql, sqlite3_stmt **stmt, struct pe_err *err)
{
	if (sqlite3_prepare_v2(db->db, sql, -1, stmt, NULL) != SQLITE_OK)
		return db_fail(db, err, "prepare");
	return PE_OK;
}

enum pe_code
pe_refca_db_open(const char *path, bool create, struct pe_refca_db **out, struct pe_err *err)
{
	struct pe_refca_db *db;
	sqlite3_stmt *stmt = NULL;
	enum pe_code rc;
	int fd, version = 0;

	if (create) {
		/* made here first, so that it is 0600 from the start */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return pe_err_set(err, PE_E_STORE, "'%s': %s", path, strerror(errno));
		close(fd);
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = pe_err_set(err, PE_E_STORE, "'%s': %s", path,
				db->db ? sqlite3_errmsg(db->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db->db, BUSY_MS);
	rc = exec_sql(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;", err);
	if (rc != PE_OK)
		goto out;
	rc = prepare(db, "PRAGMA user_version", &stmt, err);
	if (rc != PE_OK)
		goto out;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (create && version == 0) {
		rc = exec_sql(db, "BEGIN IMMEDIATE", err);
		if (rc == PE_OK)
			rc = exec_sql(db, schema, err);
		if (rc == PE_OK)
			rc = exec_sql(db, "COMMIT", err);
		else
			exec_sql(db, "ROLLBACK", NULL);
		if (rc != PE_OK)
			goto out;
	} else if (version != SCHEMA_VERSION) {
		rc = pe_err_set(err, PE_E_STORE, "'%s' has schema version %d, not %d", path,
				version, SCHEMA_VERSION);
		goto out;
	}
	*out = db;
	return PE_OK;
out:
	pe_refca_db_close(db);
	return rc;
}

void
pe_refca_db_close(struct pe_refca_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->db);
	free(db);
}

void
pe_refca_reg_free(struct pe_refca_reg *reg)
{
	if (reg == NULL)
		return;
	free(reg->token);
	free(reg->reason);
	free(reg->email);
	free(reg->comment);
	free(reg->description);
	free(reg->profile);
	memset(reg->hash, 0, sizeof(reg->hash));
	free(reg);
}

void
pe_refca_req_free(struct pe_refca_req *req)
{
	if (req == NULL)
		return;
	free(req->template_oid);
	free(req->subject);
	free(req->csr);
	free(req->reason);
	free(req->cert);
	free(req->serial);
	free(req);
}

/* Returns: a newly allocated copy of text column @i, NULL when it is NULL; sets *oom. */
static char *
col_text(sqlite3_stmt *stmt, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(stmt, i);
	char *s;

	if (t == NULL)
		return NULL;
	s = strdup((const char *)t);
	if (s == NULL)
		*oom = true;
	return s;
}

/* Returns: a newly allocated copy of blob column @i and its length in *len. */
static unsigned char *
col_blob(sqlite3_stmt *stmt, int i, size_t *len, bool *oom)
{
	const void *b = sqlite3_column_blob(stmt, i);
	int n = sqlite3_column_bytes(stmt, i);
	unsigned char *copy;

	*len = 0;
	if (b == NULL || n <= 0)
		return NULL;
	copy = malloc((size_t)n);
	if (copy == NULL) {
		*oom = true;
		return NULL;
	}
	memcpy(copy, b, (size_t)n);
	*len = (size_t)n;
	return copy;
}

static char
col_status(sqlite3_stmt *stmt, int i)
{
	const unsigned char *t = sqlite3_column_text(stmt, i);

	return t != NULL && t[0] != '\0' ? (char)t[0] : PE_REFCA_ST_ERROR;
}

static int
bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(stmt, i);
	return sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
}

#define REG_COLUMNS                                                                                \
	"id, token, pw_salt, pw_hash, pw_iter, status, reason, email, comment, "                   \
	"description, profile, created, updated"

static enum pe_code
reg_row(sqlite3_stmt *stmt, struct pe_refca_reg **out, struct pe_err *err)
{
	struct pe_refca_reg *reg = calloc(1, sizeof(*reg));
	bool oom = false;

	if (reg == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	reg->id = sqlite3_column_int64(stmt, 0);
	reg->token = col_text(stmt, 1, &oom);
	if (sqlite3_column_bytes(stmt, 2) != (int)sizeof(reg->salt) ||
	    sqlite3_column_bytes(stmt, 3) != (int)sizeof(reg->hash)) {
		pe_refca_reg_free(reg);
		return pe_err_set(err, PE_E_STORE, "state.db: registration %lld is damaged",
				  sqlite3_column_int64(stmt, 0));
	}
	memcpy(reg->salt, sqlite3_column_blob(stmt, 2), sizeof(reg->salt));
	memcpy(reg->hash, sqlite3_column_blob(stmt, 3), sizeof(reg->hash));
	reg->iter = (unsigned)sqlite3_column_int(stmt, 4);
	reg->status = col_status(stmt, 5);
	reg->reason = col_text(stmt, 6, &oom);
	reg->email = col_text(stmt, 7, &oom);
	reg->comment = col_text(stmt, 8, &oom);
	reg->description = col_text(stmt, 9, &oom);
	reg->profile = col_text(stmt, 10, &oom);
	reg->created = sqlite3_column_int64(stmt, 11);
	reg->updated = sqlite3_column_int64(stmt, 12);
	if (oom || reg->token == NULL || reg->profile == NULL) {
		pe_refca_reg_free(reg);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	*out = reg;
	return PE_OK;
}

enum pe_code
pe_refca_db_reg_add(struct pe_refca_db *db, const struct pe_refca_reg *reg, long long *id,
		    struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	long long now = (long long)time(NULL);
	char status[2] = { reg->status, '\0' };
	enum pe_code rc;

	rc = prepare(db,
		     "INSERT INTO registrations (token, pw_salt, pw_hash, pw_iter, status, "
		     "reason, email, comment, description, profile, created, updated) "
		     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     &stmt, err);
	if (rc != PE_OK)
		return rc;
	if (bind_text(stmt, 1, reg->token) != SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 2, reg->salt, sizeof(reg->salt), SQLITE_TRANSIENT) !=
		    SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 3, reg->hash, sizeof(reg->hash), SQLITE_TRANSIENT) !=
		    SQLITE_OK ||
	    sqlite3_bind_int(stmt, 4, (int)reg->iter) != SQLITE_OK ||
	    bind_text(stmt, 5, status) != SQLITE_OK ||
	    bind_text(stmt, 6, reg->reason) != SQLITE_OK ||
	    bind_text(stmt, 7, reg->email) != SQLITE_OK ||
	    bind_text(stmt, 8, reg->comment) != SQLITE_OK ||
	    bind_text(stmt, 9, reg->description) != SQLITE_OK ||
	    bind_text(stmt, 10, reg->profile) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 11, now) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 12, now) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
		rc = db_fail(db, err, "new registration");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db->db);
out:
	sqlite3_finalize(stmt);
	return rc;
}

static enum pe_code
reg_get(struct pe_refca_db *db, const char *where, long long id, const char *token,
	struct pe_refca_reg **out, struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	char sql[256];
	enum pe_code rc;
	int step;

	snprintf(sql, sizeof(sql), "SELECT " REG_COLUMNS " FROM registrations WHERE %s", where);
	rc = prepare(db, sql, &stmt, err);
	if (rc != PE_OK)
		return rc;
	if (token != NULL)
		bind_text(stmt, 1, token);
	else
		sqlite3_bind_int64(stmt, 1, id);
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		rc = reg_row(stmt, out, err);
	else if (step == SQLITE_DONE)
		rc = token != NULL ? pe_err_set(err, PE_E_NOTFOUND, "no such registration")
				   : pe_err_set(err, PE_E_NOTFOUND, "no registration %lld", id);
	else
		rc = db_fail(db, err, "registration");
	sqlite3_finalize(stmt);
	return rc;
}

enum pe_code
pe_refca_db_reg_get(struct pe_refca_db *db, long long id, struct pe_refca_reg **out,
		    struct pe_err *err)
{
	return reg_get(db, "id = ?", id, NULL, out, err);
}

enum pe_code
pe_refca_db_reg_by_token(struct pe_refca_db *db, const char *token, struct pe_refca_reg **out,
			 struct pe_err *err)
{
	return reg_get(db, "token = ?", 0, token, out, err);
}

/* Grows *items by one slot. */
static enum pe_code
list_grow(void ***items, size_t n, size_t *cap, struct pe_err *err)
{
	void **bigger;

	if (n < *cap)
		return PE_OK;
	*cap = *cap ? *cap * 2 : 16;
	bigger = realloc(*items, *cap * sizeof(**items));
	if (bigger == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	*items = bigger;
	return PE_OK;
}

enum pe_code
pe_refca_db_reg_list(struct pe_refca_db *db, struct pe_refca_reg ***out, size_t *n_out,
		     struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	void **items = NULL;
	size_t n = 0, cap = 0, i;
	enum pe_code rc;
	int step;

	rc = prepare(db, "SELECT " REG_COLUMNS " FROM registrations ORDER BY id", &stmt, err);
	if (rc != PE_OK)
		return rc;
	for (;;) {
		step = sqlite3_step(stmt);
		if (step != SQLITE_ROW)
			break;
		rc = list_grow(&items, n, &cap, err);
		if (rc == PE_OK)
			rc = reg_row(stmt, (struct pe_refca_reg **)&items[n], err);
		if (rc != PE_OK)
			goto out;
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(db, err, "registrations");
		goto out;
	}
	*out = (struct pe_refca_reg **)items;
	*n_out = n;
	items = NULL;
	n = 0;
out:
	for (i = 0; i < n; i++)
		pe_refca_reg_free(items[i]);
	free(items);
	sqlite3_finalize(stmt);
	return rc;
}

/* Returns: "Q", "C or K", "Q, A or R" for @letters, in @buf. */
static const char *
letters_text(const char *letters, char *buf, size_t size)
{
	size_t i, n = strlen(letters), used = 0;

	buf[0] = '\0';
	for (i = 0; i < n && used + 6 < size; i++) {
		if (i > 0)
			used += (size_t)snprintf(buf + used, size - used, "%s",
						 i + 1 == n ? " or " : ", ");
		buf[used++] = letters[i];
		buf[used] = '\0';
	}
	return buf;
}

/* The conditional status update both tables share. */
static enum pe_code
set_status(struct pe_refca_db *db, const char *table, const char *what, long long id, char status,
	   const char *reason, const char *from, struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	char sql[256], want[32], letter[2] = { status, '\0' };
	const unsigned char *now_status;
	char current = 0;
	enum pe_code rc;

	rc = exec_sql(db, "BEGIN IMMEDIATE", err);
	if (rc != PE_OK)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT status FROM %s WHERE id = ?", table);
	rc = prepare(db, sql, &stmt, err);
	if (rc != PE_OK)
		goto out;
	sqlite3_bind_int64(stmt, 1, id);
	switch (sqlite3_step(stmt)) {
	case SQLITE_ROW:
		now_status = sqlite3_column_text(stmt, 0);
		current = now_status ? (char)now_status[0] : 0;
		break;
	case SQLITE_DONE:
		rc = pe_err_set(err, PE_E_NOTFOUND, "no %s %lld", what, id);
		goto out;
	default:
		rc = db_fail(db, err, what);
		goto out;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (from != NULL && (current == 0 || strchr(from, current) == NULL)) {
		rc = pe_err_set(err, PE_E_USAGE, "%s %lld is %c (%s), not %s", what, id, current,
				pe_refca_status_name(current),
				letters_text(from, want, sizeof(want)));
		goto out;
	}
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET status = ?, reason = ?, updated = ? "
		 "WHERE id = ?",
		 table);
	rc = prepare(db, sql, &stmt, err);
	if (rc != PE_OK)
		goto out;
	if (bind_text(stmt, 1, letter) != SQLITE_OK || bind_text(stmt, 2, reason) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 3, (long long)time(NULL)) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 4, id) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
		rc = db_fail(db, err, what);
		goto out;
	}
out:
	sqlite3_finalize(stmt);
	if (rc == PE_OK)
		rc = exec_sql(db, "COMMIT", err);
	if (rc != PE_OK)
		exec_sql(db, "ROLLBACK", NULL);
	return rc;
}

enum pe_code
pe_refca_db_reg_set_status(struct pe_refca_db *db, long long id, char status, const char *reason,
			   const char *from, struct pe_err *err)
{
	return set_status(db, "registrations", "registration", id, status, reason, from, err);
}

#define REQ_COLUMNS                                                                                \
	"id, registration, template, subject, csr, status, reason, cert, serial, "                 \
	"created, updated"

static enum pe_code
req_row(sqlite3_stmt *stmt, struct pe_refca_req **out, struct pe_err *err)
{
	struct pe_refca_req *req = calloc(1, sizeof(*req));
	bool oom = false;

	if (req == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	req->id = sqlite3_column_int64(stmt, 0);
	req->reg_id = sqlite3_column_int64(stmt, 1);
	req->template_oid = col_text(stmt, 2, &oom);
	req->subject = col_text(stmt, 3, &oom);
	req->csr = col_blob(stmt, 4, &req->csr_len, &oom);
	req->status = col_status(stmt, 5);
	req->reason = col_text(stmt, 6, &oom);
	req->cert = col_blob(stmt, 7, &req->cert_len, &oom);
	req->serial = col_text(stmt, 8, &oom);
	req->created = sqlite3_column_int64(stmt, 9);
	req->updated = sqlite3_column_int64(stmt, 10);
	if (oom || req->template_oid == NULL || req->subject == NULL) {
		pe_refca_req_free(req);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	*out = req;
	return PE_OK;
}

enum pe_code
pe_refca_db_req_add(struct pe_refca_db *db, const struct pe_refca_req *req, long long *id,
		    struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	long long now = (long long)time(NULL);
	char status[2] = { req->status, '\0' };
	enum pe_code rc;

	rc = prepare(db,
		     "INSERT INTO requests (registration, template, subject, csr, status, "
		     "reason, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		     &stmt, err);
	if (rc != PE_OK)
		return rc;
	if (sqlite3_bind_int64(stmt, 1, req->reg_id) != SQLITE_OK ||
	    bind_text(stmt, 2, req->template_oid) != SQLITE_OK ||
	    bind_text(stmt, 3, req->subject) != SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 4, req->csr, (int)req->csr_len, SQLITE_TRANSIENT) !=
		    SQLITE_OK ||
	    bind_text(stmt, 5, status) != SQLITE_OK ||
	    bind_text(stmt, 6, req->reason) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 7, now) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 8, now) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
		rc = db_fail(db, err, "new request");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db->db);
out:
	sqlite3_finalize(stmt);
	return rc;
}

enum pe_code
pe_refca_db_req_get(struct pe_refca_db *db, long long id, struct pe_refca_req **out,
		    struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	enum pe_code rc;
	int step;

	rc = prepare(db, "SELECT " REQ_COLUMNS " FROM requests WHERE id = ?", &stmt, err);
	if (rc != PE_OK)
		return rc;
	sqlite3_bind_int64(stmt, 1, id);
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		rc = req_row(stmt, out, err);
	else if (step == SQLITE_DONE)
		rc = pe_err_set(err, PE_E_NOTFOUND, "no request %lld", id);
	else
		rc = db_fail(db, err, "request");
	sqlite3_finalize(stmt);
	return rc;
}

enum pe_code
pe_refca_db_req_find_csr(struct pe_refca_db *db, long long reg_id, const unsigned char *csr,
			 size_t csr_len, struct pe_refca_req **out, struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	enum pe_code rc;
	int step;

	rc = prepare(db,
		     "SELECT " REQ_COLUMNS " FROM requests WHERE registration = ? AND csr = ? "
		     "ORDER BY id DESC LIMIT 1",
		     &stmt, err);
	if (rc != PE_OK)
		return rc;
	if (sqlite3_bind_int64(stmt, 1, reg_id) != SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 2, csr, (int)csr_len, SQLITE_TRANSIENT) != SQLITE_OK) {
		rc = db_fail(db, err, "request");
		goto out;
	}
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		rc = req_row(stmt, out, err);
	else if (step == SQLITE_DONE)
		rc = pe_err_set(err, PE_E_NOTFOUND, "no request with this CSR");
	else
		rc = db_fail(db, err, "request");
out:
	sqlite3_finalize(stmt);
	return rc;
}

enum pe_code
pe_refca_db_req_list(struct pe_refca_db *db, struct pe_refca_req ***out, size_t *n_out,
		     struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	void **items = NULL;
	size_t n = 0, cap = 0, i;
	enum pe_code rc;
	int step;

	rc = prepare(db, "SELECT " REQ_COLUMNS " FROM requests ORDER BY id", &stmt, err);
	if (rc != PE_OK)
		return rc;
	for (;;) {
		step = sqlite3_step(stmt);
		if (step != SQLITE_ROW)
			break;
		rc = list_grow(&items, n, &cap, err);
		if (rc == PE_OK)
			rc = req_row(stmt, (struct pe_refca_req **)&items[n], err);
		if (rc != PE_OK)
			goto out;
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(db, err, "requests");
		goto out;
	}
	*out = (struct pe_refca_req **)items;
	*n_out = n;
	items = NULL;
	n = 0;
out:
	for (i = 0; i < n; i++)
		pe_refca_req_free(items[i]);
	free(items);
	sqlite3_finalize(stmt);
	return rc;
}

enum pe_code
pe_refca_db_req_set_status(struct pe_refca_db *db, long long id, char status, const char *reason,
			   const char *from, struct pe_err *err)
{
	return set_status(db, "requests", "request", id, status, reason, from, err);
}

enum pe_code
pe_refca_db_req_set_cert(struct pe_refca_db *db, long long id, const unsigned char *cert,
			 size_t cert_len, const char *serial, struct pe_err *err)
{
	sqlite3_stmt *stmt = NULL;
	enum pe_code rc;

	rc = prepare(db,
		     "UPDATE requests SET status = 'C', reason = NULL, cert = ?, serial = ?, "
		     "updated = ? WHERE id = ? AND status = 'Q'",
		     &stmt, err);
	if (rc != PE_OK)
		return rc;
	if (sqlite3_bind_blob(stmt, 1, cert, (int)cert_len, SQLITE_TRANSIENT) != SQLITE_OK ||
	    bind_text(stmt, 2, serial) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 3, (long long)time(NULL)) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 4, id) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
		rc = db_fail(db, err, "request");
		goto out;
	}
	if (sqlite3_changes(db->db) != 1)
		rc = pe_err_set(err, PE_E_USAGE, "request %lld is no longer Q (queued)", id);
out:
	sqlite3_finalize(stmt);
	return rc;
}

const char *
pe_refca_status_name(char status)
{
	switch (status) {
	case PE_REFCA_ST_QUEUED:
		return "queued";
	case PE_REFCA_ST_ACCEPTED:
		return "accepted";
	case PE_REFCA_ST_PROCESSING:
		return "processing";
	case PE_REFCA_ST_REJECTED:
		return "rejected";
	case PE_REFCA_ST_DENIED:
		return "denied";
	case PE_REFCA_ST_ERROR:
		return "error";
	case PE_REFCA_ST_COMPLETE:
		return "issued";
	case PE_REFCA_ST_INSTALLED:
		return "installed";
	}
	return "unknown";
}
