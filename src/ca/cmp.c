/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cmp connector: RFC 9483 lightweight CMP over HTTP (RFC 6712,
 * application/pkixcmp) through OpenSSL's OSSL_CMP client, whose messages
 * travel through http.c on the service's one connection. A P10CR carries
 * the token-signed request, protected by a MAC from the login (reference
 * value) and password (shared secret). The CA may hold the request
 * (waiting): the run polls while the CA's checkAfter stays short, else the
 * request is left pending and a later refresh asks again in a new
 * transaction. The certConf is held back until the certificate is installed
 * (ack), unless the CA granted implicit confirmation.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/cmp.h>
#include <openssl/cmperr.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

#define CMP_CONTENT_TYPE "application/pkixcmp"
#define CMP_PROFILE_OID	 "1.3.6.1.5.5.7.4.21" /* id-it-certProfile, RFC 9483 section 4.1.1 */
#define STATE_CERTCONF	 "certconf="
#define STATE_TID	 "tid="
#define CERTCONF_MAX	 8192 /* bytes of a held certConf */

/* PKIBody choices (RFC 4210 section 5.1.2); OpenSSL 3.0 keeps its names inside */
#define BODY_PKICONF  19
#define BODY_ERROR    23
#define BODY_CERTCONF 24

/* What the transfer callback and its caller share for one exchange. */
struct xfer {
	struct pe_ca_conn *conn;
	enum pe_code rc; /* PE_OK, or what went wrong below OpenSSL (transport, garbage) */
	struct pe_err err;
	bool hold_certconf;
	unsigned char *certconf; /* the held certConf, DER */
	size_t certconf_len;
	char *tid; /* the transaction id of the last answer, hex */
};

/* OpenSSL's CMP log goes to the debug messages (-v), never to the terminal by itself. */
static int
cmp_log(const char *func, const char *file, int line, OSSL_CMP_severity level, const char *msg)
{
	(void)func;
	(void)file;
	(void)line;
	if (level <= OSSL_CMP_LOG_INFO)
		pe_msg_debug("cmp: %s", msg);
	return 1;
}

