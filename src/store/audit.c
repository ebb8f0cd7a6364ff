/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit log: "<home>/audit.log" (0600), one JSON line per request state,
 * chained by SHA-256 so that an edited, removed or inserted line shows. Lines
 * are appended under flock() with O_APPEND, one write() each, then fsync()
 * (after the lock), so processes and threads that share the state directory
 * never interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-int.h"

#define AUDIT_NAME	"audit.log"
#define AUDIT_GENESIS	"p11enroll audit log v1"
#define AUDIT_LINE_MAX	(16 * 1024)
#define AUDIT_HASH_HEAD "{\"prev\":\""
#define AUDIT_HASH_TAIL ",\"hash\":\""
/* ,"hash":"<64 hex>"} */
#define AUDIT_TAIL_LEN (sizeof(AUDIT_HASH_TAIL) - 1 + 64 + 2)

char *
pe_store_audit_path(const struct pe_store *store)
{
	return pe_store_path(store, NULL, AUDIT_NAME);
}

/* Appends @s as a JSON string (quotes included), or null. */
static enum pe_code
json_str(struct pe_buf *b, const char *s, struct pe_err *err)
{
	char esc[8];
	const char *p;
	enum pe_code rc;

	if (s == NULL)
		return pe_buf_add(b, "null", 4, err);
	rc = pe_buf_add(b, "\"", 1, err);
	for (p = s; rc == PE_OK && *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = *p;
			rc = pe_buf_add(b, esc, 2, err);
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*p);
			rc = pe_buf_add(b, esc, 6, err);
		} else {
			rc = pe_buf_add(b, p, 1, err);
		}
	}
	if (rc == PE_OK)
		rc = pe_buf_add(b, "\"", 1, err);
	return rc;
}

static enum pe_code
member(struct pe_buf *b, const char *key, const char *value, struct pe_err *err)
{
	enum pe_code rc = pe_buf_add(b, ",\"", 2, err);

	if (rc == PE_OK)
		rc = pe_buf_add(b, key, strlen(key), err);
	if (rc == PE_OK)
		rc = pe_buf_add(b, "\":", 2, err);
	if (rc == PE_OK)
		rc = json_str(b, value, err);
	return rc;
}

/* The user name of the effective user, or its number. */
static void
operator_name(char *out, size_t size)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) == 0 && found != NULL)
		snprintf(out, size, "%s", found->pw_name);
	else
		snprintf(out, size, "uid %lu", (unsigned long)geteuid());
}

/* Returns: true when @s is @n lowercase hex digits. */
static bool
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/*
 * The hash a line carries at its end, when it is well formed; else NULL.
 * @line has @len bytes without its newline.
 */
