/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/ca/est.c: the EST URL builder, the certs-only PKCS#7
 * and CsrAttrs parsers fed from tests/data/est (good and hostile answers:
 * truncated base64 and DER, wrong content types, trailing bytes, no
 * certificate), the choice of the certificate for the request's key, error
 * texts, and the connector's calls against a closed port.
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
#include <curl/curl.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

#define CT_CERTS "application/pkcs7-mime; smime-type=certs-only"

/* Returns: the bytes of tests/data/est/@name, in a block of exactly *len bytes (no NUL). */
static unsigned char *
read_data(const char *name, size_t *len)
{
	const char *dir = getenv("TEST_DATA");
	char path[4096];
	unsigned char *data;
	FILE *f;
	long size;

	if (dir == NULL || dir[0] == '\0')
		dir = "tests/data";
	snprintf(path, sizeof(path), "%s/est/%s", dir, name);
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

/* The parse of file @name with @content_type fails as garbage naming @what. */
static void
certs_garbage(const char *name, const char *content_type, const char *what)
{
	unsigned char **certs = NULL, *body;
	size_t *lens = NULL, n = 0, len;
	struct pe_err err;

	body = read_data(name, &len);
	assert_int_equal(
		pe_ca_est_parse_certs(content_type, body, len, "the test", &certs, &lens, &n, &err),
		PE_E_NET);
	if (strncmp(err.msg, "the CA answered garbage to the test: ", 37) != 0)
		fail_msg("%s: message '%s' is not about garbage", name, err.msg);
	assert_msg_contains(&err, what);
	assert_null(certs);
	assert_null(lens);
	free(body);
}

static void
test_pe_ca_est_url_forms(void **state)
{
	static const struct {
		const char *url, *want;
	} good[] = {
		{ "https://ca.example", "https://ca.example/.well-known/est/cacerts" },
		{ "https://ca.example/", "https://ca.example/.well-known/est/cacerts" },
		{ "https://127.0.0.1:8443/.well-known/est",
		  "https://127.0.0.1:8443/.well-known/est/cacerts" },
		{ "HTTPS://h/.well-known/est/", "HTTPS://h/.well-known/est/cacerts" },
		{ "https://h/.well-known/est/arbitraryLabel1",
		  "https://h/.well-known/est/arbitraryLabel1/cacerts" },
		{ "http://127.0.0.1:1/.well-known/est",
		  "http://127.0.0.1:1/.well-known/est/cacerts" },
	};
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "ftp://h/.well-known/est", "not https" },
		{ "https://", "no host" },
		{ "https://user:pw@h/.well-known/est", "credentials" },
		{ "https://h/est", "not /.well-known/est" },
		{ "https://h/.well-known/estx", "not /.well-known/est" },
		{ "https://h/.well-known/est/a/b", "one path segment" },
		{ "https://h/.well-known/est?x=1", "query" },
		{ "https://h/.well-known/est/a b", "space" },
	};
	struct pe_err err;
	char *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(pe_ca_est_url(good[i].url, "cacerts", &out, &err), PE_OK);
		assert_string_equal(out, good[i].want);
		free(out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = NULL;
		assert_int_equal(pe_ca_est_url(bad[i].url, "cacerts", &out, &err), PE_E_USAGE);
		assert_null(out);
		assert_msg_contains(&err, "is not an EST service URL");
		assert_msg_contains(&err, bad[i].why);
	}
	assert_int_equal(pe_ca_est_url(NULL, "cacerts", &out, &err), PE_E_USAGE);
}

