/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to src/store: the open store, and the helpers its files share for
 * transactions, statements, times, service names and files under the state
 * directory. Helpers set only the detail of a failure ("database is locked",
 * "writing '/x': No space left on device"); the public function that called
 * them puts "store: <what it was doing>" in front.
 */
#ifndef PE_STORE_STORE_INT_H
#define PE_STORE_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

struct pe_store {
	sqlite3 *db;
	char *home;   /* as given to pe_store_open() */
	bool writing; /* between pe_store_begin() and its commit or rollback */
};

/* Directories under the state directory */
#define PE_STORE_SECRETS_DIR "secrets"
#define PE_STORE_ROOTS_DIR   "roots"

/* "2026-11-27T05:00:00Z" plus its NUL */
#define PE_STORE_TIME_SIZE 21

/* Writes the current time, RFC 3339 UTC, into @buf. */
void pe_store_time_now(char buf[PE_STORE_TIME_SIZE]);

/* Returns: PE_E_STORE with sqlite3_errmsg() of the store's connection as the message. */
enum pe_code pe_store_sql_err(struct pe_store *store, struct pe_err *err);

/* BEGIN IMMEDIATE, so that a writer waits (busy_timeout) at the start, not at COMMIT. */
enum pe_code pe_store_begin(struct pe_store *store, struct pe_err *err);
/* COMMIT; on failure the transaction is rolled back. */
enum pe_code pe_store_commit(struct pe_store *store, struct pe_err *err);
/* Rolls back the open transaction, if any; leaves @err alone. */
void pe_store_rollback(struct pe_store *store);

enum pe_code pe_store_prepare(struct pe_store *store, const char *sql, sqlite3_stmt **st,
			      struct pe_err *err);
/* Reads the row @st stands on into a newly allocated *item. */
typedef enum pe_code (*pe_store_row_fn)(struct pe_store *store, sqlite3_stmt *st, void **item,
					struct pe_err *err);

/*
 * Runs @sql and reads every row with @row into a newly allocated array of
 * *n items, NULL-terminated. On failure the items read are freed with
 * @free_item and nothing is returned. Returns: PE_OK; PE_E_STORE; PE_E_FAIL.
 */
enum pe_code pe_store_rows(struct pe_store *store, const char *sql, pe_store_row_fn row,
			   void (*free_item)(void *item), void ***out, size_t *n,
			   struct pe_err *err);

/* Steps @st once and expects SQLITE_DONE. */
enum pe_code pe_store_step_done(struct pe_store *store, sqlite3_stmt *st, struct pe_err *err);

/*
 * Binders that do nothing once *@brc holds a failure, so that a run of binds
 * is checked once. A NULL string or blob binds SQL NULL.
 */
void pe_store_bind_text(sqlite3_stmt *st, int i, const char *s, int *brc);
void pe_store_bind_blob(sqlite3_stmt *st, int i, const unsigned char *data, size_t len, int *brc);
void pe_store_bind_int64(sqlite3_stmt *st, int i, int64_t v, int *brc);

/* Returns: a newly allocated copy of column @i (free()), NULL for SQL NULL; sets *oom. */
char *pe_store_col_text(sqlite3_stmt *st, int i, bool *oom);
/* Returns: a newly allocated copy of blob column @i and its *len, NULL for NULL or empty. */
unsigned char *pe_store_col_blob(sqlite3_stmt *st, int i, size_t *len, bool *oom);

/*
 * A service name becomes a file name: 1 to 64 of [A-Za-z0-9._-], not starting
 * with '.'. Returns: PE_OK, or PE_E_USAGE with a complete message.
 */
enum pe_code pe_store_name_check(const char *name, struct pe_err *err);

/* Returns: newly allocated "<home>/<dir>/<name>" (free()); @dir may be NULL; NULL on OOM. */
char *pe_store_path(const struct pe_store *store, const char *dir, const char *name);

/*
 * Writes @data to "<home>/<dir>/<name>" with mode 0600: a temporary file in
 * the same directory, fsync, rename, fsync of the directory. Makes <dir>
 * (0700) when needed. Returns: PE_OK and, when @path is not NULL, the newly
 * allocated file name in *path; PE_E_STORE, PE_E_FAIL.
 */
enum pe_code pe_store_file_write(struct pe_store *store, const char *dir, const char *name,
				 const void *data, size_t len, char **path, struct pe_err *err);
/* Removes "<home>/<dir>/<name>"; one that is not there is not an error. */
enum pe_code pe_store_file_remove(struct pe_store *store, const char *dir, const char *name,
				  struct pe_err *err);
/* Returns: whether the password file of @service exists. */
bool pe_store_secret_exists(const struct pe_store *store, const char *service);

#endif /* PE_STORE_STORE_INT_H */
