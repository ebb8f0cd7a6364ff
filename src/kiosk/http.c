/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kiosk page over plain HTTP on loopback (libmicrohttpd, a thread of its
 * own): GET / is the page, GET /status the current step as JSON (polled by
 * the page), POST /pin the PIN and the asked subject attributes as a form
 * body. A PIN never travels in a URL, is never logged or sent back, and its
 * buffers are cleansed as soon as it is handed to the enrollment loop.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "csr/csr.h"
#include "kiosk-int.h"

#define BODY_MAX 8192

struct pe_kiosk_http {
	struct MHD_Daemon *daemon;
	struct pe_kiosk_shared *shared;
	unsigned port;
};

struct conn_state {
	struct pe_buf body;
	bool too_big;
};

union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* "127.0.0.1:PORT" or "[::1]:PORT" into @addr; anything but loopback is refused. */
static enum pe_code
listen_parse(const char *listen_on, union addr *addr, bool *v6, struct pe_err *err)
{
	const char *colon = strrchr(listen_on, ':');
	char host[INET6_ADDRSTRLEN + 2], *end;
	unsigned long port;
	size_t hlen;
	bool loopback;

	memset(addr, 0, sizeof(*addr));
	if (colon == NULL || colon == listen_on || colon[1] == '\0' || colon[1] == '-' ||
	    colon[1] == '+')
		return pe_err_set(err, PE_E_USAGE, "--http '%s' is not ADDRESS:PORT", listen_on);
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port > 65535)
		return pe_err_set(err, PE_E_USAGE, "--http '%s': bad port", listen_on);
	hlen = (size_t)(colon - listen_on);
	*v6 = listen_on[0] == '[' && hlen >= 2 && colon[-1] == ']';
	if (*v6) {
		listen_on++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return pe_err_set(err, PE_E_USAGE, "--http '%s': bad address", listen_on);
	memcpy(host, listen_on, hlen);
	host[hlen] = '\0';
	if (*v6) {
		addr->in6.sin6_family = AF_INET6;
		addr->in6.sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &addr->in6.sin6_addr) != 1)
			return pe_err_set(err, PE_E_USAGE, "--http: '%s' is not an IPv6 address",
					  host);
		loopback = IN6_IS_ADDR_LOOPBACK(&addr->in6.sin6_addr);
	} else {
		addr->in.sin_family = AF_INET;
		addr->in.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &addr->in.sin_addr) != 1)
			return pe_err_set(err, PE_E_USAGE,
					  "--http: '%s' is not an IPv4 address (IPv6 goes in "
					  "brackets)",
					  host);
		loopback = (ntohl(addr->in.sin_addr.s_addr) >> 24) == 127;
	}
	if (!loopback)
		return pe_err_set(err, PE_E_USAGE,
				  "--http '%s': the kiosk page is served on loopback only "
				  "(127.0.0.1 or [::1]): it takes PINs over plain HTTP",
				  listen_on);
	return PE_OK;
}

