/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state directory and its database: opening with safe modes, WAL and the
 * schema, transactions and statement helpers, and the 0600 files beside the
 * database (written atomically), of which the service passwords are one kind.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "store-int.h"

#define DB_NAME		"p11enroll.db"
#define SCHEMA_VERSION	2
#define BUSY_TIMEOUT_MS 5000
#define NAME_LEN_MAX	64
#define SECRET_FILE_MAX 4096

static const char schema_v1[] =
	"CREATE TABLE services ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" url TEXT NOT NULL,"
	" protocol TEXT NOT NULL,"
	" login TEXT,"
	" ca_file TEXT,"
	" reg_request_id TEXT,"
	" status TEXT NOT NULL DEFAULT 'unknown',"
	" status_detail TEXT,"
	" checked_at TEXT,"
	" created_at TEXT NOT NULL);"
	/* no foreign key to services: a request keeps its history when its service goes */
	"CREATE TABLE requests ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" service TEXT NOT NULL,"
	" owner_type TEXT,"
	" template_oid TEXT,"
	" carrier TEXT,"
	" key_type TEXT,"
	" token_serial TEXT,"
	" token_model TEXT,"
	" key_label TEXT,"
	" key_id TEXT,"
	" key_uri TEXT,"
	" subject TEXT,"
	" csr BLOB,"
	" ca_request_id TEXT,"
	" ca_status TEXT,"
	" cert BLOB,"
	" cert_serial TEXT,"
	" cert_sha256 TEXT,"
	" state TEXT NOT NULL,"
	" resume_state TEXT NOT NULL,"
	" reason TEXT,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL);"
	"CREATE INDEX requests_service ON requests (service);"
	"CREATE TABLE certs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" request_id INTEGER REFERENCES requests (id),"
	" carrier TEXT,"
	" token_serial TEXT,"
	" key_id TEXT,"
	" subject TEXT,"
	" issuer TEXT,"
	" serial TEXT,"
	" sha256 TEXT NOT NULL UNIQUE,"
	" not_after TEXT,"
	" der BLOB,"
	" installed_at TEXT NOT NULL);"
	/* no foreign key either: roots may be installed before their service is added */
	"CREATE TABLE roots ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" service TEXT NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" subject TEXT,"
	" der BLOB NOT NULL,"
	" added_at TEXT NOT NULL,"
	" UNIQUE (service, sha256));"
	"INSERT INTO schema_version (version) VALUES (1);";

/* Version 2: where a software container lives, what a connector keeps between
 * calls, and who made a request (kiosk, batch row). */
static const char schema_v2[] = "ALTER TABLE requests ADD COLUMN container TEXT;"
				"ALTER TABLE requests ADD COLUMN ca_state TEXT;"
				"ALTER TABLE requests ADD COLUMN origin TEXT;"
				"CREATE INDEX requests_origin ON requests (origin);"
				"UPDATE schema_version SET version = 2;";

/* Helpers shared by the store's files */

void
pe_store_time_now(char buf[PE_STORE_TIME_SIZE])
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, PE_STORE_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, PE_STORE_TIME_SIZE, "1970-01-01T00:00:00Z");
}

enum pe_code
pe_store_sql_err(struct pe_store *store, struct pe_err *err)
{
	if (sqlite3_errcode(store->db) == SQLITE_NOMEM)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return pe_err_set(err, PE_E_STORE, "%s", sqlite3_errmsg(store->db));
}

/*
 * The writers of one process (batch's workers, each with its own connection)
 * take turns here rather than in SQLite's busy handler, which sleeps 1, 2,
 * 5, 10 ms and more between tries: a queue on a mutex costs nothing but the
 * other's commit. Other processes still meet the busy timeout.
 */
static pthread_mutex_t writers = PTHREAD_MUTEX_INITIALIZER;

enum pe_code
pe_store_begin(struct pe_store *store, struct pe_err *err)
{
	enum pe_code rc;

	pthread_mutex_lock(&writers);
	if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		pthread_mutex_unlock(&writers);
		return rc;
	}
	store->writing = true;
	return PE_OK;
}

