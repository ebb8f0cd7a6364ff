/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/store: the state directory and its modes, the schema
 * version, services, service passwords, requests and their states, the
 * personal certificate index, the trusted roots and the audit log, each in a
 * fresh home.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "store/store.h"

static char tmpdir[PATH_MAX];

/* An out-parameter that must stay as it was when a call fails */
static char sentinel[1];
#define SENTINEL ((void *)sentinel)

struct fixture {
	char base[PATH_MAX + 32];  /* removed by the teardown */
	char home[PATH_MAX + 128]; /* base/state/home: its parents are made too */
	struct pe_store *store;
};

static int
group_setup(void **state)
{
	const char *base = getenv("TEST_TMP");

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir '%s': %s\n", base, strerror(errno));
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-store.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp '%s': %s\n", tmpdir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	return rmdir(tmpdir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	/* a test may have taken the write bit away */
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pe_err err = { 0 };

	if (f == NULL)
		return -1;
	snprintf(f->base, sizeof(f->base), "%s/case.XXXXXX", tmpdir);
	if (mkdtemp(f->base) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->home, sizeof(f->home), "%s/state/home", f->base);
	if (pe_store_open(f->home, &f->store, &err) != PE_OK) {
		fprintf(stderr, "pe_store_open: %s\n", err.msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	pe_store_close(f->store);
	rc = nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

/* Returns: the permission bits of @path, or -1. */
static int
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

static void
path_in(char *out, size_t size, const char *dir, const char *leaf)
{
	int n = snprintf(out, size, "%s/%s", dir, leaf);

	assert_true(n > 0 && (size_t)n < size);
}

/* Runs @sql on the database of @home through a connection of its own. */
static void
raw_exec(const char *home, const char *sql)
{
	char path[PATH_MAX + 128];
	sqlite3 *db = NULL;

	path_in(path, sizeof(path), home, "p11enroll.db");
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Returns: the first column of the first row of @sql on @home's database, newly allocated. */
static char *
raw_query(const char *home, const char *sql)
{
	char path[PATH_MAX + 128];
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	char *text = NULL;

	path_in(path, sizeof(path), home, "p11enroll.db");
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		text = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return text;
}

static void
assert_raw(const char *home, const char *sql, const char *expected)
{
	char *text = raw_query(home, sql);

	assert_non_null(text);
	assert_string_equal(text, expected);
	free(text);
}

/* Makes a self-signed EC certificate named @cn, its DER and lowercase hex SHA-256. */
static void
make_cert(const char *cn, unsigned char **der, size_t *len, char sha[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;
	EVP_PKEY *key;
	X509_NAME *name;
	X509 *x509;
	int n;

	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	x509 = X509_new();
	assert_non_null(x509);
	assert_int_equal(X509_set_version(x509, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x509), 4242), 1);
	name = X509_get_subject_name(x509);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x509, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x509), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x509), 86400));
	assert_int_equal(X509_set_pubkey(x509, key), 1);
	assert_true(X509_sign(x509, key, EVP_sha256()) > 0);
	*der = NULL;
	n = i2d_X509(x509, der);
	assert_true(n > 0);
	*len = (size_t)n;
	assert_int_equal(X509_digest(x509, EVP_sha256(), md, &md_len), 1);
	for (i = 0; i < md_len; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	X509_free(x509);
	EVP_PKEY_free(key);
}

static struct pe_service *
service_new(const char *name)
{
	struct pe_service *svc = calloc(1, sizeof(*svc));

	assert_non_null(svc);
	svc->name = strdup(name);
	svc->url = strdup("https://ca.example.test/ui");
	svc->protocol = strdup("cpca20");
	assert_non_null(svc->name);
	return svc;
}

static void
service_add(struct pe_store *store, const char *name)
{
	struct pe_service *svc = service_new(name);
	struct pe_err err = { 0 };

	assert_int_equal(pe_store_service_add(store, svc, &err), PE_OK);
	pe_service_free(svc);
}

static void *
dup_bytes(const void *data, size_t len)
{
	void *copy = malloc(len);

	assert_non_null(copy);
	memcpy(copy, data, len);
	return copy;
}

/* Fills every field of a request with values derived from @tag. */
static struct pe_request *
request_new(const char *service, const char *tag)
{
	static const unsigned char blob[] = { 0x30, 0x00, 0x00, 0xff, 0x01 };
	struct pe_request *req = calloc(1, sizeof(*req));
	char buf[128];

	assert_non_null(req);
#define FIELD(f) (snprintf(buf, sizeof(buf), "%s-" #f, tag), req->f = strdup(buf))
	req->service = strdup(service);
	FIELD(owner_type);
	FIELD(template_oid);
	FIELD(carrier);
	FIELD(key_type);
	FIELD(token_serial);
	FIELD(token_model);
	FIELD(key_label);
	FIELD(key_id);
	FIELD(key_uri);
	FIELD(subject);
	FIELD(ca_request_id);
	FIELD(ca_status);
	FIELD(cert_serial);
	FIELD(cert_sha256);
	FIELD(reason);
	FIELD(container);
	FIELD(ca_state);
	FIELD(origin);
#undef FIELD
	req->csr = dup_bytes(blob, sizeof(blob));
	req->csr_len = sizeof(blob);
	req->cert_len = strlen(tag) + 3;
	req->cert = calloc(1, req->cert_len); /* zeros inside: a BLOB, not a string */
	assert_non_null(req->cert);
	memcpy(req->cert, tag, strlen(tag));
	req->state = PE_REQ_PENDING;
	req->resume_state = PE_REQ_SUBMITTED;
	return req;
}

static void
assert_str_eq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_request_equal(const struct pe_request *a, const struct pe_request *b)
{
	assert_int_equal(a->id, b->id);
	assert_str_eq_null(a->service, b->service);
	assert_str_eq_null(a->owner_type, b->owner_type);
	assert_str_eq_null(a->template_oid, b->template_oid);
	assert_str_eq_null(a->carrier, b->carrier);
	assert_str_eq_null(a->key_type, b->key_type);
	assert_str_eq_null(a->token_serial, b->token_serial);
	assert_str_eq_null(a->token_model, b->token_model);
	assert_str_eq_null(a->key_label, b->key_label);
	assert_str_eq_null(a->key_id, b->key_id);
	assert_str_eq_null(a->key_uri, b->key_uri);
	assert_str_eq_null(a->subject, b->subject);
	assert_int_equal(a->csr_len, b->csr_len);
	if (a->csr_len > 0)
		assert_memory_equal(a->csr, b->csr, a->csr_len);
	assert_str_eq_null(a->ca_request_id, b->ca_request_id);
	assert_str_eq_null(a->ca_status, b->ca_status);
	assert_int_equal(a->cert_len, b->cert_len);
	if (a->cert_len > 0)
		assert_memory_equal(a->cert, b->cert, a->cert_len);
	assert_str_eq_null(a->cert_serial, b->cert_serial);
	assert_str_eq_null(a->cert_sha256, b->cert_sha256);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->resume_state, b->resume_state);
	assert_str_eq_null(a->reason, b->reason);
	assert_str_eq_null(a->created_at, b->created_at);
	assert_str_eq_null(a->updated_at, b->updated_at);
	assert_str_eq_null(a->container, b->container);
	assert_str_eq_null(a->ca_state, b->ca_state);
	assert_str_eq_null(a->origin, b->origin);
}