static enum MHD_Result
send_text(struct MHD_Connection *conn, unsigned status, const char *type, const char *body,
	  size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    MHD_add_response_header(r, "X-Frame-Options", "DENY") != MHD_YES ||
	    MHD_add_response_header(r, "Referrer-Policy", "no-referrer") != MHD_YES ||
	    MHD_add_response_header(r, "Content-Security-Policy",
				    "default-src 'none'; style-src 'unsafe-inline'; "
				    "script-src 'unsafe-inline'; img-src data:; "
				    "connect-src 'self'; form-action 'none'; "
				    "frame-ancestors 'none'") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* {"ok":false,"message":...} or {"ok":true} */
static enum MHD_Result
send_result(struct MHD_Connection *conn, unsigned status, const char *message)
{
	struct pe_buf b;
	struct pe_err err;
	enum MHD_Result ret;

	pe_buf_init(&b, 4096);
	if (message == NULL) {
		pe_buf_add(&b, "{\"ok\":true}", 11, &err);
	} else {
		pe_buf_add(&b, "{\"ok\":false,\"message\":", 22, &err);
		pe_kiosk_json_str(&b, message, &err);
		pe_buf_add(&b, "}", 1, &err);
	}
	ret = send_text(conn, status, "application/json", (const char *)b.data, b.len);
	pe_buf_cleanup(&b);
	return ret;
}

static enum pe_code
add_num(struct pe_buf *b, const char *key, unsigned long long v, struct pe_err *err)
{
	char text[64];

	snprintf(text, sizeof(text), ",\"%s\":%llu", key, v);
	return pe_buf_add(b, text, strlen(text), err);
}

static enum pe_code
add_str(struct pe_buf *b, const char *key, const char *value, struct pe_err *err)
{
	enum pe_code rc;

	rc = pe_buf_add(b, ",", 1, err);
	if (rc == PE_OK)
		rc = pe_kiosk_json_str(b, key, err);
	if (rc == PE_OK)
		rc = pe_buf_add(b, ":", 1, err);
	if (rc == PE_OK)
		rc = value != NULL && value[0] != '\0' ? pe_kiosk_json_str(b, value, err)
						       : pe_buf_add(b, "null", 4, err);
	return rc;
}

static enum pe_code
add_bool(struct pe_buf *b, const char *key, bool v, struct pe_err *err)
{
	char text[64];

	snprintf(text, sizeof(text), ",\"%s\":%s", key, v ? "true" : "false");
	return pe_buf_add(b, text, strlen(text), err);
}

/* The status document: what the page shows. No secret is in @sh outside sh->pin. */
static enum MHD_Result
send_status(struct MHD_Connection *conn, struct pe_kiosk_shared *sh)
{
	struct pe_buf b;
	struct pe_err err;
	enum MHD_Result ret;
	enum pe_code rc;
	char id[32];
	size_t i;

	pe_buf_init(&b, 65536);
	pthread_mutex_lock(&sh->lock);
	rc = pe_buf_add(&b, "{\"ok\":true", 10, &err);
	if (rc == PE_OK)
		rc = add_num(&b, "seq", sh->seq, &err);
	if (rc == PE_OK)
		rc = add_str(&b, "step", pe_kiosk_step_name(sh->step), &err);
	if (rc == PE_OK)
		rc = add_str(&b, "message", sh->message, &err);
	if (rc == PE_OK)
		rc = add_str(&b, "token_serial", sh->serial, &err);
	if (rc == PE_OK)
		rc = add_str(&b, "token_model", sh->model, &err);
	if (rc == PE_OK)
		rc = add_str(&b, "token_label", sh->label, &err);
	snprintf(id, sizeof(id), "%lld", sh->request_id);
	if (rc == PE_OK)
		rc = add_str(&b, "request_id", sh->request_id > 0 ? id : NULL, &err);
	if (rc == PE_OK)
		rc = add_str(&b, "status", sh->status, &err);
	if (rc == PE_OK)
		rc = add_str(&b, "reason", sh->reason, &err);
	if (rc == PE_OK)
		rc = add_bool(&b, "timed_out", sh->timed_out, &err);
	if (rc == PE_OK && sh->step == PE_KIOSK_PIN && !sh->pin_wanted)
		rc = pe_buf_add(&b, ",\"pin\":null", 11, &err);
	if (rc == PE_OK && sh->step == PE_KIOSK_PIN && sh->pin_wanted) {
		rc = pe_buf_add(&b, ",\"pin\":{\"new\":", 14, &err);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, sh->pin_new ? "true" : "false", sh->pin_new ? 4 : 5,
					&err);
		if (rc == PE_OK)
			rc = add_num(&b, "min_length", sh->pin_min, &err);
		if (rc == PE_OK)
			rc = add_num(&b, "max_length", sh->pin_max, &err);
		if (rc == PE_OK)
			rc = add_bool(&b, "digits_only", sh->pin_digits_only, &err);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, "}", 1, &err);
	}
	if (rc == PE_OK && sh->step == PE_KIOSK_PIN) {
		rc = pe_buf_add(&b, ",\"ask\":[", 8, &err);
		for (i = 0; rc == PE_OK && i < sh->n_ask; i++) {
			if (i > 0)
				rc = pe_buf_add(&b, ",", 1, &err);
			if (rc == PE_OK)
				rc = pe_kiosk_json_str(&b, sh->ask[i], &err);
		}
		if (rc == PE_OK)
			rc = pe_buf_add(&b, "]", 1, &err);
	}
	if (rc == PE_OK)
		rc = pe_buf_add(&b, "}", 1, &err);
	pthread_mutex_unlock(&sh->lock);
	if (rc != PE_OK) {
		pe_buf_cleanup(&b);
		return send_result(conn, 500, "the status does not fit");
	}
	ret = send_text(conn, 200, "application/json", (const char *)b.data, b.len);
	pe_buf_cleanup(&b);
	return ret;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes application/x-www-form-urlencoded text in place. Returns: the length, -1 if bad. */
