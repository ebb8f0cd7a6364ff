/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the cfssl connector: the URL of a call, the auth key, the
 * sign request and its HMAC, and the answers fed from tests/data/cfssl (real
 * answers of cfssl serve, and hostile ones); and http.c's rule that plain
 * http goes to a loopback host only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <setjmp.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

/* Helpers */

/* Returns: the bytes of tests/data/cfssl/@name, in a block of exactly *len bytes (no NUL). */
static char *
read_data(const char *name, size_t *len)
{
	const char *dir = getenv("TEST_DATA");
	char path[4096];
	char *data;
	FILE *f;
	long size;

	if (dir == NULL || dir[0] == '\0')
		dir = "tests/data";
	snprintf(path, sizeof(path), "%s/cfssl/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open '%s' (set TEST_DATA)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	/* exactly the file's size, so that ASan sees a parser reading past the end */
	data = malloc(size > 0 ? (size_t)size : 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return data;
}

static void
assert_msg_contains(const struct pe_err *err, const char *text)
{
	if (strstr(err->msg, text) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, text);
}

/* Returns: a loopback port nothing listens on (bound, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* The sign call's answer in file @name, with HTTP status @http. */
static enum pe_code
sign_file(const char *name, long http, struct pe_ca_status *status, struct pe_err *err)
{
	enum pe_code rc;
	size_t len;
	char *body = read_data(name, &len);

	rc = pe_ca_cfssl_sign_result(http, body, len, status, err);
	free(body);
	return rc;
}

static enum pe_code
probe_file(const char *name, long http, enum pe_ca_login_state *state, struct pe_err *err)
{
	enum pe_code rc;
	size_t len;
	char *body = read_data(name, &len);

	rc = pe_ca_cfssl_probe_result(http, body, len, state, err);
	free(body);
	return rc;
}

/* The table */

static void
test_pe_ca_find_cfssl(void **state)
{
	const struct pe_ca_ops *ops = pe_ca_find("cfssl");

	(void)state;
	assert_non_null(ops);
	assert_string_equal(ops->name, "cfssl");
	assert_false(ops->login_required);
	assert_false(ops->needs_key);
	assert_non_null(ops->roots);
	assert_non_null(ops->login_status);
	assert_non_null(ops->submit);
	assert_non_null(ops->poll);
	/* the certificate comes in the answer, and there is nothing to confirm */
	assert_null(ops->fetch);
	assert_null(ops->ack);
	assert_null(ops->templates);
	assert_null(ops->form);
	assert_null(ops->enroll_user);
	assert_null(ops->profile);
	assert_non_null(strstr(pe_ca_protocols(), "cfssl"));
}

/* The URL */

static void
test_pe_ca_cfssl_url_good(void **state)
{
	static const struct {
		const char *url, *call, *want;
	} cases[] = {
		{ "http://127.0.0.1:8888", "info", "http://127.0.0.1:8888/api/v1/cfssl/info" },
		{ "http://127.0.0.1:8888/", "sign", "http://127.0.0.1:8888/api/v1/cfssl/sign" },
		{ "https://ca.example/api/v1/cfssl", "authsign",
		  "https://ca.example/api/v1/cfssl/authsign" },
		{ "https://ca.example/api/v1/cfssl//", "info",
		  "https://ca.example/api/v1/cfssl/info" },
		{ "HTTPS://ca.example:8443/pki", "info",
		  "HTTPS://ca.example:8443/pki/api/v1/cfssl/info" },
		{ "https://[::1]:8888", "sign", "https://[::1]:8888/api/v1/cfssl/sign" },
	};
	struct pe_err err = { 0 };
	char *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pe_ca_cfssl_url(cases[i].url, cases[i].call, &out, &err), PE_OK);
		assert_string_equal(out, cases[i].want);
		free(out);
	}
}

static void
test_pe_ca_cfssl_url_bad(void **state)
{
	static const struct {
		const char *url, *text;
	} cases[] = {
		{ "ftp://ca.example", "not https" },
		{ "ca.example:8888", "not https" },
		{ "", "not https" },
		{ "http://", "names no host" },
		{ "http:///api/v1/cfssl", "names no host" },
		{ "http://:8888/", "names no host" },
		{ "https://user:pw@ca.example", "credentials" },
		{ "https://ca.example/?x=1", "query" },
		{ "https://ca.example/#top", "fragment" },
		{ "https://ca.example/a b", "space" },
	};
	struct pe_err err = { 0 };
	char *out = NULL;
	size_t i;

	(void)state;
	assert_int_equal(pe_ca_cfssl_url(NULL, "info", &out, &err), PE_E_USAGE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = NULL;
		assert_int_equal(pe_ca_cfssl_url(cases[i].url, "info", &out, &err), PE_E_USAGE);
		assert_null(out);
		assert_msg_contains(&err, cases[i].text);
	}
}

