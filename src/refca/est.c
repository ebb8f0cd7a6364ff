/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The EST server of p11enroll-ca (RFC 7030 with RFC 8951): /cacerts,
 * /csrattrs, /simpleenroll and /simplereenroll under /.well-known/est/, with
 * HTTP Basic for the users of the cpca20 API and the same operator workflow:
 * a request waits for approve-request (202 + Retry-After; the same CSR sent
 * again asks after it), a rejection is a 403 with the reason as text. No
 * labels, and no TLS client certificates: a renewal authenticates with Basic
 * too, and must keep the subject of a certificate the user already has.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "refca.h"

#define CT_TEXT	    "text/plain; charset=utf-8"
#define CT_CERTS    "application/pkcs7-mime; smime-type=certs-only"
#define CT_CSRATTRS "application/csrattrs"
/* what a waiting client is told: the operator decides in minutes, not seconds */
#define RETRY_AFTER 60

/* Answers @status with a line of text for people. */
static void reply_text(struct pe_refca_http_resp *resp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
reply_text(struct pe_refca_http_resp *resp, unsigned status, const char *fmt, ...)
{
	char text[PE_ERR_MSG_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(text) - 2)
		n = (int)sizeof(text) - 2;
	text[n++] = '\n';
	text[n] = '\0';
	free(resp->body);
	resp->body = (unsigned char *)strdup(text);
	resp->len = resp->body != NULL ? (size_t)n : 0;
	resp->status = resp->body != NULL ? status : 500;
	resp->content_type = CT_TEXT;
}

static void
reply_internal(struct pe_refca_http_resp *resp, const struct pe_err *err)
{
	pe_msg_error(err);
	reply_text(resp, 500, "internal error");
}

/* Answers 200 with the base64 of @der (RFC 8951: base64, with the transfer encoding named). */
static void
reply_base64(struct pe_refca_http_resp *resp, const char *type, const unsigned char *der,
	     size_t len)
{
	/* one line: some clients (strongSwan 5.9) do not skip line breaks in base64 */
	char *b64 = pe_base64_encode(der, len, 0);

	free(resp->body);
	resp->body = (unsigned char *)b64;
	if (b64 == NULL) {
		reply_text(resp, 500, "internal error");
		return;
	}
	resp->len = strlen(b64);
	resp->status = 200;
	resp->content_type = type;
	resp->base64 = true;
}

/* Answers a certs-only PKCS#7 (a SignedData without signers) holding @cert. */
static void
reply_certs(struct pe_refca_http_resp *resp, X509 *cert)
{
	unsigned char *der = NULL;
	PKCS7 *p7 = PKCS7_new();
	struct pe_err err;
	int n = -1;

	if (p7 != NULL && PKCS7_set_type(p7, NID_pkcs7_signed) == 1 &&
	    PKCS7_content_new(p7, NID_pkcs7_data) == 1 && PKCS7_set_detached(p7, 1) == 1 &&
	    PKCS7_add_certificate(p7, cert) == 1)
		n = i2d_PKCS7(p7, &der);
	PKCS7_free(p7);
	if (n <= 0) {
		pe_refca_ossl_err(&err, PE_E_CRYPTO, "certs-only PKCS#7");
		reply_internal(resp, &err);
		return;
	}
	reply_base64(resp, CT_CERTS, der, (size_t)n);
	OPENSSL_free(der);
}

static void
cacerts(struct pe_refca *ca, struct pe_refca_http_resp *resp)
{
	reply_certs(resp, ca->ca_cert);
}

/*
 * Credentials when given: the registration, or 401 answered. Without
 * credentials, *out stays NULL and true is returned unless @required.
 */
static bool
login(struct pe_refca *ca, const struct pe_refca_http_req *req, bool required,
      struct pe_refca_http_resp *resp, struct pe_refca_reg **out)
{
	struct pe_err err;
	enum pe_code rc;

	*out = NULL;
	if (req->user == NULL || req->password == NULL) {
		if (!required)
			return true;
		reply_text(resp, 401,
			   "authentication required: HTTP Basic with the Token and Password of "
			   "the registration");
		resp->challenge = true;
		return false;
	}
	rc = pe_refca_login_check(ca, req->user, req->password, out, &err);
	if (rc == PE_E_PIN) {
		reply_text(resp, 401, "wrong Token or Password");
		resp->challenge = true;
		return false;
	}
	if (rc != PE_OK) {
		reply_internal(resp, &err);
		return false;
	}
	return true;
}

/*
 * The CsrAttrs of the default template: the OIDs of the subject attributes it
 * requires; 204 when it requires none.
 */
static void
csrattrs(struct pe_refca *ca, const struct pe_refca_http_req *req, struct pe_refca_http_resp *resp)
{
	const struct pe_refca_template *tpl = ca->config->default_template;
	STACK_OF(ASN1_TYPE) *seq = sk_ASN1_TYPE_new_null();
	struct pe_refca_reg *reg = NULL;
	unsigned char *der = NULL;
	ASN1_OBJECT *obj;
	ASN1_TYPE *t;
	struct pe_err err;
	bool ok = seq != NULL;
	size_t i;
	int n = -1;

	/* RFC 7030 4.5: no login needed, but one given is checked */
	if (!login(ca, req, false, resp, &reg))
		goto out;
	if (tpl == NULL || tpl->n_required == 0) {
		free(resp->body);
		resp->body = NULL;
		resp->len = 0;
		resp->status = 204;
		goto out;
	}
	for (i = 0; ok && i < tpl->n_required; i++) {
		obj = OBJ_txt2obj(tpl->required[i], 1);
		t = obj != NULL ? ASN1_TYPE_new() : NULL;
		if (t == NULL) {
			ASN1_OBJECT_free(obj);
			ok = false;
			break;
		}
		ASN1_TYPE_set(t, V_ASN1_OBJECT, obj);
		if (sk_ASN1_TYPE_push(seq, t) <= 0) {
			ASN1_TYPE_free(t);
			ok = false;
		}
	}
	if (ok)
		n = i2d_ASN1_SEQUENCE_ANY(seq, &der);
	if (n <= 0) {
		pe_refca_ossl_err(&err, PE_E_CRYPTO, "CsrAttrs");
		reply_internal(resp, &err);
		goto out;
	}
	reply_base64(resp, CT_CSRATTRS, der, (size_t)n);
out:
	OPENSSL_free(der);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	pe_refca_reg_free(reg);
}

/* The body as base64 DER (white space and PEM armour allowed). */
static enum pe_code
body_csr(const struct pe_refca_http_req *req, unsigned char **der, size_t *len, struct pe_err *err)
{
	const char *text = (const char *)req->body, *end = text + req->body_len, *nl;
	unsigned char *data = NULL;
	size_t data_len = 0;

	if (req->body_len == 0)
		return pe_err_set(err, PE_E_USAGE,
				  "the body is empty: send the base64 of a DER PKCS#10 request");
	while (text < end && isspace((unsigned char)*text))
		text++;
	if (end - text > 10 && memcmp(text, "-----BEGIN", 10) == 0) {
		nl = memchr(text, '\n', (size_t)(end - text));
		text = nl ? nl + 1 : end;
		nl = text;
		while (nl < end && *nl != '-')
			nl++;
		end = nl;
	}
	if (pe_base64_decode(text, (size_t)(end - text), &data, &data_len, err) != PE_OK ||
	    data_len == 0) {
		free(data);
		return pe_err_set(err, PE_E_USAGE,
				  "the body is not the base64 of a DER PKCS#10 request");
	}
	*der = data;
	*len = data_len;
	return PE_OK;
}

/* Answers what @r's status says: the certificate, wait, or why not. */
static void
reply_request(const struct pe_refca *ca, const struct pe_refca_req *r,
	      struct pe_refca_http_resp *resp)
{
	const unsigned char *p;
	X509 *cert;
	struct pe_err err;

	switch (r->status) {
	case PE_REFCA_ST_QUEUED:
		reply_text(resp, 202,
			   "request %lld is waiting for the CA operator; send it again later",
			   r->id);
		resp->retry_after = ca->retry_after > 0 ? ca->retry_after : RETRY_AFTER;
		return;
	case PE_REFCA_ST_COMPLETE:
	case PE_REFCA_ST_INSTALLED:
		p = r->cert;
		cert = r->cert != NULL ? d2i_X509(NULL, &p, (long)r->cert_len) : NULL;
		if (cert == NULL) {
			pe_err_set(&err, PE_E_STORE,
				   "request %lld: the stored certificate is damaged", r->id);
			reply_internal(resp, &err);
			return;
		}
		reply_certs(resp, cert);
		X509_free(cert);
		return;
	default:
		reply_text(resp, 403, "request %lld was %s: %s", r->id,
			   pe_refca_status_name(r->status),
			   r->reason != NULL ? r->reason : "no reason was given");
		return;
	}
}

/*
 * A renewal keeps the subject of a certificate issued to the same user
 * (RFC 7030 4.2.2). Returns: whether @reg has one with @subject; false with
 * @err set on a store failure.
 */
static bool
renews(struct pe_refca *ca, const struct pe_refca_reg *reg, const char *subject, bool *failed,
       struct pe_err *err)
{
	struct pe_refca_req **reqs = NULL;
	size_t n = 0, i;
	bool found = false;

	*failed = pe_refca_db_req_list(ca->db, &reqs, &n, err) != PE_OK;
	for (i = 0; i < n; i++) {
		if (reqs[i]->reg_id == reg->id && strcmp(reqs[i]->subject, subject) == 0 &&
		    (reqs[i]->status == PE_REFCA_ST_COMPLETE ||
		     reqs[i]->status == PE_REFCA_ST_INSTALLED))
			found = true;
		pe_refca_req_free(reqs[i]);
	}
	free(reqs);
	return found;
}

static void
enroll(struct pe_refca *ca, const struct pe_refca_http_req *req, bool renewal,
       struct pe_refca_http_resp *resp)
{
	const struct pe_refca_template *tpl = NULL;
	struct pe_refca_req *stored = NULL, nreq;
	struct pe_refca_reg *reg = NULL;
	unsigned char *der = NULL;
	char *subject = NULL;
	struct pe_err err;
	enum pe_code rc;
	long long id;
	size_t len = 0;
	bool failed;

	if (!login(ca, req, true, resp, &reg))
		return;
	if (reg->status != PE_REFCA_ST_ACCEPTED) {
		reply_text(resp, 403,
			   "registration %lld is %c (%s): only an accepted registration may "
			   "request certificates",
			   reg->id, reg->status, pe_refca_status_name(reg->status));
		goto out;
	}
	if (body_csr(req, &der, &len, &err) != PE_OK) {
		reply_text(resp, 400, "%s", err.msg);
		goto out;
	}
	/* the same request sent again asks after it (RFC 7030 4.2.3) */
	rc = pe_refca_db_req_find_csr(ca->db, reg->id, der, len, &stored, &err);
	if (rc == PE_OK) {
		reply_request(ca, stored, resp);
		goto out;
	}
	if (rc != PE_E_NOTFOUND) {
		reply_internal(resp, &err);
		goto out;
	}
	rc = pe_refca_issue_csr_check(ca->config, der, len, reg->profile, &tpl, &subject, &err);
	if (rc != PE_OK) {
		if (rc == PE_E_USAGE)
			reply_text(resp, 400, "%s", err.msg);
		else
			reply_internal(resp, &err);
		goto out;
	}
	if (renewal && !renews(ca, reg, subject, &failed, &err)) {
		if (failed)
			reply_internal(resp, &err);
		else
			reply_text(resp, 400,
				   "no certificate of yours has the subject '%s': a renewal keeps "
				   "the subject; use simpleenroll for a new one",
				   subject);
		goto out;
	}
	memset(&nreq, 0, sizeof(nreq));
	nreq.reg_id = reg->id;
	nreq.template_oid = tpl->oid;
	nreq.subject = subject;
	nreq.csr = der;
	nreq.csr_len = len;
	nreq.status = PE_REFCA_ST_QUEUED;
	if (pe_refca_db_req_add(ca->db, &nreq, &id, &err) != PE_OK) {
		reply_internal(resp, &err);
		goto out;
	}
	if (ca->auto_approve && pe_refca_issue_request(ca, id, NULL, &err) != PE_OK) {
		/* kept, with the reason, for the user and the operator to see */
		pe_msg_warn("auto-approve: %s", err.msg);
		if (pe_refca_db_req_set_status(ca->db, id, PE_REFCA_ST_ERROR, err.msg, "Q", &err) !=
		    PE_OK) {
			reply_internal(resp, &err);
			goto out;
		}
	}
	if (pe_refca_db_req_get(ca->db, id, &stored, &err) != PE_OK) {
		reply_internal(resp, &err);
		goto out;
	}
	reply_request(ca, stored, resp);
out:
	pe_refca_req_free(stored);
	pe_refca_reg_free(reg);
	free(subject);
	free(der);
}

static void
reply_method(struct pe_refca_http_resp *resp, const char *allow)
{
	reply_text(resp, 405, "method not allowed; use %s", allow);
	resp->allow = allow;
}

void
pe_refca_est_handle(struct pe_refca *ca, const struct pe_refca_http_req *req,
		    struct pe_refca_http_resp *resp)
{
	const char *op = req->path + strlen(PE_REFCA_EST_PREFIX);
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;

	memset(resp, 0, sizeof(*resp));
	if (strcmp(op, "cacerts") == 0) {
		if (!get)
			reply_method(resp, "GET");
		else
			cacerts(ca, resp);
	} else if (strcmp(op, "csrattrs") == 0) {
		if (!get)
			reply_method(resp, "GET");
		else
			csrattrs(ca, req, resp);
	} else if (strcmp(op, "simpleenroll") == 0 || strcmp(op, "simplereenroll") == 0) {
		if (!post)
			reply_method(resp, "POST");
		else
			enroll(ca, req, strcmp(op, "simplereenroll") == 0, resp);
	} else if (strcmp(op, "serverkeygen") == 0 || strcmp(op, "fullcmc") == 0) {
		reply_text(resp, 501, "/%s is not served by this CA", op);
	} else {
		/* no labels (/.well-known/est/LABEL/...): the template is in the CSR */
		reply_text(resp, 404, "no such EST operation");
	}
}
