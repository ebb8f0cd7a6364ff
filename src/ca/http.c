/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one HTTP client, and the only libcurl user: one easy handle per service,
 * so that every request to it reuses one persistent connection, with answers
 * kept in capped buffers that are zeroised when freed.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

#define CONTENT_TYPE_MAX 256

struct pe_http {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	char *ca_file;
	bool insecure;
	bool allow_http;
	bool http_any_host;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
	/* the answer being received */
	struct pe_buf body;
	bool too_big;
	char *content_type;
	long retry_after;
};

/*
 * Adds to the answer. Grows by hand, zeroising the old block, because an
 * answer may hold a password (registration) and realloc() would leave copies.
 */
static bool
body_add(struct pe_http *http, const void *data, size_t len)
{
	struct pe_buf *buf = &http->body;
	unsigned char *grown;
	size_t cap;
	struct pe_err ignored;

	if (len > buf->max || buf->len > buf->max - len)
		return false;
	if (buf->len + len + 1 > buf->cap) {
		cap = buf->cap ? buf->cap : 4096;
		while (cap < buf->len + len + 1)
			cap *= 2;
		grown = malloc(cap);
		if (grown == NULL)
			return false;
		if (buf->data != NULL) {
			memcpy(grown, buf->data, buf->len + 1);
			OPENSSL_cleanse(buf->data, buf->cap);
			free(buf->data);
		}
		buf->data = grown;
		buf->cap = cap;
	}
	return pe_buf_add(buf, data, len, &ignored) == PE_OK;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct pe_http *http = userdata;
	size_t len = size * nmemb;

	if (!body_add(http, data, len)) {
		/* returning less than len aborts the transfer with CURLE_WRITE_ERROR */
		if (http->body.len + len > http->body.max || http->body.len + len < len)
			http->too_big = true;
		return 0;
	}
	return len;
}

/*
 * Retry-After (RFC 9110 10.2.3): delta-seconds, or an HTTP-date turned into
 * seconds from now; anything else, or a time past, is 0. Capped at a day.
 */
static long
retry_after_parse(const char *data, size_t len)
{
	char text[128];
	long value = 0;
	time_t when;
	size_t i;

	if (len >= sizeof(text))
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	if (len > 0 && isdigit((unsigned char)text[0])) {
		for (i = 0; i < len; i++) {
			if (!isdigit((unsigned char)text[i]))
				return 0;
			if (value < 86400)
				value = value * 10 + (text[i] - '0');
		}
	} else {
		when = curl_getdate(text, NULL);
		if (when != (time_t)-1 && when > time(NULL))
			value = (long)(when - time(NULL));
	}
	return value > 86400 ? 86400 : value;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	static const char name[] = "content-type:";
	static const char retry[] = "retry-after:";
	struct pe_http *http = userdata;
	size_t len = size * nmemb, start, end;

	/* a new status line starts a new header block (100 Continue, a 401 before auth) */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		free(http->content_type);
		http->content_type = NULL;
		http->retry_after = 0;
		return len;
	}
	if (len > sizeof(retry) - 1 && strncasecmp(data, retry, sizeof(retry) - 1) == 0) {
		start = sizeof(retry) - 1;
		while (start < len && (data[start] == ' ' || data[start] == '\t'))
			start++;
		end = len;
		while (end > start && isspace((unsigned char)data[end - 1]))
			end--;
		http->retry_after = retry_after_parse(data + start, end - start);
		return len;
	}
	if (len <= sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
		return len;
	start = sizeof(name) - 1;
	while (start < len && (data[start] == ' ' || data[start] == '\t'))
		start++;
	end = len;
	while (end > start && isspace((unsigned char)data[end - 1]))
		end--;
	if (end - start > CONTENT_TYPE_MAX)
		end = start + CONTENT_TYPE_MAX;
	free(http->content_type);
	http->content_type = strndup(data + start, end - start);
	/* out of memory here only loses the content type, which is advisory */
	return len;
}

/* Writes @url without "user:password@" into @out (at most @size bytes). */
static void
url_for_msg(const char *url, char *out, size_t size)
{
	const char *host = strstr(url, "://");
	const char *at, *slash;

	host = host != NULL ? host + 3 : url;
	slash = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(slash - host));
	if (at == NULL) {
		snprintf(out, size, "%s", url);
		return;
	}
	snprintf(out, size, "%.*s%s", (int)(host - url), url, at + 1);
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		CURLcode _cc = curl_easy_setopt(http->curl, (opt), (val));                         \
		if (_cc != CURLE_OK)                                                               \
			return pe_err_set(err, PE_E_FAIL, "curl_easy_setopt(%s): %s", #opt,        \
					  curl_easy_strerror(_cc));                                \
	} while (0)

/* The options every request has; curl_easy_reset() dropped them, but not the connections. */
static enum pe_code
set_fixed(struct pe_http *http, struct pe_err *err)
{
	SETOPT(CURLOPT_ERRORBUFFER, http->errbuf);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, http->connect_timeout_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, http->timeout_ms);
	SETOPT(CURLOPT_PROTOCOLS_STR, http->allow_http ? "https,http" : "https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(CURLOPT_SSL_VERIFYPEER, http->insecure ? 0L : 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, http->insecure ? 0L : 2L);
	if (http->ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, http->ca_file);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)http->max_body);
	SETOPT(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, http);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, http);
	return PE_OK;
}