/* The auth key */

static void
test_pe_ca_cfssl_key_cases(void **state)
{
	static const char *const bad[] = { "not hex", "0123456789abcdeg", "abc" };
	struct pe_secret *pw, *key = NULL;
	struct pe_err err = { 0 };
	char long_hex[2 * PE_CA_CFSSL_KEY_MAX + 3];
	size_t i;

	(void)state;
	/* no password, or an empty one: no key */
	assert_int_equal(pe_ca_cfssl_key(NULL, &key, &err), PE_OK);
	assert_null(key);
	pw = pe_secret_new("", 0);
	assert_int_equal(pe_ca_cfssl_key(pw, &key, &err), PE_OK);
	assert_null(key);
	pe_secret_free(pw);

	pw = pe_secret_new("0123456789ABCDEF", 16);
	assert_int_equal(pe_ca_cfssl_key(pw, &key, &err), PE_OK);
	assert_non_null(key);
	assert_int_equal(key->len, 8);
	assert_memory_equal(key->data, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	pe_secret_free(key);
	pe_secret_free(pw);

	/* blanks around the key are not part of it */
	pw = pe_secret_new(" \t0a0b\r\n", 8);
	assert_int_equal(pe_ca_cfssl_key(pw, &key, &err), PE_OK);
	assert_int_equal(key->len, 2);
	assert_memory_equal(key->data, "\x0a\x0b", 2);
	pe_secret_free(key);
	pe_secret_free(pw);
	pw = pe_secret_new(" \n", 2);
	assert_int_equal(pe_ca_cfssl_key(pw, &key, &err), PE_E_USAGE);
	pe_secret_free(pw);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pw = pe_secret_new(bad[i], strlen(bad[i]));
		key = NULL;
		assert_int_equal(pe_ca_cfssl_key(pw, &key, &err), PE_E_USAGE);
		assert_null(key);
		assert_msg_contains(&err, "not a CFSSL auth key");
		/* the password itself is never in the message */
		assert_null(strstr(err.msg, bad[i]));
		pe_secret_free(pw);
	}
	memset(long_hex, 'a', sizeof(long_hex) - 1);
	long_hex[sizeof(long_hex) - 1] = '\0';
	pw = pe_secret_new(long_hex, strlen(long_hex) - 1);
	assert_int_equal(pe_ca_cfssl_key(pw, &key, &err), PE_E_USAGE);
	pe_secret_free(pw);
}

/* The sign request */

/* The DER of the request in @body's certificate_request (PEM). */
static void
assert_csr_in(const cJSON *inner, const unsigned char *csr, size_t csr_len)
{
	const cJSON *pem = cJSON_GetObjectItem(inner, "certificate_request");
	const char *p;
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct pe_err err = { 0 };
	char *b64;

	assert_true(cJSON_IsString(pem));
	p = pem->valuestring;
	assert_int_equal(strncmp(p, "-----BEGIN CERTIFICATE REQUEST-----\n", 36), 0);
	assert_non_null(strstr(p, "\n-----END CERTIFICATE REQUEST-----\n"));
	b64 = strndup(p + 36, (size_t)(strstr(p, "-----END") - (p + 36)));
	assert_non_null(b64);
	assert_int_equal(pe_base64_decode(b64, strlen(b64), &der, &der_len, &err), PE_OK);
	assert_int_equal(der_len, csr_len);
	assert_memory_equal(der, csr, csr_len);
	free(der);
	free(b64);
}