static const char *
line_hash(const char *line, size_t len)
{
	const char *tail;

	if (len < sizeof(AUDIT_HASH_HEAD) - 1 + 64 + 1 + AUDIT_TAIL_LEN)
		return NULL;
	tail = line + len - AUDIT_TAIL_LEN;
	if (memcmp(tail, AUDIT_HASH_TAIL, sizeof(AUDIT_HASH_TAIL) - 1) != 0 ||
	    !is_hex(tail + sizeof(AUDIT_HASH_TAIL) - 1, 64) ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return NULL;
	return tail + sizeof(AUDIT_HASH_TAIL) - 1;
}

/*
 * The hash the next line must carry as "prev": the last line's own hash, the
 * SHA-256 of its text when it is damaged (audit-verify names it), or the
 * genesis hash for an empty file.
 */
static enum pe_code
last_hash(int fd, const char *path, char prev[65], struct pe_err *err)
{
	char buf[AUDIT_LINE_MAX + 1];
	const char *start, *hash;
	struct stat st;
	off_t from;
	ssize_t got;
	size_t len;

	if (fstat(fd, &st) != 0)
		return pe_err_set(err, PE_E_STORE, "%s: %s", path, strerror(errno));
	if (st.st_size == 0) {
		pe_sha256_hex(AUDIT_GENESIS, strlen(AUDIT_GENESIS), prev);
		return PE_OK;
	}
	from = st.st_size > AUDIT_LINE_MAX ? st.st_size - AUDIT_LINE_MAX : 0;
	got = pread(fd, buf, (size_t)(st.st_size - from), from);
	if (got < 0)
		return pe_err_set(err, PE_E_STORE, "reading '%s': %s", path, strerror(errno));
	len = (size_t)got;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	start = memrchr(buf, '\n', len);
	start = start != NULL ? start + 1 : buf;
	len -= (size_t)(start - buf);
	hash = line_hash(start, len);
	if (hash != NULL) {
		memcpy(prev, hash, 64);
		prev[64] = '\0';
	} else {
		pe_sha256_hex(start, len, prev);
	}
	return PE_OK;
}

/*
 * One write() per line: with O_APPEND no other writer lands inside it. Then
 * the lock goes and fsync() follows: the chain needs the lock only from
 * reading the last hash to writing the line, and writers that overlap share
 * their fsync() instead of queueing for one each.
 */
static enum pe_code
write_line(int fd, const char *path, const unsigned char *data, size_t len, struct pe_err *err)
{
	ssize_t n;

	do {
		n = write(fd, data, len);
	} while (n < 0 && errno == EINTR);
	flock(fd, LOCK_UN);
	if (n < 0)
		return pe_err_set(err, PE_E_STORE, "writing '%s': %s", path, strerror(errno));
	if ((size_t)n != len)
		return pe_err_set(err, PE_E_STORE, "writing '%s': short write (disk full?)", path);
	if (fsync(fd) != 0)
		return pe_err_set(err, PE_E_STORE, "writing '%s': fsync: %s", path,
				  strerror(errno));
	return PE_OK;
}

enum pe_code
pe_store_audit_append(struct pe_store *store, const struct pe_request *req, struct pe_err *err)
{
	char now[PE_STORE_TIME_SIZE], operator[256], id[32], prev[65], hash[65];
	struct pe_buf b;
	unsigned char *line = NULL;
	size_t len = 0;
	char *path = NULL;
	const char *reason = NULL;
	int fd = -1;
	enum pe_code rc;

	pe_store_time_now(now);
	operator_name(operator, sizeof(operator));
	snprintf(id, sizeof(id), "%lld", (long long)req->id);
	/* a reason only where the state has one to give */
	if (req->state == PE_REQ_REJECTED || req->state == PE_REQ_FAILED ||
	    req->state == PE_REQ_CONNECTION_PROBLEM || req->state == PE_REQ_INSTALLED)
		reason = req->reason;
	pe_buf_init(&b, AUDIT_LINE_MAX);
	path = pe_store_audit_path(store);
	if (path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = pe_err_set(err, PE_E_STORE, "opening '%s': %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX) != 0) {
		rc = pe_err_set(err, PE_E_STORE, "locking '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = last_hash(fd, path, prev, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_buf_add(&b, AUDIT_HASH_HEAD, sizeof(AUDIT_HASH_HEAD) - 1, err);
	if (rc == PE_OK)
		rc = pe_buf_add(&b, prev, 64, err);
	if (rc == PE_OK)
		rc = pe_buf_add(&b, "\"", 1, err);
	if (rc == PE_OK)
		rc = member(&b, "time", now, err);
	if (rc == PE_OK)
		rc = member(&b, "operator", operator, err);
	if (rc == PE_OK)
		rc = member(&b, "request_id", id, err);
	if (rc == PE_OK)
		rc = member(&b, "state", pe_request_state_name(req->state), err);
	if (rc == PE_OK)
		rc = member(&b, "result", pe_request_user_state(req->state), err);
	if (rc == PE_OK)
		rc = member(&b, "service", req->service, err);
	if (rc == PE_OK)
		rc = member(&b, "template", req->template_oid, err);
	if (rc == PE_OK)
		rc = member(&b, "carrier", req->carrier, err);
	if (rc == PE_OK)
		rc = member(&b, "token_serial", req->token_serial, err);
	if (rc == PE_OK)
		rc = member(&b, "token_model", req->token_model, err);
	if (rc == PE_OK)
		rc = member(&b, "ca_request_id", req->ca_request_id, err);
	if (rc == PE_OK)
		rc = member(&b, "cert_serial", req->cert_serial, err);
	if (rc == PE_OK)
		rc = member(&b, "cert_sha256", req->cert_sha256, err);
	if (rc == PE_OK)
		rc = member(&b, "origin", req->origin, err);
	if (rc == PE_OK)
		rc = member(&b, "reason", reason, err);
	if (rc != PE_OK)
		goto out;
	if (!pe_sha256_hex(b.data, b.len, hash)) {
		rc = pe_err_set(err, PE_E_FAIL, "SHA-256 is not available");
		goto out;
	}
	rc = pe_buf_add(&b, AUDIT_HASH_TAIL, sizeof(AUDIT_HASH_TAIL) - 1, err);
	if (rc == PE_OK)
		rc = pe_buf_add(&b, hash, 64, err);
	if (rc == PE_OK)
		rc = pe_buf_add(&b, "\"}\n", 3, err);
	if (rc != PE_OK)
		goto out;
	line = pe_buf_take(&b, &len);
	rc = write_line(fd, path, line, len, err);
out:
	if (fd >= 0)
		close(fd); /* and the lock with it */
	if (rc != PE_OK)
		pe_err_prefix(err, "audit log");
	free(line);
	free(path);
	pe_buf_cleanup(&b);
	return rc;
}

enum pe_code
pe_store_audit_verify(const char *path, struct pe_audit_check *out, struct pe_err *err)
{
	struct pe_audit_check check;
	char prev[65], own[65];
	const char *hash;
	char *line = NULL;
	size_t cap = 0, len;
	ssize_t got;
	FILE *f;
	int fd;

	memset(&check, 0, sizeof(check));
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return pe_err_set(err, PE_E_NOTFOUND, "there is no audit log '%s'", path);
		return pe_err_set(err, PE_E_STORE, "opening '%s': %s", path, strerror(errno));
	}
	fd = fileno(f);
	/* a shared lock: no line is read while a writer is half-way through it */
	if (flock(fd, LOCK_SH) != 0) {
		fclose(f);
		return pe_err_set(err, PE_E_STORE, "locking '%s': %s", path, strerror(errno));
	}
	pe_sha256_hex(AUDIT_GENESIS, strlen(AUDIT_GENESIS), prev);
	for (;;) {
		errno = 0;
		got = getline(&line, &cap, f);
		if (got < 0)
			break;
		check.lines++;
		len = (size_t)got;
		if (len == 0 || line[len - 1] != '\n') {
			snprintf(check.reason, sizeof(check.reason),
				 "line %zu is incomplete (no newline at the end of the file)",
				 check.lines);
			break;
		}
		len--;
		hash = line_hash(line, len);
		if (hash == NULL || len <= AUDIT_TAIL_LEN ||
		    memcmp(line, AUDIT_HASH_HEAD, 9) != 0 || !is_hex(line + 9, 64) ||
		    line[9 + 64] != '"') {
			snprintf(check.reason, sizeof(check.reason),
				 "line %zu is not an audit record (no \"prev\" first and \"hash\" "
				 "last)",
				 check.lines);
			break;
		}
		pe_sha256_hex(line, len - AUDIT_TAIL_LEN, own);
		if (memcmp(own, hash, 64) != 0) {
			snprintf(check.reason, sizeof(check.reason),
				 "line %zu was altered: its hash does not match its contents",
				 check.lines);
			break;
		}
		if (memcmp(line + 9, prev, 64) != 0) {
			snprintf(check.reason, sizeof(check.reason),
				 "line %zu does not follow line %zu: a line before it was removed, "
				 "inserted or replaced",
				 check.lines, check.lines - 1);
			break;
		}
		memcpy(prev, hash, 64);
	}
	if (check.reason[0] != '\0') {
		check.broken_line = check.lines;
	} else if (ferror(f)) {
		free(line);
		fclose(f);
		return pe_err_set(err, PE_E_STORE, "reading '%s': %s", path, strerror(errno));
	}
	memcpy(check.last_hash, prev, sizeof(check.last_hash));
	free(line);
	fclose(f);
	*out = check;
	return PE_OK;
}
