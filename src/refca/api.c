/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cpca20 user API (protocols/cpca20.md) as the reference CA answers it:
 * routes, HTTP Basic with the Token:Password that registration hands out
 * (only a salted PBKDF2 hash is kept), and the JSON bodies. No HTTP library
 * here: server.c hands in a parsed request and sends the response back.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "refca.h"

#define PW_ITER	       10000
#define TOKEN_BYTES    16
#define PASSWORD_BYTES 16
#define TEXT_MAX       1024

#define CT_JSON "application/json; charset=utf-8"
#define API	"/ui/api/"

void
pe_refca_http_resp_cleanup(struct pe_refca_http_resp *resp)
{
	/* a registration's answer holds its password */
	if (resp->body != NULL)
		OPENSSL_cleanse(resp->body, resp->len);
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* Answers with @root (taken). */
static void
reply_json(struct pe_refca_http_resp *resp, unsigned status, cJSON *root)
{
	char *text = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
	resp->content_type = CT_JSON;
	if (text == NULL) {
		resp->status = 500;
		return;
	}
	resp->status = status;
	resp->len = strlen(text);
	resp->body = malloc(resp->len + 1);
	if (resp->body == NULL) {
		resp->status = 500;
		resp->len = 0;
	} else {
		memcpy(resp->body, text, resp->len + 1);
	}
	OPENSSL_cleanse(text, strlen(text));
	cJSON_free(text);
}

/* Answers {"Error":"text"}. */
static void reply_error(struct pe_refca_http_resp *resp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
reply_error(struct pe_refca_http_resp *resp, unsigned status, const char *fmt, ...)
{
	char text[PE_ERR_MSG_MAX];
	cJSON *root = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (root != NULL && cJSON_AddStringToObject(root, "Error", text) == NULL) {
		cJSON_Delete(root);
		root = NULL;
	}
	reply_json(resp, status, root);
}

/* An internal failure: logged, and a 500 without detail. */
static void
reply_internal(struct pe_refca_http_resp *resp, const struct pe_err *err)
{
	pe_msg_error(err);
	reply_error(resp, 500, "internal error");
}

static void
reply_bytes(struct pe_refca_http_resp *resp, const char *type, const void *data, size_t len)
{
	free(resp->body);
	resp->body = malloc(len ? len : 1);
	if (resp->body == NULL) {
		resp->status = 500;
		resp->len = 0;
		return;
	}
	memcpy(resp->body, data, len);
	resp->len = len;
	resp->status = 200;
	resp->content_type = type;
}

static void
reply_method(struct pe_refca_http_resp *resp, const char *allow)
{
	reply_error(resp, 405, "method not allowed; use %s", allow);
	resp->allow = allow;
}

static void
id_text(long long id, char *buf, size_t size)
{
	snprintf(buf, size, "%lld", id);
}

static enum pe_code
pw_hash(const char *password, const unsigned char *salt, size_t salt_len, unsigned iter,
	unsigned char *out, size_t out_len, struct pe_err *err)
{
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iter,
			      EVP_sha256(), (int)out_len, out) != 1)
		return pe_refca_ossl_err(err, PE_E_CRYPTO, "PBKDF2");
	return PE_OK;
}

