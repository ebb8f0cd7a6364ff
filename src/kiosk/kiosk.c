/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kiosk loop: watches the slots (slot events where the module has them,
 * else re-enumeration after reinitialising the module, which is the only way
 * SoftHSM sees a token made by another process), and enrolls each newly
 * inserted token by the station profile, one at a time. A token that comes
 * back continues its unfinished kiosk request: no second key, no second
 * request.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "kiosk-int.h"

#define SEEN_MAX   64
#define FIELDS_MAX 64
#define ORIGIN	   "kiosk"
/* with slot events, a full re-enumeration every this many polls all the same */
#define RELOAD_EVERY 10

static volatile sig_atomic_t stopping;

struct kiosk {
	const struct pe_kiosk_opts *opts;
	const struct pe_station_profile *profile;
	struct pe_kiosk_shared shared;
	struct pe_kiosk_http *http;
	char *seen[SEEN_MAX];	   /* serials handled and not yet removed */
	unsigned missed[SEEN_MAX]; /* looks in a row that did not find it */
	size_t n_seen;
	unsigned long tick;
	bool events_supported;
};

static const char *const step_names[PE_KIOSK_STEP_MAX] = {
	"started",   "waiting",	 "inserted",	       "pin",	 "working", "processing",
	"installed", "rejected", "connection-problem", "failed", "removed", "stopped",
};

const char *
pe_kiosk_step_name(enum pe_kiosk_step step)
{
	return step < PE_KIOSK_STEP_MAX ? step_names[step] : "unknown";
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* JSON */

enum pe_code
pe_kiosk_json_str(struct pe_buf *b, const char *s, struct pe_err *err)
{
	char esc[8];
	enum pe_code rc = pe_buf_add(b, "\"", 1, err);
	const unsigned char *p;

	for (p = (const unsigned char *)s; rc == PE_OK && *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			rc = pe_buf_add(b, esc, 2, err);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
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
json_key(struct pe_buf *b, bool *first, const char *key, struct pe_err *err)
{
	enum pe_code rc = pe_buf_add(b, *first ? "" : ",", *first ? 0 : 1, err);

	*first = false;
	if (rc == PE_OK)
		rc = pe_kiosk_json_str(b, key, err);
	if (rc == PE_OK)
		rc = pe_buf_add(b, ":", 1, err);
	return rc;
}

static enum pe_code
json_str_field(struct pe_buf *b, bool *first, const char *key, const char *value,
	       struct pe_err *err)
{
	enum pe_code rc;

	if (value == NULL || value[0] == '\0')
		return PE_OK;
	rc = json_key(b, first, key, err);
	if (rc == PE_OK)
		rc = pe_kiosk_json_str(b, value, err);
	return rc;
}

static enum pe_code
json_raw_field(struct pe_buf *b, bool *first, const char *key, const char *raw, struct pe_err *err)
{
	enum pe_code rc = json_key(b, first, key, err);

	if (rc == PE_OK)
		rc = pe_buf_add(b, raw, strlen(raw), err);
	return rc;
}

enum pe_code
pe_kiosk_event_json(const struct pe_kiosk_event *ev, struct pe_buf *b, struct pe_err *err)
{
	char num[32];
	bool first = true;
	enum pe_code rc = pe_buf_add(b, "{", 1, err);

	if (rc == PE_OK)
		rc = json_str_field(b, &first, "event", pe_kiosk_step_name(ev->step), err);
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "message", ev->message, err);
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "url", ev->url, err);
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "token_serial", ev->serial, err);
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "token_model", ev->model, err);
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "token_label", ev->label, err);
	if (rc == PE_OK && ev->request_id > 0) {
		/* ids are strings in every other JSON document of p11enroll */
		snprintf(num, sizeof(num), "%lld", ev->request_id);
		rc = json_str_field(b, &first, "request_id", num, err);
	}
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "state", ev->state, err);
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "status", ev->status, err);
	if (rc == PE_OK)
		rc = json_str_field(b, &first, "reason", ev->reason, err);
	if (rc == PE_OK && ev->resumed)
		rc = json_raw_field(b, &first, "resumed", "true", err);
	if (rc == PE_OK && ev->timed_out)
		rc = json_raw_field(b, &first, "timed_out", "true", err);
	if (rc == PE_OK && ev->step == PE_KIOSK_PIN)
		rc = json_raw_field(b, &first, "pin_new", ev->pin_new ? "true" : "false", err);
	if (rc == PE_OK && ev->code != PE_OK) {
		snprintf(num, sizeof(num), "%d", (int)ev->code);
		rc = json_raw_field(b, &first, "code", num, err);
	}
	if (rc == PE_OK)
		rc = pe_buf_add(b, "}", 1, err);
	return rc;
}