enum pe_code
pe_http_new(const struct pe_http_options *options, struct pe_http **out, struct pe_err *err)
{
	struct pe_http *http;
	enum pe_code rc;

	http = calloc(1, sizeof(*http));
	if (http == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	http->connect_timeout_ms = PE_HTTP_CONNECT_TIMEOUT_MS;
	http->timeout_ms = PE_HTTP_TIMEOUT_MS;
	http->max_body = PE_HTTP_MAX_BODY;
	if (options != NULL) {
		http->insecure = options->insecure;
		http->allow_http = options->allow_http;
		http->http_any_host = options->allow_http && options->http_any_host;
		if (options->connect_timeout_ms > 0)
			http->connect_timeout_ms = options->connect_timeout_ms;
		if (options->timeout_ms > 0)
			http->timeout_ms = options->timeout_ms;
		if (options->max_body > 0)
			http->max_body = options->max_body;
		if (options->ca_file != NULL) {
			http->ca_file = strdup(options->ca_file);
			if (http->ca_file == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto fail;
			}
		}
	}
	pe_buf_init(&http->body, http->max_body);
	http->curl = curl_easy_init();
	if (http->curl == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "curl_easy_init failed");
		goto fail;
	}
	rc = set_fixed(http, err);
	if (rc != PE_OK)
		goto fail;
	*out = http;
	return PE_OK;
fail:
	pe_http_free(http);
	return rc;
}

static void
body_cleanup(struct pe_http *http)
{
	if (http->body.data != NULL)
		OPENSSL_cleanse(http->body.data, http->body.cap);
	pe_buf_cleanup(&http->body);
}

void
pe_http_free(struct pe_http *http)
{
	if (http == NULL)
		return;
	if (http->curl != NULL)
		curl_easy_cleanup(http->curl);
	body_cleanup(http);
	free(http->content_type);
	free(http->ca_file);
	free(http);
}

void
pe_http_response_cleanup(struct pe_http_response *res)
{
	if (res == NULL)
		return;
	if (res->body != NULL)
		OPENSSL_cleanse(res->body, res->body_len);
	free(res->body);
	free(res->content_type);
	res->body = NULL;
	res->body_len = 0;
	res->content_type = NULL;
	res->status = 0;
}

long
pe_http_retry_after(const struct pe_http *http)
{
	return http != NULL ? http->retry_after : 0;
}

/* Returns: whether @url starts with a scheme this client may use. */
static bool
scheme_ok(const struct pe_http *http, const char *url)
{
	if (strncasecmp(url, "https://", 8) == 0)
		return true;
	return http->allow_http && strncasecmp(url, "http://", 7) == 0;
}

/* Returns: whether @s (@len bytes) is an IPv4 address in 127.0.0.0/8, dotted decimal. */
static bool
ipv4_loopback(const char *s, size_t len)
{
	unsigned long value = 0;
	size_t i, digits = 0;
	int parts = 1;

	if (len < 4 || strncmp(s, "127.", 4) != 0)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++parts > 4)
				return false;
			digits = 0;
			value = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
			value = value * 10 + (unsigned long)(s[i] - '0');
			digits++;
			if (value > 255)
				return false;
		} else {
			return false;
		}
	}
	return parts == 4 && digits > 0;
}

/*
 * Returns: whether the authority of http://@url names a loopback host:
 * 127.0.0.0/8, [::1] or localhost (which curl resolves to loopback without
 * asking DNS), with a port or none, and no user name.
 */
static bool
host_loopback(const char *url)
{
	const char *authority = url + 7, *port;
	size_t len = strcspn(authority, "/?#"), host_len;

	/* a user name could hide the host from this check; a '\\' from curl's reading of it */
	if (memchr(authority, '@', len) != NULL || memchr(authority, '\\', len) != NULL)
		return false;
	if (authority[0] == '[') {
		port = memchr(authority, ']', len);
		if (port == NULL)
			return false;
		port++;
		if (strncmp(authority, "[::1]", 5) != 0 || port != authority + 5)
			return false;
		host_len = 5;
	} else {
		port = memchr(authority, ':', len);
		if (port == NULL)
			port = authority + len;
		host_len = (size_t)(port - authority);
		if (!ipv4_loopback(authority, host_len) &&
		    !(host_len == 9 && strncasecmp(authority, "localhost", 9) == 0))
			return false;
	}
	if (port == authority + len)
		return true;
	if (*port != ':' || port + 1 == authority + len)
		return false;
	for (port++; port < authority + len; port++) {
		if (*port < '0' || *port > '9')
			return false;
	}
	return true;
}

