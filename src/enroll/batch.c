/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Batch enrollment: a CSV file of people, a station profile, and the tokens
 * present. The plan (which row gets which token, which rows are done or under
 * way) is made first, in one thread; then worker threads take the rows, one
 * token each, with their own store connection and their own PKCS#11 sessions.
 * Each row's request carries its origin, so a re-run finds it again.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "enroll.h"

#define BATCH_FILE_MAX	 (16 * 1024 * 1024)
#define BATCH_FIELDS_MAX 48
#define ROW_KEY_LEN	 16

struct column {
	char *name; /* as the header gives it, trimmed */
	char oid[64];
	bool serial;
};

struct row {
	size_t index; /* 1-based among data rows */
	size_t line;
	char key[ROW_KEY_LEN + 1];
	char *origin;
	const char *serial; /* the serial column's value (borrowed from the CSV), or NULL */
	struct pe_csr_field fields[BATCH_FIELDS_MAX];
	size_t n_fields;
	char *token_uri;    /* the token assigned to a new row */
	char *token_serial; /* for events: the token it uses */
	int64_t existing;   /* the request to continue, 0 for a new one */
	enum pe_batch_state state;
	int64_t request_id;
	enum pe_request_state req_state;
	bool has_req_state;
	enum pe_code code;
	char *reason;
	bool counted; /* in one of the summary's counts */
};

struct batch {
	const struct pe_batch_opts *opts;
	struct pe_csv *csv;
	struct column *cols;
	size_t n_cols;
	struct row *rows;
	size_t n_rows;
	size_t *queue; /* indexes into rows of those to run, in file order */
	size_t n_queue;
	size_t next; /* the next queue entry a worker takes */
	pthread_mutex_t lock;
	struct pe_batch_summary sum;
	struct timespec start;
};

struct notify_ctx {
	struct batch *b;
	struct row *row;
};

static const char *const state_names[] = {
	[PE_BATCH_PENDING] = "pending",	      [PE_BATCH_WAITING] = "waiting",
	[PE_BATCH_RUNNING] = "running",	      [PE_BATCH_INSTALLED] = "installed",
	[PE_BATCH_PROCESSING] = "processing", [PE_BATCH_SKIPPED] = "skipped",
	[PE_BATCH_FAILED] = "failed",
};

const char *
pe_batch_state_name(enum pe_batch_state state)
{
	if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[state];
}

static double
since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Tells the caller about @row; called with b->lock held (or before the workers start). */
static void
emit(struct batch *b, const struct row *row)
{
	struct pe_batch_event ev;

	if (b->opts->event == NULL)
		return;
	b->sum.seconds = since(&b->start);
	memset(&ev, 0, sizeof(ev));
	ev.row = row->index;
	ev.line = row->line;
	ev.key = row->key;
	ev.token_serial = row->token_serial;
	ev.state = row->state;
	ev.request_id = row->request_id;
	ev.request_state = row->has_req_state ? pe_request_state_name(row->req_state) : NULL;
	ev.code = row->code;
	ev.reason = row->reason;
	ev.sum = &b->sum;
	b->opts->event(b->opts->event_data, &ev);
}

static size_t *
counter(struct batch *b, enum pe_batch_state state)
{
	switch (state) {
	case PE_BATCH_PENDING:
	case PE_BATCH_RUNNING:
		return &b->sum.pending;
	case PE_BATCH_WAITING:
		return &b->sum.waiting;
	case PE_BATCH_INSTALLED:
		return &b->sum.installed;
	case PE_BATCH_PROCESSING:
		return &b->sum.processing;
	case PE_BATCH_SKIPPED:
		return &b->sum.skipped;
	case PE_BATCH_FAILED:
		break;
	}
	return &b->sum.failed;
}

