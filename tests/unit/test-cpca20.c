/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/ca: the cpca20 URL splitter, status letters and answer
 * parsers fed from tests/data/cpca20 (good and hostile answers), certificate
 * and chain parsing, the connector table, and the HTTP client where it needs
 * no server (refused connections, refused schemes).
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
#include <time.h>
#include <unistd.h>
#include <setjmp.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

/* Helpers */

/* Returns: the bytes of tests/data/cpca20/@name, in a block of exactly *len bytes (no NUL). */
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
	snprintf(path, sizeof(path), "%s/cpca20/%s", dir, name);
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
assert_msg_contains(const struct pe_err *err, const char *part)
{
	if (strstr(err->msg, part) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, part);
}

static void
assert_malformed(const struct pe_err *err, const char *call, const char *what)
{
	char prefix[256];

	assert_int_equal(err->code, PE_E_NET);
	snprintf(prefix, sizeof(prefix), "the CA's answer to %s is malformed: ", call);
	if (strncmp(err->msg, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", err->msg, prefix);
	assert_msg_contains(err, what);
}

/* A self-signed EC certificate, DER, made for the test (fixtures are made at test time). */
static unsigned char *
make_cert(const char *cn, size_t *len)
{
	EVP_PKEY *key;
	X509 *x;
	X509_NAME *name;
	unsigned char *der = NULL, *copy;
	int n;

	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	copy = malloc((size_t)n);
	assert_non_null(copy);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
	*len = (size_t)n;
	return copy;
}

/* Returns: PEM of @der (newly allocated, NUL-terminated). */
static char *
to_pem(const unsigned char *der, size_t len)
{
	char *b64, *pem;
	size_t size;

	b64 = pe_base64_encode(der, len, 64);
	assert_non_null(b64);
	size = strlen(b64) + 64;
	pem = malloc(size);
	assert_non_null(pem);
	snprintf(pem, size, "-----BEGIN CERTIFICATE-----\n%s-----END CERTIFICATE-----\n", b64);
	free(b64);
	return pem;
}

/* Returns: a TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* URLs */

static void
test_pe_ca_cpca20_url_parse_folder_dropped(void **state)
{
	struct pe_ca_cpca20_url u;
	struct pe_err err = { 0 };

	(void)state;
	assert_int_equal(
		pe_ca_cpca20_url_parse(
			"https://ca.example.ru/ui/api/b0a3d4f1-5c6e-4f7a-8b9c-0d1e2f3a4b5c", &u,
			&err),
		PE_OK);
	assert_string_equal(u.origin, "https://ca.example.ru");
	assert_string_equal(u.folder,
			    "https://ca.example.ru/ui/api/b0a3d4f1-5c6e-4f7a-8b9c-0d1e2f3a4b5c");
	assert_string_equal(u.api, "https://ca.example.ru/ui/api");
	pe_ca_cpca20_url_cleanup(&u);
	assert_null(u.api);
	pe_ca_cpca20_url_cleanup(&u);
}

static void
test_pe_ca_cpca20_url_parse_port_kept(void **state)
{
	struct pe_ca_cpca20_url u;
	struct pe_err err = { 0 };

	(void)state;
	/* a trailing slash is dropped with the folder */
	assert_int_equal(
		pe_ca_cpca20_url_parse("https://127.0.0.1:8443/ui/api/{F0LDER}/", &u, &err), PE_OK);
	assert_string_equal(u.origin, "https://127.0.0.1:8443");
	assert_string_equal(u.folder, "https://127.0.0.1:8443/ui/api/{F0LDER}");
	assert_string_equal(u.api, "https://127.0.0.1:8443/ui/api");
	pe_ca_cpca20_url_cleanup(&u);

	assert_int_equal(pe_ca_cpca20_url_parse("HTTPS://[::1]:65535/ui/api/abc", &u, &err), PE_OK);
	assert_string_equal(u.origin, "HTTPS://[::1]:65535");
	assert_string_equal(u.api, "HTTPS://[::1]:65535/ui/api");
	pe_ca_cpca20_url_cleanup(&u);

	/* the scheme is http.c's business (allow_http) */
	assert_int_equal(pe_ca_cpca20_url_parse("http://localhost/ui/api/x", &u, &err), PE_OK);
	assert_string_equal(u.folder, "http://localhost/ui/api/x");
	pe_ca_cpca20_url_cleanup(&u);
}

static void
test_pe_ca_cpca20_url_parse_bad(void **state)
{
	static const struct {
		const char *url;
		const char *why;
	} bad[] = {
		{ "ftp://ca.example/ui/api/x", "it is not https" },
		{ "ca.example/ui/api/x", "it is not https" },
		{ "", "it is not https" },
		{ "https://ca.example/ui/api/", "names no registration folder" },
		{ "https://ca.example/ui/api", "path is not /ui/api/FOLDER" },
		{ "https://ca.example/", "path is not /ui/api/FOLDER" },
		{ "https://ca.example", "path is not /ui/api/FOLDER" },
		{ "https://ca.example/api/ui/x", "path is not /ui/api/FOLDER" },
		{ "https://ca.example/ui/api/x/certrequest", "path is not /ui/api/FOLDER" },
		{ "https://ca.example/ui/api/x?type=json", "query" },
		{ "https://ca.example/ui/api/x#frag", "fragment" },
		{ "https://ca.example/ui/api/a b", "space" },
		{ "https://user:pw@ca.example/ui/api/x", "credentials" },
		{ "https:///ui/api/x", "names no host" },
		{ "https://:443/ui/api/x", "names no host" },
		{ "https://ca.example:0/ui/api/x", "port" },
		{ "https://ca.example:65536/ui/api/x", "port" },
		{ "https://ca.example:123456/ui/api/x", "port" },
		{ "https://ca.example:https/ui/api/x", "port" },
		{ "https://ca.example:/ui/api/x", "port is empty" },
		{ "https://[::1/ui/api/x", "IPv6" },
		{ "https://ca_ex$ample/ui/api/x", "host" },
		{ "https://ca.example/ui/api/..", "folder" },
		{ "https://ca.example/ui/api/a%2Fb", "folder" },
	};
	struct pe_ca_cpca20_url u = { NULL, NULL, NULL };
	struct pe_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pe_err_clear(&err);
		if (pe_ca_cpca20_url_parse(bad[i].url, &u, &err) != PE_E_USAGE)
			fail_msg("'%s' was accepted", bad[i].url);
		assert_int_equal(err.code, PE_E_USAGE);
		assert_msg_contains(&err, bad[i].url);
		assert_msg_contains(&err, bad[i].why);
		assert_null(u.origin);
	}
	assert_int_equal(pe_ca_cpca20_url_parse(NULL, &u, &err), PE_E_USAGE);
}

static void
test_pe_ca_cpca20_id_ok_cases(void **state)
{
	char long_id[300];

	(void)state;
	assert_true(pe_ca_cpca20_id_ok("9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f"));
	assert_true(pe_ca_cpca20_id_ok("42"));
	assert_true(pe_ca_cpca20_id_ok("{AB}"));
	assert_false(pe_ca_cpca20_id_ok(NULL));
	assert_false(pe_ca_cpca20_id_ok(""));
	assert_false(pe_ca_cpca20_id_ok("."));
	assert_false(pe_ca_cpca20_id_ok(".."));
	assert_false(pe_ca_cpca20_id_ok("a/b"));
	assert_false(pe_ca_cpca20_id_ok("a?b"));
	assert_false(pe_ca_cpca20_id_ok("a b"));
	assert_false(pe_ca_cpca20_id_ok("a%2e"));
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_false(pe_ca_cpca20_id_ok(long_id));
}

/* The connector table */

static void
test_pe_ca_find_cpca20(void **state)
{
	const struct pe_ca_ops *ops;

	(void)state;
	ops = pe_ca_find("cpca20");
	assert_ptr_equal(ops, &pe_ca_cpca20_ops);
	assert_string_equal(ops->name, "cpca20");
	assert_non_null(ops->roots);
	assert_non_null(ops->form);
	assert_non_null(ops->enroll_user);
	assert_non_null(ops->login_status);
	assert_non_null(ops->profile);
	assert_non_null(ops->templates);
	assert_non_null(ops->submit);
	assert_non_null(ops->poll);
	assert_non_null(ops->fetch);
	assert_non_null(ops->ack);
}

static void
test_pe_ca_find_unknown(void **state)
{
	(void)state;
	assert_null(pe_ca_find("cmp2000"));
	assert_null(pe_ca_find("CPCA20"));
	assert_null(pe_ca_find(""));
	assert_null(pe_ca_find(NULL));
}

static void
test_pe_ca_protocols_lists(void **state)
{
	(void)state;
	assert_non_null(strstr(pe_ca_protocols(), "cpca20"));
}

static void
test_pe_ca_free_null(void **state)
{
	struct pe_ca_form form = { NULL, 0 };
	struct pe_ca_status st = { 0 };

	(void)state;
	pe_ca_form_free(NULL);
	pe_ca_form_free(&form);
	pe_ca_values_free(NULL, 3);
	pe_ca_templates_free(NULL, 3);
	pe_ca_registration_free(NULL);
	pe_ca_status_cleanup(NULL);
	pe_ca_status_cleanup(&st);
	pe_ca_certs_free(NULL, NULL, 3);
}

/* Status letters */

static void
test_pe_ca_cpca20_login_state_letters(void **state)
{
	static const struct {
		const char *letter;
		enum pe_ca_login_state state;
		bool known;
	} cases[] = {
		{ "Q", PE_CA_LOGIN_AWAITING_APPROVAL, true },
		{ "P", PE_CA_LOGIN_AWAITING_APPROVAL, true },
		{ "A", PE_CA_LOGIN_READY, true },
		{ "C", PE_CA_LOGIN_READY, true },
		{ "K", PE_CA_LOGIN_READY, true },
		{ "k", PE_CA_LOGIN_READY, true },
		{ "R", PE_CA_LOGIN_REJECTED, true },
		{ "D", PE_CA_LOGIN_REJECTED, true },
		{ "E", PE_CA_LOGIN_REJECTED, true },
		{ "X", PE_CA_LOGIN_REJECTED, false },
		{ "QQ", PE_CA_LOGIN_REJECTED, false },
		{ "", PE_CA_LOGIN_REJECTED, false },
	};
	enum pe_ca_login_state s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = PE_CA_LOGIN_REFUSED;
		assert_int_equal(pe_ca_cpca20_login_state(cases[i].letter, &s), cases[i].known);
		assert_int_equal(s, cases[i].state);
	}
}