static bool
content_type_is_cmp(const char *type)
{
	size_t n = strlen(CMP_CONTENT_TYPE);

	return type != NULL && strncasecmp(type, CMP_CONTENT_TYPE, n) == 0 &&
	       (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

enum pe_code
pe_ca_cmp_answer_parse(long status, const char *content_type, const unsigned char *body, size_t len,
		       OSSL_CMP_MSG **out, struct pe_err *err)
{
	static const char garbage[] = "the CA answered garbage";
	const unsigned char *p = body;
	OSSL_CMP_MSG *msg;

	/* RFC 6712 3.3: a CMP message is 200; error messages may come with 4xx/5xx */
	if (!content_type_is_cmp(content_type)) {
		if (status != 200)
			return pe_err_set(err, PE_E_NET, "the CMP server answered HTTP %ld",
					  status);
		return pe_err_set(err, PE_E_NET, "%s: content type '%s', not " CMP_CONTENT_TYPE,
				  garbage, content_type ? content_type : "(none)");
	}
	if (len == 0)
		return pe_err_set(err, PE_E_NET, "%s: an empty CMP answer (HTTP %ld)", garbage,
				  status);
	if (len > LONG_MAX)
		return pe_err_set(err, PE_E_NET, "%s: the answer is too large", garbage);
	ERR_clear_error();
	msg = d2i_OSSL_CMP_MSG(NULL, &p, (long)len);
	ERR_clear_error();
	if (msg == NULL)
		return pe_err_set(err, PE_E_NET,
				  "%s: the answer is not a CMP message "
				  "(truncated or malformed DER, %zu bytes)",
				  garbage, len);
	if (p != body + len) {
		OSSL_CMP_MSG_free(msg);
		return pe_err_set(err, PE_E_NET, "%s: %zu bytes follow the CMP message", garbage,
				  (size_t)(body + len - p));
	}
	*out = msg;
	return PE_OK;
}

enum pe_code
pe_ca_cmp_profile_der(const char *name, unsigned char **der, size_t *len, struct pe_err *err)
{
	size_t n = strlen(name), inner, total, at = 0;
	unsigned char *d;

	/* SEQUENCE OF UTF8String with one name; short and two-byte long lengths suffice */
	if (n == 0 || n > 1000)
		return pe_err_set(err, PE_E_USAGE, "the certificate profile '%s' cannot be sent",
				  name);
	inner = n + (n < 128 ? 2 : n < 256 ? 3 : 4);
	total = inner + (inner < 128 ? 2 : inner < 256 ? 3 : 4);
	d = malloc(total);
	if (d == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	d[at++] = 0x30;
	if (inner >= 256) {
		d[at++] = 0x82;
		d[at++] = (unsigned char)(inner >> 8);
	} else if (inner >= 128) {
		d[at++] = 0x81;
	}
	d[at++] = (unsigned char)inner;
	d[at++] = 0x0c;
	if (n >= 256) {
		d[at++] = 0x82;
		d[at++] = (unsigned char)(n >> 8);
	} else if (n >= 128) {
		d[at++] = 0x81;
	}
	d[at++] = (unsigned char)n;
	memcpy(d + at, name, n);
	*der = d;
	*len = total;
	return PE_OK;
}

/* The certProfile generalInfo item naming @name. */
static enum pe_code
profile_push(OSSL_CMP_CTX *ctx, const char *name, struct pe_err *err)
{
	unsigned char *der = NULL;
	size_t len = 0;
	ASN1_OBJECT *type = NULL;
	ASN1_STRING *seq = NULL;
	ASN1_TYPE *value = NULL;
	OSSL_CMP_ITAV *itav = NULL;
	enum pe_code rc;

	rc = pe_ca_cmp_profile_der(name, &der, &len, err);
	if (rc != PE_OK)
		return rc;
	type = OBJ_txt2obj(CMP_PROFILE_OID, 1);
	seq = ASN1_STRING_new();
	value = ASN1_TYPE_new();
	if (type == NULL || seq == NULL || value == NULL || !ASN1_STRING_set(seq, der, (int)len)) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	/* a SEQUENCE in an ASN1_TYPE is its whole encoding */
	ASN1_TYPE_set(value, V_ASN1_SEQUENCE, seq);
	seq = NULL;
	itav = OSSL_CMP_ITAV_create(type, value);
	if (itav == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	type = NULL;
	value = NULL;
	if (!OSSL_CMP_CTX_push0_geninfo_ITAV(ctx, itav)) {
		OSSL_CMP_ITAV_free(itav);
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
out:
	ERR_clear_error();
	ASN1_OBJECT_free(type);
	ASN1_STRING_free(seq);
	ASN1_TYPE_free(value);
	free(der);
	return rc;
}

static OSSL_CMP_MSG *
transfer(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
	struct xfer *x = OSSL_CMP_CTX_get_transfer_cb_arg(ctx);
	const ASN1_OCTET_STRING *tid;
	struct pe_http_response res;
	OSSL_CMP_MSG *rep = NULL;
	unsigned char *der = NULL;
	int n;

	n = i2d_OSSL_CMP_MSG(req, &der);
	if (n <= 0) {
		x->rc = pe_err_set(&x->err, PE_E_FAIL, "cannot encode a CMP message");
		return NULL;
	}
	if (x->hold_certconf && OSSL_CMP_MSG_get_bodytype(req) == BODY_CERTCONF) {
		/* kept for ack(), once the certificate is on the token: OpenSSL sees no answer */
		pe_msg_debug("cmp: the certConf waits until the certificate is installed");
		if ((size_t)n <= CERTCONF_MAX) {
			x->certconf = malloc((size_t)n);
			if (x->certconf != NULL) {
				memcpy(x->certconf, der, (size_t)n);
				x->certconf_len = (size_t)n;
			}
		}
		OPENSSL_free(der);
		return NULL;
	}
	memset(&res, 0, sizeof(res));
	x->rc = pe_http_request(x->conn->http, "POST", x->conn->url, NULL, NULL, CMP_CONTENT_TYPE,
				der, (size_t)n, &res, &x->err);
	OPENSSL_free(der);
	if (x->rc == PE_OK)
		x->rc = pe_ca_cmp_answer_parse(res.status, res.content_type, res.body, res.body_len,
					       &rep, &x->err);
	pe_http_response_cleanup(&res);
	if (rep != NULL) {
		tid = OSSL_CMP_HDR_get0_transactionID(OSSL_CMP_MSG_get0_header(rep));
		free(x->tid);
		x->tid = tid ? pe_hex_encode(tid->data, (size_t)tid->length) : NULL;
	}
	return rep;
}

/* A CMP context for one transaction on @conn, MAC-protected with its login and password. */
static enum pe_code
ctx_new(struct pe_ca_conn *conn, struct xfer *x, OSSL_CMP_CTX **out, struct pe_err *err)
{
	OSSL_CMP_CTX *ctx;

	memset(x, 0, sizeof(*x));
	x->conn = conn;
	if (conn->login == NULL || conn->password == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "a CMP service needs --login (the reference value) and "
				  "a password (the shared secret)");
	ctx = OSSL_CMP_CTX_new(NULL, NULL);
	if (ctx == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (!OSSL_CMP_CTX_set_log_cb(ctx, cmp_log) ||
	    !OSSL_CMP_CTX_set_transfer_cb(ctx, transfer) ||
	    !OSSL_CMP_CTX_set_transfer_cb_arg(ctx, x) ||
	    !OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)conn->login,
					      (int)strlen(conn->login)) ||
	    !OSSL_CMP_CTX_set1_secretValue(ctx, conn->password->data, (int)conn->password->len) ||
	    !OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1)) {
		OSSL_CMP_CTX_free(ctx);
		ERR_clear_error();
		return pe_err_set(err, PE_E_FAIL, "cannot set up a CMP context");
	}
	OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_INFO);
	*out = ctx;
	return PE_OK;
}

static void
xfer_cleanup(struct xfer *x)
{
	free(x->certconf);
	x->certconf = NULL;
	free(x->tid);
	x->tid = NULL;
}

/* What OpenSSL's queue says of a failed exchange. */
struct failure {
	bool received_error; /* the server sent an error message */
	bool protection;     /* its answer's MAC does not check: the secret differs */
	char reason[256];
};

static void
failure_read(struct failure *f)
{
	unsigned long e;
	const char *r;
	int reason;

	memset(f, 0, sizeof(*f));
	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_LIB(e) != ERR_LIB_CMP)
			continue;
		reason = ERR_GET_REASON(e);
		if (reason == CMP_R_RECEIVED_ERROR)
			f->received_error = true;
		if (reason == CMP_R_ERROR_VALIDATING_PROTECTION ||
		    reason == CMP_R_WRONG_PBM_VALUE || reason == CMP_R_MISSING_PROTECTION)
			f->protection = true;
		r = ERR_reason_error_string(e);
		if (r != NULL && f->reason[0] == '\0')
			snprintf(f->reason, sizeof(f->reason), "%s", r);
	}
	if (f->reason[0] == '\0')
		snprintf(f->reason, sizeof(f->reason), "the CMP exchange failed");
}