static void
writer_done(struct pe_store *store)
{
	if (store->writing) {
		store->writing = false;
		pthread_mutex_unlock(&writers);
	}
}

enum pe_code
pe_store_commit(struct pe_store *store, struct pe_err *err)
{
	enum pe_code rc;

	if (sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
		writer_done(store);
		return PE_OK;
	}
	rc = pe_store_sql_err(store, err);
	pe_store_rollback(store);
	return rc;
}

void
pe_store_rollback(struct pe_store *store)
{
	if (store->db != NULL && !sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	writer_done(store);
}

enum pe_code
pe_store_prepare(struct pe_store *store, const char *sql, sqlite3_stmt **st, struct pe_err *err)
{
	if (sqlite3_prepare_v2(store->db, sql, -1, st, NULL) != SQLITE_OK)
		return pe_store_sql_err(store, err);
	return PE_OK;
}

enum pe_code
pe_store_rows(struct pe_store *store, const char *sql, pe_store_row_fn row,
	      void (*free_item)(void *item), void ***out, size_t *n, struct pe_err *err)
{
	void **list = NULL, **grown;
	size_t count = 0, cap = 8, i;
	sqlite3_stmt *st = NULL;
	enum pe_code rc;
	int src;

	/* one slot more than the rows: the array is also NULL-terminated */
	list = calloc(cap, sizeof(*list));
	if (list == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = pe_store_prepare(store, sql, &st, err);
	while (rc == PE_OK) {
		src = sqlite3_step(st);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = pe_store_sql_err(store, err);
			break;
		}
		if (count + 1 == cap) {
			grown = realloc(list, cap * 2 * sizeof(*list));
			if (grown == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				break;
			}
			list = grown;
			cap *= 2;
		}
		rc = row(store, st, &list[count], err);
		if (rc == PE_OK)
			list[++count] = NULL;
	}
	sqlite3_finalize(st);
	if (rc != PE_OK) {
		for (i = 0; i < count; i++)
			free_item(list[i]);
		free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return PE_OK;
}

enum pe_code
pe_store_step_done(struct pe_store *store, sqlite3_stmt *st, struct pe_err *err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return pe_store_sql_err(store, err);
	return PE_OK;
}

void
pe_store_bind_text(sqlite3_stmt *st, int i, const char *s, int *brc)
{
	if (*brc != SQLITE_OK)
		return;
	if (s == NULL)
		*brc = sqlite3_bind_null(st, i);
	else
		*brc = sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void
pe_store_bind_blob(sqlite3_stmt *st, int i, const unsigned char *data, size_t len, int *brc)
{
	if (*brc != SQLITE_OK)
		return;
	if (data == NULL)
		*brc = sqlite3_bind_null(st, i);
	else
		*brc = sqlite3_bind_blob64(st, i, data, len, SQLITE_STATIC);
}

void
pe_store_bind_int64(sqlite3_stmt *st, int i, int64_t v, int *brc)
{
	if (*brc != SQLITE_OK)
		return;
	*brc = sqlite3_bind_int64(st, i, v);
}

char *
pe_store_col_text(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *text;
	char *copy;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	text = sqlite3_column_text(st, i);
	copy = text != NULL ? strdup((const char *)text) : NULL;
	if (copy == NULL)
		*oom = true;
	return copy;
}

unsigned char *
pe_store_col_blob(sqlite3_stmt *st, int i, size_t *len, bool *oom)
{
	const void *blob;
	unsigned char *copy;
	int n;

	*len = 0;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	blob = sqlite3_column_blob(st, i);
	n = sqlite3_column_bytes(st, i);
	if (n <= 0)
		return NULL;
	if (blob == NULL) {
		*oom = true;
		return NULL;
	}
	copy = malloc((size_t)n);
	if (copy == NULL) {
		*oom = true;
		return NULL;
	}
	memcpy(copy, blob, (size_t)n);
	*len = (size_t)n;
	return copy;
}

enum pe_code
pe_store_name_check(const char *name, struct pe_err *err)
{
	size_t i, len;

	if (name == NULL || name[0] == '\0')
		return pe_err_set(err, PE_E_USAGE, "a service name cannot be empty");
	len = strlen(name);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			continue;
		/* the name itself is not repeated: it may hold anything, a newline included */
		if (c > ' ' && c < 0x7f && c != '\'')
			return pe_err_set(err, PE_E_USAGE,
					  "a service name may have only letters, "
					  "digits, '.', '_' and '-', not '%c'",
					  c);
		return pe_err_set(err, PE_E_USAGE,
				  "a service name may have only letters, "
				  "digits, '.', '_' and '-', not byte 0x%02x",
				  c);
	}
	if (len > NAME_LEN_MAX)
		return pe_err_set(err, PE_E_USAGE,
				  "service name '%.*s...' is longer than %d "
				  "characters",
				  16, name, NAME_LEN_MAX);
	if (name[0] == '.')
		return pe_err_set(err, PE_E_USAGE, "service name '%s' cannot start with '.'", name);
	return PE_OK;
}

char *
pe_store_path(const struct pe_store *store, const char *dir, const char *name)
{
	size_t size = strlen(store->home) + (dir ? strlen(dir) + 1 : 0) +
		      (name ? strlen(name) + 1 : 0) + 1;
	char *path = malloc(size);

	if (path == NULL)
		return NULL;
	snprintf(path, size, "%s%s%s%s%s", store->home, dir ? "/" : "", dir ? dir : "",
		 name ? "/" : "", name ? name : "");
	return path;
}

/*
 * Checks that @path is a directory of ours that nobody else can write: a
 * state directory that others can write lets them replace the database.
 */
static enum pe_code
dir_check(const char *path, struct pe_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return pe_err_set(err, PE_E_STORE, "'%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return pe_err_set(err, PE_E_STORE, "'%s' is not a directory", path);
	if (st.st_uid != geteuid())
		return pe_err_set(err, PE_E_STORE, "'%s' belongs to uid %lu, not to you (uid %lu)",
				  path, (unsigned long)st.st_uid, (unsigned long)geteuid());
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return pe_err_set(err, PE_E_STORE,
				  "'%s' is writable by group or others "
				  "(mode %04o); run chmod go-w on it",
				  path, (unsigned)(st.st_mode & 07777));
	return PE_OK;
}

/* Makes @path with mode 0700 (and, with @parents, what leads to it) unless it exists. */
static enum pe_code
dir_make(const char *path, bool parents, struct pe_err *err)
{
	struct stat st;
	char *copy = NULL, *p;
	enum pe_code rc = PE_OK;
	int saved;

	if (parents) {
		copy = strdup(path);
		if (copy == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		for (p = copy + 1; *p != '\0'; p++) {
			if (*p != '/' || p[-1] == '/')
				continue;
			*p = '\0';
			if (mkdir(copy, 0700) == 0) {
				/* a umask without u+wx would leave a parent we cannot enter */
				if (chmod(copy, 0700) != 0) {
					rc = pe_err_set(err, PE_E_STORE, "chmod '%s': %s", copy,
							strerror(errno));
					goto out;
				}
			} else {
				saved = errno;
				if (saved != EEXIST &&
				    !(stat(copy, &st) == 0 && S_ISDIR(st.st_mode))) {
					rc = pe_err_set(err, PE_E_STORE, "making '%s': %s", copy,
							strerror(saved));
					goto out;
				}
			}
			*p = '/';
		}
	}
	if (mkdir(path, 0700) == 0) {
		/* the umask may have taken bits away from 0700, never added them */
		if (chmod(path, 0700) != 0) {
			rc = pe_err_set(err, PE_E_STORE, "chmod '%s': %s", path, strerror(errno));
			goto out;
		}
	} else if (errno != EEXIST) {
		rc = pe_err_set(err, PE_E_STORE, "making '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = dir_check(path, err);
out:
	free(copy);
	return rc;
}

/* fsync() of a directory, so that a rename or a new file in it survives a crash. */
static enum pe_code
dir_sync(const char *path, struct pe_err *err)
{
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pe_err_set(err, PE_E_STORE, "opening '%s': %s", path, strerror(errno));
	if (fsync(fd) != 0 && errno != EINVAL) {
		int saved = errno;

		close(fd);
		return pe_err_set(err, PE_E_STORE, "fsync '%s': %s", path, strerror(saved));
	}
	close(fd);
	return PE_OK;
}

/*
 * Creates the database file 0600 whatever the umask, or checks the one that
 * is there: ours, a regular file, and neither readable nor writable by others.
 */
static enum pe_code
db_file_prepare(const char *home, const char *path, struct pe_err *err)
{
	struct stat st;
	enum pe_code rc = PE_OK;
	bool created = false;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		created = true;
	else if (errno == EEXIST)
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return pe_err_set(err, PE_E_STORE, "'%s' is a symbolic link", path);
		return pe_err_set(err, PE_E_STORE, "opening '%s': %s", path, strerror(errno));
	}
	if (created && fchmod(fd, 0600) != 0) {
		rc = pe_err_set(err, PE_E_STORE, "chmod '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = pe_err_set(err, PE_E_STORE, "'%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = pe_err_set(err, PE_E_STORE, "'%s' is not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = pe_err_set(err, PE_E_STORE, "'%s' belongs to uid %lu, not to you (uid %lu)",
				path, (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto out;
	}
	if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
		rc = pe_err_set(err, PE_E_STORE,
				"'%s' is readable or writable by group or others "
				"(mode %04o); run chmod 600 on it",
				path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (created)
		rc = dir_sync(home, err);
out:
	/*
	 * Closed before SQLite opens the file: closing any descriptor of a file
	 * drops the process's POSIX locks on it, SQLite's included.
	 */
	close(fd);
	return rc;
}

/* WAL so that readers never block the writer; FULL so that a commit survives a crash. */
static enum pe_code
db_setup(struct pe_store *store, struct pe_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	enum pe_code rc = PE_OK;

	sqlite3_extended_result_codes(store->db, 1);
	if (sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
		return pe_store_sql_err(store, err);
	rc = pe_store_prepare(store, "PRAGMA journal_mode = WAL", &st, err);
	if (rc != PE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		rc = pe_err_set(err, PE_E_STORE, "the database cannot use WAL (journal mode '%s')",
				mode ? mode : "?");
		goto out;
	}
	if (sqlite3_exec(store->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", NULL,
			 NULL, NULL) != SQLITE_OK)
		rc = pe_store_sql_err(store, err);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Creates the schema in one transaction, or checks the version of the one there. */
static enum pe_code
db_schema(struct pe_store *store, struct pe_err *err)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 version = 0, rows = 0;
	enum pe_code rc;

	rc = pe_store_begin(store, err);
	if (rc != PE_OK)
		return rc;
	if (sqlite3_exec(store->db,
			 "CREATE TABLE IF NOT EXISTS schema_version "
			 "(version INTEGER NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_prepare(store, "SELECT count(*), max(version) FROM schema_version", &st, err);
	if (rc != PE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rows = sqlite3_column_int64(st, 0);
	version = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	if (rows == 0) {
		if (sqlite3_exec(store->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK) {
			rc = pe_store_sql_err(store, err);
			goto out;
		}
		version = 1;
	} else if (version > SCHEMA_VERSION) {
		rc = pe_err_set(err, PE_E_STORE,
				"the database has schema version %lld, newer than "
				"this p11enroll knows (%d); use a newer p11enroll",
				(long long)version, SCHEMA_VERSION);
		goto out;
	} else if (version < 1) {
		rc = pe_err_set(err, PE_E_STORE, "the database has an unknown schema version %lld",
				(long long)version);
		goto out;
	}
	if (version < 2 && sqlite3_exec(store->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK) {
		rc = pe_store_sql_err(store, err);
		goto out;
	}
	rc = pe_store_commit(store, err);
out:
	sqlite3_finalize(st);
	if (rc != PE_OK)
		pe_store_rollback(store);
	return rc;
}

/* The store */

enum pe_code
pe_store_open(const char *home, struct pe_store **out, struct pe_err *err)
{
	struct pe_store *store = NULL;
	char *path = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(home != NULL && out != NULL, PE_E_FAIL);
	if (home[0] == '\0')
		return pe_err_set(err, PE_E_STORE, "store: the state directory name is empty");
	store = calloc(1, sizeof(*store));
	if (store == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	store->home = strdup(home);
	path = pe_store_path(store, NULL, DB_NAME);
	if (store->home == NULL || path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = dir_make(home, true, err);
	if (rc != PE_OK)
		goto out;
	rc = db_file_prepare(home, path, err);
	if (rc != PE_OK)
		goto out;
	if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		if (store->db == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		else
			rc = pe_err_set(err, PE_E_STORE, "opening '%s': %s", path,
					sqlite3_errmsg(store->db));
		goto out;
	}
	rc = db_setup(store, err);
	if (rc == PE_OK)
		rc = db_schema(store, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "'%s'", path);
		goto out;
	}
	*out = store;
	store = NULL;
out:
	if (rc != PE_OK)
		pe_err_prefix(err, "store");
	pe_store_close(store);
	free(path);
	return rc;
}

void
pe_store_close(struct pe_store *store)
{
	if (store == NULL)
		return;
	/* sqlite3_close_v2 also copes with a statement someone forgot to finalize */
	sqlite3_close_v2(store->db);
	free(store->home);
	free(store);
}

const char *
pe_store_home(const struct pe_store *store)
{
	return store->home;
}

/* Returns: newly allocated "@base/@leaf", or NULL on OOM. */
static char *
join(const char *base, const char *leaf)
{
	size_t size = strlen(base) + strlen(leaf) + 2;
	char *path = malloc(size);

	if (path != NULL)
		snprintf(path, size, "%s/%s", base, leaf);
	return path;
}

char *
pe_store_default_home(const char *home)
{
	struct passwd pw, *found = NULL;
	const char *env;
	char buf[4096];

	if (home != NULL && home[0] != '\0')
		return strdup(home);
	env = getenv("P11ENROLL_HOME");
	if (env != NULL && env[0] != '\0')
		return strdup(env);
	/* the XDG Base Directory spec says to ignore a relative $XDG_DATA_HOME */
	env = getenv("XDG_DATA_HOME");
	if (env != NULL && env[0] == '/')
		return join(env, "p11enroll");
	env = getenv("HOME");
	if (env == NULL || env[0] == '\0') {
		if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) != 0 || found == NULL ||
		    found->pw_dir == NULL || found->pw_dir[0] == '\0')
			return NULL;
		env = found->pw_dir;
	}
	return join(env, ".local/share/p11enroll");
}

/* Files beside the database */

static enum pe_code
write_all(int fd, const unsigned char *data, size_t len, const char *path, struct pe_err *err)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pe_err_set(err, PE_E_STORE, "writing '%s': %s", path,
					  strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return PE_OK;
}

enum pe_code
pe_store_file_write(struct pe_store *store, const char *dir, const char *name, const void *data,
		    size_t len, char **path, struct pe_err *err)
{
	char *dir_path = NULL, *file_path = NULL, *tmp_path = NULL;
	size_t tmp_size;
	enum pe_code rc = PE_OK;
	int fd = -1;

	dir_path = pe_store_path(store, dir, NULL);
	file_path = pe_store_path(store, dir, name);
	tmp_size = (dir_path ? strlen(dir_path) : 0) + strlen(name) + 10;
	tmp_path = malloc(tmp_size);
	if (dir_path == NULL || file_path == NULL || tmp_path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	/* a service name cannot start with '.', so the temporary name is nobody's file */
	snprintf(tmp_path, tmp_size, "%s/.%s.XXXXXX", dir_path, name);
	rc = dir_make(dir_path, false, err);
	if (rc != PE_OK)
		goto out;
	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0) {
		rc = pe_err_set(err, PE_E_STORE, "creating a file in '%s': %s", dir_path,
				strerror(errno));
		tmp_path[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0600) != 0) {
		rc = pe_err_set(err, PE_E_STORE, "chmod '%s': %s", tmp_path, strerror(errno));
		goto out;
	}
	rc = write_all(fd, data, len, tmp_path, err);
	if (rc != PE_OK)
		goto out;
	if (fsync(fd) != 0) {
		rc = pe_err_set(err, PE_E_STORE, "fsync '%s': %s", tmp_path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = pe_err_set(err, PE_E_STORE, "writing '%s': %s", tmp_path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp_path, file_path) != 0) {
		rc = pe_err_set(err, PE_E_STORE, "renaming '%s' to '%s': %s", tmp_path, file_path,
				strerror(errno));
		goto out;
	}
	tmp_path[0] = '\0';
	rc = dir_sync(dir_path, err);
	if (rc != PE_OK)
		goto out;
	if (path != NULL) {
		*path = file_path;
		file_path = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp_path != NULL && tmp_path[0] != '\0')
		unlink(tmp_path);
	free(tmp_path);
	free(file_path);
	free(dir_path);
	return rc;
}

enum pe_code
pe_store_file_remove(struct pe_store *store, const char *dir, const char *name, struct pe_err *err)
{
	char *dir_path = NULL, *file_path = NULL;
	enum pe_code rc = PE_OK;

	dir_path = pe_store_path(store, dir, NULL);
	file_path = pe_store_path(store, dir, name);
	if (dir_path == NULL || file_path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (unlink(file_path) != 0) {
		if (errno != ENOENT)
			rc = pe_err_set(err, PE_E_STORE, "removing '%s': %s", file_path,
					strerror(errno));
		goto out;
	}
	rc = dir_sync(dir_path, err);
out:
	free(file_path);
	free(dir_path);
	return rc;
}

/* Service passwords */

bool
pe_store_secret_exists(const struct pe_store *store, const char *service)
{
	struct stat st;
	char *path;
	bool exists;

	if (pe_store_name_check(service, NULL) != PE_OK)
		return false;
	path = pe_store_path(store, PE_STORE_SECRETS_DIR, service);
	if (path == NULL)
		return false;
	exists = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return exists;
}

enum pe_code
pe_store_secret_write(struct pe_store *store, const char *service, const struct pe_secret *secret,
		      struct pe_err *err)
{
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL && secret != NULL, PE_E_FAIL);
	rc = pe_store_name_check(service, err);
	if (rc != PE_OK)
		return rc;
	rc = pe_store_file_write(store, PE_STORE_SECRETS_DIR, service, secret->data, secret->len,
				 NULL, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "store: saving the password of service '%s'", service);
	return rc;
}

enum pe_code
pe_store_secret_read(struct pe_store *store, const char *service, struct pe_secret **out,
		     struct pe_err *err)
{
	unsigned char buf[SECRET_FILE_MAX + 1];
	struct pe_secret *secret;
	struct stat st;
	char *path = NULL;
	size_t len = 0;
	enum pe_code rc;
	ssize_t n;
	int fd = -1;

	pe_return_val_if_fail(store != NULL && out != NULL, PE_E_FAIL);
	rc = pe_store_name_check(service, err);
	if (rc != PE_OK)
		return rc;
	path = pe_store_path(store, PE_STORE_SECRETS_DIR, service);
	if (path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "no password is stored for service '%s'",
				service);
		goto out;
	}
	if (fd < 0) {
		rc = pe_err_set(err, PE_E_STORE, "opening '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = pe_err_set(err, PE_E_STORE, "'%s' is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
		rc = pe_err_set(err, PE_E_STORE,
				"'%s' is readable or writable by group or others "
				"(mode %04o); run chmod 600 on it",
				path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pe_err_set(err, PE_E_STORE, "reading '%s': %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SECRET_FILE_MAX) {
		rc = pe_err_set(err, PE_E_STORE, "'%s' is larger than %d bytes", path,
				SECRET_FILE_MAX);
		goto out;
	}
	secret = pe_secret_new(buf, len);
	if (secret == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	*out = secret;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	if (rc == PE_E_STORE || rc == PE_E_FAIL)
		pe_err_prefix(err, "store: reading the password of service '%s'", service);
	free(path);
	return rc;
}

enum pe_code
pe_store_secret_remove(struct pe_store *store, const char *service, struct pe_err *err)
{
	enum pe_code rc;

	pe_return_val_if_fail(store != NULL, PE_E_FAIL);
	rc = pe_store_name_check(service, err);
	if (rc != PE_OK)
		return rc;
	rc = pe_store_file_remove(store, PE_STORE_SECRETS_DIR, service, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "store: removing the password of service '%s'", service);
	return rc;
}