static void
test_pe_ca_cpca20_request_code_letters(void **state)
{
	static const struct {
		const char *letter;
		enum pe_code code;
		const char *msg;
	} cases[] = {
		{ "Q", PE_E_PENDING, "processing the request (status Q)" },
		{ "A", PE_E_PENDING, "(status A)" },
		{ "P", PE_E_PENDING, "(status P)" },
		{ "p", PE_E_PENDING, "(status p)" },
		{ "C", PE_OK, "" },
		{ "K", PE_OK, "" },
		{ "R", PE_E_CA, "the CA rejected the request (status R)" },
		{ "D", PE_E_CA, "the CA rejected the request (status D)" },
		{ "E", PE_E_CA, "the CA rejected the request (status E)" },
		{ "X", PE_E_CA, "the CA reports the unknown status 'X'" },
		{ "Issued", PE_E_CA, "unknown status 'Issued'" },
	};
	struct pe_ca_status st;
	struct pe_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.raw = strdup(cases[i].letter);
		pe_err_clear(&err);
		assert_int_equal(pe_ca_cpca20_request_code(&st, &err), cases[i].code);
		assert_msg_contains(&err, cases[i].msg);
		assert_string_equal(st.raw, cases[i].letter); /* kept raw */
		if (cases[i].code == PE_E_CA)
			assert_string_equal(st.reason, err.msg);
		else
			assert_null(st.reason);
		pe_ca_status_cleanup(&st);
	}

	/* the CA's own reason wins */
	memset(&st, 0, sizeof(st));
	st.raw = strdup("R");
	st.reason = strdup("key usage not allowed");
	assert_int_equal(pe_ca_cpca20_request_code(&st, &err), PE_E_CA);
	assert_string_equal(err.msg,
			    "the CA rejected the request (status R): key usage not allowed");
	assert_string_equal(st.reason, "key usage not allowed");
	pe_ca_status_cleanup(&st);
}

