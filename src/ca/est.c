/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The EST connector (RFC 7030, with RFC 8951's clarifications): /cacerts for
 * the roots, /csrattrs shown with -v, /simpleenroll (or /simplereenroll for a
 * renewal) with HTTP Basic, 202 + Retry-After as processing, polled by
 * sending the same request again (4.2.3), 4xx as a rejection with the
 * server's text. The certificate comes in the answer: no fetch, no ack.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

#define WELL_KNOWN   "/.well-known/est"
#define ERR_TEXT_MAX 400
#define LABEL_MAX    64
#define CSRATTRS_MAX 64
#define OP_ENROLL    "simpleenroll"
#define OP_REENROLL  "simplereenroll"
#define CT_PKCS7     "application/pkcs7-mime"
#define CT_CSRATTRS  "application/csrattrs"
#define URL_SHAPE    "https://HOST[:PORT][/.well-known/est[/LABEL]]"

static enum pe_code garbage(struct pe_err *err, const char *call, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum pe_code
garbage(struct pe_err *err, const char *call, const char *fmt, ...)
{
	char what[PE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pe_err_set(err, PE_E_NET, "the CA answered garbage to %s: %s", call, what);
}

/* The URL */

static bool
label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Returns: why @url cannot be an EST service URL, or NULL; *path_at: where its path starts. */
static const char *
url_problem(const char *url, const char **path_at)
{
	const char *host, *path, *p, *label;
	size_t plen;

	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return "it is not https";
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#' || *p == '\\')
			return "it holds a space, a query, a fragment or a character that needs "
			       "escaping";
	}
	path = host + strcspn(host, "/");
	if (path == host)
		return "it names no host";
	if (memchr(host, '@', (size_t)(path - host)) != NULL)
		return "credentials do not belong in the URL (use the login)";
	*path_at = path;
	plen = strlen(path);
	if (plen > 0 && path[plen - 1] == '/')
		plen--;
	if (plen == 0)
		return NULL;
	if (plen < sizeof(WELL_KNOWN) - 1 || strncmp(path, WELL_KNOWN, sizeof(WELL_KNOWN) - 1) != 0)
		return "its path is not " WELL_KNOWN;
	if (plen == sizeof(WELL_KNOWN) - 1)
		return NULL;
	label = path + sizeof(WELL_KNOWN) - 1;
	if (*label != '/' || label + 1 == path + plen)
		return "its path is not " WELL_KNOWN;
	for (p = label + 1; p < path + plen; p++) {
		if (!label_char(*p))
			return "the label after " WELL_KNOWN "/ is not one path segment";
	}
	if (path + plen - (label + 1) > LABEL_MAX)
		return "the label after " WELL_KNOWN "/ is too long";
	return NULL;
}

enum pe_code
pe_ca_est_url(const char *url, const char *op, char **out, struct pe_err *err)
{
	const char *problem, *path = NULL;
	size_t len;
	int n;

	if (url == NULL)
		return pe_err_set(err, PE_E_USAGE, "no service URL");
	problem = url_problem(url, &path);
	if (problem != NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' is not an EST service URL (" URL_SHAPE "): %s", url,
				  problem);
	len = strlen(url);
	if (url[len - 1] == '/')
		len--;
	if (len <= (size_t)(path - url))
		n = asprintf(out, "%.*s" WELL_KNOWN "/%s", (int)len, url, op);
	else
		n = asprintf(out, "%.*s/%s", (int)len, url, op);
	if (n < 0) {
		*out = NULL;
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

/* Content types */

/*
 * Returns: whether the media type of @content_type (before any ';') is
 * @want, ignoring case and blanks.
 */
static bool
media_type_is(const char *content_type, const char *want)
{
	const char *p = content_type, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strcspn(p, ";");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (size_t)(end - p) == strlen(want) && strncasecmp(p, want, (size_t)(end - p)) == 0;
}

/* Copies the value of parameter @name of @content_type (quotes removed) into @buf, or "". */
static void
media_param(const char *content_type, const char *name, char *buf, size_t size)
{
	const char *p = strchr(content_type, ';'), *v;
	size_t nlen = strlen(name), vlen;

	buf[0] = '\0';
	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == '=') {
			v = p + nlen + 1;
			if (*v == '"')
				v++;
			vlen = strcspn(v, "\"; \t");
			if (vlen >= size)
				vlen = size - 1;
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			return;
		}
		p = strchr(p, ';');
	}
}

/* Shows @content_type in a message: printable, at most 64 bytes, into @buf. */
static const char *
shown_type(const char *content_type, char *buf, size_t size)
{
	size_t i;

	for (i = 0; content_type[i] != '\0' && i + 1 < size && i < 64; i++)
		buf[i] = (unsigned char)content_type[i] >= 0x20 && content_type[i] != 0x7f
				 ? content_type[i]
				 : '?';
	buf[i] = '\0';
	return buf;
}

/*
 * The DER inside a base64 body (RFC 8951: always base64; DER is tolerated).
 * Returns: PE_OK and a newly allocated *der (free()); PE_E_NET.
 */
static enum pe_code
body_decode(const unsigned char *body, size_t len, const char *call, unsigned char **der,
	    size_t *der_len, struct pe_err *err)
{
	struct pe_err ignored;

	if (len == 0 || body == NULL)
		return garbage(err, call, "the answer is empty");
	if (body[0] == 0x30) {
		*der = malloc(len);
		if (*der == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		memcpy(*der, body, len);
		*der_len = len;
		return PE_OK;
	}
	if (pe_base64_decode((const char *)body, len, der, der_len, &ignored) != PE_OK)
		return garbage(err, call, "the body is not base64");
	if (*der_len == 0) {
		free(*der);
		*der = NULL;
		return garbage(err, call, "the body is empty base64");
	}
	return PE_OK;
}

/* Returns: the reason of the last OpenSSL error (static), and empties the queue. */
static const char *
ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown error";
}

/* PKCS#7 certs-only */

enum pe_code
pe_ca_est_parse_certs(const char *content_type, const unsigned char *body, size_t len,
		      const char *call, unsigned char ***certs, size_t **lens, size_t *n,
		      struct pe_err *err)
{
	unsigned char *der = NULL, **c = NULL, *p1;
	const unsigned char *p;
	size_t der_len = 0, *l = NULL, count = 0, i;
	STACK_OF(X509) *sk = NULL;
	char shown[80], smime[32];
	PKCS7 *p7 = NULL;
	enum pe_code rc;
	int k;

	if (content_type == NULL)
		return garbage(err, call, "it has no Content-Type (want " CT_PKCS7 ")");
	if (!media_type_is(content_type, CT_PKCS7) &&
	    !media_type_is(content_type, "application/x-pkcs7-mime"))
		return garbage(err, call, "its Content-Type is '%s', not " CT_PKCS7,
			       shown_type(content_type, shown, sizeof(shown)));
	media_param(content_type, "smime-type", smime, sizeof(smime));
	if (smime[0] != '\0' && strcasecmp(smime, "certs-only") != 0)
		return garbage(err, call, "it is smime-type '%s', not certs-only",
			       shown_type(smime, shown, sizeof(shown)));
	rc = body_decode(body, len, call, &der, &der_len, err);
	if (rc != PE_OK)
		return rc;
	ERR_clear_error();
	p = der;
	p7 = der_len <= 0x7fffffff ? d2i_PKCS7(NULL, &p, (long)der_len) : NULL;
	if (p7 == NULL) {
		rc = garbage(err, call, "not a PKCS#7 structure (%s)", ossl_reason());
		goto out;
	}
	if (p != der + der_len) {
		rc = garbage(err, call, "%zu bytes follow the PKCS#7 structure",
			     (size_t)(der + der_len - p));
		goto out;
	}
	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL) {
		rc = garbage(err, call, "the PKCS#7 structure is not SignedData");
		goto out;
	}
	sk = p7->d.sign->cert;
	if (sk == NULL || sk_X509_num(sk) == 0) {
		rc = garbage(err, call, "the PKCS#7 structure holds no certificate");
		goto out;
	}
	if (sk_X509_num(sk) > PE_CA_CHAIN_MAX) {
		rc = garbage(err, call, "the PKCS#7 structure holds more than %d certificates",
			     PE_CA_CHAIN_MAX);
		goto out;
	}
	c = calloc((size_t)sk_X509_num(sk), sizeof(*c));
	l = calloc((size_t)sk_X509_num(sk), sizeof(*l));
	if (c == NULL || l == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)sk_X509_num(sk); i++) {
		p1 = NULL;
		k = i2d_X509(sk_X509_value(sk, (int)i), &p1);
		if (k <= 0) {
			rc = garbage(err, call, "certificate %zu cannot be encoded (%s)", i + 1,
				     ossl_reason());
			goto out;
		}
		/* OPENSSL_free and free() may differ: hand out malloc()ed memory */
		c[i] = malloc((size_t)k);
		if (c[i] == NULL) {
			OPENSSL_free(p1);
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		memcpy(c[i], p1, (size_t)k);
		OPENSSL_free(p1);
		l[i] = (size_t)k;
		count++;
	}
	*certs = c;
	*lens = l;
	*n = count;
	c = NULL;
	l = NULL;
out:
	ERR_clear_error();
	pe_ca_certs_free(c, l, count);
	PKCS7_free(p7);
	free(der);
	return rc;
}

size_t
pe_ca_est_cert_for_csr(unsigned char *const *certs, const size_t *lens, size_t n,
		       const unsigned char *csr, size_t csr_len)
{
	const unsigned char *p = csr;
	X509_REQ *req;
	EVP_PKEY *want;
	X509 *x;
	size_t i, found = 0;

	req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	want = req != NULL ? X509_REQ_get0_pubkey(req) : NULL;
	for (i = 0; want != NULL && i < n; i++) {
		p = certs[i];
		x = d2i_X509(NULL, &p, (long)lens[i]);
		if (x != NULL && EVP_PKEY_eq(X509_get0_pubkey(x), want) == 1) {
			X509_free(x);
			found = i;
			break;
		}
		X509_free(x);
	}
	X509_REQ_free(req);
	ERR_clear_error();
	return found;
}

/* CSR attributes */

/* Appends the dotted @obj to @b, after ", " when it is not the first. */
static enum pe_code
oid_append(struct pe_buf *b, const ASN1_OBJECT *obj, const char *call, struct pe_err *err)
{
	char text[128];
	int k = OBJ_obj2txt(text, sizeof(text), obj, 1);

	if (k <= 0 || (size_t)k >= sizeof(text))
		return garbage(err, call, "an OID in CsrAttrs cannot be read");
	if (b->len > 0 && pe_buf_add(b, ", ", 2, err) != PE_OK)
		return PE_E_FAIL;
	return pe_buf_add(b, text, (size_t)k, err);
}

enum pe_code
pe_ca_est_parse_csrattrs(const char *content_type, const unsigned char *body, size_t len,
			 char **oids, struct pe_err *err)
{
	static const char call[] = "the CSR attributes request";
	STACK_OF(ASN1_TYPE) *seq = NULL, *inner = NULL;
	const unsigned char *p, *q;
	unsigned char *der = NULL;
	const ASN1_TYPE *t, *first;
	size_t der_len = 0, i, blanks = 0;
	char shown[80];
	struct pe_buf b;
	enum pe_code rc;

	pe_buf_init(&b, 64 * 1024);
	for (i = 0; i < len; i++) {
		if (isspace(body[i]))
			blanks++;
	}
	if (content_type != NULL && !media_type_is(content_type, CT_CSRATTRS))
		return garbage(err, call, "its Content-Type is '%s', not " CT_CSRATTRS,
			       shown_type(content_type, shown, sizeof(shown)));
	if (blanks < len) {
		rc = body_decode(body, len, call, &der, &der_len, err);
		if (rc != PE_OK)
			return rc;
		p = der;
		seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)der_len);
		if (seq == NULL || p != der + der_len) {
			rc = garbage(err, call, "not a DER SEQUENCE (CsrAttrs)");
			goto out;
		}
		if (sk_ASN1_TYPE_num(seq) > CSRATTRS_MAX) {
			rc = garbage(err, call, "more than %d CSR attributes", CSRATTRS_MAX);
			goto out;
		}
		for (i = 0; i < (size_t)sk_ASN1_TYPE_num(seq); i++) {
			t = sk_ASN1_TYPE_value(seq, (int)i);
			if (ASN1_TYPE_get(t) == V_ASN1_OBJECT) {
				rc = oid_append(&b, t->value.object, call, err);
			} else if (ASN1_TYPE_get(t) == V_ASN1_SEQUENCE) {
				/* Attribute ::= SEQUENCE { type OID, values SET } */
				q = t->value.sequence->data;
				inner = d2i_ASN1_SEQUENCE_ANY(NULL, &q, t->value.sequence->length);
				first = inner != NULL && sk_ASN1_TYPE_num(inner) == 2
						? sk_ASN1_TYPE_value(inner, 0)
						: NULL;
				if (first == NULL || ASN1_TYPE_get(first) != V_ASN1_OBJECT)
					rc = garbage(err, call,
						     "CSR attribute %zu is not an Attribute",
						     i + 1);
				else
					rc = oid_append(&b, first->value.object, call, err);
				sk_ASN1_TYPE_pop_free(inner, ASN1_TYPE_free);
				inner = NULL;
			} else {
				rc = garbage(err, call,
					     "CSR attribute %zu is neither an OID nor an Attribute",
					     i + 1);
			}
			if (rc != PE_OK)
				goto out;
		}
	}
	rc = pe_buf_add(&b, "", 1, err);
	if (rc == PE_OK)
		*oids = (char *)pe_buf_take(&b, NULL);