/* Sets the options of one request. */
static enum pe_code
set_request(struct pe_http *http, const char *method, const char *url, const char *login,
	    const struct pe_secret *password, const void *body, size_t body_len,
	    struct curl_slist *headers, struct pe_err *err)
{
	SETOPT(CURLOPT_URL, url);
	if (strcmp(method, "GET") == 0) {
		SETOPT(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "POST") == 0) {
		SETOPT(CURLOPT_POST, 1L);
	} else {
		SETOPT(CURLOPT_CUSTOMREQUEST, method);
	}
	if (body != NULL || strcmp(method, "POST") == 0) {
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? body_len : 0));
		SETOPT(CURLOPT_POSTFIELDS, body != NULL ? body : "");
	}
	if (headers != NULL)
		SETOPT(CURLOPT_HTTPHEADER, headers);
	if (login != NULL) {
		SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SETOPT(CURLOPT_USERNAME, login);
		SETOPT(CURLOPT_PASSWORD, password != NULL ? (const char *)password->data : "");
	}
	return PE_OK;
}

#undef SETOPT

/* Returns: the code for a failed transfer. */
static enum pe_code
transfer_error(struct pe_http *http, CURLcode cc, const char *method, const char *shown,
	       struct pe_err *err)
{
	const char *text = http->errbuf[0] != '\0' ? http->errbuf : curl_easy_strerror(cc);

	if (http->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		return pe_err_set(err, PE_E_NET, "%s %s: the CA's answer is larger than %zu bytes",
				  method, shown, http->max_body);
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_SSL_CACERT_BADFILE:
		return pe_err_set(err, PE_E_USAGE, "%s %s: %s", method, shown, text);
	case CURLE_OUT_OF_MEMORY:
		return pe_err_set(err, PE_E_FAIL, "%s %s: %s", method, shown, text);
	default:
		return pe_err_set(err, PE_E_NET, "%s %s: %s", method, shown, text);
	}
}

enum pe_code
pe_http_request(struct pe_http *http, const char *method, const char *url, const char *login,
		const struct pe_secret *password, const char *content_type, const void *body,
		size_t body_len, struct pe_http_response *res, struct pe_err *err)
{
	struct curl_slist *headers = NULL, *h;
	char shown[1024], line[CONTENT_TYPE_MAX + 32];
	enum pe_code rc;
	CURLcode cc;
	long status = 0;

	pe_return_val_if_fail(http != NULL && method != NULL && url != NULL && res != NULL,
			      PE_E_FAIL);
	url_for_msg(url, shown, sizeof(shown));
	if (!scheme_ok(http, url))
		return pe_err_set(err, PE_E_USAGE, "%s %s: only %s URLs are allowed", method, shown,
				  http->allow_http ? "https and http" : "https");
	/* plain http is for test servers on this machine (nobody else can read loopback),
	   and for protocols that protect their messages themselves */
	if (strncasecmp(url, "http://", 7) == 0 && !http->http_any_host && !host_loopback(url))
		return pe_err_set(err, PE_E_USAGE,
				  "%s %s: plain http is allowed only to a loopback host "
				  "(127.0.0.0/8, [::1], localhost): use https",
				  method, shown);

	curl_easy_reset(http->curl);
	http->errbuf[0] = '\0';
	http->too_big = false;
	body_cleanup(http);
	free(http->content_type);
	http->content_type = NULL;
	http->retry_after = 0;
	rc = set_fixed(http, err);
	if (rc != PE_OK)
		goto out;

	/* curl adds "Expect: 100-continue" to larger bodies: a round trip for nothing */
	h = curl_slist_append(headers, "Expect:");
	if (h != NULL) {
		headers = h;
		h = curl_slist_append(headers, "Accept: application/json, */*;q=0.5");
	}
	/*
	 * said aloud for servers that answer in HTTP/1.0 and close otherwise (the
	 * openssl cmp mock server): one connection for a whole CMP transaction
	 */
	if (h != NULL)
		h = curl_slist_append(headers, "Connection: keep-alive");
	if (h != NULL && content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		h = curl_slist_append(headers, line);
	}
	if (h == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	headers = h;
	rc = set_request(http, method, url, login, password, body, body_len, headers, err);
	if (rc != PE_OK)
		goto out;

	cc = curl_easy_perform(http->curl);
	if (cc != CURLE_OK) {
		rc = transfer_error(http, cc, method, shown, err);
		goto out;
	}
	cc = curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		rc = pe_err_set(err, PE_E_NET, "%s %s: %s", method, shown, curl_easy_strerror(cc));
		goto out;
	}
	if (http->body.data == NULL && !body_add(http, "", 0)) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	res->status = status;
	res->body = pe_buf_take(&http->body, &res->body_len);
	res->content_type = http->content_type;
	http->content_type = NULL;
out:
	/*
	 * curl keeps the strings it was given until the next reset: drop the
	 * password now, and the header list we free. Neither can fail but for
	 * an unknown option, and the first reset would undo both anyway.
	 */
	if (login != NULL)
		(void)curl_easy_setopt(http->curl, CURLOPT_PASSWORD, "");
	(void)curl_easy_setopt(http->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	body_cleanup(http);
	return rc;
}