static void
test_pe_ca_cfssl_sign_body_plain(void **state)
{
	unsigned char csr[200];
	struct pe_err err = { 0 };
	char *body = NULL;
	cJSON *json;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(csr); i++)
		csr[i] = (unsigned char)(i * 7);
	assert_int_equal(pe_ca_cfssl_sign_body(csr, sizeof(csr), "client", NULL, &body, &err),
			 PE_OK);
	json = cJSON_Parse(body);
	assert_non_null(json);
	assert_csr_in(json, csr, sizeof(csr));
	assert_string_equal(cJSON_GetObjectItem(json, "profile")->valuestring, "client");
	cJSON_Delete(json);
	cJSON_free(body);

	/* no profile: CFSSL's default one */
	assert_int_equal(pe_ca_cfssl_sign_body(csr, 10, NULL, NULL, &body, &err), PE_OK);
	json = cJSON_Parse(body);
	assert_non_null(json);
	assert_null(cJSON_GetObjectItem(json, "profile"));
	assert_csr_in(json, csr, 10);
	cJSON_Delete(json);
	cJSON_free(body);

	/* the key check: a request block with nothing in it */
	assert_int_equal(pe_ca_cfssl_sign_body(NULL, 0, NULL, NULL, &body, &err), PE_OK);
	json = cJSON_Parse(body);
	assert_non_null(json);
	assert_string_equal(cJSON_GetObjectItem(json, "certificate_request")->valuestring,
			    "-----BEGIN CERTIFICATE REQUEST-----\n"
			    "-----END CERTIFICATE REQUEST-----\n");
	cJSON_Delete(json);
	cJSON_free(body);
}

static void
test_pe_ca_cfssl_sign_body_hmac(void **state)
{
	static const unsigned char key_bytes[] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
						   0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	unsigned char csr[64], mac[EVP_MAX_MD_SIZE], *inner = NULL, *token = NULL;
	size_t mac_len = 0, inner_len = 0, token_len = 0;
	struct pe_secret *key = pe_secret_new(key_bytes, sizeof(key_bytes));
	struct pe_err err = { 0 };
	char *body = NULL, *copy;
	cJSON *json, *in;

	(void)state;
	memset(csr, 0x30, sizeof(csr));
	assert_int_equal(pe_ca_cfssl_sign_body(csr, sizeof(csr), "client", key, &body, &err),
			 PE_OK);
	json = cJSON_Parse(body);
	assert_non_null(json);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(json, "token")));
	assert_true(cJSON_IsString(cJSON_GetObjectItem(json, "request")));
	assert_int_equal(cJSON_GetArraySize(json), 2);
	copy = cJSON_GetObjectItem(json, "request")->valuestring;
	assert_int_equal(pe_base64_decode(copy, strlen(copy), &inner, &inner_len, &err), PE_OK);
	copy = cJSON_GetObjectItem(json, "token")->valuestring;
	assert_int_equal(pe_base64_decode(copy, strlen(copy), &token, &token_len, &err), PE_OK);

	/* the token is HMAC-SHA256 over the exact bytes of the request, with the key's bytes */
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key_bytes, sizeof(key_bytes),
				  inner, inner_len, mac, sizeof(mac), &mac_len));
	assert_int_equal(token_len, 32);
	assert_int_equal(mac_len, 32);
	assert_memory_equal(token, mac, 32);

	in = cJSON_ParseWithLength((const char *)inner, inner_len);
	assert_non_null(in);
	assert_csr_in(in, csr, sizeof(csr));
	assert_string_equal(cJSON_GetObjectItem(in, "profile")->valuestring, "client");
	cJSON_Delete(in);
	cJSON_Delete(json);
	cJSON_free(body);
	free(inner);
	free(token);
	pe_secret_free(key);
}

/* The answers */