/* "2026-11-27T05:00:00Z" */
static void
assert_rfc3339(const char *t)
{
	assert_non_null(t);
	assert_int_equal(strlen(t), 20);
	assert_int_equal(t[4], '-');
	assert_int_equal(t[10], 'T');
	assert_int_equal(t[19], 'Z');
}

/* pe_store_open */

static void
test_pe_store_open_creates_modes(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 128], home[PATH_MAX + 128];
	static const mode_t masks[] = { 0, 0277 };
	struct pe_store *store;
	struct pe_err err = { 0 };
	mode_t old;
	size_t i;

	/* the fixture's home: made with its parents, 0700, the database 0600 */
	assert_int_equal(mode_of(f->home), 0700);
	path_in(path, sizeof(path), f->home, "p11enroll.db");
	assert_int_equal(mode_of(path), 0600);
	assert_string_equal(pe_store_home(f->store), f->home);
	/* WAL is persistent: a second connection sees it */
	assert_raw(f->home, "PRAGMA journal_mode", "wal");
	assert_raw(f->home, "SELECT version FROM schema_version", "2");
	path_in(path, sizeof(path), f->home, "p11enroll.db-wal");
	assert_int_equal(mode_of(path), 0600);

	/* the modes do not depend on the umask */
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		snprintf(home, sizeof(home), "%s/umask%zu/a/b", f->base, i);
		old = umask(masks[i]);
		assert_int_equal(pe_store_open(home, &store, &err), PE_OK);
		umask(old);
		assert_int_equal(mode_of(home), 0700);
		path_in(path, sizeof(path), home, "p11enroll.db");
		assert_int_equal(mode_of(path), 0600);
		pe_store_close(store);
	}
}

static void
test_pe_store_open_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct pe_service *svc = NULL;
	struct pe_err err = { 0 };

	service_add(f->store, "keep");
	pe_store_close(f->store);
	f->store = NULL;
	assert_int_equal(pe_store_open(f->home, &f->store, &err), PE_OK);
	assert_int_equal(pe_store_service_get(f->store, "keep", &svc, &err), PE_OK);
	assert_string_equal(svc->url, "https://ca.example.test/ui");
	pe_service_free(svc);
	/* opening an existing store again does not make the schema again */
	assert_raw(f->home, "SELECT count(*) FROM schema_version", "1");
}

static void
test_pe_store_open_writable_home_refused(void **state)
{
	static const mode_t modes[] = { 0777, 0770, 0702 };
	struct fixture *f = *state;
	struct pe_store *store = SENTINEL;
	struct pe_err err = { 0 };
	char mode[16];
	size_t i;

	pe_store_close(f->store);
	f->store = NULL;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->home, modes[i]), 0);
		assert_int_equal(pe_store_open(f->home, &store, &err), PE_E_STORE);
		assert_ptr_equal(store, SENTINEL);
		assert_non_null(strstr(err.msg, f->home));
		snprintf(mode, sizeof(mode), "%04o", (unsigned)modes[i]);
		assert_non_null(strstr(err.msg, mode));
	}
	/* readable by others is no danger to the database; writable is */
	assert_int_equal(chmod(f->home, 0755), 0);
	assert_int_equal(pe_store_open(f->home, &f->store, &err), PE_OK);
}

static void
test_pe_store_open_readable_db_refused(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0620, 0602 };
	struct fixture *f = *state;
	struct pe_store *store = SENTINEL;
	struct pe_err err = { 0 };
	char path[PATH_MAX + 128], mode[16];
	size_t i;

	pe_store_close(f->store);
	f->store = NULL;
	path_in(path, sizeof(path), f->home, "p11enroll.db");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(path, modes[i]), 0);
		assert_int_equal(pe_store_open(f->home, &store, &err), PE_E_STORE);
		assert_ptr_equal(store, SENTINEL);
		assert_non_null(strstr(err.msg, path));
		snprintf(mode, sizeof(mode), "%04o", (unsigned)modes[i]);
		assert_non_null(strstr(err.msg, mode));
		assert_int_equal(strncmp(err.msg, "store: ", 7), 0);
	}
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(pe_store_open(f->home, &f->store, &err), PE_OK);
}

static void
test_pe_store_open_not_a_directory(void **state)
{
	struct fixture *f = *state;
	struct pe_store *store = SENTINEL;
	struct pe_err err = { 0 };
	char path[PATH_MAX + 128];
	int fd;

	path_in(path, sizeof(path), f->base, "file");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pe_store_open(path, &store, &err), PE_E_STORE);
	assert_ptr_equal(store, SENTINEL);
	assert_non_null(strstr(err.msg, path));
	/* a database that is not one */
	path_in(path, sizeof(path), f->base, "junk");
	assert_int_equal(mkdir(path, 0700), 0);
	path_in(path, sizeof(path), f->base, "junk/p11enroll.db");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not a database, not at all, no", 38), 38);
	assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef0123456789abcdef", 48), 48);
	close(fd);
	path_in(path, sizeof(path), f->base, "junk");
	assert_int_equal(pe_store_open(path, &store, &err), PE_E_STORE);
	assert_ptr_equal(store, SENTINEL);
	assert_non_null(strstr(err.msg, "p11enroll.db"));
}

static void
test_pe_store_open_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct pe_store *store = SENTINEL;
	struct pe_err err = { 0 };

	pe_store_close(f->store);
	f->store = NULL;
	raw_exec(f->home, "UPDATE schema_version SET version = 3");
	assert_int_equal(pe_store_open(f->home, &store, &err), PE_E_STORE);
	assert_ptr_equal(store, SENTINEL);
	assert_non_null(strstr(err.msg, "schema version 3"));
	assert_non_null(strstr(err.msg, "newer"));
	/* refused, not changed */
	assert_raw(f->home, "SELECT version FROM schema_version", "3");
}