out:
	ERR_clear_error();
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	pe_buf_cleanup(&b);
	free(der);
	return rc;
}

/* Error bodies */

char *
pe_ca_est_error_text(const char *content_type, const unsigned char *body, size_t len)
{
	size_t start = 0, end = len, i;
	char *text;

	if (body == NULL || len == 0)
		return NULL;
	if (content_type != NULL && strncasecmp(content_type, "text/", 5) != 0)
		return NULL;
	while (start < end && (isspace(body[start]) || body[start] == '\0'))
		start++;
	while (end > start && (isspace(body[end - 1]) || body[end - 1] == '\0'))
		end--;
	if (end == start)
		return NULL;
	if (end - start > ERR_TEXT_MAX)
		end = start + ERR_TEXT_MAX;
	text = malloc(end - start + 1);
	if (text == NULL)
		return NULL;
	for (i = start; i < end; i++)
		text[i - start] = body[i] < 0x20 || body[i] == 0x7f ? ' ' : (char)body[i];
	text[end - start] = '\0';
	return text;
}

/* The calls */

/* Builds the URL of @op and sends one request on the connection. */
static enum pe_code
est_call(struct pe_ca_conn *conn, const char *op, bool auth, const char *method,
	 const char *content_type, const void *body, size_t body_len, char **url,
	 struct pe_http_response *res, struct pe_err *err)
{
	enum pe_code rc;