/* userattr */

static void
test_pe_ca_cpca20_parse_form_good(void **state)
{
	struct pe_ca_form form = { NULL, 0 };
	struct pe_err err = { 0 };
	size_t len;
	char *body = read_data("userattr-good.json", &len);
	struct pe_ca_field *f;

	(void)state;
	assert_int_equal(pe_ca_cpca20_parse_form(body, len, &form, &err), PE_OK);
	assert_int_equal(form.n, 3);
	f = &form.fields[0];
	assert_string_equal(f->oid, "2.5.4.3");
	assert_string_equal(f->name, "CN");
	assert_string_equal(f->localized_name, "Фамилия, имя");
	assert_null(f->default_value);
	assert_null(f->choices);
	assert_int_equal(f->n_choices, 0);
	assert_true(f->mandatory);
	assert_false(f->fixed);
	assert_false(f->choices_only);
	f = &form.fields[1];
	assert_string_equal(f->oid, "2.5.4.6");
	assert_string_equal(f->default_value, "RU");
	assert_int_equal(f->n_choices, 2);
	assert_string_equal(f->choices[0], "RU");
	assert_string_equal(f->choices[1], "BY");
	assert_true(f->mandatory);
	assert_true(f->fixed);
	assert_true(f->choices_only);
	f = &form.fields[2];
	/* a number taken as its text, a tab made a space, flags as strings and numbers */
	assert_string_equal(f->default_value, "7707083893");
	assert_string_equal(f->localized_name, "INN tab");
	assert_false(f->mandatory);
	assert_false(f->fixed);
	pe_ca_form_free(&form);
	assert_null(form.fields);
	free(body);
}

static void
test_pe_ca_cpca20_parse_form_minimal(void **state)
{
	struct pe_ca_form form = { NULL, 0 };
	struct pe_err err = { 0 };
	size_t len;
	char *body = read_data("userattr-minimal.json", &len);

	(void)state;
	assert_int_equal(pe_ca_cpca20_parse_form(body, len, &form, &err), PE_OK);
	assert_int_equal(form.n, 1);
	assert_string_equal(form.fields[0].oid, "2.5.4.10");
	assert_null(form.fields[0].name);
	assert_string_equal(form.fields[0].localized_name, "2.5.4.10");
	assert_false(form.fields[0].mandatory);
	pe_ca_form_free(&form);
	free(body);

	body = read_data("userattr-empty.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_form(body, len, &form, &err), PE_OK);
	assert_int_equal(form.n, 0);
	pe_ca_form_free(&form);
	free(body);
}

static void
test_pe_ca_cpca20_parse_form_hostile(void **state)
{
	static const struct {
		const char *file;
		const char *what;
	} cases[] = {
		{ "userattr-rdn-object.json", "'RDN' is not an array" },
		{ "userattr-no-rdn.json", "no 'RDN' array" },
		{ "userattr-truncated.json", "not JSON (error near byte" },
		{ "userattr-no-oid.json", "no RDN[1].Oid" },
		{ "userattr-oid-number.json", "RDN[0].Oid is not a string" },
		{ "userattr-choices-string.json", "RDN[0].SettingsValues is not an array" },
		{ "userattr-choice-object.json", "RDN[0].SettingsValues[1] is not a string" },
		{ "userattr-flag-object.json", "RDN[0].ProhibitEmpty is not true or false" },
		{ "userattr-element-string.json", "RDN[0] is not an object" },
		{ "userattr-array.json", "not a JSON object" },
		{ "userattr-not-utf8.json", "RDN[0].LocalizedName is not UTF-8" },
		{ "userattr-deep.json", "not JSON" },
		{ "empty.json", "the answer is empty" },
		{ "not-json.txt", "not JSON" },
		{ "error-html.html", "not JSON" },
	};
	struct pe_ca_form form = { NULL, 0 };
	struct pe_err err;
	size_t i, len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		pe_err_clear(&err);
		if (pe_ca_cpca20_parse_form(body, len, &form, &err) != PE_E_NET)
			fail_msg("%s was not refused", cases[i].file);
		assert_malformed(&err, "the registration form request", cases[i].what);
		assert_null(form.fields);
		free(body);
	}
}

static void
test_pe_ca_cpca20_parse_form_huge_string(void **state)
{
	static const char head[] = "{\"RDN\":[{\"Oid\":\"2.5.4.3\",\"LocalizedName\":\"";
	static const char tail[] = "\"}]}";
	size_t big = (size_t)2 << 20, len = sizeof(head) - 1 + big + sizeof(tail) - 1;
	struct pe_ca_form form = { NULL, 0 };
	struct pe_err err = { 0 };
	char *body;

	(void)state;
	/* made here rather than kept as a 2 MiB file in the tarball */
	body = malloc(len);
	assert_non_null(body);
	memcpy(body, head, sizeof(head) - 1);
	memset(body + sizeof(head) - 1, 'A', big);
	memcpy(body + sizeof(head) - 1 + big, tail, sizeof(tail) - 1);
	assert_int_equal(pe_ca_cpca20_parse_form(body, len, &form, &err), PE_E_NET);
	assert_malformed(&err, "the registration form request",
			 "RDN[0].LocalizedName is longer than 16384 bytes");
	free(body);
}

/* regrequest */