/* A version 1 store (as the first release made it) gains the version 2 columns and keeps its rows. */
static void
test_pe_store_open_upgrades_v1(void **state)
{
	struct fixture *f = *state;
	struct pe_request *req = request_new("svc", "old"), *got = NULL;
	struct pe_err err = { 0 };

	free(req->container);
	free(req->ca_state);
	free(req->origin);
	req->container = req->ca_state = req->origin = NULL;
	assert_int_equal(pe_store_request_add(f->store, req, &err), PE_OK);
	pe_store_close(f->store);
	f->store = NULL;
	raw_exec(f->home, "DROP INDEX requests_origin; ALTER TABLE requests DROP COLUMN container; "
			  "ALTER TABLE requests DROP COLUMN ca_state; "
			  "ALTER TABLE requests DROP COLUMN origin; "
			  "UPDATE schema_version SET version = 1");
	assert_int_equal(pe_store_open(f->home, &f->store, &err), PE_OK);
	assert_raw(f->home, "SELECT version FROM schema_version", "2");
	assert_int_equal(pe_store_request_get(f->store, req->id, &got, &err), PE_OK);
	assert_request_equal(got, req);
	pe_request_free(got);
	got = NULL;
	req->origin = strdup("batch:people.csv:3");
	assert_int_equal(pe_store_request_update(f->store, req, &err), PE_OK);
	assert_int_equal(pe_store_request_get(f->store, req->id, &got, &err), PE_OK);
	assert_string_equal(got->origin, "batch:people.csv:3");
	pe_request_free(got);
	pe_request_free(req);
}

static void
test_pe_store_default_home_order(void **state)
{
	char *home;

	unsetenv("P11ENROLL_HOME");
	setenv("XDG_DATA_HOME", "/xdg/data", 1);
	setenv("HOME", "/home/someone", 1);
	home = pe_store_default_home("/given");
	assert_string_equal(home, "/given");
	free(home);
	home = pe_store_default_home(NULL);
	assert_string_equal(home, "/xdg/data/p11enroll");
	free(home);
	setenv("P11ENROLL_HOME", "/pe/home", 1);
	home = pe_store_default_home(NULL);
	assert_string_equal(home, "/pe/home");
	free(home);
	home = pe_store_default_home("");
	assert_string_equal(home, "/pe/home");
	free(home);
	setenv("P11ENROLL_HOME", "", 1);
	setenv("XDG_DATA_HOME", "relative/data", 1);
	home = pe_store_default_home(NULL);
	assert_string_equal(home, "/home/someone/.local/share/p11enroll");
	free(home);
	unsetenv("XDG_DATA_HOME");
	home = pe_store_default_home(NULL);
	assert_string_equal(home, "/home/someone/.local/share/p11enroll");
	free(home);
	unsetenv("P11ENROLL_HOME");
}

/* Services */

static void
test_pe_service_status_name_all(void **state)
{
	assert_string_equal(pe_service_status_name(PE_SERVICE_UNKNOWN), "unknown");
	assert_string_equal(pe_service_status_name(PE_SERVICE_READY), "ready");
	assert_string_equal(pe_service_status_name(PE_SERVICE_AWAITING_APPROVAL),
			    "awaiting-approval");
	assert_string_equal(pe_service_status_name(PE_SERVICE_NOT_AUTHENTICATED),
			    "not-authenticated");
	assert_string_equal(pe_service_status_name(PE_SERVICE_REJECTED), "rejected");
	assert_string_equal(pe_service_status_name(PE_SERVICE_UNREACHABLE), "unreachable");
	assert_string_equal(pe_service_status_name((enum pe_service_status)99), "unknown");
}

static void
test_pe_store_service_add_get(void **state)
{
	struct fixture *f = *state;
	struct pe_service *svc = service_new("ca-1"), *got = SENTINEL;
	struct pe_err err = { 0 };

	svc->login = strdup("alice");
	svc->ca_file = strdup("/etc/ssl/ca.pem");
	svc->reg_request_id = strdup("reg-7");
	svc->status = PE_SERVICE_AWAITING_APPROVAL;
	svc->status_detail = strdup("waiting for the operator");
	svc->checked_at = strdup("2026-11-27T05:00:00Z");
	assert_int_equal(pe_store_service_add(f->store, svc, &err), PE_OK);
	assert_true(svc->id > 0);
	assert_rfc3339(svc->created_at);
	assert_false(svc->has_password);

	assert_int_equal(pe_store_service_get(f->store, "ca-1", &got, &err), PE_OK);
	assert_int_equal(got->id, svc->id);
	assert_string_equal(got->name, "ca-1");
	assert_string_equal(got->url, svc->url);
	assert_string_equal(got->protocol, "cpca20");
	assert_string_equal(got->login, "alice");
	assert_false(got->has_password);
	assert_string_equal(got->ca_file, "/etc/ssl/ca.pem");
	assert_string_equal(got->reg_request_id, "reg-7");
	assert_int_equal(got->status, PE_SERVICE_AWAITING_APPROVAL);
	assert_string_equal(got->status_detail, "waiting for the operator");
	assert_string_equal(got->checked_at, "2026-11-27T05:00:00Z");
	assert_string_equal(got->created_at, svc->created_at);
	pe_service_free(got);
	pe_service_free(svc);

	/* unset fields come back NULL */
	service_add(f->store, "ca-2");
	assert_int_equal(pe_store_service_get(f->store, "ca-2", &got, &err), PE_OK);
	assert_null(got->login);
	assert_null(got->ca_file);
	assert_null(got->checked_at);
	assert_int_equal(got->status, PE_SERVICE_UNKNOWN);
	pe_service_free(got);

	got = SENTINEL;
	assert_int_equal(pe_store_service_get(f->store, "nope", &got, &err), PE_E_NOTFOUND);
	assert_ptr_equal(got, SENTINEL);
	assert_string_equal(err.msg, "no service named 'nope'");
}

static void
test_pe_store_service_add_duplicate(void **state)
{
	struct fixture *f = *state;
	struct pe_service *svc = service_new("dup"), **list = NULL;
	struct pe_err err = { 0 };
	size_t n = 0;

	assert_int_equal(pe_store_service_add(f->store, svc, &err), PE_OK);
	svc->id = 0;
	assert_int_equal(pe_store_service_add(f->store, svc, &err), PE_E_USAGE);
	assert_string_equal(err.msg, "a service named 'dup' already exists");
	assert_int_equal(svc->id, 0);
	pe_service_free(svc);
	/* the failed transaction is gone: the next write works */
	service_add(f->store, "dup2");
	assert_int_equal(pe_store_service_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 2);
	pe_service_list_free(list, n);
}