	pe_return_val_if_fail(conn != NULL && conn->http != NULL, PE_E_FAIL);
	if (auth && conn->login == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "EST enrollment needs a login: give the login and password "
				  "the CA handed out (add-service --login)");
	rc = pe_ca_est_url(conn->url, op, url, err);
	if (rc != PE_OK)
		return rc;
	return pe_http_request(conn->http, method, *url, auth ? conn->login : NULL,
			       auth ? conn->password : NULL, content_type, body, body_len, res,
			       err);
}

/* Maps an answer other than the ones the caller handles. Returns: that code. */
static enum pe_code
status_error(struct pe_ca_conn *conn, const char *method, const char *url,
	     const struct pe_http_response *res, const char *what, struct pe_err *err)
{
	char *text = pe_ca_est_error_text(res->content_type, res->body, res->body_len);
	long st = res->status;
	enum pe_code rc;

	if (st == 401)
		rc = pe_err_set(err, PE_E_USAGE,
				"%s %s: the service refused the login '%s' (HTTP 401)%s%s", method,
				url, conn->login != NULL ? conn->login : "", text ? ": " : "",
				text ? text : "");
	else if (st == 404)
		rc = pe_err_set(err, PE_E_USAGE,
				"%s %s: not found: is this an EST service? (HTTP 404)", method,
				url);
	else if (st == 408 || st == 429 || st >= 500)
		rc = pe_err_set(err, PE_E_NET, "%s %s: the CA answered HTTP %ld%s%s", method, url,
				st, text ? ": " : "", text ? text : "");
	else if (st >= 400)
		rc = pe_err_set(err, PE_E_CA, "the CA refused %s: %s (HTTP %ld)", what,
				text ? text : "no reason given", st);
	else
		rc = pe_err_set(err, PE_E_NET,
				"%s %s: the CA answered HTTP %ld, which EST "
				"does not use here",
				method, url, st);
	free(text);
	return rc;
}