/* The server's PKIStatusInfo as people read it, newly allocated. */
static char *
status_text(const OSSL_CMP_CTX *ctx)
{
	char buf[OSSL_CMP_PKISI_BUFLEN];

	if (OSSL_CMP_CTX_snprint_PKIStatus(ctx, buf, sizeof(buf)) == NULL)
		snprintf(buf, sizeof(buf), "PKIStatus: %d", OSSL_CMP_CTX_get_status(ctx));
	return strdup(buf);
}

/*
 * Maps a failed exchange to a code and a message: transport or garbage,
 * a MAC that does not check, an error message, a rejection (with @status,
 * for a certificate request), anything else.
 */
static enum pe_code
failure_code(OSSL_CMP_CTX *ctx, struct xfer *x, const char *what, struct pe_ca_status *status,
	     struct pe_err *err)
{
	struct failure f;
	char *text = NULL;
	enum pe_code rc;

	failure_read(&f);
	if (x->rc != PE_OK) {
		*err = x->err;
		return x->rc;
	}
	if (f.protection)
		return pe_err_set(err, PE_E_USAGE,
				  "%s: the CMP server's answer does not carry the MAC of the "
				  "service's shared secret: the login or the password is wrong",
				  what);
	if (f.received_error) {
		text = status_text(ctx);
		rc = pe_err_set(err, PE_E_NET, "%s: the CMP server answered with an error: %s",
				what, text ? text : f.reason);
		free(text);
		return rc;
	}
	if (status != NULL && OSSL_CMP_CTX_get_status(ctx) == OSSL_CMP_PKISTATUS_rejection) {
		/* a certificate response saying no: the CA's decision */
		status->raw = strdup("rejection");
		status->reason = status_text(ctx);
		if (status->raw == NULL || status->reason == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		return pe_err_set(err, PE_E_CA, "the CA rejected the request: %s", status->reason);
	}
	return pe_err_set(err, PE_E_NET, "%s: %s", what, f.reason);
}

static char *
state_make(const char *prefix, const unsigned char *data, size_t len)
{
	char *hex = pe_hex_encode(data, len), *state = NULL;
	size_t n;

	if (hex != NULL) {
		n = strlen(prefix) + strlen(hex) + 1;
		state = malloc(n);
		if (state != NULL)
			snprintf(state, n, "%s%s", prefix, hex);
	}
	free(hex);
	return state;
}

static enum pe_code
cert_der(X509 *cert, unsigned char **out, size_t *len, struct pe_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);

