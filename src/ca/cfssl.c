/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CFSSL API connector (cfssl serve): the CA certificate from /info, and
 * requests signed at once by /sign, or by /authsign with the HMAC-SHA256 auth
 * key that the service keeps as its password. The login, when there is one,
 * names the CFSSL signing profile. CFSSL keeps no request: the certificate
 * comes in the answer, and asking again means signing the CSR again.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

#define API_PATH "/api/v1/cfssl"

/*
 * The request login_status() sends to check the key: a CSR block with
 * nothing in it, which CFSSL refuses once it has checked the key and the
 * profile, so that nothing is ever signed.
 */
#define PROBE_CSR "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"

/* The URL */

enum pe_code
pe_ca_cfssl_url(const char *url, const char *call, char **out, struct pe_err *err)
{
	static const char shape[] = "http(s)://HOST[:PORT][/PATH]";
	const char *host, *p;
	size_t len, api_len = sizeof(API_PATH) - 1;
	int n;

	if (url == NULL)
		return pe_err_set(err, PE_E_USAGE, "no service URL");
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' is not a CFSSL service URL (%s): it is not https", url,
				  shape);
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '?' || *p == '#')
			return pe_err_set(err, PE_E_USAGE,
					  "'%s' is not a CFSSL service URL (%s): it holds a space, "
					  "a query, a fragment or a character that needs escaping",
					  url, shape);
	}
	len = strcspn(host, "/");
	if (len == 0 || host[0] == ':')
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' is not a CFSSL service URL (%s): it names no host", url,
				  shape);
	if (memchr(host, '@', len) != NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' is not a CFSSL service URL (%s): credentials do not "
				  "belong in the URL (the auth key is the password)",
				  url, shape);
	/* the server's base, or its API path: both name the same calls */
	len = strlen(url);
	while (len > (size_t)(host - url) && url[len - 1] == '/')
		len--;
	if (len >= api_len && strncmp(url + len - api_len, API_PATH, api_len) == 0)
		len -= api_len;
	n = asprintf(out, "%.*s%s/%s", (int)len, url, API_PATH, call);
	if (n < 0) {
		*out = NULL;
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

/* The auth key */

static bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum pe_code
pe_ca_cfssl_key(const struct pe_secret *password, struct pe_secret **key, struct pe_err *err)
{
	unsigned char bytes[PE_CA_CFSSL_KEY_MAX];
	char hex[2 * PE_CA_CFSSL_KEY_MAX + 1];
	const unsigned char *start;
	size_t len;
	enum pe_code rc = PE_OK;
	long n = -1;

	*key = NULL;
	if (password == NULL || password->len == 0)
		return PE_OK;
	/* blanks around it, as a file or a copy and paste leaves them, are not the key */
	start = password->data;
	len = password->len;
	while (len > 0 && is_blank(start[0])) {
		start++;
		len--;
	}
	while (len > 0 && is_blank(start[len - 1]))
		len--;
	if (len > 0 && len < sizeof(hex) && memchr(start, '\0', len) == NULL) {
		memcpy(hex, start, len);
		hex[len] = '\0';
		n = pe_hex_decode(hex, bytes, sizeof(bytes));
	}
	if (n <= 0 || (size_t)n * 2 > len)
		rc = pe_err_set(err, PE_E_USAGE,
				"the service's password is not a CFSSL auth key: give the key "
				"of the profile's auth_key as the CA's configuration holds it "
				"(hex, at most %d bytes)",
				PE_CA_CFSSL_KEY_MAX);
	if (rc == PE_OK) {
		*key = pe_secret_new(bytes, (size_t)n);
		if (*key == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	OPENSSL_cleanse(bytes, sizeof(bytes));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

/* The requests */

/* Returns: newly allocated PEM of the DER request @csr (free()), NULL on OOM. */
static char *
csr_pem(const unsigned char *csr, size_t len)
{
	static const char head[] = "-----BEGIN CERTIFICATE REQUEST-----\n";
	static const char tail[] = "-----END CERTIFICATE REQUEST-----\n";
	char *b64, *pem;
	size_t b64_len;

	b64 = pe_base64_encode(csr, len, 64);
	if (b64 == NULL)
		return NULL;
	b64_len = strlen(b64);
	pem = malloc(sizeof(head) - 1 + b64_len + sizeof(tail));
	if (pem != NULL) {
		memcpy(pem, head, sizeof(head) - 1);
		memcpy(pem + sizeof(head) - 1, b64, b64_len);
		memcpy(pem + sizeof(head) - 1 + b64_len, tail, sizeof(tail));
	}
	free(b64);
	return pem;
}

/* Builds {"certificate_request":@pem[,"profile":@profile]} into *out (cJSON_free()). */
static enum pe_code
sign_request(const char *pem, const char *profile, char **out, struct pe_err *err)
{
	cJSON *root = cJSON_CreateObject();

	*out = NULL;
	if (root != NULL && cJSON_AddStringToObject(root, "certificate_request", pem) != NULL &&
	    (profile == NULL || cJSON_AddStringToObject(root, "profile", profile) != NULL))
		*out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

/*
 * Wraps @inner for /authsign: {"token":base64(HMAC-SHA256(@key, @inner)),
 * "request":base64(@inner)}, into *out (cJSON_free()).
 */
static enum pe_code
authenticated_request(const char *inner, const struct pe_secret *key, char **out,
		      struct pe_err *err)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char *token = NULL, *request = NULL;
	cJSON *root = NULL;

	*out = NULL;
	if (key->len > PE_CA_CFSSL_KEY_MAX ||
	    HMAC(EVP_sha256(), key->data, (int)key->len, (const unsigned char *)inner,
		 strlen(inner), mac, &mac_len) == NULL)
		return pe_err_set(err, PE_E_CRYPTO, "cannot compute the HMAC of the request");
	token = pe_base64_encode(mac, mac_len, 0);
	request = pe_base64_encode((const unsigned char *)inner, strlen(inner), 0);
	root = cJSON_CreateObject();
	if (token != NULL && request != NULL && root != NULL &&
	    cJSON_AddStringToObject(root, "token", token) != NULL &&
	    cJSON_AddStringToObject(root, "request", request) != NULL)
		*out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	free(token);
	free(request);
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

enum pe_code
pe_ca_cfssl_sign_body(const unsigned char *csr, size_t csr_len, const char *profile,
		      const struct pe_secret *key, char **out, struct pe_err *err)
{
	char *pem = NULL, *inner = NULL;
	enum pe_code rc;

	*out = NULL;
	if (csr != NULL) {
		pem = csr_pem(csr, csr_len);
		if (pem == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	rc = sign_request(pem != NULL ? pem : PROBE_CSR, profile, &inner, err);
	if (rc == PE_OK && key != NULL) {
		rc = authenticated_request(inner, key, out, err);
		cJSON_free(inner);
		inner = NULL;
	}
	if (rc == PE_OK && key == NULL) {
		*out = inner;
		inner = NULL;
	}
	cJSON_free(inner);
	free(pem);
	return rc;
}

/* The answers */

static enum pe_code malformed(struct pe_err *err, const char *call, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum pe_code
malformed(struct pe_err *err, const char *call, const char *fmt, ...)
{
	char what[PE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pe_err_set(err, PE_E_NET, "the CA answered garbage to %s: %s", call, what);
}

/* Returns: the length of the UTF-8 sequence at @s (at most @len bytes), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	unsigned long cp;
	size_t n, k;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls (U+0080 to U+009F) steer some terminals as much as ESC does */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return n;
}

/*
 * Copies @s for people to read: at most PE_CA_CFSSL_MAX_TEXT bytes, control
 * characters and bytes that are not UTF-8 replaced, so that nothing from the
 * CA steers a terminal.
 */
static char *
text_copy(const char *s)
{
	size_t len = strnlen(s, PE_CA_CFSSL_MAX_TEXT), i = 0, n;
	unsigned char *copy = (unsigned char *)strndup(s, len);

	while (copy != NULL && i < len) {
		n = utf8_len(copy + i, len - i);
		if (n == 0 || (n == 1 && (copy[i] < 0x20 || copy[i] == 0x7f))) {
			copy[i] = copy[i] < 0x80 ? ' ' : '?';
			n = 1;
		}
		i += n;
	}
	return (char *)copy;
}

void
pe_ca_cfssl_answer_cleanup(struct pe_ca_cfssl_answer *answer)
{
	if (answer == NULL)
		return;
	free(answer->message);
	free(answer->certificate);
	memset(answer, 0, sizeof(*answer));
}

/* Reads errors[]: the first one's code and message, and how many more there are. */
static enum pe_code
parse_errors(const cJSON *errors, const char *call, struct pe_ca_cfssl_answer *out,
	     struct pe_err *err)
{
	const cJSON *e, *code, *message;
	char *text;
	size_t i = 0;
	int more = 0;

	if (errors == NULL || cJSON_IsNull(errors))
		return PE_OK;
	if (!cJSON_IsArray(errors))
		return malformed(err, call, "'errors' is not an array");
	cJSON_ArrayForEach(e, errors)
	{
		if (!cJSON_IsObject(e))
			return malformed(err, call, "errors[%zu] is not an object", i);
		code = cJSON_GetObjectItem(e, "code");
		message = cJSON_GetObjectItem(e, "message");
		if (code != NULL && !cJSON_IsNull(code) && !cJSON_IsNumber(code))
			return malformed(err, call, "errors[%zu].code is not a number", i);
		if (message != NULL && !cJSON_IsNull(message) && !cJSON_IsString(message))
			return malformed(err, call, "errors[%zu].message is not a string", i);
		if (i == 0) {
			if (cJSON_IsNumber(code) && code->valuedouble >= -1e9 &&
			    code->valuedouble <= 1e9)
				out->code = (long)code->valuedouble;
			text = text_copy(cJSON_IsString(message) ? message->valuestring
								 : "no message");
			if (text == NULL)
				return pe_err_set(err, PE_E_FAIL, "out of memory");
			out->message = text;
		} else {
			more++;
		}
		i++;
	}
	out->more_errors = more;
	return PE_OK;
}

enum pe_code
pe_ca_cfssl_answer_parse(const char *body, size_t len, const char *call,
			 struct pe_ca_cfssl_answer *out, struct pe_err *err)
{
	const cJSON *success, *result, *cert;
	const char *end = NULL;
	enum pe_code rc = PE_OK;
	cJSON *root;

	memset(out, 0, sizeof(*out));
	if (body == NULL || len == 0)
		return malformed(err, call, "the answer is empty");
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (root == NULL) {
		if (end != NULL && end >= body && end <= body + len)
			return malformed(err, call, "not JSON (error near byte %zu of %zu)",
					 (size_t)(end - body), len);
		return malformed(err, call, "not JSON");
	}
	if (!cJSON_IsObject(root)) {
		rc = malformed(err, call, "not a JSON object");
		goto out;
	}
	success = cJSON_GetObjectItem(root, "success");
	if (!cJSON_IsBool(success)) {
		rc = malformed(err, call, "no 'success' true or false");
		goto out;
	}
	out->success = cJSON_IsTrue(success);
	rc = parse_errors(cJSON_GetObjectItem(root, "errors"), call, out, err);
	if (rc != PE_OK)
		goto out;
	result = cJSON_GetObjectItem(root, "result");
	if (result != NULL && !cJSON_IsNull(result) && !cJSON_IsObject(result)) {
		/* some calls answer a string or a list; only ours matter here */
		result = NULL;
	}
	cert = result != NULL ? cJSON_GetObjectItem(result, "certificate") : NULL;
	if (cert != NULL && !cJSON_IsNull(cert)) {
		if (!cJSON_IsString(cert)) {
			rc = malformed(err, call, "result.certificate is not a string");
			goto out;
		}
		out->certificate = strdup(cert->valuestring);
		if (out->certificate == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
out:
	if (rc != PE_OK)
		pe_ca_cfssl_answer_cleanup(out);
	cJSON_Delete(root);
	return rc;
}

/* What CFSSL says when the key or the profile does not fit, and what to do about it. */
static const struct auth_problem {
	const char *message; /* CFSSL's, exactly */
	const char *what;
	const char *hint;
} auth_problems[] = {
	{ "invalid token", "the CA refused the auth key",
	  "give the service the key the CA's configuration holds for the profile (hex)" },
	{ "authentication required", "the CA's profile requires an auth key",
	  "add the service with --password-source giving it" },
	{ "no authentication provider", "the CA's profile takes no auth key",
	  "without a key only the CA's default profile is used: add the service with "
	  "neither --login nor --password-source" },
};

/* Returns: the problem CFSSL's @message names, or NULL when it is something else. */
static const struct auth_problem *
auth_problem(const char *message)
{
	size_t i;

	for (i = 0; message != NULL && i < sizeof(auth_problems) / sizeof(auth_problems[0]); i++) {
		if (strcmp(message, auth_problems[i].message) == 0)
			return &auth_problems[i];
	}
	return NULL;
}

/* "MESSAGE (CFSSL error CODE[, N more])", for people. */
static void
reason_text(const struct pe_ca_cfssl_answer *a, char *out, size_t size)
{
	char more[32] = "";

	if (a->more_errors > 0)
		snprintf(more, sizeof(more), ", %d more", a->more_errors);
	snprintf(out, size, "%s (CFSSL error %ld%s)",
		 a->message != NULL ? a->message : "no reason given", a->code, more);
}

/*
 * What a failed answer means: 5xx or no reason PE_E_NET, a key or profile that
 * does not fit PE_E_USAGE, any other reason PE_E_CA (@what refused).
 */
static enum pe_code
refusal(long http_status, const struct pe_ca_cfssl_answer *a, const char *call, const char *what,
	struct pe_err *err)
{
	char reason[PE_CA_CFSSL_MAX_TEXT + 64];
	const struct auth_problem *auth = auth_problem(a->message);

	reason_text(a, reason, sizeof(reason));
	if (http_status >= 500 || (http_status >= 200 && http_status < 300 && a->message == NULL))
		return pe_err_set(err, PE_E_NET, "the CA failed to answer %s (HTTP %ld): %s", call,
				  http_status, reason);
	if (a->message == NULL)
		return malformed(err, call, "HTTP %ld without a reason", http_status);
	if (auth != NULL)
		return pe_err_set(err, PE_E_USAGE, "%s (HTTP %ld, CFSSL: %s): %s", auth->what,
				  http_status, auth->message, auth->hint);
	return pe_err_set(err, PE_E_CA, "the CA refused %s: %s", what, reason);
}

static enum pe_code
not_found(long http_status, const char *call, struct pe_err *err)
{
	return pe_err_set(err, PE_E_USAGE,
			  "no such call there (HTTP %ld, for %s): is the URL that of a CFSSL "
			  "server (cfssl serve) that signs?",
			  http_status, call);
}

/*
 * Parses the answer of one call and maps every answer but a success.
 * Returns: PE_OK with @a filled for a 2xx success, else the failure.
 */
static enum pe_code
answer_read(long http_status, const char *body, size_t len, const char *call, const char *what,
	    struct pe_ca_cfssl_answer *a, struct pe_err *err)
{
	enum pe_code rc;

	if (http_status == 404 || http_status == 405)
		return not_found(http_status, call, err);
	rc = pe_ca_cfssl_answer_parse(body, len, call, a, err);
	if (rc != PE_OK) {
		/* a proxy's page for a server that is down is a connection problem too */
		if (rc == PE_E_NET && (http_status < 200 || http_status >= 300))
			pe_err_prefix(err, "HTTP %ld", http_status);
		return rc;
	}
	if (a->success && http_status >= 200 && http_status < 300)
		return PE_OK;
	if (a->success)
		rc = malformed(err, call, "HTTP %ld with success true", http_status);
	else
		rc = refusal(http_status, a, call, what, err);
	pe_ca_cfssl_answer_cleanup(a);
	return rc;
}

enum pe_code
pe_ca_cfssl_sign_result(long http_status, const char *body, size_t len, struct pe_ca_status *status,
			struct pe_err *err)
{
	static const char call[] = "the sign request";
	struct pe_ca_cfssl_answer a;
	struct pe_cert *cert = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	enum pe_code rc;

	rc = answer_read(http_status, body, len, call, "the request", &a, err);
	if (rc != PE_OK)
		return rc;
	if (a.certificate == NULL) {
		rc = malformed(err, call, "the result holds no certificate");
		goto out;
	}
	rc = pe_ca_cert_parse((const unsigned char *)a.certificate, strlen(a.certificate), &der,
			      &der_len, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "the CA answered garbage to %s", call);
		goto out;
	}
	rc = pe_cert_from_der(der, der_len, &cert, err);
	if (rc != PE_OK) {
		/* pe_ca_cert_parse() took it: only what else it needs is missing */
		rc = malformed(err, call, "the certificate cannot be read");
		goto out;
	}
	pe_ca_status_cleanup(status);
	status->id = strdup(pe_cert_serial_hex(cert));
	status->raw = strdup("signed");
	if (status->id == NULL || status->raw == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	status->cert = der;
	status->cert_len = der_len;
	der = NULL;
out:
	pe_cert_free(cert);
	free(der);
	pe_ca_cfssl_answer_cleanup(&a);
	return rc;
}

enum pe_code
pe_ca_cfssl_info_result(long http_status, const char *body, size_t len, unsigned char ***certs,
			size_t **lens, size_t *n, struct pe_err *err)
{
	static const char call[] = "the info request";
	struct pe_ca_cfssl_answer a;
	enum pe_code rc;

	rc = answer_read(http_status, body, len, call, "the info request", &a, err);
	if (rc != PE_OK)
		return rc;
	if (a.certificate == NULL)
		rc = malformed(err, call, "the result holds no certificate");
	else
		rc = pe_ca_pem_chain_parse(a.certificate, strlen(a.certificate), certs, lens, n,
					   err);
	if (rc != PE_OK && err->code == PE_E_NET && a.certificate != NULL)
		pe_err_prefix(err, "the CA answered garbage to %s", call);
	pe_ca_cfssl_answer_cleanup(&a);
	return rc;
}

enum pe_code
pe_ca_cfssl_probe_result(long http_status, const char *body, size_t len,
			 enum pe_ca_login_state *state, struct pe_err *err)
{
	static const char call[] = "the key check";
	const struct auth_problem *auth;
	struct pe_ca_cfssl_answer a;
	enum pe_code rc;

	if (http_status == 404 || http_status == 405)
		return not_found(http_status, call, err);
	rc = pe_ca_cfssl_answer_parse(body, len, call, &a, err);
	if (rc != PE_OK)
		return rc;
	if (http_status >= 500) {
		rc = refusal(http_status, &a, call, call, err);
		goto out;
	}
	auth = auth_problem(a.message);
	if (a.success) {
		/* nothing to sign was sent: a CA that signs it anyway takes any key */
		*state = PE_CA_LOGIN_READY;
	} else if (a.message == NULL) {
		rc = malformed(err, call, "HTTP %ld without a reason", http_status);
	} else if (auth != NULL) {
		*state = PE_CA_LOGIN_REFUSED;
		pe_err_set(err, PE_OK, "%s (CFSSL: %s): %s", auth->what, auth->message, auth->hint);
	} else if ((a.code >= 9000 && a.code < 10000) ||
		   strstr(a.message, "certificate_request") != NULL) {
		/* the key and the profile passed; the empty request did not, as meant */
		*state = PE_CA_LOGIN_READY;
	} else {
		char reason[PE_CA_CFSSL_MAX_TEXT + 64];

		reason_text(&a, reason, sizeof(reason));
		*state = PE_CA_LOGIN_REFUSED;
		pe_err_set(err, PE_OK, "the CA refused the check of the key and profile: %s",
			   reason);
	}
out:
	pe_ca_cfssl_answer_cleanup(&a);
	return rc;
}

/* The calls */

/* Returns: whether the service signs with an auth key (a password that is not empty). */
static bool
keyed(const struct pe_ca_conn *conn)
{
	return conn->password != NULL && conn->password->len > 0;
}

/* POSTs @body to @call; the answer in @res whatever its status. */
static enum pe_code
post(struct pe_ca_conn *conn, const char *call, const char *body, char **url,
     struct pe_http_response *res, struct pe_err *err)
{
	enum pe_code rc;

	pe_return_val_if_fail(conn != NULL && conn->http != NULL, PE_E_FAIL);
	rc = pe_ca_cfssl_url(conn->url, call, url, err);
	if (rc != PE_OK)
		return rc;
	/* the 2016 snapshot in Debian answers /info to POST only, like the rest */
	rc = pe_http_request(conn->http, "POST", *url, NULL, NULL, "application/json", body,
			     strlen(body), res, err);
	if (rc == PE_OK)
		pe_msg_debug("POST %s: HTTP %ld", *url, res->status);
	return rc;
}

/* Sends the request (or, with no CSR, the key check) to sign or authsign. */
static enum pe_code
sign_call(struct pe_ca_conn *conn, const unsigned char *csr, size_t csr_len, char **url,
	  struct pe_http_response *res, struct pe_err *err)
{
	struct pe_secret *key = NULL;
	char *body = NULL;
	enum pe_code rc;

	rc = pe_ca_cfssl_key(conn->password, &key, err);
	if (rc == PE_OK)
		rc = pe_ca_cfssl_sign_body(csr, csr_len, conn->login, key, &body, err);
	if (rc == PE_OK)
		rc = post(conn, keyed(conn) ? "authsign" : "sign", body, url, res, err);
	cJSON_free(body);
	pe_secret_free(key);
	return rc;
}

static enum pe_code
cfssl_roots(struct pe_ca_conn *conn, unsigned char ***certs, size_t **lens, size_t *n,
	    struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	rc = post(conn, "info", "{}", &url, &res, err);
	if (rc == PE_OK) {
		rc = pe_ca_cfssl_info_result(res.status, (const char *)res.body, res.body_len,
					     certs, lens, n, err);
		if (rc != PE_OK)
			pe_err_prefix(err, "POST %s", url);
	}
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

/*
 * CFSSL has no login to ask about: the key and the profile are checked by
 * sending the signer a request with an empty CSR, which it refuses after
 * checking them (an auth key that does not fit, a profile that needs one or
 * takes none). Nothing is signed; the CA's log shows one refused request.
 */
static enum pe_code
cfssl_login_status(struct pe_ca_conn *conn, enum pe_ca_login_state *state, struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	rc = sign_call(conn, NULL, 0, &url, &res, err);
	if (rc == PE_OK) {
		rc = pe_ca_cfssl_probe_result(res.status, (const char *)res.body, res.body_len,
					      state, err);
		if (rc != PE_OK)
			pe_err_prefix(err, "POST %s", url);
	}
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

static enum pe_code
cfssl_submit(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	     struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(req != NULL && req->csr != NULL && req->csr_len > 0 && status != NULL,
			      PE_E_FAIL);
	rc = sign_call(conn, req->csr, req->csr_len, &url, &res, err);
	if (rc == PE_OK) {
		rc = pe_ca_cfssl_sign_result(res.status, (const char *)res.body, res.body_len,
					     status, err);
		if (rc == PE_E_NET || rc == PE_E_USAGE)
			pe_err_prefix(err, "POST %s", url);
		if (rc == PE_E_CA) {
			pe_ca_status_cleanup(status);
			status->reason = strdup(err->msg);
			if (status->reason == NULL)
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		}
	}
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

const struct pe_ca_ops pe_ca_cfssl_ops = {
	.name = "cfssl",
	.login_required = false,
	.roots = cfssl_roots,
	.login_status = cfssl_login_status,
	.submit = cfssl_submit,
	/* CFSSL keeps no request: asking again is signing the same request again */
	.poll = cfssl_submit,
};