static void
test_pe_store_service_bad_names(void **state)
{
	static const char *const bad[] = {
		"",
		".",
		"..",
		".hidden",
		"a/b",
		"../x",
		"a b",
		"tab\t",
		"caf\xc3\xa9",
		"semi;colon",
		"x\ny",
		"quote'",
		"back\\slash",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	static const char *const good[] = {
		"a",
		"A.b_c-9",
		"x.",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	struct fixture *f = *state;
	struct pe_secret *secret = pe_secret_new("pw", 2), *got = SENTINEL;
	struct pe_service *svc;
	struct pe_err err = { 0 };
	size_t i, n = 0;
	struct pe_service **list = NULL;

	assert_non_null(secret);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		svc = service_new(bad[i]);
		assert_int_equal(pe_store_service_add(f->store, svc, &err), PE_E_USAGE);
		assert_non_null(strstr(err.msg, "service name"));
		pe_service_free(svc);
		assert_int_equal(pe_store_secret_write(f->store, bad[i], secret, &err), PE_E_USAGE);
		assert_int_equal(pe_store_secret_read(f->store, bad[i], &got, &err), PE_E_USAGE);
		assert_ptr_equal(got, SENTINEL);
		assert_int_equal(pe_store_secret_remove(f->store, bad[i], &err), PE_E_USAGE);
		assert_int_equal(pe_store_service_remove(f->store, bad[i], &err), PE_E_USAGE);
	}
	svc = service_new("x");
	free(svc->name);
	svc->name = NULL;
	assert_int_equal(pe_store_service_add(f->store, svc, &err), PE_E_USAGE);
	pe_service_free(svc);
	assert_int_equal(pe_store_service_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 0);
	pe_service_list_free(list, n);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		service_add(f->store, good[i]);
	pe_secret_free(secret);
}

static void
test_pe_store_service_list_by_name(void **state)
{
	struct fixture *f = *state;
	struct pe_service **list = SENTINEL;
	struct pe_err err = { 0 };
	size_t n = 99;

	assert_int_equal(pe_store_service_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 0);
	assert_non_null(list);
	assert_null(list[0]);
	pe_service_list_free(list, n);

	service_add(f->store, "charlie");
	service_add(f->store, "alpha");
	service_add(f->store, "bravo");
	assert_int_equal(pe_store_service_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0]->name, "alpha");
	assert_string_equal(list[1]->name, "bravo");
	assert_string_equal(list[2]->name, "charlie");
	assert_null(list[3]);
	pe_service_list_free(list, n);
	pe_service_list_free(NULL, 0);
	pe_service_free(NULL);
}

static void
test_pe_store_service_update_fields(void **state)
{
	struct fixture *f = *state;
	struct pe_service *svc = NULL, *got = NULL;
	struct pe_err err = { 0 };
	char *created;

	service_add(f->store, "upd");
	assert_int_equal(pe_store_service_get(f->store, "upd", &svc, &err), PE_OK);
	created = strdup(svc->created_at);
	free(svc->url);
	svc->url = strdup("https://other.example.test/");
	free(svc->protocol);
	svc->protocol = strdup("est");
	svc->login = strdup("bob");
	svc->ca_file = strdup("/tmp/ca.pem");
	svc->reg_request_id = strdup("r-1");
	svc->status = PE_SERVICE_READY;
	svc->status_detail = strdup("logged in");
	svc->checked_at = strdup("2026-01-02T03:04:05Z");
	assert_int_equal(pe_store_service_update(f->store, svc, &err), PE_OK);
	assert_int_equal(pe_store_service_get(f->store, "upd", &got, &err), PE_OK);
	assert_int_equal(got->id, svc->id);
	assert_string_equal(got->url, "https://other.example.test/");
	assert_string_equal(got->protocol, "est");
	assert_string_equal(got->login, "bob");
	assert_string_equal(got->ca_file, "/tmp/ca.pem");
	assert_string_equal(got->reg_request_id, "r-1");
	assert_int_equal(got->status, PE_SERVICE_READY);
	assert_string_equal(got->status_detail, "logged in");
	assert_string_equal(got->checked_at, "2026-01-02T03:04:05Z");
	assert_string_equal(got->created_at, created);
	pe_service_free(got);

	/* back to NULL */
	free(svc->login);
	svc->login = NULL;
	svc->status = PE_SERVICE_UNREACHABLE;
	assert_int_equal(pe_store_service_update(f->store, svc, &err), PE_OK);
	assert_int_equal(pe_store_service_get(f->store, "upd", &got, &err), PE_OK);
	assert_null(got->login);
	assert_int_equal(got->status, PE_SERVICE_UNREACHABLE);
	pe_service_free(got);

	free(svc->name);
	svc->name = strdup("ghost");
	assert_int_equal(pe_store_service_update(f->store, svc, &err), PE_E_NOTFOUND);
	assert_string_equal(err.msg, "no service named 'ghost'");
	pe_service_free(svc);
	free(created);
}

static void
test_pe_store_service_remove_all_of_it(void **state)
{
	struct fixture *f = *state;
	struct pe_secret *secret = pe_secret_new("pw", 2), *got = SENTINEL;
	struct pe_service *svc = SENTINEL;
	struct pe_request *req = request_new("gone", "r"), *req_got = NULL;
	struct pe_err err = { 0 };
	char path[PATH_MAX + 128], *roots = NULL, *pem = NULL;
	unsigned char *der = NULL;
	size_t len = 0, count = 9;
	char sha[65];

	make_cert("Root Gone", &der, &len, sha);
	service_add(f->store, "gone");
	service_add(f->store, "stays");
	assert_int_equal(pe_store_secret_write(f->store, "gone", secret, &err), PE_OK);
	assert_int_equal(pe_store_secret_write(f->store, "stays", secret, &err), PE_OK);
	assert_int_equal(pe_store_root_add(f->store, "gone", der, len, sha, "CN=Root Gone", &err),
			 PE_OK);
	assert_int_equal(pe_store_root_add(f->store, "stays", der, len, sha, "CN=Root Gone", &err),
			 PE_OK);
	assert_int_equal(pe_store_roots_file(f->store, "gone", &roots, &err), PE_OK);
	assert_int_equal(pe_store_request_add(f->store, req, &err), PE_OK);

	assert_int_equal(pe_store_service_remove(f->store, "gone", &err), PE_OK);
	assert_int_equal(pe_store_service_get(f->store, "gone", &svc, &err), PE_E_NOTFOUND);
	assert_ptr_equal(svc, SENTINEL);
	assert_int_equal(pe_store_secret_read(f->store, "gone", &got, &err), PE_E_NOTFOUND);
	assert_ptr_equal(got, SENTINEL);
	assert_int_equal(mode_of(roots), -1);
	assert_int_equal(pe_store_roots_pem(f->store, "gone", &pem, &count, &err), PE_OK);
	assert_int_equal(count, 0);
	assert_string_equal(pem, "");
	free(pem);
	/* the request keeps its history */
	assert_int_equal(pe_store_request_get(f->store, req->id, &req_got, &err), PE_OK);
	assert_string_equal(req_got->service, "gone");
	pe_request_free(req_got);
	/* the other service keeps its own */
	assert_int_equal(pe_store_roots_pem(f->store, "stays", &pem, &count, &err), PE_OK);
	assert_int_equal(count, 1);
	free(pem);
	path_in(path, sizeof(path), f->home, "secrets/stays");
	assert_int_equal(mode_of(path), 0600);

	assert_int_equal(pe_store_service_remove(f->store, "gone", &err), PE_E_NOTFOUND);
	assert_string_equal(err.msg, "no service named 'gone'");
	free(roots);
	OPENSSL_free(der);
	pe_request_free(req);
	pe_secret_free(secret);
}