static void
test_pe_ca_cfssl_answer_parse_good(void **state)
{
	struct pe_ca_cfssl_answer a;
	struct pe_err err = { 0 };
	size_t len;
	char *body;

	(void)state;
	body = read_data("sign-good.json", &len);
	assert_int_equal(pe_ca_cfssl_answer_parse(body, len, "x", &a, &err), PE_OK);
	assert_true(a.success);
	assert_null(a.message);
	assert_non_null(a.certificate);
	assert_int_equal(strncmp(a.certificate, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	pe_ca_cfssl_answer_cleanup(&a);
	pe_ca_cfssl_answer_cleanup(&a);
	pe_ca_cfssl_answer_cleanup(NULL);
	free(body);

	body = read_data("refused-two.json", &len);
	assert_int_equal(pe_ca_cfssl_answer_parse(body, len, "x", &a, &err), PE_OK);
	assert_false(a.success);
	assert_int_equal(a.code, 1000);
	assert_string_equal(a.message, "Unknown certificate error");
	assert_int_equal(a.more_errors, 1);
	assert_null(a.certificate);
	pe_ca_cfssl_answer_cleanup(&a);
	free(body);

	/* control characters from the CA never reach a terminal */
	body = read_data("refused-control.json", &len);
	assert_int_equal(pe_ca_cfssl_answer_parse(body, len, "x", &a, &err), PE_OK);
	assert_string_equal(a.message, "Failed to sign:  [31mred ");
	pe_ca_cfssl_answer_cleanup(&a);
	free(body);

	/* nor do C1 controls and bytes that are not UTF-8; UTF-8 text stays */
	body = read_data("refused-not-utf8.json", &len);
	assert_int_equal(pe_ca_cfssl_answer_parse(body, len, "x", &a, &err), PE_OK);
	assert_string_equal(a.message, "bad ??31m ?? caf\xc3\xa9 ??");
	pe_ca_cfssl_answer_cleanup(&a);
	free(body);
}

static void
test_pe_ca_cfssl_answer_parse_hostile(void **state)
{
	static const struct {
		const char *file, *text;
	} cases[] = {
		{ "empty.json", "the answer is empty" },
		{ "sign-truncated.json", "not JSON" },
		{ "bad-gateway.html", "not JSON" },
		{ "not-object.json", "not a JSON object" },
		{ "no-success.json", "no 'success'" },
		{ "success-string.json", "no 'success'" },
		{ "errors-not-array.json", "'errors' is not an array" },
		{ "errors-element-string.json", "errors[0] is not an object" },
		{ "errors-code-string.json", "errors[0].code is not a number" },
		{ "sign-cert-number.json", "result.certificate is not a string" },
	};
	struct pe_ca_cfssl_answer a;
	struct pe_err err = { 0 };
	size_t i, len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		assert_int_equal(pe_ca_cfssl_answer_parse(body, len, "the sign request", &a, &err),
				 PE_E_NET);
		assert_msg_contains(&err, "the CA answered garbage to the sign request");
		assert_msg_contains(&err, cases[i].text);
		assert_null(a.message);
		assert_null(a.certificate);
		free(body);
	}
}

static void
test_pe_ca_cfssl_sign_result_issued(void **state)
{
	struct pe_ca_status st;
	struct pe_err err = { 0 };
	const unsigned char *p;
	X509 *x;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.reason = strdup("replaced");
	assert_int_equal(sign_file("sign-good.json", 200, &st, &err), PE_OK);
	assert_non_null(st.cert);
	p = st.cert;
	x = d2i_X509(NULL, &p, (long)st.cert_len);
	assert_non_null(x);
	assert_ptr_equal(p, st.cert + st.cert_len);
	X509_free(x);
	/* the certificate's serial names it: CFSSL has no request id */
	assert_string_equal(st.id, "5df1adb77258f4f698e77f94cbdcf1ff359a52f9");
	assert_string_equal(st.raw, "signed");
	assert_null(st.reason);
	pe_ca_status_cleanup(&st);
}

static void
test_pe_ca_cfssl_sign_result_refused(void **state)
{
	static const struct {
		const char *file;
		long http;
		enum pe_code rc;
		const char *text;
	} cases[] = {
		/* the CA refused the request: shown as a rejection with its code */
		{ "refused-policy.json", 400, PE_E_CA,
		  "the CA refused the request: Request does not match policy whitelist "
		  "(CFSSL error 5500)" },
		{ "csr-decode.json", 400, PE_E_CA, "CSR Decode failed (CFSSL error 9002)" },
		{ "refused-two.json", 400, PE_E_CA,
		  "Unknown certificate error (CFSSL error 1000, 1 more)" },
		/* success false in a 200: still the CA's word */
		{ "refused-policy.json", 200, PE_E_CA, "policy whitelist" },
		/* the key or the profile: fixed by the user, the request kept */
		{ "invalid-token.json", 400, PE_E_USAGE, "the CA refused the auth key" },
		{ "auth-required.json", 400, PE_E_USAGE, "requires an auth key" },
		/* not a CFSSL signer there */
		{ "method-not-allowed.json", 405, PE_E_USAGE, "is the URL that of a CFSSL server" },
		{ "bad-gateway.html", 404, PE_E_USAGE, "HTTP 404" },
		/* the CA could not answer: tried again later */
		{ "server-error.json", 500, PE_E_NET, "internal error: no signer" },
		{ "bad-gateway.html", 502, PE_E_NET, "HTTP 502: the CA answered garbage" },
		{ "refused-no-errors.json", 400, PE_E_NET, "HTTP 400 without a reason" },
		{ "refused-no-errors.json", 200, PE_E_NET, "HTTP 200" },
		{ "sign-good.json", 400, PE_E_NET, "HTTP 400 with success true" },
		/* garbage */
		{ "sign-truncated.json", 200, PE_E_NET, "not JSON" },
		{ "empty.json", 200, PE_E_NET, "the answer is empty" },
		{ "sign-no-cert.json", 200, PE_E_NET, "the result holds no certificate" },
		{ "sign-null-result.json", 200, PE_E_NET, "the result holds no certificate" },
		{ "sign-cert-garbage.json", 200, PE_E_NET, "not a certificate" },
		{ "sign-cert-text.json", 200, PE_E_NET, "not a certificate" },
		{ "info-good.json", 201, PE_OK, NULL },
	};
	struct pe_ca_status st;
	struct pe_err err = { 0 };
	enum pe_code rc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&st, 0, sizeof(st));
		rc = sign_file(cases[i].file, cases[i].http, &st, &err);
		if (rc != cases[i].rc)
			fail_msg("%s (HTTP %ld): %d, not %d: %s", cases[i].file, cases[i].http, rc,
				 cases[i].rc, err.msg);
		if (cases[i].text != NULL)
			assert_msg_contains(&err, cases[i].text);
		if (rc != PE_OK) {
			/* nothing half-taken */
			assert_null(st.cert);
			assert_null(st.id);
		}
		pe_ca_status_cleanup(&st);
	}
}