/* SHA-256(salt || password): how a login verified before is recognised. */
static bool
quick_hash(const struct pe_refca_reg *reg, const char *password, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(md, reg->salt, sizeof(reg->salt)) == 1 &&
		  EVP_DigestUpdate(md, password, strlen(password)) == 1 &&
		  EVP_DigestFinal_ex(md, out, NULL) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

/* Returns: true when this password for @reg passed PBKDF2 before, against the hash it has now. */
static bool
login_known(struct pe_refca *ca, const struct pe_refca_reg *reg, const unsigned char quick[32])
{
	size_t i;

	for (i = 0; i < PE_REFCA_LOGIN_CACHE; i++) {
		const struct pe_refca_login *l = &ca->logins[i];

		if (l->reg_id == reg->id &&
		    CRYPTO_memcmp(l->pbkdf2, reg->hash, sizeof(l->pbkdf2)) == 0 &&
		    CRYPTO_memcmp(l->quick, quick, sizeof(l->quick)) == 0)
			return true;
	}
	return false;
}

static void
login_remember(struct pe_refca *ca, const struct pe_refca_reg *reg, const unsigned char quick[32])
{
	struct pe_refca_login *l = &ca->logins[ca->next_login];

	l->reg_id = reg->id;
	memcpy(l->pbkdf2, reg->hash, sizeof(l->pbkdf2));
	memcpy(l->quick, quick, sizeof(l->quick));
	ca->next_login = (ca->next_login + 1) % PE_REFCA_LOGIN_CACHE;
}

enum pe_code
pe_refca_login_check(struct pe_refca *ca, const char *user, const char *password,
		     struct pe_refca_reg **out, struct pe_err *err)
{
	static const unsigned char dummy_salt[16];
	struct pe_refca_reg *reg = NULL;
	unsigned char hash[32], quick[32];
	enum pe_code rc;
	bool ok = false, have_quick = false;

	rc = pe_refca_db_reg_by_token(ca->db, user, &reg, err);
	if (rc == PE_OK)
		have_quick = quick_hash(reg, password, quick);
	if (rc == PE_E_NOTFOUND) {
		/* the same work as for a known token, so that timing tells nothing */
		pw_hash(password, dummy_salt, sizeof(dummy_salt), PW_ITER, hash, sizeof(hash), err);
	} else if (rc != PE_OK) {
		return rc;
	} else if (reg->iter == 0 || reg->iter > 10 * 1000 * 1000) {
		rc = pe_err_set(err, PE_E_STORE, "registration %lld: bad PBKDF2 iteration count",
				reg->id);
		pe_refca_reg_free(reg);
		return rc;
	} else if (have_quick && login_known(ca, reg, quick)) {
		ok = true;
	} else if ((rc = pw_hash(password, reg->salt, sizeof(reg->salt), reg->iter, hash,
				 sizeof(hash), err)) != PE_OK) {
		pe_refca_reg_free(reg);
		return rc;
	} else {
		ok = CRYPTO_memcmp(hash, reg->hash, sizeof(hash)) == 0;
		if (ok && have_quick)
			login_remember(ca, reg, quick);
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(quick, sizeof(quick));
	if (!ok) {
		pe_refca_reg_free(reg);
		return pe_err_set(err, PE_E_PIN, "wrong Token or Password");
	}
	*out = reg;
	return PE_OK;
}

/*
 * HTTP Basic: the registration whose Token and Password these are. Answers
 * 401 (or 500) itself and returns false otherwise.
 */
static bool
authenticate(struct pe_refca *ca, const struct pe_refca_http_req *req,
	     struct pe_refca_http_resp *resp, struct pe_refca_reg **out)
{
	struct pe_err err;
	enum pe_code rc;

	if (req->user == NULL || req->password == NULL) {
		reply_error(resp, 401,
			    "authentication required: HTTP Basic with the Token and "
			    "Password of the registration");
		resp->challenge = true;
		return false;
	}
	rc = pe_refca_login_check(ca, req->user, req->password, out, &err);
	if (rc == PE_E_PIN) {
		reply_error(resp, 401, "wrong Token or Password");
		resp->challenge = true;
		return false;
	}
	if (rc != PE_OK) {
		reply_internal(resp, &err);
		return false;
	}
	return true;
}

static void
userattr(struct pe_refca *ca, struct pe_refca_http_resp *resp)
{
	cJSON *root = cJSON_CreateObject(), *rdn = cJSON_Duplicate(ca->config->rdn, true);

	if (root == NULL || rdn == NULL || !cJSON_AddItemToObject(root, "RDN", rdn)) {
		cJSON_Delete(rdn);
		cJSON_Delete(root);
		root = NULL;
	}
	reply_json(resp, 200, root);
}

static cJSON *
body_json(const struct pe_refca_http_req *req)
{
	if (req->body == NULL || req->body_len == 0)
		return NULL;
	return cJSON_ParseWithLength((const char *)req->body, req->body_len);
}

/* An optional string member: NULL when absent or empty; false when it is not a fit string. */
static bool
opt_text(const cJSON *obj, const char *name, const char **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	const unsigned char *p;

	*out = NULL;
	if (item == NULL || cJSON_IsNull(item))
		return true;
	if (!cJSON_IsString(item) || strlen(item->valuestring) > TEXT_MAX)
		return false;
	for (p = (const unsigned char *)item->valuestring; *p != '\0'; p++) {
		if (*p < 0x20 && *p != '\n' && *p != '\t')
			return false;
	}
	if (item->valuestring[0] != '\0')
		*out = item->valuestring;
	return true;
}

static bool
email_valid(const char *s)
{
	const char *at = strchr(s, '@'), *p;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return false;
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

static enum pe_code
random_hex(size_t bytes, char **out, struct pe_err *err)
{
	unsigned char raw[32];

	if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1)
		return pe_refca_ossl_err(err, PE_E_CRYPTO, "RAND_bytes");
	*out = pe_hex_encode(raw, bytes);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

static void
regrequest_new(struct pe_refca *ca, const struct pe_refca_http_req *req,
	       struct pe_refca_http_resp *resp)
{
	struct pe_refca_reg reg;
	cJSON *body = body_json(req), *profile = NULL, *root = NULL, *rr;
	const cJSON *oid_array;
	char *password = NULL, id[32];
	const char *member = NULL, *email, *comment, *description;
	struct pe_err err;
	long long reg_id;

	memset(&reg, 0, sizeof(reg));
	if (!cJSON_IsObject(body)) {
		reply_error(resp, 400, "the body is not a JSON object");
		goto out;
	}
	if (!opt_text(body, "Email", &email))
		member = "Email";
	else if (!opt_text(body, "Comment", &comment))
		member = "Comment";
	else if (!opt_text(body, "Description", &description))
		member = "Description";
	if (member != NULL) {
		reply_error(resp, 400, "%s must be a string of at most %d bytes", member, TEXT_MAX);
		goto out;
	}
	if (email != NULL && !email_valid(email)) {
		reply_error(resp, 400, "Email '%.128s' is not an e-mail address", email);
		goto out;
	}
	/* borrowed from body; KeyPhrase is not kept */
	reg.email = (char *)email;
	reg.comment = (char *)comment;
	reg.description = (char *)description;
	oid_array = cJSON_GetObjectItemCaseSensitive(body, "OidArray");
	if (pe_refca_config_form_check(ca->config, oid_array, &profile, &err) != PE_OK) {
		if (err.code == PE_E_USAGE)
			reply_error(resp, 400, "%s", err.msg);
		else
			reply_internal(resp, &err);
		goto out;
	}
	reg.profile = cJSON_PrintUnformatted(profile);
	if (reg.profile == NULL) {
		reply_error(resp, 500, "internal error");
		goto out;
	}
	if (random_hex(TOKEN_BYTES, &reg.token, &err) != PE_OK ||
	    random_hex(PASSWORD_BYTES, &password, &err) != PE_OK) {
		reply_internal(resp, &err);
		goto out;
	}
	if (RAND_bytes(reg.salt, sizeof(reg.salt)) != 1) {
		pe_refca_ossl_err(&err, PE_E_CRYPTO, "RAND_bytes");
		reply_internal(resp, &err);
		goto out;
	}
	reg.iter = PW_ITER;
	reg.status = ca->auto_approve ? PE_REFCA_ST_ACCEPTED : PE_REFCA_ST_QUEUED;
	if (pw_hash(password, reg.salt, sizeof(reg.salt), reg.iter, reg.hash, sizeof(reg.hash),
		    &err) != PE_OK ||
	    pe_refca_db_reg_add(ca->db, &reg, &reg_id, &err) != PE_OK) {
		reply_internal(resp, &err);
		goto out;
	}
	id_text(reg_id, id, sizeof(id));
	root = cJSON_CreateObject();
	rr = cJSON_AddObjectToObject(root, "RegRequest");
	if (rr == NULL || cJSON_AddStringToObject(rr, "RegRequestId", id) == NULL ||
	    cJSON_AddStringToObject(rr, "Token", reg.token) == NULL ||
	    cJSON_AddStringToObject(rr, "Password", password) == NULL ||
	    cJSON_AddStringToObject(rr, "Status", (char[]){ reg.status, '\0' }) == NULL) {
		cJSON_Delete(root);
		root = NULL;
	}
	reply_json(resp, 200, root);
out:
	/* the strings in reg but token and profile belong to body */
	free(reg.token);
	cJSON_free(reg.profile);
	if (password != NULL) {
		OPENSSL_cleanse(password, strlen(password));
		free(password);
	}
	OPENSSL_cleanse(reg.hash, sizeof(reg.hash));
	cJSON_Delete(profile);
	cJSON_Delete(body);
}

/* {"NAME":{"IDNAME":"id","Status":"X"[,"Comment":"reason"]}} */
static void
reply_status(struct pe_refca_http_resp *resp, const char *name, const char *id_name, long long id,
	     char status, const char *reason)
{
	cJSON *root = cJSON_CreateObject(), *obj;
	char id_buf[32], letter[2] = { status, '\0' };

	id_text(id, id_buf, sizeof(id_buf));
	obj = cJSON_AddObjectToObject(root, name);
	if (obj == NULL || cJSON_AddStringToObject(obj, id_name, id_buf) == NULL ||
	    cJSON_AddStringToObject(obj, "Status", letter) == NULL ||
	    (reason != NULL && cJSON_AddStringToObject(obj, "Comment", reason) == NULL)) {
		cJSON_Delete(root);
		root = NULL;
	}
	reply_json(resp, 200, root);
}

static const char *
status_reason(char status, const char *reason)
{
	if (status != PE_REFCA_ST_REJECTED && status != PE_REFCA_ST_DENIED &&
	    status != PE_REFCA_ST_ERROR)
		return NULL;
	return reason ? reason : "no reason was given";
}

static void
profile_get(const struct pe_refca_http_req *req, const struct pe_refca_reg *reg,
	    struct pe_refca_http_resp *resp)
{
	cJSON *root, *profile;

	if (req->type_arg != NULL && strcmp(req->type_arg, "json") != 0) {
		reply_error(resp, 400, "only type=json is served");
		return;
	}
	profile = cJSON_Parse(reg->profile);
	root = cJSON_CreateObject();
	if (root == NULL || profile == NULL || !cJSON_AddItemToObject(root, "Profile", profile)) {
		cJSON_Delete(profile);
		cJSON_Delete(root);
		root = NULL;
	}
	reply_json(resp, 200, root);
}

static void
templates_get(struct pe_refca *ca, struct pe_refca_http_resp *resp)
{
	cJSON *root = cJSON_CreateObject(), *arr, *t;
	size_t i;

	arr = cJSON_AddArrayToObject(root, "Template");
	for (i = 0; arr != NULL && i < ca->config->n_templates; i++) {
		t = cJSON_CreateObject();
		if (t == NULL || !cJSON_AddItemToArray(arr, t) ||
		    cJSON_AddStringToObject(t, "Oid", ca->config->templates[i].oid) == NULL ||
		    cJSON_AddStringToObject(t, "LocalizedName",
					    ca->config->templates[i].localized_name) == NULL)
			arr = NULL;
	}
	if (arr == NULL) {
		cJSON_Delete(root);
		root = NULL;
	}
	reply_json(resp, 200, root);
}

/* The body as base64 DER; PEM armour, if any, is taken off. */
static enum pe_code
body_der(const struct pe_refca_http_req *req, unsigned char **der, size_t *len, struct pe_err *err)
{
	const char *text = (const char *)req->body, *end = text + req->body_len, *nl;
	unsigned char *data = NULL;
	size_t data_len = 0;
	enum pe_code rc;

	if (req->body_len == 0)
		return pe_err_set(err, PE_E_USAGE,
				  "the body is empty: send the base64 of the DER "
				  "PKCS#10 request");
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
	rc = pe_base64_decode(text, (size_t)(end - text), &data, &data_len, err);
	if (rc == PE_OK && data_len == 0) {
		free(data);
		rc = PE_E_USAGE;
	}
	if (rc != PE_OK)
		return pe_err_set(err, PE_E_USAGE,
				  "the body is not base64 of a DER PKCS#10 "
				  "request");
	*der = data;
	*len = data_len;
	return PE_OK;
}

static void
certrequest_new(struct pe_refca *ca, const struct pe_refca_http_req *req,
		const struct pe_refca_reg *reg, struct pe_refca_http_resp *resp)
{
	const struct pe_refca_template *tpl = NULL;
	struct pe_refca_req *stored = NULL, nreq;
	unsigned char *der = NULL;
	char *subject = NULL;
	struct pe_err err;
	long long id;
	size_t len = 0;

	if (reg->status != PE_REFCA_ST_ACCEPTED) {
		reply_error(resp, 403,
			    "registration %lld is %c (%s): only an accepted "
			    "registration may request certificates",
			    reg->id, reg->status, pe_refca_status_name(reg->status));
		return;
	}
	if (body_der(req, &der, &len, &err) != PE_OK) {
		reply_error(resp, 400, "%s", err.msg);
		return;
	}
	if (pe_refca_issue_csr_check(ca->config, der, len, reg->profile, &tpl, &subject, &err) !=
	    PE_OK) {
		if (err.code == PE_E_USAGE)
			reply_error(resp, 400, "%s", err.msg);
		else
			reply_internal(resp, &err);
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
	reply_status(resp, "CertRequest", "CertRequestId", id, stored->status,
		     status_reason(stored->status, stored->reason));
out:
	pe_refca_req_free(stored);
	free(subject);
	free(der);
}

/* The request @id of @reg, or a 404 answered. */
static bool
own_request(struct pe_refca *ca, long long id, const struct pe_refca_reg *reg,
	    struct pe_refca_http_resp *resp, struct pe_refca_req **out)
{
	struct pe_err err;
	enum pe_code rc;

	rc = pe_refca_db_req_get(ca->db, id, out, &err);
	if (rc == PE_OK && (*out)->reg_id == reg->id)
		return true;
	if (rc == PE_OK) {
		pe_refca_req_free(*out);
		*out = NULL;
		rc = PE_E_NOTFOUND;
	}
	if (rc == PE_E_NOTFOUND)
		reply_error(resp, 404, "no certificate request %lld", id);
	else
		reply_internal(resp, &err);
	return false;
}

static void
certrequest_get(struct pe_refca *ca, long long id, const struct pe_refca_reg *reg,
		struct pe_refca_http_resp *resp)
{
	struct pe_refca_req *r = NULL;

	if (!own_request(ca, id, reg, resp, &r))
		return;
	reply_status(resp, "CertRequest", "CertRequestId", id, r->status,
		     status_reason(r->status, r->reason));
	pe_refca_req_free(r);
}

static void
rawcert_get(struct pe_refca *ca, long long id, const struct pe_refca_reg *reg,
	    struct pe_refca_http_resp *resp)
{
	struct pe_refca_req *r = NULL;

	if (!own_request(ca, id, reg, resp, &r))
		return;
	if ((r->status == PE_REFCA_ST_COMPLETE || r->status == PE_REFCA_ST_INSTALLED) &&
	    r->cert != NULL)
		reply_bytes(resp, "application/pkix-cert", r->cert, r->cert_len);
	else
		reply_error(resp, 409, "certificate request %lld is %c (%s): no certificate", id,
			    r->status, pe_refca_status_name(r->status));
	pe_refca_req_free(r);
}

static void
certrequest_ack(struct pe_refca *ca, const struct pe_refca_http_req *req, long long id,
		const struct pe_refca_reg *reg, struct pe_refca_http_resp *resp)
{
	struct pe_refca_req *r = NULL;
	cJSON *body = body_json(req);
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(body, "Status");
	struct pe_err err;
	enum pe_code rc;

	if (!cJSON_IsString(status) || strcmp(status->valuestring, "K") != 0) {
		reply_error(resp, 400, "the body must be {\"Status\":\"K\"}");
		goto out;
	}
	if (!own_request(ca, id, reg, resp, &r))
		goto out;
	rc = pe_refca_db_req_set_status(ca->db, id, PE_REFCA_ST_INSTALLED, NULL, "CK", &err);
	if (rc == PE_E_USAGE)
		reply_error(resp, 409,
			    "certificate request %lld is %c (%s): nothing to "
			    "acknowledge",
			    id, r->status, pe_refca_status_name(r->status));
	else if (rc != PE_OK)
		reply_internal(resp, &err);
	else
		reply_status(resp, "CertRequest", "CertRequestId", id, PE_REFCA_ST_INSTALLED, NULL);
out:
	pe_refca_req_free(r);
	cJSON_Delete(body);
}

/* Reads "123" or "123/rest" after certrequest/; *rest points after the digits. */
static bool
path_id(const char *s, long long *id, const char **rest)
{
	long long v = 0;
	int n = 0;

	while (isdigit((unsigned char)s[n]) && n < 18) {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || isdigit((unsigned char)s[n]) || v == 0)
		return false;
	*id = v;
	*rest = s + n;
	return true;
}

static bool
is(const struct pe_refca_http_req *req, const char *method)
{
	return strcmp(req->method, method) == 0;
}

/* Returns: whether @method is one of @allow ("GET, POST"). */
static bool
allowed(const char *allow, const char *method)
{
	size_t n = strlen(method);
	const char *p = allow;

	while (n > 0 && (p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

/* The calls that need a login, after API. */
static void
user_call(struct pe_refca *ca, const struct pe_refca_http_req *req, const char *rest,
	  struct pe_refca_http_resp *resp)
{
	enum { NONE, REG, PROFILE, TEMPLATES, SUBMIT, STATUS, RAWCERT } call = NONE;
	struct pe_refca_reg *reg = NULL;
	const char *allow = "GET", *tail;
	long long id = 0;

	if (strcmp(rest, "regrequest") == 0) {
		call = REG;
	} else if (strcmp(rest, "regrequest/profile") == 0) {
		call = PROFILE;
	} else if (strcmp(rest, "certtemplate") == 0) {
		call = TEMPLATES;
	} else if (strcmp(rest, "certrequest") == 0) {
		call = SUBMIT;
		allow = "POST";
	} else if (strncmp(rest, "certrequest/", 12) == 0 && path_id(rest + 12, &id, &tail)) {
		if (*tail == '\0') {
			call = STATUS;
			allow = "GET, POST";
		} else if (strcmp(tail, "/rawcert") == 0) {
			call = RAWCERT;
		}
	}
	if (call == NONE) {
		reply_error(resp, 404, "no such resource");
		return;
	}
	if (!allowed(allow, req->method)) {
		reply_method(resp, allow);
		return;
	}
	if (!authenticate(ca, req, resp, &reg))
		return;
	switch (call) {
	case REG:
		reply_status(resp, "RegRequest", "RegRequestId", reg->id, reg->status,
			     status_reason(reg->status, reg->reason));
		break;
	case PROFILE:
		profile_get(req, reg, resp);
		break;
	case TEMPLATES:
		templates_get(ca, resp);
		break;
	case SUBMIT:
		certrequest_new(ca, req, reg, resp);
		break;
	case STATUS:
		if (is(req, "POST"))
			certrequest_ack(ca, req, id, reg, resp);
		else
			certrequest_get(ca, id, reg, resp);
		break;
	case RAWCERT:
		rawcert_get(ca, id, reg, resp);
		break;
	case NONE:
		break;
	}
	pe_refca_reg_free(reg);
}

void
pe_refca_api_handle(struct pe_refca *ca, const struct pe_refca_http_req *req,
		    struct pe_refca_http_resp *resp)
{
	const char *path = req->path, *rest;
	size_t flen = strlen(ca->config->folder);

	memset(resp, 0, sizeof(*resp));
	if (req->body_too_big) {
		reply_error(resp, 413, "the body is larger than %d bytes", PE_REFCA_BODY_MAX);
		return;
	}
	if (strncmp(path, PE_REFCA_EST_PREFIX, strlen(PE_REFCA_EST_PREFIX)) == 0) {
		pe_refca_est_handle(ca, req, resp);
		return;
	}
	if (strcmp(path, "/ca/chain.pem") == 0) {
		if (!is(req, "GET"))
			reply_method(resp, "GET");
		else
			reply_bytes(resp, "application/x-pem-file", ca->ca_pem, strlen(ca->ca_pem));
		return;
	}
	if (strncmp(path, API, strlen(API)) != 0) {
		reply_error(resp, 404, "no such resource");
		return;
	}
	rest = path + strlen(API);
	if (strncasecmp(rest, ca->config->folder, flen) == 0 && rest[flen] == '/') {
		rest += flen + 1;
		if (strcmp(rest, "userattr") == 0) {
			if (!is(req, "GET"))
				reply_method(resp, "GET");
			else
				userattr(ca, resp);
		} else if (strcmp(rest, "regrequest") == 0) {
			if (!is(req, "POST"))
				reply_method(resp, "POST");
			else
				regrequest_new(ca, req, resp);
		} else {
			reply_error(resp, 404, "no such resource");
		}
		return;
	}
	user_call(ca, req, rest, resp);
}