/* Service passwords */

static void
test_pe_store_secret_write_read(void **state)
{
	struct fixture *f = *state;
	struct pe_secret *secret = pe_secret_new("s3cr\0t\n", 7), *got = NULL;
	struct pe_service *svc = NULL;
	struct pe_err err = { 0 };
	char path[PATH_MAX + 128];
	struct dirent *de;
	int entries = 0;
	DIR *dir;

	assert_non_null(secret);
	service_add(f->store, "pw");
	assert_int_equal(pe_store_secret_write(f->store, "pw", secret, &err), PE_OK);
	path_in(path, sizeof(path), f->home, "secrets");
	assert_int_equal(mode_of(path), 0700);
	path_in(path, sizeof(path), f->home, "secrets/pw");
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(pe_store_secret_read(f->store, "pw", &got, &err), PE_OK);
	assert_int_equal(got->len, 7);
	assert_memory_equal(got->data, "s3cr\0t\n", 7);
	assert_int_equal(got->data[7], '\0');
	pe_secret_free(got);
	assert_int_equal(pe_store_service_get(f->store, "pw", &svc, &err), PE_OK);
	assert_true(svc->has_password);
	pe_service_free(svc);

	/* replaced whole, even by something shorter */
	pe_secret_free(secret);
	secret = pe_secret_new("ab", 2);
	assert_int_equal(pe_store_secret_write(f->store, "pw", secret, &err), PE_OK);
	assert_int_equal(pe_store_secret_read(f->store, "pw", &got, &err), PE_OK);
	assert_int_equal(got->len, 2);
	assert_memory_equal(got->data, "ab", 2);
	pe_secret_free(got);
	/* no temporary file is left behind */
	path_in(path, sizeof(path), f->home, "secrets");
	dir = opendir(path);
	assert_non_null(dir);
	for (de = readdir(dir); de != NULL; de = readdir(dir)) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			entries++;
	}
	closedir(dir);
	assert_int_equal(entries, 1);

	/* a password for a service that is not (yet) in the store is fine */
	assert_int_equal(pe_store_secret_write(f->store, "later", secret, &err), PE_OK);
	pe_secret_free(secret);
}

static void
test_pe_store_secret_absent_and_removed(void **state)
{
	struct fixture *f = *state;
	struct pe_secret *secret = pe_secret_new("pw", 2), *got = SENTINEL;
	struct pe_service *svc = NULL;
	struct pe_err err = { 0 };
	char path[PATH_MAX + 128];

	assert_int_equal(pe_store_secret_read(f->store, "none", &got, &err), PE_E_NOTFOUND);
	assert_ptr_equal(got, SENTINEL);
	assert_non_null(strstr(err.msg, "'none'"));

	service_add(f->store, "rm");
	assert_int_equal(pe_store_secret_write(f->store, "rm", secret, &err), PE_OK);
	assert_int_equal(pe_store_secret_remove(f->store, "rm", &err), PE_OK);
	assert_int_equal(pe_store_secret_read(f->store, "rm", &got, &err), PE_E_NOTFOUND);
	assert_ptr_equal(got, SENTINEL);
	assert_int_equal(pe_store_service_get(f->store, "rm", &svc, &err), PE_OK);
	assert_false(svc->has_password);
	pe_service_free(svc);
	/* removing what is not there is not an error */
	assert_int_equal(pe_store_secret_remove(f->store, "rm", &err), PE_OK);

	/* a password file others can read is refused, not used */
	assert_int_equal(pe_store_secret_write(f->store, "rm", secret, &err), PE_OK);
	path_in(path, sizeof(path), f->home, "secrets/rm");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(pe_store_secret_read(f->store, "rm", &got, &err), PE_E_STORE);
	assert_ptr_equal(got, SENTINEL);
	assert_non_null(strstr(err.msg, "0644"));
	pe_secret_free(secret);
}

/* Requests */

static void
test_pe_request_state_names_round_trip(void **state)
{
	static const char *const names[PE_REQ_STATE_MAX] = {
		"new",	     "key-ready",    "csr-ready", "submitted",		"pending", "issued",
		"installed", "acknowledged", "rejected",  "connection-problem", "failed",
	};
	int i;

	for (i = 0; i < PE_REQ_STATE_MAX; i++) {
		assert_string_equal(pe_request_state_name((enum pe_request_state)i), names[i]);
		assert_int_equal(pe_request_state_from_name(names[i]), i);
	}
	assert_int_equal(pe_request_state_from_name("bogus"), PE_REQ_STATE_MAX);
	assert_int_equal(pe_request_state_from_name("NEW"), PE_REQ_STATE_MAX);
	assert_int_equal(pe_request_state_from_name(""), PE_REQ_STATE_MAX);
	assert_int_equal(pe_request_state_from_name(NULL), PE_REQ_STATE_MAX);
}

static void
test_pe_request_user_state_mapping(void **state)
{
	static const char *const user[PE_REQ_STATE_MAX] = {
		[PE_REQ_NEW] = "processing",
		[PE_REQ_KEY_READY] = "processing",
		[PE_REQ_CSR_READY] = "processing",
		[PE_REQ_SUBMITTED] = "processing",
		[PE_REQ_PENDING] = "processing",
		[PE_REQ_ISSUED] = "processing",
		[PE_REQ_INSTALLED] = "installed",
		[PE_REQ_ACKNOWLEDGED] = "installed",
		[PE_REQ_REJECTED] = "rejected",
		[PE_REQ_CONNECTION_PROBLEM] = "connection-problem",
		[PE_REQ_FAILED] = "failed",
	};
	int i;

	for (i = 0; i < PE_REQ_STATE_MAX; i++)
		assert_string_equal(pe_request_user_state((enum pe_request_state)i), user[i]);
}