static void
test_pe_ca_cpca20_parse_registration_good(void **state)
{
	struct pe_ca_registration *reg = NULL;
	struct pe_err err = { 0 };
	size_t len;
	char *body = read_data("regrequest-good.json", &len);

	(void)state;
	assert_int_equal(pe_ca_cpca20_parse_registration(body, len, &reg, &err), PE_OK);
	assert_string_equal(reg->id, "5e1e0f3a-0b7d-4a63-9d55-1c1d7a4f0e21");
	assert_string_equal(reg->login, "u-20240101-0001");
	assert_int_equal(reg->password->len, strlen("s3cr3t-P@ss"));
	assert_memory_equal(reg->password->data, "s3cr3t-P@ss", reg->password->len);
	assert_string_equal(reg->status, "Q");
	pe_ca_registration_free(reg);
	free(body);

	reg = NULL;
	body = read_data("regrequest-minimal.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_registration(body, len, &reg, &err), PE_OK);
	assert_null(reg->id);
	assert_null(reg->status);
	assert_string_equal(reg->login, "u2");
	pe_ca_registration_free(reg);
	free(body);
}

static void
test_pe_ca_cpca20_parse_registration_hostile(void **state)
{
	static const struct {
		const char *file;
		const char *what;
	} cases[] = {
		{ "regrequest-no-password.json", "no RegRequest.Password" },
		{ "regrequest-password-number.json", "RegRequest.Password is not a string" },
		{ "regrequest-no-token.json", "no RegRequest.Token" },
		{ "regrequest-id-path.json",
		  "RegRequest.RegRequestId '../../admin' cannot go in a URL" },
		{ "certrequest-good.json", "no 'RegRequest' object" },
		{ "userattr-truncated.json", "not JSON" },
		{ "empty.json", "the answer is empty" },
	};
	struct pe_ca_registration *reg = NULL;
	struct pe_err err;
	size_t i, len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		pe_err_clear(&err);
		if (pe_ca_cpca20_parse_registration(body, len, &reg, &err) != PE_E_NET)
			fail_msg("%s was not refused", cases[i].file);
		assert_malformed(&err, "the registration", cases[i].what);
		assert_null(reg);
		free(body);
	}
}

static void
test_pe_ca_cpca20_registration_body_shape(void **state)
{
	struct pe_ca_value values[] = {
		{ "2.5.4.3", "Иванов Иван" },
		{ "1.2.840.113549.1.9.1", "ivanov@example.ru" },
		{ "2.5.4.6", NULL },
	};
	struct pe_ca_value bad[] = { { NULL, "x" } };
	struct pe_err err = { 0 };
	const cJSON *array, *item;
	char *text = NULL;
	cJSON *root;

	(void)state;
	assert_int_equal(
		pe_ca_cpca20_registration_body(values, 3, "ivanov@example.ru", &text, &err), PE_OK);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_string_equal(cJSON_GetObjectItem(root, "Email")->valuestring, "ivanov@example.ru");
	assert_string_equal(cJSON_GetObjectItem(root, "Comment")->valuestring, "");
	assert_string_equal(cJSON_GetObjectItem(root, "Description")->valuestring, "");
	assert_string_equal(cJSON_GetObjectItem(root, "KeyPhrase")->valuestring, "");
	array = cJSON_GetObjectItem(root, "OidArray");
	assert_true(cJSON_IsArray(array));
	assert_int_equal(cJSON_GetArraySize(array), 3);
	item = cJSON_GetArrayItem(array, 0);
	assert_string_equal(cJSON_GetObjectItem(item, "2.5.4.3")->valuestring, "Иванов Иван");
	item = cJSON_GetArrayItem(array, 2);
	assert_string_equal(cJSON_GetObjectItem(item, "2.5.4.6")->valuestring, "");
	cJSON_Delete(root);
	cJSON_free(text);

	text = NULL;
	assert_int_equal(pe_ca_cpca20_registration_body(NULL, 0, NULL, &text, &err), PE_OK);
	assert_string_equal(text, "{\"Comment\":\"\",\"Description\":\"\",\"KeyPhrase\":\"\","
				  "\"Email\":\"\",\"OidArray\":[]}");
	cJSON_free(text);

	text = NULL;
	assert_int_equal(pe_ca_cpca20_registration_body(bad, 1, NULL, &text, &err), PE_E_USAGE);
	assert_msg_contains(&err, "has no OID");
	assert_null(text);
}

/* regrequest (status) */