/* Reporting: the page's state and the caller's event */

static void
copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void
report(struct kiosk *k, const struct pe_kiosk_event *ev)
{
	struct pe_kiosk_shared *sh = &k->shared;

	pthread_mutex_lock(&sh->lock);
	sh->step = ev->step;
	copy(sh->message, sizeof(sh->message), ev->message);
	copy(sh->reason, sizeof(sh->reason), ev->reason);
	copy(sh->serial, sizeof(sh->serial), ev->serial);
	copy(sh->model, sizeof(sh->model), ev->model);
	copy(sh->label, sizeof(sh->label), ev->label);
	copy(sh->status, sizeof(sh->status), ev->status);
	sh->request_id = ev->request_id;
	sh->timed_out = ev->timed_out;
	sh->pin_new = ev->pin_new;
	sh->seq++;
	pthread_mutex_unlock(&sh->lock);
	if (k->opts->event != NULL)
		k->opts->event(k->opts->event_data, ev);
}

/* The token at hand, for events */
struct current {
	const char *serial;
	const char *model;
	const char *label;
	const struct pe_request *req;
	bool resumed;
};

static void say(struct kiosk *k, const struct current *cur, enum pe_kiosk_step step,
		enum pe_code code, const char *reason, bool timed_out, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void
say(struct kiosk *k, const struct current *cur, enum pe_kiosk_step step, enum pe_code code,
    const char *reason, bool timed_out, const char *fmt, ...)
{
	struct pe_kiosk_event ev;
	char message[PE_KIOSK_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	memset(&ev, 0, sizeof(ev));
	ev.step = step;
	ev.message = message;
	ev.code = code;
	ev.reason = reason;
	ev.timed_out = timed_out;
	if (cur != NULL) {
		ev.serial = cur->serial;
		ev.model = cur->model;
		ev.label = cur->label;
		ev.resumed = cur->resumed;
		if (cur->req != NULL) {
			ev.request_id = (long long)cur->req->id;
			ev.state = pe_request_state_name(cur->req->state);
			ev.status = pe_request_user_state(cur->req->state);
		}
	}
	report(k, &ev);
}

/* Sleeps @ms, waking early when the kiosk is told to stop. Returns: false when stopping. */
static bool
nap(unsigned long ms)
{
	struct timespec ts;

	while (ms > 0 && !stopping) {
		unsigned long step = ms > 50 ? 50 : ms;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !stopping;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Slots */

/*
 * The slots as they are now. No session is open here, so a module that
 * reports no slot events (SoftHSM) is reinitialised to see new tokens.
 */
static enum pe_code
look(struct kiosk *k, struct pe_p11_slot **slots, size_t *n, struct pe_err *err)
{
	bool changed = false;
	enum pe_code rc;

	rc = pe_p11_slot_events(k->opts->p11, &changed, &k->events_supported, err);
	if (rc == PE_OK && (!k->events_supported || k->tick % RELOAD_EVERY == 0))
		rc = pe_p11_reload(k->opts->p11, err);
	k->tick++;
	if (rc == PE_OK)
		rc = pe_p11_slot_list(k->opts->p11, slots, n, err);
	return rc;
}

/* Returns: true for a token the kiosk can tell apart: present, with a serial. */
static bool
identifiable(const struct pe_p11_slot *slot)
{
	return slot->token_present && slot->serial != NULL && slot->serial[0] != '\0';
}

static const struct pe_p11_slot *
slot_with_serial(const struct pe_p11_slot *slots, size_t n, const char *serial)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (identifiable(&slots[i]) && strcmp(slots[i].serial, serial) == 0)
			return &slots[i];
	}
	return NULL;
}

/*
 * Returns: true when the token @serial is still there (a failure to look
 * counts as there). Missing is looked at twice: see the main loop.
 */
static bool
still_there(struct kiosk *k, const char *serial)
{
	struct pe_p11_slot *slots = NULL;
	size_t n = 0;
	struct pe_err err;
	bool there = true;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (tries > 0 && !nap(20))
			break;
		if (look(k, &slots, &n, &err) != PE_OK) {
			pe_msg_debug("%s", err.msg);
			return true;
		}
		there = slot_with_serial(slots, n, serial) != NULL;
		pe_p11_slot_list_free(slots, n);
		if (there)
			break;
	}
	return there;
}

static bool
seen(const struct kiosk *k, const char *serial)
{
	size_t i;

	for (i = 0; i < k->n_seen; i++) {
		if (strcmp(k->seen[i], serial) == 0)
			return true;
	}
	return false;
}

/* PINs */

static unsigned long
umax(unsigned long a, unsigned long b)
{
	return a > b ? a : b;
}

/* The strictest of the station profile, the token's vendor profile and the token itself. */
static void
rules_set(struct pe_kiosk_shared *sh, const struct pe_station_profile *profile,
	  const struct pe_token_profile *tprofile, const struct pe_p11_slot *info)
{
	sh->pin_min = umax(profile->pin_min, umax(tprofile->pin_min, info->min_pin));
	sh->pin_max = profile->pin_max;
	if (tprofile->pin_max != 0 && tprofile->pin_max < sh->pin_max)
		sh->pin_max = tprofile->pin_max;
	if (info->max_pin != 0 && info->max_pin < sh->pin_max)
		sh->pin_max = info->max_pin;
	if (sh->pin_max > PE_KIOSK_PIN_MAX)
		sh->pin_max = PE_KIOSK_PIN_MAX;
	sh->pin_digits_only = profile->pin_digits_only || tprofile->pin_digits_only;
}

enum pe_code
pe_kiosk_pin_rules(const struct pe_kiosk_shared *sh, const struct pe_secret *pin,
		   struct pe_err *err)
{
	size_t i;

	if (pin->len < sh->pin_min)
		return pe_err_set(err, PE_E_PIN, "the PIN must have at least %lu characters",
				  sh->pin_min);
	if (pin->len > sh->pin_max)
		return pe_err_set(err, PE_E_PIN, "the PIN must have at most %lu characters",
				  sh->pin_max);
	for (i = 0; sh->pin_digits_only && i < pin->len; i++) {
		if (pin->data[i] < '0' || pin->data[i] > '9')
			return pe_err_set(err, PE_E_PIN, "the PIN must have digits only");
	}
	return PE_OK;
}

static void
answers_free(char **answers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(answers[i]);
		answers[i] = NULL;
	}
}