static void
test_pe_store_request_add_get_update(void **state)
{
	struct fixture *f = *state;
	struct pe_request *req = request_new("svc", "one"), *got = NULL, *upd;
	struct pe_err err = { 0 };
	int64_t id;

	assert_int_equal(pe_store_request_add(f->store, req, &err), PE_OK);
	assert_true(req->id > 0);
	assert_rfc3339(req->created_at);
	assert_string_equal(req->updated_at, req->created_at);
	assert_int_equal(pe_store_request_get(f->store, req->id, &got, &err), PE_OK);
	assert_request_equal(got, req);
	pe_request_free(got);
	assert_raw(f->home, "SELECT state || '/' || resume_state FROM requests",
		   "pending/submitted");

	/* every field changes, BLOBs included */
	id = req->id;
	upd = request_new("svc2", "two");
	upd->id = id;
	upd->created_at = strdup(req->created_at);
	upd->state = PE_REQ_CONNECTION_PROBLEM;
	upd->resume_state = PE_REQ_PENDING;
	free(upd->csr);
	upd->csr_len = 300;
	upd->csr = calloc(1, upd->csr_len);
	upd->csr[299] = 0x42;
	assert_int_equal(pe_store_request_update(f->store, upd, &err), PE_OK);
	assert_rfc3339(upd->updated_at);
	assert_int_equal(pe_store_request_get(f->store, id, &got, &err), PE_OK);
	assert_request_equal(got, upd);
	pe_request_free(got);

	/* and back to NULL, empty BLOBs too */
	free(upd->cert);
	upd->cert = NULL;
	upd->cert_len = 0;
	free(upd->reason);
	upd->reason = NULL;
	free(upd->csr);
	upd->csr = NULL;
	upd->csr_len = 0;
	assert_int_equal(pe_store_request_update(f->store, upd, &err), PE_OK);
	assert_int_equal(pe_store_request_get(f->store, id, &got, &err), PE_OK);
	assert_request_equal(got, upd);
	assert_null(got->cert);
	assert_null(got->csr);
	pe_request_free(got);
	pe_request_free(upd);
	pe_request_free(req);
	pe_request_free(NULL);
}

static void
test_pe_store_request_missing(void **state)
{
	struct fixture *f = *state;
	struct pe_request *req = request_new("svc", "x"), *got = SENTINEL;
	struct pe_err err = { 0 };

	assert_int_equal(pe_store_request_get(f->store, 12345, &got, &err), PE_E_NOTFOUND);
	assert_ptr_equal(got, SENTINEL);
	assert_string_equal(err.msg, "no request 12345");
	req->id = 777;
	assert_int_equal(pe_store_request_update(f->store, req, &err), PE_E_NOTFOUND);
	assert_null(req->updated_at);
	/* a state outside the enum is a bug and stores nothing */
	req->state = PE_REQ_STATE_MAX;
	assert_int_equal(pe_store_request_add(f->store, req, &err), PE_E_FAIL);
	assert_int_equal(req->id, 777);
	assert_null(req->created_at);
	assert_raw(f->home, "SELECT count(*) FROM requests", "0");
	pe_request_free(req);
}

static void
test_pe_store_request_list_oldest_first(void **state)
{
	struct fixture *f = *state;
	struct pe_request **list = SENTINEL, *req;
	struct pe_err err = { 0 };
	int64_t ids[12];
	char tag[48];
	size_t n = 99, i;

	assert_int_equal(pe_store_request_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 0);
	assert_null(list[0]);
	pe_request_list_free(list, n);
	for (i = 0; i < 12; i++) {
		snprintf(tag, sizeof(tag), "r%zu", i);
		req = request_new(i % 2 ? "odd" : "even", tag);
		req->state = (enum pe_request_state)(i % PE_REQ_STATE_MAX);
		assert_int_equal(pe_store_request_add(f->store, req, &err), PE_OK);
		ids[i] = req->id;
		if (i > 0)
			assert_true(ids[i] > ids[i - 1]);
		pe_request_free(req);
	}
	assert_int_equal(pe_store_request_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 12);
	for (i = 0; i < n; i++) {
		snprintf(tag, sizeof(tag), "r%zu-subject", i);
		assert_int_equal(list[i]->id, ids[i]);
		assert_string_equal(list[i]->subject, tag);
		assert_int_equal(list[i]->state, (enum pe_request_state)(i % PE_REQ_STATE_MAX));
	}
	assert_null(list[n]);
	pe_request_list_free(list, n);
}

static void
test_pe_store_request_survives_reopen(void **state)
{
	struct fixture *f = *state;
	struct pe_request *req = request_new("svc", "d"), *got = NULL;
	struct pe_err err = { 0 };
	char sql[128];

	assert_int_equal(pe_store_request_add(f->store, req, &err), PE_OK);
	req->state = PE_REQ_ISSUED;
	free(req->ca_status);
	req->ca_status = strdup("E");
	assert_int_equal(pe_store_request_update(f->store, req, &err), PE_OK);
	/* committed before the function returned: another connection sees it now */
	snprintf(sql, sizeof(sql), "SELECT state || ca_status FROM requests WHERE id = %lld",
		 (long long)req->id);
	assert_raw(f->home, sql, "issuedE");
	pe_store_close(f->store);
	f->store = NULL;
	assert_int_equal(pe_store_open(f->home, &f->store, &err), PE_OK);
	assert_int_equal(pe_store_request_get(f->store, req->id, &got, &err), PE_OK);
	assert_request_equal(got, req);
	pe_request_free(got);
	pe_request_free(req);
}

/* The personal certificate index */

static void
test_pe_store_cert_add_twice_one_row(void **state)
{
	struct fixture *f = *state;
	struct pe_cert_entry entry = { 0 }, again = { 0 }, **list = NULL;
	struct pe_request *req = request_new("svc", "c");
	struct pe_err err = { 0 };
	unsigned char *der = NULL;
	size_t len = 0, n = 0;
	char sha[65];

	make_cert("Personal", &der, &len, sha);
	assert_int_equal(pe_store_request_add(f->store, req, &err), PE_OK);
	entry.request_id = req->id;
	entry.carrier = "token";
	entry.token_serial = "0123abcd";
	entry.key_id = "a1b2";
	entry.subject = "CN=Personal";
	entry.issuer = "CN=Personal";
	entry.serial = "1092";
	entry.sha256 = sha;
	entry.not_after = "2027-01-01T00:00:00Z";
	entry.der = der;
	entry.der_len = len;
	assert_int_equal(pe_store_cert_add(f->store, &entry, &err), PE_OK);
	assert_true(entry.id > 0);
	assert_rfc3339(entry.installed_at);

	again = entry;
	again.id = 0;
	again.installed_at = NULL;
	again.subject = "CN=Changed";
	assert_int_equal(pe_store_cert_add(f->store, &again, &err), PE_OK);
	assert_int_equal(again.id, entry.id);
	assert_string_equal(again.installed_at, entry.installed_at);

	assert_int_equal(pe_store_cert_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0]->id, entry.id);
	assert_int_equal(list[0]->request_id, req->id);
	assert_string_equal(list[0]->carrier, "token");
	assert_string_equal(list[0]->token_serial, "0123abcd");
	assert_string_equal(list[0]->key_id, "a1b2");
	assert_string_equal(list[0]->subject, "CN=Personal");
	assert_string_equal(list[0]->issuer, "CN=Personal");
	assert_string_equal(list[0]->serial, "1092");
	assert_string_equal(list[0]->sha256, sha);
	assert_string_equal(list[0]->not_after, "2027-01-01T00:00:00Z");
	assert_int_equal(list[0]->der_len, len);
	assert_memory_equal(list[0]->der, der, len);
	assert_string_equal(list[0]->installed_at, entry.installed_at);
	assert_null(list[1]);
	pe_cert_entry_list_free(list, n);
	free(entry.installed_at);
	free(again.installed_at);
	pe_cert_entry_free(NULL);

	/* not from a request: 0 in, 0 out; an unknown request is refused */
	memset(&entry, 0, sizeof(entry));
	entry.carrier = "disk";
	entry.sha256 = "00ff";
	assert_int_equal(pe_store_cert_add(f->store, &entry, &err), PE_OK);
	free(entry.installed_at);
	entry.installed_at = NULL;
	entry.sha256 = "11ee";
	entry.request_id = 999;
	assert_int_equal(pe_store_cert_add(f->store, &entry, &err), PE_E_NOTFOUND);
	assert_null(entry.installed_at);
	assert_int_equal(pe_store_cert_list(f->store, &list, &n, &err), PE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(list[1]->request_id, 0);
	assert_null(list[1]->der);
	pe_cert_entry_list_free(list, n);
	OPENSSL_free(der);
	pe_request_free(req);
}