static void
test_pe_ca_cpca20_parse_regstatus_cases(void **state)
{
	struct pe_err err = { 0 };
	char *status = NULL, *reason = NULL, *body;
	size_t len;

	(void)state;
	body = read_data("regstatus-pending.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_regstatus(body, len, &status, &reason, &err), PE_OK);
	assert_string_equal(status, "Q");
	assert_null(reason);
	free(status);
	free(body);

	body = read_data("regstatus-rejected.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_regstatus(body, len, &status, &reason, &err), PE_OK);
	assert_string_equal(status, "R");
	/* the escape sequence cannot reach a terminal */
	assert_string_equal(reason, "no such employee [31m");
	free(status);
	free(reason);
	free(body);

	status = NULL;
	body = read_data("regstatus-status-number.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_regstatus(body, len, &status, &reason, &err), PE_E_NET);
	assert_malformed(&err, "the registration status request",
			 "RegRequest.Status is not a string");
	assert_null(status);
	free(body);

	body = read_data("regstatus-no-status.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_regstatus(body, len, &status, &reason, &err), PE_E_NET);
	assert_malformed(&err, "the registration status request", "no RegRequest.Status");
	free(body);
}

/* regrequest/profile */

static void
test_pe_ca_cpca20_parse_profile_good(void **state)
{
	struct pe_ca_value *v = NULL;
	struct pe_err err = { 0 };
	size_t n = 99, len;
	char *body = read_data("profile-good.json", &len);

	(void)state;
	assert_int_equal(pe_ca_cpca20_parse_profile(body, len, &v, &n, &err), PE_OK);
	/* a null value is skipped, an empty object adds nothing */
	assert_int_equal(n, 3);
	assert_string_equal(v[0].oid, "2.5.4.3");
	assert_string_equal(v[0].value, "Ivanov Ivan");
	assert_string_equal(v[1].oid, "2.5.4.6");
	assert_string_equal(v[1].value, "RU");
	assert_string_equal(v[2].oid, "1.2.643.3.131.1.1");
	assert_string_equal(v[2].value, "770708389301");
	pe_ca_values_free(v, n);
	free(body);

	v = NULL;
	body = read_data("profile-empty.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_profile(body, len, &v, &n, &err), PE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	free(body);
}

static void
test_pe_ca_cpca20_parse_profile_hostile(void **state)
{
	static const struct {
		const char *file;
		const char *what;
	} cases[] = {
		{ "profile-value-object.json", "Profile[0].'2.5.4.3' is not a string" },
		{ "profile-element-array.json", "Profile[0] is not an object" },
		{ "templates-good.json", "no 'Profile' array" },
		{ "userattr-deep.json", "not JSON" },
	};
	struct pe_ca_value *v = NULL;
	struct pe_err err;
	size_t i, n = 0, len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		pe_err_clear(&err);
		if (pe_ca_cpca20_parse_profile(body, len, &v, &n, &err) != PE_E_NET)
			fail_msg("%s was not refused", cases[i].file);
		assert_malformed(&err, "the profile request", cases[i].what);
		assert_null(v);
		free(body);
	}
}

/* certtemplate */

static void
test_pe_ca_cpca20_parse_templates_good(void **state)
{
	struct pe_ca_template *t = NULL;
	struct pe_err err = { 0 };
	size_t n = 0, len;
	char *body = read_data("templates-good.json", &len);

	(void)state;
	assert_int_equal(pe_ca_cpca20_parse_templates(body, len, &t, &n, &err), PE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(t[0].oid, "1.2.643.2.2.46.0.8");
	assert_string_equal(t[0].name, "User");
	assert_string_equal(t[1].name, "WebServer");
	assert_string_equal(t[2].name, "1.2.3.4");
	pe_ca_templates_free(t, n);
	free(body);

	t = NULL;
	body = read_data("templates-empty.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_templates(body, len, &t, &n, &err), PE_OK);
	assert_int_equal(n, 0);
	assert_null(t);
	free(body);
}

static void
test_pe_ca_cpca20_parse_templates_hostile(void **state)
{
	static const struct {
		const char *file;
		const char *what;
	} cases[] = {
		{ "templates-not-array.json", "'Template' is not an array" },
		{ "templates-no-oid.json", "no Template[0].Oid" },
		{ "templates-overlong-utf8.json", "Template[0].LocalizedName is not UTF-8" },
		{ "userattr-good.json", "no 'Template' array" },
		{ "not-json.txt", "not JSON" },
	};
	struct pe_ca_template *t = NULL;
	struct pe_err err;
	size_t i, n = 0, len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		pe_err_clear(&err);
		if (pe_ca_cpca20_parse_templates(body, len, &t, &n, &err) != PE_E_NET)
			fail_msg("%s was not refused", cases[i].file);
		assert_malformed(&err, "the template list request", cases[i].what);
		assert_null(t);
		free(body);
	}
}

/* certrequest */

static void
test_pe_ca_cpca20_parse_certrequest_good(void **state)
{
	struct pe_ca_status st = { 0 };
	struct pe_err err = { 0 };
	size_t len;
	char *body = read_data("certrequest-good.json", &len);

	(void)state;
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "submit", true, &st, &err),
			 PE_OK);
	assert_string_equal(st.id, "9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f");
	assert_string_equal(st.raw, "Q");
	assert_null(st.reason);
	pe_ca_status_cleanup(&st);
	free(body);

	body = read_data("certrequest-numeric-id.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "submit", true, &st, &err),
			 PE_OK);
	assert_string_equal(st.id, "42");
	assert_string_equal(st.raw, "P");
	pe_ca_status_cleanup(&st);
	free(body);

	/* unknown members, even deeply nested ones, are ignored */
	body = read_data("certrequest-deep-extra.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "poll", true, &st, &err), PE_OK);
	assert_string_equal(st.id, "7");
	pe_ca_status_cleanup(&st);
	free(body);

	body = read_data("certrequest-rejected.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "poll", false, &st, &err),
			 PE_OK);
	assert_string_equal(st.raw, "R");
	assert_string_equal(st.reason, "key usage not allowed");
	assert_int_equal(pe_ca_cpca20_request_code(&st, &err), PE_E_CA);
	assert_string_equal(err.msg,
			    "the CA rejected the request (status R): key usage not allowed");
	pe_ca_status_cleanup(&st);
	free(body);

	body = read_data("certrequest-unknown-status.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "poll", false, &st, &err),
			 PE_OK);
	assert_int_equal(pe_ca_cpca20_request_code(&st, &err), PE_E_CA);
	assert_msg_contains(&err, "unknown status 'X'");
	assert_string_equal(st.raw, "X");
	pe_ca_status_cleanup(&st);
	free(body);

	body = read_data("certrequest-issued.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "poll", true, &st, &err), PE_OK);
	assert_int_equal(pe_ca_cpca20_request_code(&st, &err), PE_OK);
	assert_null(st.reason);
	pe_ca_status_cleanup(&st);
	free(body);

	body = read_data("certrequest-denied.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "poll", true, &st, &err), PE_OK);
	assert_int_equal(pe_ca_cpca20_request_code(&st, &err), PE_E_CA);
	assert_string_equal(st.reason, "the CA rejected the request (status D)");
	pe_ca_status_cleanup(&st);
	free(body);

	/* the answer to the acknowledgement may carry no id */
	body = read_data("certrequest-acked.json", &len);
	assert_int_equal(pe_ca_cpca20_parse_certrequest(body, len, "ack", false, &st, &err), PE_OK);
	assert_null(st.id);
	assert_string_equal(st.raw, "K");
	pe_ca_status_cleanup(&st);
	free(body);
}

static void
test_pe_ca_cpca20_parse_certrequest_hostile(void **state)
{
	static const struct {
		const char *file;
		bool need_id;
		const char *what;
	} cases[] = {
		{ "certrequest-no-id.json", true, "no CertRequest.CertRequestId" },
		{ "certrequest-status-number.json", false, "CertRequest.Status is not a string" },
		{ "certrequest-no-status.json", false, "no CertRequest.Status" },
		{ "certrequest-id-path.json", false,
		  "CertRequest.CertRequestId '1/../../x?y' cannot go in a URL" },
		{ "certrequest-not-object.json", false, "'CertRequest' is not an object" },
		{ "regrequest-good.json", false, "no 'CertRequest' object" },
		{ "userattr-truncated.json", false, "not JSON" },
		{ "userattr-deep.json", false, "not JSON" },
		{ "empty.json", false, "the answer is empty" },
	};
	struct pe_ca_status st = { 0 };
	struct pe_err err;
	size_t i, len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		pe_err_clear(&err);
		if (pe_ca_cpca20_parse_certrequest(body, len, "the request submission",
						   cases[i].need_id, &st, &err) != PE_E_NET)
			fail_msg("%s was not refused", cases[i].file);
		assert_malformed(&err, "the request submission", cases[i].what);
		assert_null(st.id);
		assert_null(st.raw);
		free(body);
	}
}

static void
test_pe_ca_cpca20_error_text_cases(void **state)
{
	static const struct {
		const char *file;
		const char *text;
	} cases[] = {
		{ "error-400.json", "the request has no subject" },
		{ "error-aspnet.json", "An error has occurred." },
		{ "not-json.txt", "Service Unavailable" },
		{ "error-html.html", NULL },
		{ "empty.json", NULL },
		{ "certrequest-good.json", NULL },
		{ "userattr-deep.json", NULL },
	};
	size_t i, len;
	char *body, *text;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		text = pe_ca_cpca20_error_text(body, len);
		if (cases[i].text == NULL)
			assert_null(text);
		else
			assert_string_equal(text, cases[i].text);
		free(text);
		free(body);
	}
}

/* Certificates */

static void
test_pe_ca_cert_parse_forms(void **state)
{
	unsigned char *der, *out = NULL, *longer;
	struct pe_err err = { 0 };
	size_t len, out_len = 0;
	char *pem, *b64;

	(void)state;
	der = make_cert("rawcert", &len);

	assert_int_equal(pe_ca_cert_parse(der, len, &out, &out_len, &err), PE_OK);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, der, len);
	free(out);

	pem = to_pem(der, len);
	assert_int_equal(pe_ca_cert_parse((unsigned char *)pem, strlen(pem), &out, &out_len, &err),
			 PE_OK);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, der, len);
	free(out);
	free(pem);

	b64 = pe_base64_encode(der, len, 0);
	assert_int_equal(pe_ca_cert_parse((unsigned char *)b64, strlen(b64), &out, &out_len, &err),
			 PE_OK);
	assert_memory_equal(out, der, len);
	free(out);
	free(b64);

	/* bytes after the certificate */
	longer = malloc(len + 3);
	assert_non_null(longer);
	memcpy(longer, der, len);
	memcpy(longer + len, "\x30\x00\x00", 3);
	out = NULL;
	assert_int_equal(pe_ca_cert_parse(longer, len + 3, &out, &out_len, &err), PE_E_NET);
	assert_msg_contains(&err, "the CA sent something that is not a certificate");
	assert_msg_contains(&err, "3 bytes follow the DER");
	assert_null(out);
	free(longer);

	/* a truncated certificate */
	assert_int_equal(pe_ca_cert_parse(der, len - 10, &out, &out_len, &err), PE_E_NET);
	assert_msg_contains(&err, "the CA sent something that is not a certificate");
	assert_null(out);
	free(der);
}

static void
test_pe_ca_cert_parse_garbage(void **state)
{
	static const struct {
		const char *file;
		const char *what;
	} cases[] = {
		{ "rawcert-garbage.der", "the CA sent something that is not a certificate: " },
		{ "rawcert-garbage.txt", "neither DER, PEM nor base64" },
		{ "chain-garbage.pem", "the CA sent something that is not a certificate: " },
		{ "error-400.json", "neither DER, PEM nor base64" },
		{ "empty.json", "the answer is empty" },
	};
	unsigned char *out = NULL;
	struct pe_err err;
	size_t i, len, out_len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		pe_err_clear(&err);
		if (pe_ca_cert_parse((unsigned char *)body, len, &out, &out_len, &err) != PE_E_NET)
			fail_msg("%s was taken for a certificate", cases[i].file);
		assert_msg_contains(&err, "the CA sent something that is not a certificate");
		assert_msg_contains(&err, cases[i].what);
		assert_null(out);
		free(body);
	}
}

static void
test_pe_ca_pem_chain_parse_two(void **state)
{
	unsigned char *root, *sub, **certs = NULL;
	size_t root_len, sub_len, *lens = NULL, n = 0, size;
	struct pe_err err = { 0 };
	char *pem_root, *pem_sub, *chain;

	(void)state;
	root = make_cert("root", &root_len);
	sub = make_cert("sub", &sub_len);
	pem_root = to_pem(root, root_len);
	pem_sub = to_pem(sub, sub_len);
	size = strlen(pem_root) + strlen(pem_sub) + 200;
	chain = malloc(size);
	assert_non_null(chain);
	/* text around the blocks, and a block of another kind, are skipped */
	snprintf(chain, size,
		 "subject=CN = sub\n%s\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
		 "%s# end\n",
		 pem_sub, pem_root);
	assert_int_equal(pe_ca_pem_chain_parse(chain, strlen(chain), &certs, &lens, &n, &err),
			 PE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(lens[0], sub_len);
	assert_memory_equal(certs[0], sub, sub_len);
	assert_int_equal(lens[1], root_len);
	assert_memory_equal(certs[1], root, root_len);
	pe_ca_certs_free(certs, lens, n);
	free(chain);
	free(pem_root);
	free(pem_sub);
	free(root);
	free(sub);
}

static void
test_pe_ca_pem_chain_parse_bad(void **state)
{
	static const struct {
		const char *file;
		const char *what;
	} cases[] = {
		{ "chain-none.html", "no certificate in the answer" },
		{ "empty.json", "no certificate in the answer" },
		{ "chain-garbage.pem", "certificate 1 in the answer cannot be read" },
	};
	unsigned char **certs = NULL;
	size_t *lens = NULL, n = 0, i, len;
	struct pe_err err;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = read_data(cases[i].file, &len);
		pe_err_clear(&err);
		assert_int_equal(pe_ca_pem_chain_parse(body, len, &certs, &lens, &n, &err),
				 PE_E_NET);
		assert_msg_contains(&err, cases[i].what);
		assert_null(certs);
		assert_null(lens);
		free(body);
	}
}

/* http.c, where no server is needed */

static void
test_pe_http_new_defaults(void **state)
{
	struct pe_http *http = NULL;
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_err err = { 0 };

	(void)state;
	assert_int_equal(pe_http_new(NULL, &http, &err), PE_OK);
	assert_non_null(http);
	pe_http_free(http);
	pe_http_free(NULL);
	pe_http_response_cleanup(&res);
	pe_http_response_cleanup(NULL);
}

static void
test_pe_http_request_refused(void **state)
{
	struct pe_http_options opt = { 0 };
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_http *http = NULL;
	struct pe_err err = { 0 };
	char url[128];
	double t0;

	(void)state;
	opt.connect_timeout_ms = 2000;
	assert_int_equal(pe_http_new(&opt, &http, &err), PE_OK);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/ui/api/certtemplate", closed_port());
	t0 = now();
	assert_int_equal(pe_http_request(http, "GET", url, NULL, NULL, NULL, NULL, 0, &res, &err),
			 PE_E_NET);
	assert_true(now() - t0 < 1.0);
	assert_msg_contains(&err, "GET ");
	assert_msg_contains(&err, url);
	assert_null(res.body);

	/* the same handle serves the next request */
	assert_int_equal(pe_http_request(http, "POST", url, NULL, NULL, "application/json", "{}", 2,
					 &res, &err),
			 PE_E_NET);
	assert_msg_contains(&err, "POST ");
	pe_http_free(http);
}

static void
test_pe_http_request_hides_credentials(void **state)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_http *http = NULL;
	struct pe_err err = { 0 };
	struct pe_secret *pw;
	char url[128], shown[128];
	int port = closed_port();

	(void)state;
	assert_int_equal(pe_http_new(NULL, &http, &err), PE_OK);
	pw = pe_secret_new("hunter2", 7);
	assert_non_null(pw);
	snprintf(url, sizeof(url), "https://alice:s3cr3t@127.0.0.1:%d/ui/api/regrequest", port);
	snprintf(shown, sizeof(shown), "https://127.0.0.1:%d/ui/api/regrequest", port);
	assert_int_equal(pe_http_request(http, "GET", url, "bob", pw, NULL, NULL, 0, &res, &err),
			 PE_E_NET);
	assert_msg_contains(&err, shown);
	assert_null(strstr(err.msg, "s3cr3t"));
	assert_null(strstr(err.msg, "hunter2"));
	pe_secret_free(pw);
	pe_http_free(http);
}

