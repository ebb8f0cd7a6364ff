/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/ca/cmp.c where no server is needed: the reading of a
 * CMP server's HTTP answer (answers the openssl mock server sent, kept in
 * tests/data/cmp, then cut, padded, mislabelled) and the certProfile item.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>

#include <cmocka.h>
#include <openssl/asn1.h>
#include <openssl/cmp.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

/* Returns: the bytes of tests/data/cmp/@name (newly allocated), *len set. */
static unsigned char *
read_data(const char *name, size_t *len)
{
	const char *dir = getenv("TEST_DATA");
	unsigned char *data;
	char path[4096];
	FILE *f;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/cmp/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	data = malloc((size_t)n + 16);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* @body read as an answer must fail with PE_E_NET and a message holding @want. */
static void
expect_garbage(long status, const char *type, const unsigned char *body, size_t len,
	       const char *want)
{
	OSSL_CMP_MSG *msg = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(pe_ca_cmp_answer_parse(status, type, body, len, &msg, &err), PE_E_NET);
	assert_null(msg);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void
test_cmp_answer_parse_good(void **state)
{
	static const char *const types[] = { "application/pkixcmp", "Application/PKIXCMP",
					     "application/pkixcmp; charset=binary" };
	OSSL_CMP_MSG *msg = NULL;
	struct pe_err err;
	unsigned char *body;
	size_t len, i;

	(void)state;
	body = read_data("cp-accepted.der", &len);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(pe_ca_cmp_answer_parse(200, types[i], body, len, &msg, &err),
				 PE_OK);
		assert_int_equal(OSSL_CMP_MSG_get_bodytype(msg), 3); /* cp */
		OSSL_CMP_MSG_free(msg);
		msg = NULL;
	}
	/* an error message may come with a 4xx or 5xx status (RFC 6712 section 3.4) */
	assert_int_equal(pe_ca_cmp_answer_parse(500, types[0], body, len, &msg, &err), PE_OK);
	OSSL_CMP_MSG_free(msg);
	free(body);
	body = read_data("pkiconf.der", &len);
	assert_int_equal(pe_ca_cmp_answer_parse(200, types[0], body, len, &msg, &err), PE_OK);
	assert_int_equal(OSSL_CMP_MSG_get_bodytype(msg), 19); /* pkiconf */
	OSSL_CMP_MSG_free(msg);
	free(body);
}

static void
test_cmp_answer_parse_truncated(void **state)
{
	unsigned char *body;
	size_t len, cut;

	(void)state;
	body = read_data("cp-accepted.der", &len);
	for (cut = 0; cut < len; cut += cut < 16 ? 1 : 97)
		expect_garbage(200, "application/pkixcmp", body, cut,
			       cut == 0 ? "empty" : "not a CMP message");
	expect_garbage(200, "application/pkixcmp", body, len - 1, "not a CMP message");
	free(body);
}

static void
test_cmp_answer_parse_trailing(void **state)
{
	unsigned char *body;
	size_t len;

	(void)state;
	body = read_data("cp-accepted.der", &len);
	body[len] = 0x00;
	body[len + 1] = 0x00;
	expect_garbage(200, "application/pkixcmp", body, len + 2, "2 bytes follow");
	free(body);
}

static void
test_cmp_answer_parse_not_cmp(void **state)
{
	/* DER, but an INTEGER; then text an HTTP front end might send */
	static const unsigned char integer[] = { 0x02, 0x01, 0x05 };
	static const char html[] = "<html><body>Bad Gateway</body></html>";
	unsigned char *body;
	size_t len;

	(void)state;
	expect_garbage(200, "application/pkixcmp", integer, sizeof(integer), "not a CMP message");
	expect_garbage(200, "text/html", (const unsigned char *)html, strlen(html),
		       "content type 'text/html'");
	expect_garbage(200, NULL, (const unsigned char *)html, strlen(html), "(none)");
	expect_garbage(502, "text/html", (const unsigned char *)html, strlen(html),
		       "answered HTTP 502");
	/* a real CMP message under the wrong label is refused all the same */
	body = read_data("cp-accepted.der", &len);
	expect_garbage(200, "application/octet-stream", body, len, "not application/pkixcmp");
	expect_garbage(200, "application/pkixcmpx", body, len, "not application/pkixcmp");
	free(body);
}

/* The profile item decodes as SEQUENCE OF UTF8String holding @name. */
static void
check_profile(const char *name)
{
	const unsigned char *p;
	unsigned char *der = NULL;
	ASN1_SEQUENCE_ANY *seq;
	ASN1_TYPE *t;
	struct pe_err err;
	size_t len = 0;

	assert_int_equal(pe_ca_cmp_profile_der(name, &der, &len, &err), PE_OK);
	p = der;
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len);
	assert_non_null(seq);
	assert_ptr_equal(p, der + len);
	assert_int_equal(sk_ASN1_TYPE_num(seq), 1);
	t = sk_ASN1_TYPE_value(seq, 0);
	assert_int_equal(ASN1_TYPE_get(t), V_ASN1_UTF8STRING);
	assert_int_equal(ASN1_STRING_length(t->value.utf8string), (int)strlen(name));
	assert_memory_equal(ASN1_STRING_get0_data(t->value.utf8string), name, strlen(name));
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	free(der);
}

static void
test_cmp_profile_der(void **state)
{
	static const unsigned char want[] = { 0x30, 0x14, 0x0c, 0x12, '1', '.', '2', '.',
					      '6',  '4',  '3',	'.',  '2', '.', '2', '.',
					      '4',  '6',  '.',	'0',  '.', '8' };
	unsigned char *der = NULL;
	char name[1001];
	struct pe_err err;
	size_t len = 0, n;

	(void)state;
	assert_int_equal(pe_ca_cmp_profile_der("1.2.643.2.2.46.0.8", &der, &len, &err), PE_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(der, want, sizeof(want));
	free(der);
	/* the length forms: short, one byte, two bytes, at each level */
	for (n = 1; n <= 1000; n += n < 130 ? 1 : n < 300 ? 7 : 101) {
		memset(name, 'a', n);
		name[n] = '\0';
		check_profile(name);
	}
	assert_int_equal(pe_ca_cmp_profile_der("", &der, &len, &err), PE_E_USAGE);
	memset(name, 'a', 1000);
	name[1000] = '\0';
	check_profile(name);
}

static void
test_cmp_connector_listed(void **state)
{
	(void)state;
	assert_ptr_equal(pe_ca_find("cmp"), &pe_ca_cmp_ops);
	assert_non_null(strstr(pe_ca_protocols(), "cmp"));
	assert_null(pe_ca_cmp_ops.templates);
	assert_non_null(pe_ca_cmp_ops.ack);
	assert_true(pe_ca_cmp_ops.login_required);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmp_answer_parse_good),
		cmocka_unit_test(test_cmp_answer_parse_truncated),
		cmocka_unit_test(test_cmp_answer_parse_trailing),
		cmocka_unit_test(test_cmp_answer_parse_not_cmp),
		cmocka_unit_test(test_cmp_profile_der),
		cmocka_unit_test(test_cmp_connector_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