static void
test_pe_ca_cfssl_info_result_cases(void **state)
{
	unsigned char **certs = NULL;
	size_t *lens = NULL, n = 0, len;
	struct pe_err err = { 0 };
	const unsigned char *p;
	char *body;
	X509 *x;

	(void)state;
	body = read_data("info-good.json", &len);
	assert_int_equal(pe_ca_cfssl_info_result(200, body, len, &certs, &lens, &n, &err), PE_OK);
	assert_int_equal(n, 1);
	p = certs[0];
	x = d2i_X509(NULL, &p, (long)lens[0]);
	assert_non_null(x);
	assert_int_equal(X509_check_ca(x), 1);
	X509_free(x);
	pe_ca_certs_free(certs, lens, n);
	free(body);

	body = read_data("sign-no-cert.json", &len);
	assert_int_equal(pe_ca_cfssl_info_result(200, body, len, &certs, &lens, &n, &err),
			 PE_E_NET);
	assert_msg_contains(&err, "the info request: the result holds no certificate");
	free(body);
	body = read_data("sign-cert-text.json", &len);
	assert_int_equal(pe_ca_cfssl_info_result(200, body, len, &certs, &lens, &n, &err),
			 PE_E_NET);
	assert_msg_contains(&err, "no certificate in the answer");
	free(body);
	body = read_data("method-not-allowed.json", &len);
	assert_int_equal(pe_ca_cfssl_info_result(405, body, len, &certs, &lens, &n, &err),
			 PE_E_USAGE);
	free(body);
	body = read_data("sign-truncated.json", &len);
	assert_int_equal(pe_ca_cfssl_info_result(200, body, len, &certs, &lens, &n, &err),
			 PE_E_NET);
	assert_msg_contains(&err, "not JSON");
	free(body);
}