static void
test_pe_http_request_schemes(void **state)
{
	struct pe_http_options opt = { 0 };
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_http *http = NULL;
	struct pe_err err = { 0 };
	char url[128];

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ui/api/x", closed_port());
	assert_int_equal(pe_http_new(NULL, &http, &err), PE_OK);
	assert_int_equal(pe_http_request(http, "GET", "ftp://127.0.0.1/x", NULL, NULL, NULL, NULL,
					 0, &res, &err),
			 PE_E_USAGE);
	assert_msg_contains(&err, "ftp://127.0.0.1/x: only https URLs are allowed");
	assert_int_equal(pe_http_request(http, "GET", "file:///etc/passwd", NULL, NULL, NULL, NULL,
					 0, &res, &err),
			 PE_E_USAGE);
	assert_int_equal(pe_http_request(http, "GET", url, NULL, NULL, NULL, NULL, 0, &res, &err),
			 PE_E_USAGE);
	assert_msg_contains(&err, "only https URLs are allowed");
	pe_http_free(http);

	/* with allow_http, plain http gets as far as the (closed) port */
	opt.allow_http = true;
	assert_int_equal(pe_http_new(&opt, &http, &err), PE_OK);
	assert_int_equal(pe_http_request(http, "GET", url, NULL, NULL, NULL, NULL, 0, &res, &err),
			 PE_E_NET);
	assert_msg_contains(&err, url);
	assert_int_equal(pe_http_request(http, "GET", "ftp://127.0.0.1/x", NULL, NULL, NULL, NULL,
					 0, &res, &err),
			 PE_E_USAGE);
	assert_msg_contains(&err, "only https and http URLs are allowed");
	pe_http_free(http);
}