static long
url_decode(char *s, size_t len)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			s[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	/* what is left of the encoded text goes too */
	if (o < len)
		OPENSSL_cleanse(s + o, len - o);
	return (long)o;
}

/*
 * Takes the posted form: "pin", "pin2" (a new PIN, typed again) and "f0".."fN"
 * (the asked attributes, in the profile's order). Returns: NULL when it is
 * handed to the loop, else what to tell the person.
 */
static const char *
post_take(struct pe_kiosk_shared *sh, char *body, size_t len, char *why, size_t why_size)
{
	char *fields[PE_KIOSK_ASK_MAX], *pin = NULL, *pin2 = NULL, *p, *next, *eq;
	size_t pin_len = 0, pin2_len = 0, i;
	struct pe_secret *secret = NULL;
	struct pe_err err;
	long dec, idx;
	char *end;
	const char *msg = NULL;

	memset(fields, 0, sizeof(fields));
	body[len] = '\0';
	for (p = body; p != NULL && *p != '\0'; p = next) {
		next = strchr(p, '&');
		if (next != NULL)
			*next++ = '\0';
		eq = strchr(p, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		dec = url_decode(eq, strlen(eq));
		if (dec < 0)
			return "the form is malformed";
		eq[dec] = '\0';
		if (strcmp(p, "pin") == 0) {
			pin = eq;
			pin_len = (size_t)dec;
		} else if (strcmp(p, "pin2") == 0) {
			pin2 = eq;
			pin2_len = (size_t)dec;
		} else if (p[0] == 'f') {
			idx = strtol(p + 1, &end, 10);
			if (*end == '\0' && idx >= 0 && idx < PE_KIOSK_ASK_MAX)
				fields[idx] = eq;
		}
	}
	pthread_mutex_lock(&sh->lock);
	if (sh->step != PE_KIOSK_PIN || sh->posted) {
		msg = "no PIN is asked for now";
		goto out;
	}
	if (!sh->pin_wanted)
		goto fields;
	if (pin == NULL || pin_len == 0) {
		msg = "type the PIN";
		goto out;
	}
	if (sh->pin_new &&
	    (pin2 == NULL || pin2_len != pin_len || CRYPTO_memcmp(pin, pin2, pin_len) != 0)) {
		msg = "the two PINs differ: type the same PIN twice";
		goto out;
	}
	secret = pe_secret_new(pin, pin_len);
	if (secret == NULL) {
		msg = "out of memory";
		goto out;
	}
	if (sh->pin_new && pe_kiosk_pin_rules(sh, secret, &err) != PE_OK) {
		snprintf(why, why_size, "%s", err.msg);
		msg = why;
		goto out;
	}
fields:
	for (i = 0; i < sh->n_ask; i++) {
		if (fields[i] == NULL || fields[i][0] == '\0') {
			snprintf(why, why_size, "fill in %s", sh->ask[i]);
			msg = why;
			goto out;
		}
		if (pe_csr_attr_check(sh->ask[i], fields[i], &err) != PE_OK) {
			snprintf(why, why_size, "%s", err.msg);
			msg = why;
			goto out;
		}
	}
	for (i = 0; i < sh->n_ask; i++) {
		sh->answers[i] = strdup(fields[i]);
		if (sh->answers[i] == NULL) {
			while (i-- > 0) {
				free(sh->answers[i]);
				sh->answers[i] = NULL;
			}
			msg = "out of memory";
			goto out;
		}
	}
	sh->pin = secret;
	secret = NULL;
	sh->posted = true;
	pthread_cond_signal(&sh->cond);
out:
	pthread_mutex_unlock(&sh->lock);
	pe_secret_free(secret);
	return msg;
}

/*
 * Only a page this kiosk serves may talk to it: a Host that is not a loopback
 * address or "localhost" (DNS rebinding) is refused.
 */
static bool
host_ok(struct MHD_Connection *conn)
{
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	struct in_addr in;
	char name[64];
	size_t len;

	if (host == NULL)
		return false;
	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0 && (host[5] == '\0' || host[5] == ':');
	len = strcspn(host, ":");
	if (len >= sizeof(name))
		return false;
	memcpy(name, host, len);
	name[len] = '\0';
	if (strcmp(name, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, name, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127;
}

/* A form posted from another page (a browser sends its Origin) is refused. */
static bool
origin_ok(struct MHD_Connection *conn)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);

	if (origin == NULL)
		return true;
	return host != NULL && strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct pe_kiosk_http *http = cls;
	struct conn_state *st = *con_cls;
	char why[PE_KIOSK_TEXT];
	const char *msg;
	struct pe_err err;
	enum MHD_Result ret;

	(void)version;
	if (st == NULL) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		pe_buf_init(&st->body, BODY_MAX);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!st->too_big &&
		    pe_buf_add(&st->body, upload_data, *upload_data_size, &err) != PE_OK) {
			st->too_big = true;
			if (st->body.data != NULL)
				OPENSSL_cleanse(st->body.data, st->body.len);
			pe_buf_cleanup(&st->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!host_ok(conn))
		return send_result(conn, 403, "this page answers on loopback names only");
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		if (strcmp(url, "/") == 0)
			return send_text(conn, 200, "text/html; charset=utf-8", pe_kiosk_page_html,
					 strlen(pe_kiosk_page_html));
		if (strcmp(url, "/status") == 0)
			return send_status(conn, http->shared);
		return send_result(conn, 404, "not found");
	}
	if (strcmp(method, "POST") != 0 || strcmp(url, "/pin") != 0)
		return send_result(conn, strcmp(url, "/pin") == 0 ? 405 : 404, "not found");
	if (!origin_ok(conn))
		return send_result(conn, 403, "the form comes from another page");
	if (st->too_big)
		return send_result(conn, 413, "the form is too large");
	/* room for the terminating NUL the parser writes */
	if (pe_buf_add(&st->body, "", 1, &err) != PE_OK)
		return send_result(conn, 413, "the form is too large");
	msg = post_take(http->shared, (char *)st->body.data, st->body.len - 1, why, sizeof(why));
	OPENSSL_cleanse(st->body.data, st->body.len);
	st->body.len = 0;
	ret = send_result(conn, msg == NULL ? 200 : 400, msg);
	OPENSSL_cleanse(why, sizeof(why));
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st == NULL)
		return;
	if (st->body.data != NULL)
		OPENSSL_cleanse(st->body.data, st->body.cap);
	pe_buf_cleanup(&st->body);
	free(st);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	pe_msg_debug("kiosk page: %s", line);
}