/* Moves @row to @state, keeping the counts; b->lock held (or before the workers start). */
static void
row_set(struct batch *b, struct row *row, enum pe_batch_state state, enum pe_code code,
	const char *reason)
{
	size_t *from = counter(b, row->state), *to = counter(b, state);

	if (row->counted && *from > 0)
		(*from)--;
	(*to)++;
	row->counted = true;
	row->state = state;
	row->code = code;
	free(row->reason);
	row->reason = reason != NULL ? strdup(reason) : NULL;
	emit(b, row);
}

static void
batch_cleanup(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n_rows; i++) {
		free(b->rows[i].origin);
		free(b->rows[i].token_uri);
		free(b->rows[i].token_serial);
		free(b->rows[i].reason);
	}
	free(b->rows);
	for (i = 0; i < b->n_cols; i++)
		free(b->cols[i].name);
	free(b->cols);
	free(b->queue);
	pe_csv_free(b->csv);
}

/* The file name without its directory: the batch's name in origins. */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

/* The header: every column a subject attribute (by short name or OID) or "serial". */
static enum pe_code
header_read(struct batch *b, struct pe_err *err)
{
	size_t i, j;

	b->n_cols = pe_csv_cols(b->csv);
	b->cols = calloc(b->n_cols ? b->n_cols : 1, sizeof(*b->cols));
	if (b->cols == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	for (i = 0; i < b->n_cols; i++) {
		b->cols[i].name = pe_strdup_trim(pe_csv_cell(b->csv, 0, i));
		if (b->cols[i].name == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		if (strcasecmp(b->cols[i].name, "serial") == 0) {
			b->cols[i].serial = true;
		} else if (pe_csr_attr_lookup(b->cols[i].name, b->cols[i].oid,
					      sizeof(b->cols[i].oid)) == 0) {
			return pe_err_set(err, PE_E_USAGE,
					  "%s: column %zu, '%s', is not 'serial' or a subject "
					  "attribute (CN, SN, GN, C, L, O, OU, T, E, SNILS, INN, "
					  "INNLE, OGRN, OGRNIP or a dotted OID)",
					  b->opts->csv_path, i + 1, b->cols[i].name);
		}
		for (j = 0; j < i; j++) {
			if ((b->cols[i].serial && b->cols[j].serial) ||
			    (!b->cols[i].serial && !b->cols[j].serial &&
			     strcmp(b->cols[i].oid, b->cols[j].oid) == 0))
				return pe_err_set(err, PE_E_USAGE,
						  "%s: columns %zu and %zu are both '%s'",
						  b->opts->csv_path, j + 1, i + 1, b->cols[i].name);
		}
	}
	return PE_OK;
}

static int
line_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The row key: SHA-256 over the row's own non-empty cells as "OID=value\n"
 * ("serial=..." for the serial column), sorted, so that reordering the
 * columns or the rows does not change who a row is.
 */
static enum pe_code
row_key(struct batch *b, size_t r, char key[ROW_KEY_LEN + 1], struct pe_err *err)
{
	char *lines[BATCH_FIELDS_MAX + 1], hash[65];
	const char *value;
	struct pe_buf text;
	size_t n = 0, i, len;
	enum pe_code rc = PE_OK;

	for (i = 0; i < b->n_cols && n < BATCH_FIELDS_MAX + 1; i++) {
		value = pe_csv_cell(b->csv, r, i);
		if (value[0] == '\0')
			continue;
		len = strlen(b->cols[i].oid) + strlen(value) + 8;
		lines[n] = malloc(len);
		if (lines[n] == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		snprintf(lines[n], len, "%s=%s\n", b->cols[i].serial ? "serial" : b->cols[i].oid,
			 value);
		n++;
	}
	qsort(lines, n, sizeof(lines[0]), line_cmp);
	pe_buf_init(&text, BATCH_FILE_MAX);
	for (i = 0; rc == PE_OK && i < n; i++)
		rc = pe_buf_add(&text, lines[i], strlen(lines[i]), err);
	if (rc == PE_OK && !pe_sha256_hex(text.data ? (const void *)text.data : "", text.len, hash))
		rc = pe_err_set(err, PE_E_FAIL, "SHA-256 is not available");
	pe_buf_cleanup(&text);
	if (rc == PE_OK) {
		memcpy(key, hash, ROW_KEY_LEN);
		key[ROW_KEY_LEN] = '\0';
	}
out:
	for (i = 0; i < n; i++)
		free(lines[i]);
	return rc;
}

/*
 * Reads data row @r: its fields (the row's, then the profile's fixed ones it
 * does not give), its key and origin. A row whose attributes are not valid
 * fails here, before it takes a token.
 */
static enum pe_code
row_read(struct batch *b, size_t r, struct row *row, struct pe_err *err)
{
	const struct pe_station_profile *profile = b->opts->profile;
	char oid[64], why_oid[64];
	const char *value;
	struct pe_err why;
	size_t i, j, len;
	bool given;
	enum pe_code rc;

	row->index = r;
	row->line = pe_csv_line(b->csv, r);
	row->state = PE_BATCH_PENDING;
	rc = row_key(b, r, row->key, err);
	if (rc != PE_OK)
		return rc;
	len = strlen(base_name(b->opts->csv_path)) + ROW_KEY_LEN + 16;
	row->origin = malloc(len);
	if (row->origin == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	snprintf(row->origin, len, "batch:%s:%s", base_name(b->opts->csv_path), row->key);
	for (i = 0; i < b->n_cols; i++) {
		value = pe_csv_cell(b->csv, r, i);
		if (b->cols[i].serial) {
			row->serial = value[0] != '\0' ? value : NULL;
			continue;
		}
		if (value[0] == '\0')
			continue;
		row->fields[row->n_fields].attr = b->cols[i].name; /* as messages name it */
		row->fields[row->n_fields++].value = value;
	}
	if (row->n_fields == 0) {
		row->state = PE_BATCH_FAILED;
		row->code = PE_E_USAGE;
		row->reason = strdup("the row gives no subject attribute");
		return PE_OK;
	}
	for (i = 0; i < profile->n_fields && row->n_fields < BATCH_FIELDS_MAX; i++) {
		if (pe_csr_attr_lookup(profile->fields[i].attr, oid, sizeof(oid)) == 0)
			continue; /* named by the check below */
		given = false;
		for (j = 0; j < row->n_fields && !given; j++) {
			pe_csr_attr_lookup(row->fields[j].attr, why_oid, sizeof(why_oid));
			given = strcmp(why_oid, oid) == 0;
		}
		if (!given) {
			row->fields[row->n_fields].attr = profile->fields[i].attr;
			row->fields[row->n_fields++].value = profile->fields[i].value;
		}
	}
	/* the checks pe_enroll_request() makes too, before a token is spent on the row */
	pe_err_clear(&why);
	for (i = 0; i < row->n_fields; i++) {
		if (pe_csr_attr_lookup(row->fields[i].attr, why_oid, sizeof(why_oid)) == 0) {
			pe_err_set(&why, PE_E_USAGE,
				   "'%s' is not a subject attribute p11enroll knows",
				   row->fields[i].attr);
			break;
		}
		if (pe_csr_attr_check(row->fields[i].attr, row->fields[i].value, &why) != PE_OK ||
		    pe_ru_field_check(why_oid, row->fields[i].attr, row->fields[i].value, &why) !=
			    PE_OK)
			break;
	}
	if (why.msg[0] != '\0') {
		row->state = PE_BATCH_FAILED;
		row->code = PE_E_USAGE;
		row->reason = strdup(why.msg);
	}
	return PE_OK;
}

/* Counts @row in its first state and tells the caller (planning, before the workers). */
static void
row_first(struct batch *b, struct row *row)
{
	(*counter(b, row->state))++;
	row->counted = true;
	emit(b, row);
}

static void
row_fail(struct row *row, enum pe_code code, const char *reason)
{
	row->state = PE_BATCH_FAILED;
	row->code = code;
	free(row->reason);
	row->reason = reason != NULL ? strdup(reason) : NULL;
}

static bool
in_list(char **list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		if (strcmp(list[i], s) == 0)
			return true;
	}
	return false;
}

/*
 * The outcome a recorded request stands for. @earlier: found from an earlier
 * run, where an unfinished request is pending here (a worker continues it).
 */
static void
outcome(const struct pe_request *req, bool earlier, enum pe_batch_state *state, enum pe_code *code,
	const char **reason)
{
	*code = PE_OK;
	*reason = NULL;
	switch (req->state) {
	case PE_REQ_ACKNOWLEDGED:
		*state = earlier ? PE_BATCH_SKIPPED : PE_BATCH_INSTALLED;
		return;
	case PE_REQ_REJECTED:
		*code = PE_E_CA;
		break;
	case PE_REQ_FAILED:
		*code = PE_E_CRYPTO;
		break;
	case PE_REQ_CONNECTION_PROBLEM:
		*code = PE_E_NET;
		*state = earlier ? PE_BATCH_PENDING : PE_BATCH_FAILED;
		*reason = req->reason;
		return;
	case PE_REQ_INSTALLED:
		/* installed; the CA not told yet (a re-run tells it) */
		*state = earlier ? PE_BATCH_PENDING : PE_BATCH_INSTALLED;
		return;
	default:
		*state = earlier ? PE_BATCH_PENDING : PE_BATCH_PROCESSING;
		return;
	}
	*state = PE_BATCH_FAILED;
	*reason = req->reason;
}

static void
row_request(struct row *row, const struct pe_request *req)
{
	row->request_id = req->id;
	row->req_state = req->state;
	row->has_req_state = true;
}

/*
 * Which rows are done, under way or new; which token each new row gets.
 * Tokens that hold a request of this batch (any row, any state) are never
 * given to another row.
 */
static enum pe_code
plan(struct batch *b, struct pe_err *err)
{
	const struct pe_batch_opts *o = b->opts;
	struct pe_p11_slot *slots = NULL;
	struct pe_request **reqs = NULL, *req = NULL;
	char **used = NULL, **mine = NULL, **named = NULL, prefix[300], uri[64];
	bool *taken = NULL, *ours = NULL;
	size_t n_slots = 0, n_reqs = 0, n_used = 0, n_mine = 0, n_named = 0, i, j, next_free = 0;
	enum pe_code rc;

	rc = pe_store_request_list(o->store, &reqs, &n_reqs, err);
	if (rc != PE_OK)
		goto out;
	snprintf(prefix, sizeof(prefix), "batch:%s:", base_name(o->csv_path));
	used = calloc(n_reqs + 1, sizeof(*used));
	mine = calloc(n_reqs + 1, sizeof(*mine));
	named = calloc(b->n_rows + 1, sizeof(*named));
	if (used == NULL || mine == NULL || named == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	/* a token with any request on record is not a fresh one; ours: this batch's */
	for (i = 0; i < n_reqs; i++) {
		if (reqs[i]->token_serial == NULL)
			continue;
		used[n_used++] = reqs[i]->token_serial;
		if (reqs[i]->origin != NULL &&
		    strncmp(reqs[i]->origin, prefix, strlen(prefix)) == 0)
			mine[n_mine++] = reqs[i]->token_serial;
	}
	rc = pe_p11_slot_list(o->p11, &slots, &n_slots, err);
	if (rc != PE_OK)
		goto out;
	taken = calloc(n_slots + 1, sizeof(*taken));
	ours = calloc(n_slots + 1, sizeof(*ours));
	if (taken == NULL || ours == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < n_slots; i++) {
		if (!slots[i].token_present ||
		    (!(slots[i].flags & PE_P11_F_INITIALIZED) && !o->profile->init_token))
			taken[i] = true; /* not a token the batch may use */
		else
			b->sum.tokens++;
		if (!taken[i] && (slots[i].flags & PE_P11_F_INITIALIZED) &&
		    in_list(used, n_used, slots[i].serial))
			taken[i] = true;
		if (slots[i].token_present && (slots[i].flags & PE_P11_F_INITIALIZED) &&
		    in_list(mine, n_mine, slots[i].serial))
			ours[i] = true;
	}

	for (i = 0; i < b->n_rows; i++) {
		struct row *row = &b->rows[i];

		if (row->state == PE_BATCH_FAILED)
			continue;
		for (j = 0; j < i; j++) {
			if (strcmp(b->rows[j].key, row->key) == 0)
				break;
		}
		if (j < i) {
			char why[96];

			snprintf(why, sizeof(why), "the same person as line %zu", b->rows[j].line);
			row_fail(row, PE_E_USAGE, why);
			continue;
		}
		rc = pe_store_request_find_origin(o->store, row->origin, &req, err);
		if (rc == PE_OK) {
			/* a request from an earlier run: done, or continued on its own token */
			enum pe_batch_state state;
			enum pe_code code;
			const char *reason;

			outcome(req, true, &state, &code, &reason);
			row_request(row, req);
			if (state == PE_BATCH_FAILED)
				row_fail(row, code, reason);
			else
				row->state = state;
			if (req->token_serial != NULL) {
				row->token_serial = strdup(req->token_serial);
				if (row->token_serial == NULL)
					rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			}
			if (row->state == PE_BATCH_PENDING)
				row->existing = req->id;
			pe_request_free(req);
			req = NULL;
			if (rc != PE_OK)
				goto out;
			continue;
		}
		if (rc != PE_E_NOTFOUND)
			goto out;
		rc = PE_OK;
		/* a new row: the token its serial names, else the next one free */
		if (row->serial != NULL) {
			for (j = 0; j < n_slots; j++) {
				if (slots[j].token_present && slots[j].serial != NULL &&
				    strcmp(slots[j].serial, row->serial) == 0)
					break;
			}
			if (j == n_slots) {
				char why[160];

				snprintf(why, sizeof(why), "no token with serial '%s' is present",
					 row->serial);
				row_fail(row, PE_E_NOTFOUND, why);
				continue;
			}
			/* named: any token but one holding another row's request of this file */
			if (ours[j] || !(slots[j].flags & PE_P11_F_INITIALIZED) ||
			    in_list(named, n_named, row->serial)) {
				char why[200];

				snprintf(why, sizeof(why),
					 "token '%s' is taken by another row of this batch, or it "
					 "is not initialised",
					 row->serial);
				row_fail(row, PE_E_USAGE, why);
				continue;
			}
			named[n_named++] = (char *)row->serial;
		} else {
			while (next_free < n_slots && taken[next_free])
				next_free++;
			j = next_free;
			if (j == n_slots) {
				row->state = PE_BATCH_WAITING;
				continue;
			}
		}
		taken[j] = true;
		if (slots[j].flags & PE_P11_F_INITIALIZED) {
			row->token_uri = strdup(slots[j].uri);
			row->token_serial = strdup(slots[j].serial);
		} else {
			/* a new token has no serial yet: its slot finds it */
			snprintf(uri, sizeof(uri), "pkcs11:slot-id=%lu", slots[j].slot_id);
			row->token_uri = strdup(uri);
			row->token_serial = NULL;
		}
		if (row->token_uri == NULL ||
		    ((slots[j].flags & PE_P11_F_INITIALIZED) && row->token_serial == NULL)) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	b->queue = calloc(b->n_rows + 1, sizeof(*b->queue));
	if (b->queue == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < b->n_rows; i++) {
		if (b->rows[i].state == PE_BATCH_PENDING)
			b->queue[b->n_queue++] = i;
	}
out:
	free(used);
	free(mine);
	free(named);
	free(taken);
	free(ours);
	pe_request_list_free(reqs, n_reqs);
	pe_p11_slot_list_free(slots, n_slots);
	return rc;
}

/* Told by the state machine of each state it commits (from the worker's thread). */
static void
notify(void *data, const struct pe_request *req)
{
	struct notify_ctx *n = data;

	pthread_mutex_lock(&n->b->lock);
	row_request(n->row, req);
	if (req->token_serial != NULL && (n->row->token_serial == NULL ||
					  strcmp(n->row->token_serial, req->token_serial) != 0)) {
		free(n->row->token_serial);
		n->row->token_serial = strdup(req->token_serial);
	}
	emit(n->b, n->row);
	pthread_mutex_unlock(&n->b->lock);
}

/* One row, on its token, in a worker's thread with the worker's own store connection. */
static void
row_run(struct batch *b, struct pe_store *store, struct row *row)
{
	const struct pe_batch_opts *o = b->opts;
	const struct pe_station_profile *profile = o->profile;
	struct notify_ctx nc = { b, row };
	struct pe_request *req = NULL;
	struct pe_enroll_spec spec;
	struct pe_enroll_env env;
	enum pe_batch_state state;
	const char *reason = NULL;
	enum pe_code rc, code;
	struct pe_err err;

	pthread_mutex_lock(&b->lock);
	row_set(b, row, PE_BATCH_RUNNING, PE_OK, NULL);
	pthread_mutex_unlock(&b->lock);
	memset(&env, 0, sizeof(env));
	memset(&spec, 0, sizeof(spec));
	pe_err_clear(&err);
	env.store = store;
	env.carrier.p11 = o->p11;
	env.carrier.token_uri = row->token_uri;
	env.carrier.pin = o->pin;
	env.carrier.so_pin = o->so_pin;
	env.carrier.init_label = profile->token_label;
	env.sign_tool = o->sign_tool;
	env.timeout_ms = o->timeout_ms;
	env.notify = notify;
	env.notify_data = &nc;
	if (row->existing != 0) {
		rc = pe_store_request_get(store, row->existing, &req, &err);
		if (rc == PE_OK)
			rc = pe_enroll_refresh(&env, req, &err);
	} else {
		spec.service = profile->service;
		spec.owner_type = profile->owner_type;
		spec.template_oid = profile->template_oid;
		spec.carrier = profile->carrier;
		spec.key_type = pe_key_type_from_name(profile->key_type);
		spec.fields = row->fields;
		spec.n_fields = row->n_fields;
		spec.origin = row->origin;
		rc = pe_enroll_request(&env, &spec, &req, &err);
	}
	pthread_mutex_lock(&b->lock);
	if (req != NULL)
		row_request(row, req);
	if (rc != PE_OK) {
		state = PE_BATCH_FAILED;
		code = rc;
		reason = err.msg;
	} else if (req != NULL) {
		outcome(req, false, &state, &code, &reason);
	} else {
		state = PE_BATCH_FAILED;
		code = PE_E_FAIL;
		reason = "no request was made";
	}
	row_set(b, row, state, code, reason);
	pthread_mutex_unlock(&b->lock);
	pe_request_free(req);
}

static void *
worker_main(void *arg)
{
	struct batch *b = arg;
	struct pe_store *store = NULL;
	struct pe_err err;
	enum pe_code opened;
	size_t idx;
	bool more;

	pe_err_clear(&err);
	/* a connection of its own: SQLite connections are not shared between threads */
	opened = pe_store_open(pe_store_home(b->opts->store), &store, &err);
	for (;;) {
		pthread_mutex_lock(&b->lock);
		more = b->next < b->n_queue;
		idx = more ? b->queue[b->next++] : 0;
		if (more && opened != PE_OK)
			row_set(b, &b->rows[idx], PE_BATCH_FAILED, opened, err.msg);
		pthread_mutex_unlock(&b->lock);
		if (!more)
			break;
		if (opened == PE_OK)
			row_run(b, store, &b->rows[idx]);
	}
	pe_store_close(store);
	return NULL;
}

static unsigned
workers_default(size_t n_queue)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = n_queue;

	if (cpus < 1)
		cpus = 1;
	if (n > (size_t)cpus)
		n = (size_t)cpus;
	return (unsigned)n;
}

static enum pe_code
batch_read(struct batch *b, struct pe_err *err)
{
	char *text = NULL;
	size_t len = 0, r;
	enum pe_code rc;

	rc = pe_file_read(b->opts->csv_path, BATCH_FILE_MAX, &text, &len, err);
	if (rc == PE_E_NOTFOUND)
		err->code = rc = PE_E_USAGE; /* a missing file is a usage error */
	if (rc != PE_OK)
		return rc;
	rc = pe_csv_parse(text, len, b->opts->csv_path, &b->csv, err);
	free(text);
	if (rc == PE_OK)
		rc = header_read(b, err);
	if (rc != PE_OK)
		return rc;
	if (b->n_cols > BATCH_FIELDS_MAX)
		return pe_err_set(err, PE_E_USAGE, "%s has more than %d columns", b->opts->csv_path,
				  BATCH_FIELDS_MAX);
	b->n_rows = pe_csv_rows(b->csv) - 1;
	if (b->n_rows == 0)
		return pe_err_set(err, PE_E_USAGE, "%s has a header but no rows",
				  b->opts->csv_path);
	b->rows = calloc(b->n_rows, sizeof(*b->rows));
	if (b->rows == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	for (r = 1; rc == PE_OK && r <= b->n_rows; r++)
		rc = row_read(b, r, &b->rows[r - 1], err);
	return rc;
}

enum pe_code
pe_batch_run(const struct pe_batch_opts *opts, struct pe_batch_summary *sum, struct pe_err *err)
{
	struct batch b;
	pthread_t *threads = NULL;
	unsigned n_workers, started = 0, i;
	enum pe_code rc;
	size_t r;

	memset(&b, 0, sizeof(b));
	b.opts = opts;
	if (strcmp(opts->profile->carrier, "token") != 0)
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': batch enrolls tokens, not carrier '%s'",
				  opts->profile->file, opts->profile->carrier);
	rc = batch_read(&b, err);
	if (rc == PE_OK)
		rc = plan(&b, err);
	if (rc != PE_OK) {
		batch_cleanup(&b);
		return rc;
	}
	n_workers = opts->workers != 0 ? opts->workers : workers_default(b.n_queue);
	if (n_workers > b.n_queue)
		n_workers = (unsigned)b.n_queue;
	threads = calloc(n_workers ? n_workers : 1, sizeof(*threads));
	if (threads == NULL) {
		batch_cleanup(&b);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	pthread_mutex_init(&b.lock, NULL);
	b.sum.rows = b.n_rows;
	b.sum.workers = n_workers;
	clock_gettime(CLOCK_MONOTONIC, &b.start);
	for (r = 0; r < b.n_rows; r++)
		row_first(&b, &b.rows[r]);
	for (i = 0; i < n_workers; i++) {
		if (pthread_create(&threads[i], NULL, worker_main, &b) != 0) {
			pe_msg_warn("could start only %u of %u workers", started, n_workers);
			break;
		}
		started++;
	}
	if (started == 0 && b.n_queue > 0)
		worker_main(&b); /* no thread could start: this one does the work */
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	b.sum.workers = started ? started : (b.n_queue > 0 ? 1 : 0);
	b.sum.seconds = since(&b.start);
	b.sum.first_code = PE_OK;
	for (r = 0; r < b.n_rows && b.sum.first_code == PE_OK; r++) {
		if (b.rows[r].state == PE_BATCH_FAILED)
			b.sum.first_code = b.rows[r].code != PE_OK ? b.rows[r].code : PE_E_FAIL;
	}
	*sum = b.sum;
	pthread_mutex_destroy(&b.lock);
	free(threads);
	batch_cleanup(&b);
	return PE_OK;
}