	if (n <= 0) {
		ERR_clear_error();
		return pe_err_set(err, PE_E_NET,
				  "the CA sent a certificate that cannot be encoded");
	}
	*out = malloc((size_t)n);
	if (*out == NULL) {
		OPENSSL_free(der);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	memcpy(*out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	return PE_OK;
}

/*
 * The certificate arrived: kept in @status with what ack() needs (the held
 * certConf; nothing when the CA granted implicit confirmation).
 */
static enum pe_code
issued(OSSL_CMP_CTX *ctx, struct xfer *x, struct pe_ca_status *status, struct pe_err *err)
{
	X509 *cert = OSSL_CMP_CTX_get0_newCert(ctx);
	enum pe_code rc;

	ERR_clear_error();
	rc = cert_der(cert, &status->cert, &status->cert_len, err);
	if (rc != PE_OK)
		return rc;
	status->raw = strdup(OSSL_CMP_CTX_get_status(ctx) == OSSL_CMP_PKISTATUS_grantedWithMods
				     ? "grantedWithMods"
				     : "accepted");
	status->state = x->certconf != NULL
				? state_make(STATE_CERTCONF, x->certconf, x->certconf_len)
				: strdup("confirmed");
	if (status->raw == NULL || status->state == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

/* The longest the CA may ask us to wait between polls in one run, and in all. */
#define POLL_STEP_MAX 10
#define POLL_BUDGET   30
#define POLLS_MAX     64

/*
 * One P10CR transaction: sent, then polled while the CA's checkAfter stays
 * within the budget. Returns: PE_OK (certificate in @status), PE_E_PENDING,
 * PE_E_CA (rejected, reason in @status), PE_E_NET, PE_E_USAGE.
 */
static enum pe_code
certreq(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	struct pe_err *err)
{
	const unsigned char *p = req->csr;
	X509_REQ *csr = NULL;
	OSSL_CMP_CTX *ctx = NULL;
	struct xfer x;
	int r, check_after = 0, polls = 0, waited = 0;
	enum pe_code rc;

	pe_ca_status_cleanup(status);
	rc = ctx_new(conn, &x, &ctx, err);
	if (rc != PE_OK)
		return rc;
	x.hold_certconf = true;
	csr = d2i_X509_REQ(NULL, &p, (long)req->csr_len);
	if (csr == NULL || !OSSL_CMP_CTX_set1_p10CSR(ctx, csr)) {
		rc = pe_err_set(err, PE_E_FAIL, "the request's CSR cannot be read");
		goto out;
	}
	if (req->template_oid != NULL) {
		rc = profile_push(ctx, req->template_oid, err);
		if (rc != PE_OK)
			goto out;
	}
	for (;;) {
		ERR_clear_error();
		check_after = 0;
		r = OSSL_CMP_try_certreq(ctx, OSSL_CMP_P10CR, NULL, &check_after);
		if (r == 1 || (r == 0 && x.certconf != NULL && OSSL_CMP_CTX_get0_newCert(ctx))) {
			rc = issued(ctx, &x, status, err);
			goto out;
		}
		if (r != -1)
			break;
		/* waiting: poll here while it is short, else leave it pending for a refresh */
		if (check_after < 0)
			check_after = 0;
		if (check_after > POLL_STEP_MAX || waited + check_after > POLL_BUDGET ||
		    ++polls > POLLS_MAX) {
			status->raw = strdup("waiting");
			status->retry_after = check_after;
			if (x.tid != NULL) {
				status->id = strdup(x.tid);
				status->state = malloc(strlen(STATE_TID) + strlen(x.tid) + 1);
				if (status->state != NULL)
					sprintf(status->state, "%s%s", STATE_TID, x.tid);
			}
			if (status->raw == NULL ||
			    (x.tid != NULL && (status->id == NULL || status->state == NULL))) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto out;
			}
			rc = pe_err_set(err, PE_E_PENDING,
					"the CA holds the request (checkAfter %d s); "
					"refresh asks again in a new CMP transaction",
					check_after);
			pe_msg_info("%s", err->msg);
			goto out;
		}
		pe_msg_info("the CA holds the request: asking again in %d s", check_after);
		if (check_after > 0) {
			struct timespec ts = { check_after, 0 };

			nanosleep(&ts, NULL);
		}
		waited += check_after;
	}
	rc = failure_code(ctx, &x, "P10CR", status, err);
out:
	ERR_clear_error();
	xfer_cleanup(&x);
	X509_REQ_free(csr);
	OSSL_CMP_CTX_free(ctx);
	return rc;
}

static enum pe_code
cmp_submit(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	   struct pe_err *err)
{
	return certreq(conn, req, status, err);
}

/*
 * A CMP transaction lives as long as the server keeps it (the openssl mock
 * server: as long as its connection): a later run sends the same signed
 * request again in a new transaction.
 */
static enum pe_code
cmp_poll(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	 struct pe_err *err)
{
	return certreq(conn, req, status, err);
}

/* Sends the held certConf and checks the PKIConf (its MAC too). */
static enum pe_code
cmp_ack(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_err *err)
{
	unsigned char *der = NULL;
	const char *hex;
	struct pe_http_response res;
	OSSL_CMP_MSG *rep = NULL;
	OSSL_CMP_CTX *ctx = NULL;
	struct xfer x;
	long n;
	enum pe_code rc;
	int type;

	if (req->state == NULL || strncmp(req->state, STATE_CERTCONF, strlen(STATE_CERTCONF)) != 0)
		return PE_OK; /* implicitly confirmed: nothing to send */
	hex = req->state + strlen(STATE_CERTCONF);
	der = malloc(strlen(hex) / 2 + 1);
	if (der == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	n = pe_hex_decode(hex, der, strlen(hex) / 2 + 1);
	if (n <= 0) {
		free(der);
		return pe_err_set(err, PE_E_FAIL, "the kept certConf is not hex");
	}
	memset(&res, 0, sizeof(res));
	rc = ctx_new(conn, &x, &ctx, err);
	if (rc == PE_OK)
		rc = pe_http_request(conn->http, "POST", conn->url, NULL, NULL, CMP_CONTENT_TYPE,
				     der, (size_t)n, &res, err);
	if (rc == PE_OK)
		rc = pe_ca_cmp_answer_parse(res.status, res.content_type, res.body, res.body_len,
					    &rep, err);
	if (rc != PE_OK)
		goto out;
	ERR_clear_error();
	if (OSSL_CMP_validate_msg(ctx, rep) != 1) {
		ERR_clear_error();
		rc = pe_err_set(err, PE_E_NET,
				"certConf: the CMP server's answer does not carry the MAC of the "
				"service's shared secret");
		goto out;
	}
	type = OSSL_CMP_MSG_get_bodytype(rep);
	if (type == BODY_ERROR)
		rc = pe_err_set(err, PE_E_CA,
				"the CMP server no longer takes the certConf (it answered with an "
				"error message: its transaction is over); the certificate is "
				"installed, but the CA may hold it unconfirmed");
	else if (type != BODY_PKICONF)
		rc = pe_err_set(err, PE_E_CA,
				"the CMP server answered the certConf with body type %d, not "
				"PKIConf",
				type);
out:
	ERR_clear_error();
	xfer_cleanup(&x);
	OSSL_CMP_MSG_free(rep);
	OSSL_CMP_CTX_free(ctx);
	pe_http_response_cleanup(&res);
	free(der);
	return rc;
}

/* A general message (genm) without items: the server's MAC tells whether our secret is its. */
static enum pe_code
cmp_login_status(struct pe_ca_conn *conn, enum pe_ca_login_state *state, struct pe_err *err)
{
	STACK_OF(OSSL_CMP_ITAV) * itavs;
	OSSL_CMP_CTX *ctx = NULL;
	struct xfer x;
	enum pe_code rc;

	if (conn->login == NULL || conn->password == NULL) {
		*state = PE_CA_LOGIN_REFUSED;
		return PE_OK;
	}
	rc = ctx_new(conn, &x, &ctx, err);
	if (rc != PE_OK)
		return rc;
	ERR_clear_error();
	itavs = OSSL_CMP_exec_GENM_ses(ctx);
	if (itavs != NULL) {
		sk_OSSL_CMP_ITAV_pop_free(itavs, OSSL_CMP_ITAV_free);
		*state = PE_CA_LOGIN_READY;
	} else {
		rc = failure_code(ctx, &x, "genm", NULL, err);
		if (rc == PE_E_USAGE) {
			/* the message says why, as for a rejected registration */
			*state = PE_CA_LOGIN_REFUSED;
			err->code = PE_OK;
			rc = PE_OK;
		}
	}
	ERR_clear_error();
	xfer_cleanup(&x);
	OSSL_CMP_CTX_free(ctx);
	return rc;
}

/*
 * CMP publishes no chain without a request: the CA's certificates come with an
 * issued certificate (caPubs, extraCerts), which is what they would be
 * checked against. The user installs the root the CA's operator gives.
 */
static enum pe_code
cmp_roots(struct pe_ca_conn *conn, unsigned char ***certs, size_t **lens, size_t *n,
	  struct pe_err *err)
{
	(void)conn;
	(void)certs;
	(void)lens;
	(void)n;
	return pe_err_set(err, PE_E_USAGE,
			  "a CMP server publishes no CA certificates to fetch: install the chain "
			  "the CA's operator gives (root and intermediates) with 'p11enroll "
			  "install-roots --service NAME --file CHAIN.pem'");
}

const struct pe_ca_ops pe_ca_cmp_ops = {
	.name = "cmp",
	.needs_key = false,
	.login_required = true,
	.plain_http = true, /* every message carries its MAC (RFC 6712 runs CMP over http) */
	.roots = cmp_roots,
	.login_status = cmp_login_status,
	.submit = cmp_submit,
	.poll = cmp_poll,
	.ack = cmp_ack,
};