/* Trusted roots */

/* Reads every certificate in @pem and checks they are @der1 then @der2. */
static void
assert_pem_holds(const char *pem, const unsigned char *der1, size_t len1, const unsigned char *der2,
		 size_t len2)
{
	const unsigned char *ders[2] = { der1, der2 };
	size_t lens[2] = { len1, len2 };
	unsigned char *out;
	X509 *x509;
	BIO *bio;
	int i, n;

	bio = BIO_new_mem_buf(pem, -1);
	assert_non_null(bio);
	for (i = 0; i < 2; i++) {
		x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		assert_non_null(x509);
		out = NULL;
		n = i2d_X509(x509, &out);
		assert_int_equal(n, (int)lens[i]);
		assert_memory_equal(out, ders[i], lens[i]);
		OPENSSL_free(out);
		X509_free(x509);
	}
	assert_null(PEM_read_bio_X509(bio, NULL, NULL, NULL));
	ERR_clear_error();
	BIO_free(bio);
}

static void
test_pe_store_roots_pem_and_file(void **state)
{
	struct fixture *f = *state;
	unsigned char *der1 = NULL, *der2 = NULL, *file = NULL;
	char sha1[65], sha2[65], expected[PATH_MAX + 128];
	char *pem = NULL, *path = SENTINEL;
	struct pe_err err = { 0 };
	size_t len1 = 0, len2 = 0, count = 0;
	struct stat st;
	FILE *fp;

	make_cert("Root One", &der1, &len1, sha1);
	make_cert("Root Two", &der2, &len2, sha2);
	service_add(f->store, "roots");

	/* nothing trusted yet: empty text, no file */
	assert_int_equal(pe_store_roots_pem(f->store, "roots", &pem, &count, &err), PE_OK);
	assert_int_equal(count, 0);
	assert_string_equal(pem, "");
	free(pem);
	assert_int_equal(pe_store_roots_file(f->store, "roots", &path, &err), PE_E_NOTFOUND);
	assert_ptr_equal(path, SENTINEL);

	assert_int_equal(
		pe_store_root_add(f->store, "roots", der1, len1, sha1, "CN=Root One", &err), PE_OK);
	assert_int_equal(
		pe_store_root_add(f->store, "roots", der2, len2, sha2, "CN=Root Two", &err), PE_OK);
	/* the same one again changes nothing */
	assert_int_equal(
		pe_store_root_add(f->store, "roots", der1, len1, sha1, "CN=Root One", &err), PE_OK);
	assert_int_equal(pe_store_roots_pem(f->store, "roots", &pem, &count, &err), PE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	assert_non_null(strstr(pem, "-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n"));
	assert_int_equal(strcmp(pem + strlen(pem) - 26, "-----END CERTIFICATE-----\n"), 0);
	assert_pem_holds(pem, der1, len1, der2, len2);

	assert_int_equal(pe_store_roots_file(f->store, "roots", &path, &err), PE_OK);
	path_in(expected, sizeof(expected), f->home, "roots/roots.pem");
	assert_string_equal(path, expected);
	assert_int_equal(mode_of(path), 0600);
	path_in(expected, sizeof(expected), f->home, "roots");
	assert_int_equal(mode_of(expected), 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((size_t)st.st_size, strlen(pem));
	file = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(file);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(file, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	fclose(fp);
	assert_string_equal((char *)file, pem);
	assert_pem_holds((char *)file, der1, len1, der2, len2);
	free(file);
	free(pem);
	free(path);

	/* roots may come before their service is added, and do not mix with others' */
	assert_int_equal(pe_store_root_add(f->store, "later", der2, len2, sha2, NULL, &err), PE_OK);
	pem = NULL;
	assert_int_equal(pe_store_roots_pem(f->store, "later", &pem, &count, &err), PE_OK);
	assert_int_equal(count, 1);
	free(pem);
	assert_int_equal(pe_store_roots_pem(f->store, "roots", &pem, &count, &err), PE_OK);
	assert_int_equal(count, 2);
	free(pem);
	assert_int_equal(pe_store_root_add(f->store, "../x", der1, len1, sha1, NULL, &err),
			 PE_E_USAGE);
	path = SENTINEL;
	assert_int_equal(pe_store_roots_file(f->store, "../x", &path, &err), PE_E_USAGE);
	assert_ptr_equal(path, SENTINEL);
	OPENSSL_free(der1);
	OPENSSL_free(der2);
}

static void
test_pe_store_request_find_origin_newest(void **state)
{
	struct fixture *f = *state;
	struct pe_request *a = request_new("svc", "a"), *b = request_new("svc", "b"), *got = NULL;
	struct pe_err err = { 0 };

	free(a->origin);
	a->origin = strdup("batch:people.csv:0011223344556677");
	free(b->origin);
	b->origin = strdup("batch:people.csv:0011223344556677");
	assert_int_equal(pe_store_request_add(f->store, a, &err), PE_OK);
	assert_int_equal(pe_store_request_add(f->store, b, &err), PE_OK);
	assert_int_equal(pe_store_request_find_origin(f->store, "batch:people.csv:0011223344556677",
						      &got, &err),
			 PE_OK);
	assert_int_equal(got->id, b->id);
	assert_string_equal(got->key_label, "b-key_label");
	pe_request_free(got);
	got = SENTINEL;
	assert_int_equal(
		pe_store_request_find_origin(f->store, "batch:people.csv:ffff", &got, &err),
		PE_E_NOTFOUND);
	assert_ptr_equal(got, SENTINEL);
	pe_request_free(a);
	pe_request_free(b);
}

/* The audit log's lines as one text (newly allocated). */
static char *
audit_text(struct fixture *f, size_t *len)
{
	char path[PATH_MAX + 160];
	FILE *fp;
	char *text;
	long size;

	path_in(path, sizeof(path), f->home, "audit.log");
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size >= 0);
	rewind(fp);
	text = malloc((size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, fp), (size_t)size);
	text[size] = '\0';
	fclose(fp);
	*len = (size_t)size;
	return text;
}

static void
audit_write(struct fixture *f, const char *text, size_t len)
{
	char path[PATH_MAX + 160];
	FILE *fp;

	path_in(path, sizeof(path), f->home, "audit.log");
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
}

static void
audit_expect(struct fixture *f, size_t broken, const char *words)
{
	struct pe_audit_check check;
	struct pe_err err = { 0 };
	char *path = pe_store_audit_path(f->store);

	assert_non_null(path);
	assert_int_equal(pe_store_audit_verify(path, &check, &err), PE_OK);
	free(path);
	assert_int_equal(check.broken_line, broken);
	if (words != NULL && strstr(check.reason, words) == NULL)
		fail_msg("'%s' does not say '%s'", check.reason, words);
}

static void
test_pe_store_audit_chain_and_tampering(void **state)
{
	static const enum pe_request_state states[] = {
		PE_REQ_NEW, PE_REQ_KEY_READY, PE_REQ_CSR_READY, PE_REQ_ISSUED, PE_REQ_REJECTED,
	};
	struct fixture *f = *state;
	struct pe_request *req = request_new("svc", "a");
	struct pe_audit_check check;
	struct pe_err err = { 0 };
	char path[PATH_MAX + 160], *text, *orig, *nl, *p;
	size_t len, i;

	path_in(path, sizeof(path), f->home, "audit.log");
	assert_int_equal(pe_store_audit_verify(path, &check, &err), PE_E_NOTFOUND);
	free(req->reason);
	req->reason = strdup("the CA said \"no\"\nand\\more");
	assert_int_equal(pe_store_request_add(f->store, req, &err), PE_OK);
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		req->state = states[i];
		assert_int_equal(pe_store_audit_append(f->store, req, &err), PE_OK);
	}
	assert_int_equal(mode_of(path), 0600);
	audit_expect(f, 0, NULL);
	assert_int_equal(pe_store_audit_verify(path, &check, &err), PE_OK);
	assert_int_equal(check.lines, 5);
	text = audit_text(f, &len);
	orig = strdup(text);
	assert_non_null(orig);
	/* the reason only where the state has one, escaped as JSON */
	assert_non_null(strstr(text, "\"reason\":\"the CA said \\\"no\\\"\\u000aand\\\\more\""));
	assert_non_null(strstr(text, "\"state\":\"new\""));
	assert_non_null(strstr(text, "\"token_serial\":\"a-token_serial\""));

	/* one byte changed in line 3 */
	p = text;
	for (i = 0; i < 2; i++)
		p = strchr(p, '\n') + 1;
	p = strstr(p, "csr-ready");
	assert_non_null(p);
	p[0] = 'C';
	audit_write(f, text, len);
	audit_expect(f, 3, "line 3 was altered");
	p[0] = 'c';
	audit_write(f, text, len);
	audit_expect(f, 0, NULL);

	/* line 2 removed: line 3 no longer follows */
	p = strchr(text, '\n') + 1;
	nl = strchr(p, '\n') + 1;
	memmove(p, nl, len - (size_t)(nl - text) + 1);
	audit_write(f, text, strlen(text));
	audit_expect(f, 2, "line 2 does not follow line 1");

	/* an incomplete last line */
	audit_write(f, orig, len - 1);
	audit_expect(f, 5, "incomplete");
	free(text);
	free(orig);
	pe_request_free(req);
}

struct appender {
	const char *home;
	int n;
	enum pe_code rc;
};

static void *
append_many(void *arg)
{
	struct appender *a = arg;
	struct pe_store *store = NULL;
	struct pe_request *req = request_new("svc", "t");
	struct pe_err err = { 0 };
	int i;

	a->rc = pe_store_open(a->home, &store, &err);
	for (i = 0; a->rc == PE_OK && i < a->n; i++) {
		req->id = i + 1;
		a->rc = pe_store_audit_append(store, req, &err);
	}
	pe_store_close(store);
	pe_request_free(req);
	return NULL;
}

/* Threads with connections of their own append at once: every line chained. */
static void
test_pe_store_audit_threads(void **state)
{
	struct fixture *f = *state;
	struct appender a[4];
	struct pe_audit_check check;
	struct pe_err err = { 0 };
	pthread_t t[4];
	char *path = pe_store_audit_path(f->store);
	int i;

	for (i = 0; i < 4; i++) {
		a[i].home = f->home;
		a[i].n = 25;
		a[i].rc = PE_E_FAIL;
		assert_int_equal(pthread_create(&t[i], NULL, append_many, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].rc, PE_OK);
	}
	assert_int_equal(pe_store_audit_verify(path, &check, &err), PE_OK);
	assert_int_equal(check.broken_line, 0);
	assert_int_equal(check.lines, 100);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_pe_store_open_creates_modes),
		T(test_pe_store_open_reopen_keeps_data),
		T(test_pe_store_open_writable_home_refused),
		T(test_pe_store_open_readable_db_refused),
		T(test_pe_store_open_not_a_directory),
		T(test_pe_store_open_newer_schema_refused),
		T(test_pe_store_open_upgrades_v1),
		cmocka_unit_test(test_pe_store_default_home_order),
		cmocka_unit_test(test_pe_service_status_name_all),
		T(test_pe_store_service_add_get),
		T(test_pe_store_service_add_duplicate),
		T(test_pe_store_service_bad_names),
		T(test_pe_store_service_list_by_name),
		T(test_pe_store_service_update_fields),
		T(test_pe_store_service_remove_all_of_it),
		T(test_pe_store_secret_write_read),
		T(test_pe_store_secret_absent_and_removed),
		cmocka_unit_test(test_pe_request_state_names_round_trip),
		cmocka_unit_test(test_pe_request_user_state_mapping),
		T(test_pe_store_request_add_get_update),
		T(test_pe_store_request_missing),
		T(test_pe_store_request_list_oldest_first),
		T(test_pe_store_request_survives_reopen),
		T(test_pe_store_cert_add_twice_one_row),
		T(test_pe_store_roots_pem_and_file),
		T(test_pe_store_request_find_origin_newest),
		T(test_pe_store_audit_chain_and_tampering),
		T(test_pe_store_audit_threads),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