static void
test_pe_ca_cfssl_probe_result_cases(void **state)
{
	static const struct {
		const char *file;
		long http;
		enum pe_code rc;
		enum pe_ca_login_state state;
		const char *text;
	} cases[] = {
		/* the key passed; only the empty request was refused, as meant */
		{ "missing-csr.json", 400, PE_OK, PE_CA_LOGIN_READY, NULL },
		{ "csr-decode.json", 400, PE_OK, PE_CA_LOGIN_READY, NULL },
		{ "sign-good.json", 200, PE_OK, PE_CA_LOGIN_READY, NULL },
		/* the key or the profile does not fit */
		{ "invalid-token.json", 400, PE_OK, PE_CA_LOGIN_REFUSED,
		  "refused the auth key (CFSSL: invalid token)" },
		{ "auth-required.json", 400, PE_OK, PE_CA_LOGIN_REFUSED, "requires an auth key" },
		{ "refused-policy.json", 400, PE_OK, PE_CA_LOGIN_REFUSED,
		  "refused the check of the key and profile: Request does not match" },
		/* not there, or not answering */
		{ "method-not-allowed.json", 405, PE_E_USAGE, PE_CA_LOGIN_READY, "HTTP 405" },
		{ "server-error.json", 500, PE_E_NET, PE_CA_LOGIN_READY, "HTTP 500" },
		{ "bad-gateway.html", 502, PE_E_NET, PE_CA_LOGIN_READY, "not JSON" },
		{ "refused-no-errors.json", 400, PE_E_NET, PE_CA_LOGIN_READY, "without a reason" },
	};
	enum pe_ca_login_state st;
	struct pe_err err;
	enum pe_code rc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pe_err_clear(&err);
		st = (enum pe_ca_login_state) - 1;
		rc = probe_file(cases[i].file, cases[i].http, &st, &err);
		if (rc != cases[i].rc)
			fail_msg("%s (HTTP %ld): %d, not %d: %s", cases[i].file, cases[i].http, rc,
				 cases[i].rc, err.msg);
		if (rc == PE_OK)
			assert_int_equal(st, cases[i].state);
		if (cases[i].text != NULL)
			assert_msg_contains(&err, cases[i].text);
	}
}

/* http.c: plain http to loopback hosts only */

static void
test_pe_http_plain_http_loopback_only(void **state)
{
	static const char *const refused[] = {
		"http://192.0.2.1/api/v1/cfssl/info",
		"http://ca.example:8888/",
		"http://127.0.0.1.ca.example/",
		"http://127.0.0.1@ca.example/",
		"http://user@127.0.0.1/",
		"http://127.1/",
		"http://127.0.0.256/",
		"http://127.0.0.1:80x/",
		"http://127.0.0.1:/",
		"http://[::2]/",
		"http://[::1]x/",
		"http://localhost.ca.example/",
		"http://0.0.0.0/",
		"http://127.0.0.1\\@ca.example/",
	};
	struct pe_http_options opt = { 0 };
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_http *http = NULL;
	struct pe_err err = { 0 };
	static const char *const hosts[] = { "127.0.0.1", "127.8.9.10", "LocalHost" };
	char url[128];
	size_t i;

	(void)state;
	opt.allow_http = true;
	opt.connect_timeout_ms = 2000;
	assert_int_equal(pe_http_new(&opt, &http, &err), PE_OK);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (pe_http_request(http, "POST", refused[i], NULL, NULL, NULL, "{}", 2, &res,
				    &err) != PE_E_USAGE)
			fail_msg("'%s' was not refused: %s", refused[i], err.msg);
		assert_msg_contains(&err, "plain http is allowed only to a loopback host");
	}
	/* loopback: as far as the (closed) port */
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		snprintf(url, sizeof(url), "http://%s:%d/api/v1/cfssl/info", hosts[i],
			 closed_port());
		if (pe_http_request(http, "POST", url, NULL, NULL, NULL, "{}", 2, &res, &err) !=
		    PE_E_NET)
			fail_msg("'%s' did not reach the port: %s", url, err.msg);
	}
	/* https is never affected */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", closed_port());
	assert_int_equal(pe_http_request(http, "GET", url, NULL, NULL, NULL, NULL, 0, &res, &err),
			 PE_E_NET);
	pe_http_free(http);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_ca_find_cfssl),
		cmocka_unit_test(test_pe_ca_cfssl_url_good),
		cmocka_unit_test(test_pe_ca_cfssl_url_bad),
		cmocka_unit_test(test_pe_ca_cfssl_key_cases),
		cmocka_unit_test(test_pe_ca_cfssl_sign_body_plain),
		cmocka_unit_test(test_pe_ca_cfssl_sign_body_hmac),
		cmocka_unit_test(test_pe_ca_cfssl_answer_parse_good),
		cmocka_unit_test(test_pe_ca_cfssl_answer_parse_hostile),
		cmocka_unit_test(test_pe_ca_cfssl_sign_result_issued),
		cmocka_unit_test(test_pe_ca_cfssl_sign_result_refused),
		cmocka_unit_test(test_pe_ca_cfssl_info_result_cases),
		cmocka_unit_test(test_pe_ca_cfssl_probe_result_cases),
		cmocka_unit_test(test_pe_http_plain_http_loopback_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