static void
test_pe_http_request_bad_ca_file(void **state)
{
	struct pe_http_options opt = { 0 };
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_http *http = NULL;
	struct pe_err err = { 0 };
	char url[128];

	(void)state;
	opt.ca_file = "/nonexistent/roots.pem";
	assert_int_equal(pe_http_new(&opt, &http, &err), PE_OK);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", closed_port());
	/* the connection fails before TLS could read the file: still a network problem */
	assert_int_equal(pe_http_request(http, "GET", url, NULL, NULL, NULL, NULL, 0, &res, &err),
			 PE_E_NET);
	pe_http_free(http);
}

/* The connector's calls, where no server is needed */

struct conn_fixture {
	struct pe_ca_conn conn;
	struct pe_secret *pw;
	char url[128];
};

static void
conn_open(struct conn_fixture *f, const char *login)
{
	struct pe_err err = { 0 };

	memset(f, 0, sizeof(*f));
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d/ui/api/b0a3d4f1-folder",
		 closed_port());
	f->pw = pe_secret_new("pw", 2);
	assert_non_null(f->pw);
	f->conn.url = f->url;
	f->conn.login = login;
	f->conn.password = f->pw;
	assert_int_equal(pe_http_new(NULL, &f->conn.http, &err), PE_OK);
}

static void
conn_close(struct conn_fixture *f)
{
	pe_http_free(f->conn.http);
	pe_secret_free(f->pw);
}

/* A request that names only its CA id. */
static const struct pe_ca_req *
req_of(struct pe_ca_req *r, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	return r;
}