enum pe_code
pe_kiosk_http_start(const char *listen_on, struct pe_kiosk_shared *shared,
		    struct pe_kiosk_http **out, char *url, size_t url_size, struct pe_err *err)
{
	struct pe_kiosk_http *http;
	const union MHD_DaemonInfo *info;
	union addr addr;
	unsigned flags;
	bool v6 = false;
	enum pe_code rc;

	rc = listen_parse(listen_on, &addr, &v6, err);
	if (rc != PE_OK)
		return rc;
	http = calloc(1, sizeof(*http));
	if (http == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	http->shared = shared;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	http->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, answer, http, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, &addr.sa, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)32, MHD_OPTION_END);
	if (http->daemon == NULL) {
		free(http);
		return pe_err_set(err, PE_E_NET, "cannot serve the kiosk page on '%s'", listen_on);
	}
	info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
	http->port = info != NULL ? info->port : 0;
	if (http->port == 0) {
		pe_kiosk_http_stop(http);
		return pe_err_set(err, PE_E_NET, "cannot tell which port the kiosk page is on");
	}
	snprintf(url, url_size, "http://%s:%u/", v6 ? "[::1]" : "127.0.0.1", http->port);
	if (!v6) {
		char host[INET_ADDRSTRLEN];

		if (inet_ntop(AF_INET, &addr.in.sin_addr, host, sizeof(host)) != NULL)
			snprintf(url, url_size, "http://%s:%u/", host, http->port);
	}
	*out = http;
	return PE_OK;
}

void
pe_kiosk_http_stop(struct pe_kiosk_http *http)
{
	if (http == NULL)
		return;
	if (http->daemon != NULL)
		MHD_stop_daemon(http->daemon);
	free(http);
}