/* Reads one line for @name from the terminal (a subject attribute: not a secret). */
static enum pe_code
ask_terminal(const char *name, char **out, struct pe_err *err)
{
	char line[1024];
	size_t len;

	if (!isatty(STDIN_FILENO))
		return pe_err_set(err, PE_E_USAGE,
				  "the profile asks for %s, and there is neither a page "
				  "(--http) nor a terminal to ask on",
				  name);
	fprintf(stderr, "%s: ", name);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return pe_err_set(err, PE_E_USAGE, "no answer for %s", name);
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	*out = strdup(line);
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

/*
 * The PIN (and, with @ask, the profile's subject attributes to ask for) from
 * pin_source, the page or the terminal. A new PIN is asked twice and follows
 * the rules. Returns: PE_OK and a newly allocated *pin; PE_E_NOTFOUND when
 * the token was removed while waiting; PE_E_PIN.
 */
/*
 * The page: the form is shown (the PIN when @want_pin, the attributes to ask
 * for) and the loop waits for the post, the token to go, or the kiosk to stop.
 */
static enum pe_code
page_wait(struct kiosk *k, const struct current *cur, bool pin_new, bool want_pin, size_t n_ask,
	  struct pe_secret **pin, char **answers, struct pe_err *err)
{
	const struct pe_station_profile *profile = k->profile;
	struct pe_kiosk_shared *sh = &k->shared;
	struct pe_kiosk_event ev;
	struct timespec until;
	enum pe_code rc = PE_OK;
	size_t i;

	pthread_mutex_lock(&sh->lock);
	sh->posted = false;
	sh->pin_wanted = want_pin;
	sh->ask = n_ask > 0 ? (const char *const *)profile->ask : NULL;
	sh->n_ask = n_ask;
	pthread_mutex_unlock(&sh->lock);
	memset(&ev, 0, sizeof(ev));
	ev.step = PE_KIOSK_PIN;
	ev.serial = cur->serial;
	ev.model = cur->model;
	ev.label = cur->label;
	ev.resumed = cur->resumed;
	ev.pin_new = want_pin && pin_new;
	ev.message = !want_pin ? "fill in the form"
		     : pin_new ? "choose a PIN for the token and type it twice"
			       : "type the token's PIN";
	if (cur->req != NULL)
		ev.request_id = (long long)cur->req->id;
	report(k, &ev);
	for (;;) {
		pthread_mutex_lock(&sh->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(profile->poll_ms % 1000) * 1000000L;
		until.tv_sec += (time_t)(profile->poll_ms / 1000) + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (!sh->posted)
			pthread_cond_timedwait(&sh->cond, &sh->lock, &until);
		if (sh->posted) {
			*pin = sh->pin;
			sh->pin = NULL;
			for (i = 0; i < n_ask; i++) {
				answers[i] = sh->answers[i];
				sh->answers[i] = NULL;
			}
			break;
		}
		pthread_mutex_unlock(&sh->lock);
		if (stopping)
			rc = pe_err_set(err, PE_E_PIN, "the kiosk is stopping");
		else if (!still_there(k, cur->serial))
			rc = pe_err_set(err, PE_E_NOTFOUND, "the token was removed");
		if (rc != PE_OK) {
			pthread_mutex_lock(&sh->lock);
			break;
		}
	}
	sh->posted = false;
	sh->pin_wanted = false;
	sh->n_ask = 0;
	sh->ask = NULL;
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

/*
 * The PIN (and, with @ask, the profile's subject attributes to ask for) from
 * pin_source, the page or the terminal. A new PIN is asked twice and follows
 * the rules. Returns: PE_OK and a newly allocated *pin; PE_E_NOTFOUND when
 * the token was removed while waiting; PE_E_PIN.
 */
static enum pe_code
pin_get(struct kiosk *k, const struct current *cur, bool pin_new, bool ask, struct pe_secret **pin,
	char **answers, struct pe_err *err)
{
	const struct pe_station_profile *profile = k->profile;
	struct pe_kiosk_shared *sh = &k->shared;
	size_t n_ask = ask ? profile->n_ask : 0, i;
	enum pe_code rc = PE_OK;

	if (n_ask > PE_KIOSK_ASK_MAX)
		return pe_err_set(err, PE_E_USAGE, "the profile asks for more than %d attributes",
				  PE_KIOSK_ASK_MAX);
	*pin = NULL;
	/* the page asks where a person types: the PIN without pin_source, the attributes */
	if (k->http != NULL && (profile->pin_source == NULL || n_ask > 0))
		rc = page_wait(k, cur, pin_new, profile->pin_source == NULL, n_ask, pin, answers,
			       err);
	for (i = 0; rc == PE_OK && k->http == NULL && i < n_ask; i++)
		rc = ask_terminal(profile->ask[i], &answers[i], err);
	if (rc == PE_OK && *pin == NULL) {
		rc = pe_secret_read(profile->pin_source, "pin_source",
				    pin_new ? "new user PIN" : "user PIN", pin_new, pin, err);
		if (rc == PE_OK && pin_new) {
			pthread_mutex_lock(&sh->lock);
			rc = pe_kiosk_pin_rules(sh, *pin, err);
			pthread_mutex_unlock(&sh->lock);
		}
	}
	if (rc != PE_OK) {
		pe_secret_free(*pin);
		*pin = NULL;
		answers_free(answers, n_ask);
	}
	return rc;
}

/*
 * Sets up a token that is new: C_InitToken with the SO PIN (label
 * token_label) and the user PIN, or, on a token initialised without a user
 * PIN, C_InitPIN as the SO.
 */
static enum pe_code
pins_setup(struct kiosk *k, const char *serial, const struct pe_secret *pin, struct pe_err *err)
{
	const struct pe_station_profile *profile = k->profile;
	struct pe_p11_token *tok = NULL;
	struct pe_secret *so_pin = NULL;
	char uri[128];
	enum pe_code rc;

	snprintf(uri, sizeof(uri), "pkcs11:serial=%s", serial);
	rc = pe_secret_read(profile->so_pin_source, "so_pin_source", "SO PIN", false, &so_pin, err);
	if (rc == PE_OK)
		rc = pe_p11_token_open(k->opts->p11, uri,
				       PE_P11_OPEN_NO_SESSION | PE_P11_OPEN_UNINITIALIZED, &tok,
				       err);
	if (rc != PE_OK)
		goto out;
	if (!(pe_p11_token_info(tok)->flags & PE_P11_F_INITIALIZED)) {
		rc = pe_p11_token_init(tok,
				       profile->token_label ? profile->token_label : "p11enroll",
				       so_pin, pin, err);
		goto out;
	}
	pe_p11_token_free(tok);
	tok = NULL;
	rc = pe_p11_token_open(k->opts->p11, uri, PE_P11_OPEN_RW, &tok, err);
	if (rc == PE_OK)
		rc = pe_p11_token_login_check(tok, PE_P11_SO, err);
	if (rc == PE_OK)
		rc = pe_p11_token_login(tok, PE_P11_SO, so_pin, err);
	if (rc == PE_OK)
		rc = pe_p11_token_init_pin(tok, pin, err);
out:
	pe_p11_token_free(tok);
	pe_secret_free(so_pin);
	if (rc != PE_OK)
		pe_err_prefix(err, "setting up the token's PINs");
	return rc;
}

/* Requests */

/*
 * The newest kiosk request of the token @serial: *resume when it is not
 * finished, else *last (either may be left NULL). Both newly allocated.
 */
static enum pe_code
request_of(struct kiosk *k, const char *serial, struct pe_request **resume,
	   struct pe_request **last, struct pe_err *err)
{
	struct pe_request **list = NULL;
	size_t n = 0, i;
	enum pe_code rc;

	*resume = NULL;
	*last = NULL;
	rc = pe_store_request_list(k->opts->store, &list, &n, err);
	if (rc != PE_OK)
		return rc;
	for (i = n; i-- > 0;) {
		if (list[i]->origin == NULL || strcmp(list[i]->origin, ORIGIN) != 0 ||
		    list[i]->token_serial == NULL || strcmp(list[i]->token_serial, serial) != 0 ||
		    strcmp(list[i]->service, k->profile->service) != 0)
			continue;
		if (pe_enroll_request_done(list[i]))
			*last = list[i];
		else
			*resume = list[i];
		list[i] = NULL;
		break;
	}
	pe_request_list_free(list, n);
	return PE_OK;
}

/* Returns: true when the certificate is on the token (the acknowledgement may still be due). */
static bool
installed(const struct pe_request *req)
{
	return req->state == PE_REQ_INSTALLED || req->state == PE_REQ_ACKNOWLEDGED ||
	       (req->state == PE_REQ_CONNECTION_PROBLEM && req->resume_state == PE_REQ_INSTALLED);
}

/* Returns: true when nothing more happens while the person waits. */
static bool
settled(const struct pe_request *req)
{
	return installed(req) || pe_enroll_request_done(req);
}

/*
 * The subject a new request gives: the person's attributes (roster row,
 * answers on the page) first, then the profile's fixed ones for attributes
 * the person did not give. Values are borrowed.
 */
static enum pe_code
fields_build(const struct pe_station_profile *profile, const struct pe_station_field *roster,
	     size_t n_roster, char *const *answers, size_t n_answers, struct pe_csr_field *out,
	     size_t *n, struct pe_err *err)
{
	char oids[FIELDS_MAX][64], oid[64];
	size_t i, j;
	bool given;

	*n = 0;
	for (i = 0; i < n_roster + n_answers + profile->n_fields; i++) {
		const char *attr, *value;

		if (i < n_roster) {
			attr = roster[i].attr;
			value = roster[i].value;
		} else if (i < n_roster + n_answers) {
			attr = profile->ask[i - n_roster];
			value = answers[i - n_roster];
		} else {
			attr = profile->fields[i - n_roster - n_answers].attr;
			value = profile->fields[i - n_roster - n_answers].value;
		}
		if (value == NULL || value[0] == '\0')
			continue;
		if (pe_csr_attr_lookup(attr, oid, sizeof(oid)) == 0)
			return pe_err_set(err, PE_E_USAGE,
					  "'%s' is not a subject attribute p11enroll knows", attr);
		for (j = 0, given = false; j < *n; j++)
			given = given || strcmp(oids[j], oid) == 0;
		if (given)
			continue;
		if (*n >= FIELDS_MAX)
			return pe_err_set(err, PE_E_USAGE, "more than %d subject attributes",
					  FIELDS_MAX);
		memcpy(oids[*n], oid, sizeof(oid));
		out[*n].attr = attr;
		out[*n].value = value;
		(*n)++;
	}
	return PE_OK;
}

/* Tells the person how it ended. Returns: the outcome (see pe_kiosk_run()). */
static enum pe_code
outcome(struct kiosk *k, struct current *cur, const struct pe_request *req, bool timed_out)
{
	cur->req = req;
	if (installed(req)) {
		say(k, cur, PE_KIOSK_INSTALLED, PE_OK, NULL, false,
		    "the certificate is issued and installed on the token: remove the token");
		return PE_OK;
	}
	switch (req->state) {
	case PE_REQ_REJECTED:
		say(k, cur, PE_KIOSK_REJECTED, PE_E_CA, req->reason, false, "%s",
		    "the CA rejected the request");
		return PE_E_CA;
	case PE_REQ_FAILED:
		say(k, cur, PE_KIOSK_FAILED, PE_E_CRYPTO, req->reason, false,
		    "the request failed: %s", req->reason ? req->reason : "no reason given");
		return PE_E_CRYPTO;
	case PE_REQ_CONNECTION_PROBLEM:
		say(k, cur, PE_KIOSK_CONNECTION_PROBLEM, PE_E_NET, req->reason, timed_out,
		    "the CA cannot be reached; the request is kept: remove the token and "
		    "insert it again later");
		return PE_E_NET;
	default:
		say(k, cur, PE_KIOSK_PROCESSING, PE_E_PENDING, NULL, timed_out,
		    "the CA is still processing the request: remove the token and insert it "
		    "again later to finish");
		return PE_E_PENDING;
	}
}

/* A failure on the way: the token went away, or something the person should hear of. */
static enum pe_code
trouble(struct kiosk *k, struct current *cur, const struct pe_err *why)
{
	if (why->code == PE_E_NOTFOUND && !still_there(k, cur->serial)) {
		say(k, cur, PE_KIOSK_REMOVED, PE_E_NOTFOUND, NULL, false, "%s",
		    cur->req != NULL ? "the token was removed; its request is kept: insert it "
				       "again to continue"
				     : "the token was removed");
		return PE_E_NOTFOUND;
	}
	/* told to stop while waiting for the person: nothing went wrong */
	if (stopping && why->code == PE_E_PIN)
		return why->code;
	if (why->code == PE_E_NET) {
		say(k, cur, PE_KIOSK_CONNECTION_PROBLEM, PE_E_NET, why->msg, false, "%s",
		    "the CA cannot be reached: try again later");
		return why->code;
	}
	say(k, cur, PE_KIOSK_FAILED, why->code, why->msg, false, "%s", why->msg);
	return why->code;
}

/* Enrolls (or continues) the token in @slot. Returns: its outcome. */
static enum pe_code
token_enroll(struct kiosk *k, const struct pe_p11_slot *slot)
{
	const struct pe_station_profile *profile = k->profile;
	struct pe_token_profile *tprofile = NULL;
	struct pe_request *req = NULL, *last = NULL;
	struct pe_station_field *roster = NULL;
	struct pe_csr_field fields[FIELDS_MAX];
	char *answers[PE_KIOSK_ASK_MAX];
	struct pe_secret *pin = NULL;
	struct pe_enroll_spec spec;
	struct pe_enroll_env env;
	struct current cur;
	struct pe_err err;
	size_t n_roster = 0, n_fields = 0;
	bool setup, ask, timed_out = false;
	enum pe_request_state told;
	double start;
	enum pe_code rc;

	memset(answers, 0, sizeof(answers));
	memset(&cur, 0, sizeof(cur));
	cur.serial = slot->serial;
	cur.model = slot->model;
	cur.label = slot->label;
	pe_err_clear(&err);
	say(k, &cur, PE_KIOSK_INSERTED, PE_OK, NULL, false, "token '%s' (serial %s, %s) inserted",
	    slot->label ? slot->label : "", slot->serial, slot->model ? slot->model : "");

	rc = pe_token_profile_find(NULL, slot->manufacturer, slot->model, &tprofile, &err);
	if (rc == PE_OK)
		rc = request_of(k, slot->serial, &req, &last, &err);
	if (rc != PE_OK)
		goto fail;
	if (req == NULL && last != NULL && installed(last)) {
		cur.req = last;
		say(k, &cur, PE_KIOSK_INSTALLED, PE_OK, NULL, false,
		    "this token already has its certificate: remove the token");
		goto out;
	}
	cur.req = req;
	cur.resumed = req != NULL;
	setup = !(slot->flags & PE_P11_F_INITIALIZED) ||
		!(slot->flags & PE_P11_F_USER_PIN_INITIALIZED);
	if (setup && !profile->init_token) {
		rc = pe_err_set(&err, PE_E_USAGE,
				"the token is not set up (no %s), and the profile does not "
				"set tokens up (init_token)",
				!(slot->flags & PE_P11_F_INITIALIZED) ? "initialisation"
								      : "user PIN");
		goto fail;
	}
	if (setup && req != NULL) {
		rc = pe_err_set(&err, PE_E_USAGE,
				"the token was reset since request %lld was made on it; its key "
				"is gone",
				(long long)req->id);
		goto fail;
	}
	/* who the certificate is for, before anyone types a PIN */
	if (req == NULL && profile->subject_source == PE_STATION_SUBJECT_ROSTER) {
		rc = pe_station_roster_lookup(profile, slot->serial, &roster, &n_roster, &err);
		if (rc == PE_E_NOTFOUND)
			pe_err_set(&err, PE_E_NOTFOUND,
				   "the token (serial %s) is not on the roster: ask the staff",
				   slot->serial);
		if (rc != PE_OK) {
			rc = err.code == PE_E_NOTFOUND ? PE_E_USAGE : rc;
			err.code = rc;
			goto fail;
		}
	}
	ask = req == NULL && profile->n_ask > 0 &&
	      (profile->subject_source == PE_STATION_SUBJECT_ASK ||
	       profile->subject_source == PE_STATION_SUBJECT_ROSTER);
	pthread_mutex_lock(&k->shared.lock);
	rules_set(&k->shared, profile, tprofile, slot);
	pthread_mutex_unlock(&k->shared.lock);

	/* an installed request only waits for its acknowledgement: no PIN needed */
	if (req == NULL || !installed(req)) {
		rc = pin_get(k, &cur, setup, ask, &pin, answers, &err);
		if (rc != PE_OK)
			goto fail;
	}
	say(k, &cur, PE_KIOSK_WORKING, PE_OK, NULL, false, "%s",
	    req != NULL ? "continuing the token's request" : "making the key and the request");
	if (setup) {
		rc = pins_setup(k, slot->serial, pin, &err);
		if (rc != PE_OK)
			goto fail;
	}

	memset(&env, 0, sizeof(env));
	env.store = k->opts->store;
	env.carrier.p11 = k->opts->p11;
	env.carrier.token_serial = slot->serial;
	env.carrier.pin = pin;
	env.sign_tool = k->opts->sign_tool;
	env.timeout_ms = 15000;
	if (req != NULL) {
		rc = pe_enroll_refresh(&env, req, &err);
	} else {
		rc = fields_build(profile, roster, n_roster, answers, ask ? profile->n_ask : 0,
				  fields, &n_fields, &err);
		memset(&spec, 0, sizeof(spec));
		spec.service = profile->service;
		spec.owner_type = profile->owner_type;
		spec.template_oid = profile->template_oid;
		spec.carrier = profile->carrier ? profile->carrier : "token";
		spec.key_type =
			pe_key_type_from_name(profile->key_type ? profile->key_type : "ec-p256");
		spec.fields = fields;
		spec.n_fields = n_fields;
		spec.origin = ORIGIN;
		if (rc == PE_OK)
			rc = pe_enroll_request(&env, &spec, &req, &err);
		cur.req = req;
	}
	if (rc != PE_OK)
		goto fail;

	/* waiting for the CA, as long as the profile says; the token may go meanwhile */
	start = now_sec();
	told = PE_REQ_STATE_MAX;
	while (!settled(req)) {
		/* once per state, not once per poll */
		if (req->state != told)
			say(k, &cur,
			    req->state == PE_REQ_CONNECTION_PROBLEM ? PE_KIOSK_CONNECTION_PROBLEM
								    : PE_KIOSK_PROCESSING,
			    PE_OK, req->reason, false, "%s",
			    req->state == PE_REQ_CONNECTION_PROBLEM
				    ? "the CA cannot be reached at the moment: trying again"
				    : "the CA is processing the request: please wait");
		told = req->state;
		if (now_sec() - start >= (double)profile->ca_wait_sec) {
			timed_out = true;
			break;
		}
		if (!nap(profile->poll_ms))
			break;
		if (!still_there(k, slot->serial)) {
			say(k, &cur, PE_KIOSK_REMOVED, PE_E_PENDING, NULL, false,
			    "the token was removed; its request is kept: insert it again to "
			    "continue");
			rc = PE_E_PENDING;
			goto out;
		}
		rc = pe_enroll_refresh(&env, req, &err);
		if (rc != PE_OK)
			goto fail;
	}
	rc = outcome(k, &cur, req, timed_out);
	goto out;
fail:
	rc = trouble(k, &cur, &err);
out:
	answers_free(answers, PE_KIOSK_ASK_MAX);
	pe_secret_free(pin);
	pe_station_fields_free(roster, n_roster);
	pe_request_free(req);
	pe_request_free(last);
	pe_token_profile_free(tprofile);
	return rc;
}

static enum pe_code
check_profile(const struct pe_station_profile *profile, struct pe_err *err)
{
	if (profile->carrier != NULL && strcmp(profile->carrier, "token") != 0)
		return pe_err_set(err, PE_E_USAGE,
				  "profile '%s': the kiosk enrolls tokens, not carrier '%s'",
				  profile->file, profile->carrier);
	if (profile->poll_ms == 0)
		return pe_err_set(err, PE_E_USAGE, "profile '%s': poll_interval_ms is 0",
				  profile->file);
	return PE_OK;
}

enum pe_code
pe_kiosk_run(const struct pe_kiosk_opts *opts, struct pe_err *err)
{
	struct sigaction sa, old_int, old_term;
	struct pe_p11_slot *slots = NULL;
	struct pe_kiosk_event ev;
	struct pe_err why;
	struct kiosk *k;
	char url[128], last_why[PE_ERR_MSG_MAX] = "";
	unsigned done = 0;
	size_t n = 0, i;
	enum pe_code rc, last = PE_OK;

	rc = check_profile(opts->profile, err);
	if (rc != PE_OK)
		return rc;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	k->opts = opts;
	k->profile = opts->profile;
	k->events_supported = true;
	pthread_mutex_init(&k->shared.lock, NULL);
	pthread_cond_init(&k->shared.cond, NULL);
	url[0] = '\0';
	stopping = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	signal(SIGPIPE, SIG_IGN);

	if (opts->http != NULL) {
		rc = pe_kiosk_http_start(opts->http, &k->shared, &k->http, url, sizeof(url), err);
		if (rc != PE_OK)
			goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.step = PE_KIOSK_STARTED;
	ev.url = url[0] != '\0' ? url : NULL;
	ev.message = "kiosk started";
	report(k, &ev);
	say(k, NULL, PE_KIOSK_WAITING, PE_OK, NULL, false, "insert a token");

	while (!stopping) {
		/*
		 * A token pulled while the module reads it fails the whole list
		 * (SoftHSM: CKR_GENERAL_ERROR): the next look sees it gone.
		 */
		if (look(k, &slots, &n, &why) != PE_OK) {
			if (strcmp(why.msg, last_why) != 0)
				pe_msg_warn("%s", why.msg);
			snprintf(last_why, sizeof(last_why), "%s", why.msg);
			if (!nap(k->profile->poll_ms))
				break;
			continue;
		}
		last_why[0] = '\0';
		/*
		 * Forget the tokens taken out: they are new again when they come
		 * back. Missed twice in a row, since a token directory read while
		 * another token is moved (SoftHSM) can be missing from one list.
		 */
		for (i = 0; i < k->n_seen;) {
			if (slot_with_serial(slots, n, k->seen[i]) != NULL) {
				k->missed[i++] = 0;
				continue;
			}
			if (++k->missed[i] < 2) {
				i++;
				continue;
			}
			free(k->seen[i]);
			k->n_seen--;
			k->seen[i] = k->seen[k->n_seen];
			k->missed[i] = k->missed[k->n_seen];
			say(k, NULL, PE_KIOSK_WAITING, PE_OK, NULL, false, "insert a token");
		}
		for (i = 0; i < n && !stopping; i++) {
			if (!identifiable(&slots[i]) || seen(k, slots[i].serial))
				continue;
			if (k->n_seen >= SEEN_MAX) {
				pe_msg_warn("more than %d tokens present; ignoring the rest",
					    SEEN_MAX);
				break;
			}
			k->seen[k->n_seen] = strdup(slots[i].serial);
			if (k->seen[k->n_seen] == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto out;
			}
			k->missed[k->n_seen] = 0;
			k->n_seen++;
			last = token_enroll(k, &slots[i]);
			done++;
			if (opts->max_tokens != 0 && done >= opts->max_tokens)
				goto done;
			/* the slot list is stale after a token's work: look again */
			break;
		}
		pe_p11_slot_list_free(slots, n);
		slots = NULL;
		n = 0;
		if (!nap(k->profile->poll_ms))
			break;
	}
done:
	rc = opts->max_tokens != 0 ? last : PE_OK;
	if (rc != PE_OK)
		pe_err_set(err, rc, "the last token's enrollment ended %s",
			   rc == PE_E_PENDING ? "with the request still processing"
					      : "without a certificate");
	say(k, NULL, PE_KIOSK_STOPPED, PE_OK, NULL, false, "kiosk stopped");
out:
	pe_p11_slot_list_free(slots, n);
	if (k->http != NULL)
		pe_kiosk_http_stop(k->http);
	for (i = 0; i < k->n_seen; i++)
		free(k->seen[i]);
	pe_secret_free(k->shared.pin);
	for (i = 0; i < PE_KIOSK_ASK_MAX; i++)
		free(k->shared.answers[i]);
	pthread_cond_destroy(&k->shared.cond);
	pthread_mutex_destroy(&k->shared.lock);
	free(k);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}