static void
test_pe_ca_cpca20_ops_unreachable(void **state)
{
	const struct pe_ca_ops *ops = &pe_ca_cpca20_ops;
	struct pe_ca_status st = { 0 };
	struct pe_ca_registration *reg = NULL;
	struct pe_ca_form form = { NULL, 0 };
	struct pe_ca_template *t = NULL;
	struct pe_ca_value *v = NULL;
	struct pe_ca_value one = { "2.5.4.3", "x" };
	enum pe_ca_login_state ls;
	unsigned char **certs = NULL, *der = NULL, csr[] = { 0x30, 0x00 };
	size_t *lens = NULL, n = 0, len = 0;
	struct pe_ca_req csr_req = { .csr = csr, .csr_len = sizeof(csr) }, r;
	struct conn_fixture f;
	struct pe_err err;
	char api[128];

	(void)state;
	conn_open(&f, "alice");
	snprintf(api, sizeof(api), "%.*s", (int)(strstr(f.url, "/b0a3") - f.url), f.url);

	assert_int_equal(ops->roots(&f.conn, &certs, &lens, &n, &err), PE_E_NET);
	assert_msg_contains(&err, "/ca/chain.pem");
	assert_int_equal(ops->form(&f.conn, &form, &err), PE_E_NET);
	assert_msg_contains(&err, "/ui/api/b0a3d4f1-folder/userattr");
	assert_int_equal(ops->enroll_user(&f.conn, &one, 1, "a@example.ru", &reg, &err), PE_E_NET);
	assert_msg_contains(&err, "POST ");
	assert_msg_contains(&err, "/ui/api/b0a3d4f1-folder/regrequest");
	assert_null(reg);
	assert_int_equal(ops->login_status(&f.conn, &ls, &err), PE_E_NET);
	assert_msg_contains(&err, "/ui/api/regrequest");
	assert_null(strstr(err.msg, "b0a3"));
	assert_int_equal(ops->profile(&f.conn, &v, &n, &err), PE_E_NET);
	assert_msg_contains(&err, "/ui/api/regrequest/profile?type=json");
	assert_int_equal(ops->templates(&f.conn, &t, &n, &err), PE_E_NET);
	assert_msg_contains(&err, "/ui/api/certtemplate");
	assert_int_equal(ops->submit(&f.conn, &csr_req, &st, &err), PE_E_NET);
	assert_msg_contains(&err, "/ui/api/certrequest");
	assert_null(st.id);
	assert_int_equal(ops->poll(&f.conn, req_of(&r, "42"), &st, &err), PE_E_NET);
	assert_msg_contains(&err, "/ui/api/certrequest/42");
	assert_int_equal(ops->fetch(&f.conn, req_of(&r, "42"), &der, &len, &err), PE_E_NET);
	assert_msg_contains(&err, "/ui/api/certrequest/42/rawcert");
	assert_null(der);
	assert_int_equal(ops->ack(&f.conn, req_of(&r, "42"), &err), PE_E_NET);
	assert_msg_contains(&err, "POST ");
	assert_msg_contains(&err, api);
	conn_close(&f);
}

static void
test_pe_ca_cpca20_ops_config(void **state)
{
	const struct pe_ca_ops *ops = &pe_ca_cpca20_ops;
	struct pe_ca_status st = { 0 };
	struct pe_ca_template *t = NULL;
	enum pe_ca_login_state ls;
	unsigned char *der = NULL;
	struct conn_fixture f;
	struct pe_ca_req r;
	struct pe_err err;
	size_t n = 0, len = 0;

	(void)state;
	/* no login: the authenticated calls are refused before anything is sent */
	conn_open(&f, NULL);
	assert_int_equal(ops->templates(&f.conn, &t, &n, &err), PE_E_USAGE);
	assert_msg_contains(&err, "needs a login");
	assert_int_equal(ops->login_status(&f.conn, &ls, &err), PE_E_USAGE);
	conn_close(&f);

	conn_open(&f, "alice");
	/* request ids that would change the URL */
	assert_int_equal(ops->poll(&f.conn, req_of(&r, "../regrequest"), &st, &err), PE_E_USAGE);
	assert_msg_contains(&err, "'../regrequest' cannot go in a URL");
	assert_int_equal(ops->fetch(&f.conn, req_of(&r, "1?x=y"), &der, &len, &err), PE_E_USAGE);
	assert_int_equal(ops->ack(&f.conn, req_of(&r, ""), &err), PE_E_USAGE);
	assert_int_equal(ops->poll(&f.conn, req_of(&r, NULL), &st, &err), PE_E_USAGE);

	/* a URL not of the CA 2.0 shape */
	f.conn.url = "https://127.0.0.1/certsrv/";
	assert_int_equal(ops->templates(&f.conn, &t, &n, &err), PE_E_USAGE);
	assert_msg_contains(&err, "'https://127.0.0.1/certsrv/' is not a CA 2.0 service URL");
	conn_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_ca_cpca20_url_parse_folder_dropped),
		cmocka_unit_test(test_pe_ca_cpca20_url_parse_port_kept),
		cmocka_unit_test(test_pe_ca_cpca20_url_parse_bad),
		cmocka_unit_test(test_pe_ca_cpca20_id_ok_cases),
		cmocka_unit_test(test_pe_ca_find_cpca20),
		cmocka_unit_test(test_pe_ca_find_unknown),
		cmocka_unit_test(test_pe_ca_protocols_lists),
		cmocka_unit_test(test_pe_ca_free_null),
		cmocka_unit_test(test_pe_ca_cpca20_login_state_letters),
		cmocka_unit_test(test_pe_ca_cpca20_request_code_letters),
		cmocka_unit_test(test_pe_ca_cpca20_parse_form_good),
		cmocka_unit_test(test_pe_ca_cpca20_parse_form_minimal),
		cmocka_unit_test(test_pe_ca_cpca20_parse_form_hostile),
		cmocka_unit_test(test_pe_ca_cpca20_parse_form_huge_string),
		cmocka_unit_test(test_pe_ca_cpca20_parse_registration_good),
		cmocka_unit_test(test_pe_ca_cpca20_parse_registration_hostile),
		cmocka_unit_test(test_pe_ca_cpca20_registration_body_shape),
		cmocka_unit_test(test_pe_ca_cpca20_parse_regstatus_cases),
		cmocka_unit_test(test_pe_ca_cpca20_parse_profile_good),
		cmocka_unit_test(test_pe_ca_cpca20_parse_profile_hostile),
		cmocka_unit_test(test_pe_ca_cpca20_parse_templates_good),
		cmocka_unit_test(test_pe_ca_cpca20_parse_templates_hostile),
		cmocka_unit_test(test_pe_ca_cpca20_parse_certrequest_good),
		cmocka_unit_test(test_pe_ca_cpca20_parse_certrequest_hostile),
		cmocka_unit_test(test_pe_ca_cpca20_error_text_cases),
		cmocka_unit_test(test_pe_ca_cert_parse_forms),
		cmocka_unit_test(test_pe_ca_cert_parse_garbage),
		cmocka_unit_test(test_pe_ca_pem_chain_parse_two),
		cmocka_unit_test(test_pe_ca_pem_chain_parse_bad),
		cmocka_unit_test(test_pe_http_new_defaults),
		cmocka_unit_test(test_pe_http_request_refused),
		cmocka_unit_test(test_pe_http_request_hides_credentials),
		cmocka_unit_test(test_pe_http_request_schemes),
		cmocka_unit_test(test_pe_http_request_bad_ca_file),
		cmocka_unit_test(test_pe_ca_cpca20_ops_unreachable),
		cmocka_unit_test(test_pe_ca_cpca20_ops_config),
	};
	int failed;

	/* main() does this in the program (STYLE.md section 8) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