static enum pe_code
est_roots(struct pe_ca_conn *conn, unsigned char ***certs, size_t **lens, size_t *n,
	  struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	/* RFC 7030 4.1.1: the CA certificates need no authentication */
	rc = est_call(conn, "cacerts", false, "GET", NULL, NULL, 0, &url, &res, err);
	if (rc != PE_OK)
		goto out;
	if (res.status != 200) {
		rc = status_error(conn, "GET", url, &res, "the CA certificates", err);
		if (rc == PE_E_CA)
			rc = PE_E_NET;
		goto out;
	}
	rc = pe_ca_est_parse_certs(res.content_type, res.body, res.body_len,
				   "the CA certificates request", certs, lens, n, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "GET %s", url);
out:
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

/*
 * GET /csrattrs with the login: what the CA wants in a request, shown with
 * -v. Returns: PE_OK and the HTTP status in *status (401 and 403 are left to
 * the caller); PE_E_NET for a server error or garbage.
 */
static enum pe_code
csrattrs_show(struct pe_ca_conn *conn, long *status, struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL, *oids = NULL;
	enum pe_code rc;

	rc = est_call(conn, "csrattrs", true, "GET", NULL, NULL, 0, &url, &res, err);
	if (rc != PE_OK)
		goto out;
	*status = res.status;
	if (res.status == 204 || res.status == 404) {
		/* RFC 7030 4.5.2: neither has attributes to give */
		pe_msg_debug("%s: the CA asks for no particular CSR attributes", url);
	} else if (res.status == 200) {
		rc = pe_ca_est_parse_csrattrs(res.content_type, res.body, res.body_len, &oids, err);
		if (rc != PE_OK)
			pe_err_prefix(err, "GET %s", url);
		else
			pe_msg_debug("%s: the CA asks for %s", url,
				     oids[0] != '\0' ? oids : "nothing particular");
	} else if (res.status != 401 && res.status != 403) {
		rc = status_error(conn, "GET", url, &res, "the CSR attributes", err);
		if (rc == PE_E_CA)
			rc = PE_OK; /* another refusal: the enrollment call below tells more */
	}
out:
	pe_http_response_cleanup(&res);
	free(oids);
	free(url);
	return rc;
}

/*
 * The login: GET /csrattrs (reachability; what the CA asks for, with -v),
 * then POST /simpleenroll with an empty body. A server checks the login
 * before the body, so 401 or 403 says the login is refused, and the 400 an
 * empty request earns says it is accepted. Nothing is enrolled.
 */
static enum pe_code
est_login_status(struct pe_ca_conn *conn, enum pe_ca_login_state *state, struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL, *text = NULL;
	enum pe_code rc;
	long st = 0;

	rc = csrattrs_show(conn, &st, err);
	if (rc != PE_OK)
		return rc;
	if (st == 401) {
		*state = PE_CA_LOGIN_REFUSED;
		pe_err_set(err, PE_OK, "the service refused the login '%s' (HTTP 401)",
			   conn->login);
		return PE_OK;
	}
	rc = est_call(conn, OP_ENROLL, true, "POST", "application/pkcs10", "", 0, &url, &res, err);
	if (rc != PE_OK)
		goto out;
	text = pe_ca_est_error_text(res.content_type, res.body, res.body_len);
	if (res.status == 401 || res.status == 403) {
		*state = PE_CA_LOGIN_REFUSED;
		pe_err_set(err, PE_OK, "the service refused the login '%s' (HTTP %ld)%s%s",
			   conn->login, res.status, text ? ": " : "", text ? text : "");
	} else if (res.status == 404 || res.status == 408 || res.status == 429 ||
		   res.status >= 500 || res.status < 200) {
		rc = status_error(conn, "POST", url, &res, "the login check", err);
	} else {
		*state = PE_CA_LOGIN_READY;
	}
out:
	pe_http_response_cleanup(&res);
	free(text);
	free(url);
	return rc;
}

/* Replaces what @status holds with @fresh. */
static void
status_replace(struct pe_ca_status *status, struct pe_ca_status *fresh)
{
	pe_ca_status_cleanup(status);
	*status = *fresh;
	memset(fresh, 0, sizeof(*fresh));
}

/*
 * Sends req->csr to /simpleenroll or /simplereenroll: the first submission
 * and every poll alike (RFC 7030 4.2.3: the server knows the request again).
 */
static enum pe_code
est_send(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	 struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_ca_status fresh;
	unsigned char **certs = NULL;
	size_t *lens = NULL, n = 0, pick;
	char *url = NULL, *b64 = NULL, *text = NULL;
	const char *op, *what;
	enum pe_code rc;

	pe_return_val_if_fail(req != NULL && req->csr != NULL && req->csr_len > 0 && status != NULL,
			      PE_E_FAIL);
	memset(&fresh, 0, sizeof(fresh));
	/* a request sent as a renewal is polled as one */
	if (req->state != NULL)
		op = strcmp(req->state, OP_REENROLL) == 0 ? OP_REENROLL : OP_ENROLL;
	else
		op = req->renewal ? OP_REENROLL : OP_ENROLL;
	what = strcmp(op, OP_REENROLL) == 0 ? "the renewal" : "the request";
	b64 = pe_base64_encode(req->csr, req->csr_len, 0);
	if (b64 == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = est_call(conn, op, true, "POST", "application/pkcs10", b64, strlen(b64), &url, &res,
		      err);
	if (rc != PE_OK)
		goto out;
	fresh.state = strdup(op);
	if (fresh.state == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (res.status == 200) {
		rc = pe_ca_est_parse_certs(res.content_type, res.body, res.body_len,
					   strcmp(op, OP_REENROLL) == 0 ? "the renewal"
									: "the enrollment",
					   &certs, &lens, &n, err);
		if (rc != PE_OK) {
			pe_err_prefix(err, "POST %s", url);
			goto out;
		}
		pick = pe_ca_est_cert_for_csr(certs, lens, n, req->csr, req->csr_len);
		fresh.cert = certs[pick];
		fresh.cert_len = lens[pick];
		certs[pick] = NULL;
		fresh.raw = strdup("200");
		if (fresh.raw == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		status_replace(status, &fresh);
	} else if (res.status == 202) {
		fresh.retry_after = pe_http_retry_after(conn->http);
		fresh.raw = strdup("202");
		if (fresh.raw == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		rc = pe_err_set(err, PE_E_PENDING, "the CA holds %s (HTTP 202); ask again in %ld s",
				what, fresh.retry_after);
		pe_msg_debug("POST %s: HTTP 202, Retry-After %ld", url, fresh.retry_after);
		status_replace(status, &fresh);
	} else {
		rc = status_error(conn, "POST", url, &res, what, err);
		if (rc == PE_E_CA) {
			text = pe_ca_est_error_text(res.content_type, res.body, res.body_len);
			if (asprintf(&fresh.raw, "%ld", res.status) < 0)
				fresh.raw = NULL;
			fresh.reason = text != NULL ? text : strdup("no reason given");
			text = NULL;
			if (fresh.raw == NULL || fresh.reason == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto out;
			}
			status_replace(status, &fresh);
		}
	}
out:
	pe_ca_status_cleanup(&fresh);
	pe_ca_certs_free(certs, lens, n);
	pe_http_response_cleanup(&res);
	free(text);
	free(b64);
	free(url);
	return rc;
}

const struct pe_ca_ops pe_ca_est_ops = {
	.name = "est",
	.login_required = true,
	.roots = est_roots,
	.login_status = est_login_status,
	.submit = est_send,
	.poll = est_send,
};