static void
test_pe_ca_est_parse_certs_good(void **state)
{
	unsigned char **certs = NULL, *body, *der;
	size_t *lens = NULL, n = 0, len, dlen;
	struct pe_err err;

	(void)state;
	/* base64 in lines, with the content type's parameters in any case */
	body = read_data("certs-one.b64", &len);
	assert_int_equal(pe_ca_est_parse_certs("Application/PKCS7-MIME; SMIME-Type=\"certs-only\"",
					       body, len, "the test", &certs, &lens, &n, &err),
			 PE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(certs[0][0], 0x30);
	pe_ca_certs_free(certs, lens, n);
	/* DER, as some servers still send it */
	assert_int_equal(pe_base64_decode((const char *)body, len, &der, &dlen, &err), PE_OK);
	assert_int_equal(pe_ca_est_parse_certs("application/pkcs7-mime", der, dlen, "the test",
					       &certs, &lens, &n, &err),
			 PE_OK);
	assert_int_equal(n, 1);
	pe_ca_certs_free(certs, lens, n);
	free(der);
	free(body);
	/* one line, two certificates, in the order sent */
	body = read_data("certs-two.b64", &len);
	assert_int_equal(
		pe_ca_est_parse_certs(CT_CERTS, body, len, "the test", &certs, &lens, &n, &err),
		PE_OK);
	assert_int_equal(n, 2);
	pe_ca_certs_free(certs, lens, n);
	free(body);
}

static void
test_pe_ca_est_parse_certs_hostile(void **state)
{
	(void)state;
	certs_garbage("certs-one.b64", NULL, "no Content-Type");
	certs_garbage("certs-one.b64", "text/html", "Content-Type is 'text/html'");
	certs_garbage("certs-one.b64", "application/pkix-cert", "not application/pkcs7-mime");
	certs_garbage("certs-one.b64", "application/pkcs7-mime; smime-type=CMC-response",
		      "smime-type 'CMC-response'");
	certs_garbage("certs-truncated.b64", CT_CERTS, "not base64");
	certs_garbage("certs-truncated-der.b64", CT_CERTS, "not a PKCS#7 structure");
	certs_garbage("certs-trailing.b64", CT_CERTS, "2 bytes follow the PKCS#7 structure");
	certs_garbage("bare-cert.b64", CT_CERTS, "not a PKCS#7 structure");
	certs_garbage("certs-none.b64", CT_CERTS, "holds no certificate");
	certs_garbage("not-base64.html", CT_CERTS, "not base64");
	certs_garbage("ee-csr.der", CT_CERTS, "not a PKCS#7 structure");
}

static void
test_pe_ca_est_parse_certs_empty(void **state)
{
	unsigned char **certs = NULL;
	size_t *lens = NULL, n = 0;
	struct pe_err err;

	(void)state;
	assert_int_equal(pe_ca_est_parse_certs(CT_CERTS, (const unsigned char *)"", 0, "the test",
					       &certs, &lens, &n, &err),
			 PE_E_NET);
	assert_msg_contains(&err, "the answer is empty");
	assert_int_equal(pe_ca_est_parse_certs(CT_CERTS, (const unsigned char *)"====", 4,
					       "the test", &certs, &lens, &n, &err),
			 PE_E_NET);
	assert_null(certs);
}

static void
test_pe_ca_est_cert_for_csr_picks(void **state)
{
	unsigned char **certs = NULL, *body, *csr;
	size_t *lens = NULL, n = 0, len, csr_len;
	struct pe_err err;

	(void)state;
	body = read_data("certs-two.b64", &len);
	csr = read_data("ee-csr.der", &csr_len);
	assert_int_equal(
		pe_ca_est_parse_certs(CT_CERTS, body, len, "the test", &certs, &lens, &n, &err),
		PE_OK);
	/* the leaf comes second: it is the one for the request's key */
	assert_int_equal(pe_ca_est_cert_for_csr(certs, lens, n, csr, csr_len), 1);
	/* none for the key, or no request to compare with: the first */
	assert_int_equal(pe_ca_est_cert_for_csr(certs, lens, 1, csr, csr_len), 0);
	assert_int_equal(pe_ca_est_cert_for_csr(certs, lens, n, body, 10), 0);
	pe_ca_certs_free(certs, lens, n);
	free(csr);
	free(body);
}

static void
test_pe_ca_est_parse_csrattrs_cases(void **state)
{
	unsigned char *body;
	char *oids = NULL;
	size_t len;
	struct pe_err err;

	(void)state;
	body = read_data("csrattrs-good.b64", &len);
	assert_int_equal(pe_ca_est_parse_csrattrs("application/csrattrs", body, len, &oids, &err),
			 PE_OK);
	assert_string_equal(oids, "2.5.4.3, 1.2.840.10045.4.3.2, 1.2.840.113549.1.9.14");
	free(oids);
	assert_int_equal(pe_ca_est_parse_csrattrs(NULL, body, len, &oids, &err), PE_OK);
	free(oids);
	assert_int_equal(pe_ca_est_parse_csrattrs("text/html", body, len, &oids, &err), PE_E_NET);
	assert_msg_contains(&err, "not application/csrattrs");
	free(body);
	/* an empty body is an empty list */
	assert_int_equal(
		pe_ca_est_parse_csrattrs(NULL, (const unsigned char *)"\r\n", 2, &oids, &err),
		PE_OK);
	assert_string_equal(oids, "");
	free(oids);
	body = read_data("csrattrs-integer.b64", &len);
	assert_int_equal(pe_ca_est_parse_csrattrs(NULL, body, len, &oids, &err), PE_E_NET);
	assert_msg_contains(&err, "CSR attribute 2 is neither an OID nor an Attribute");
	free(body);
	body = read_data("csrattrs-truncated.b64", &len);
	assert_int_equal(pe_ca_est_parse_csrattrs(NULL, body, len, &oids, &err), PE_E_NET);
	assert_msg_contains(&err, "the CA answered garbage to the CSR attributes request");
	free(body);
	body = read_data("certs-one.b64", &len);
	assert_int_equal(pe_ca_est_parse_csrattrs(NULL, body, len, &oids, &err), PE_E_NET);
	free(body);
}

static void
test_pe_ca_est_error_text_cases(void **state)
{
	static const unsigned char text[] = "  request 3 was rejected:\r\n wrong department\n";
	unsigned char big[1000];
	char *t;

	(void)state;
	t = pe_ca_est_error_text("text/plain; charset=utf-8", text, sizeof(text) - 1);
	assert_string_equal(t, "request 3 was rejected:   wrong department");
	free(t);
	t = pe_ca_est_error_text(NULL, text, sizeof(text) - 1);
	assert_non_null(t);
	free(t);
	assert_null(pe_ca_est_error_text("application/pkcs7-mime", text, sizeof(text) - 1));
	assert_null(pe_ca_est_error_text("text/plain", (const unsigned char *)" \n", 2));
	assert_null(pe_ca_est_error_text("text/plain", NULL, 0));
	memset(big, 'a', sizeof(big));
	t = pe_ca_est_error_text("text/plain", big, sizeof(big));
	assert_int_equal(strlen(t), 400);
	free(t);
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

static void
test_pe_ca_est_ops_unreachable(void **state)
{
	const struct pe_ca_ops *ops = pe_ca_find("est");
	struct pe_http_options opt = { .allow_http = true, .connect_timeout_ms = 2000 };
	struct pe_secret *pw = pe_secret_new("pw", 2);
	unsigned char **certs = NULL, csr[] = { 0x30, 0x00 };
	size_t *lens = NULL, n = 0;
	struct pe_ca_req req = { .csr = csr, .csr_len = sizeof(csr) };
	struct pe_ca_status st = { 0 };
	enum pe_ca_login_state ls;
	struct pe_ca_conn conn;
	struct pe_http *http = NULL;
	struct pe_err err;
	char url[128];

	(void)state;
	assert_non_null(ops);
	assert_non_null(pw);
	assert_true(ops->login_required);
	assert_null(ops->fetch);
	assert_null(ops->ack);
	assert_null(ops->templates);
	assert_int_equal(pe_http_new(&opt, &http, &err), PE_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/.well-known/est", closed_port());
	memset(&conn, 0, sizeof(conn));
	conn.url = url;
	conn.login = "alice";
	conn.password = pw;
	conn.http = http;
	assert_int_equal(ops->roots(&conn, &certs, &lens, &n, &err), PE_E_NET);
	assert_msg_contains(&err, "/.well-known/est/cacerts");
	assert_int_equal(ops->login_status(&conn, &ls, &err), PE_E_NET);
	assert_msg_contains(&err, "/.well-known/est/csrattrs");
	assert_int_equal(ops->submit(&conn, &req, &st, &err), PE_E_NET);
	assert_msg_contains(&err, "POST ");
	assert_msg_contains(&err, "/.well-known/est/simpleenroll");
	req.renewal = true;
	assert_int_equal(ops->submit(&conn, &req, &st, &err), PE_E_NET);
	assert_msg_contains(&err, "/.well-known/est/simplereenroll");
	/* a request sent as a renewal is polled as one, whatever the flag says */
	req.renewal = false;
	req.state = "simplereenroll";
	assert_int_equal(ops->poll(&conn, &req, &st, &err), PE_E_NET);
	assert_msg_contains(&err, "/.well-known/est/simplereenroll");
	assert_null(st.cert);
	/* no login: refused before anything is sent */
	conn.login = NULL;
	assert_int_equal(ops->submit(&conn, &req, &st, &err), PE_E_USAGE);
	assert_msg_contains(&err, "needs a login");
	conn.url = "https://h/not-est";
	conn.login = "alice";
	assert_int_equal(ops->roots(&conn, &certs, &lens, &n, &err), PE_E_USAGE);
	pe_http_free(http);
	pe_secret_free(pw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_ca_est_url_forms),
		cmocka_unit_test(test_pe_ca_est_parse_certs_good),
		cmocka_unit_test(test_pe_ca_est_parse_certs_hostile),
		cmocka_unit_test(test_pe_ca_est_parse_certs_empty),
		cmocka_unit_test(test_pe_ca_est_cert_for_csr_picks),
		cmocka_unit_test(test_pe_ca_est_parse_csrattrs_cases),
		cmocka_unit_test(test_pe_ca_est_error_text_cases),
		cmocka_unit_test(test_pe_ca_est_ops_unreachable),
	};
	int failed;

	/* main() does this in the program (STYLE.md section 8) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
