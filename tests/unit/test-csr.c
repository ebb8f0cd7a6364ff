/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the token-free parts of src/csr: subject attributes and
 * distinguished names, ECDSA signature conversion, and whole requests built
 * with a software signer that answers as a token would, checked with OpenSSL.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>

#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr/csr.h"

#define OID_TEMPLATE  "1.3.6.1.4.1.311.21.7"
#define OID_SIGN_TOOL "1.2.643.100.111"
#define OID_UPN	      "1.3.6.1.4.1.311.20.2.3"

/*
 * A software key that answers like a token: the raw signature (r || s of
 * fixed width for ECDSA, PKCS#1 v1.5 bytes for RSA) over data it hashes itself.
 */
struct soft_key {
	EVP_PKEY *pkey;	     /* the key that signs */
	unsigned char *spki; /* DER SubjectPublicKeyInfo of the key the signer claims */
	size_t spki_len;
	int calls;
	enum pe_hash hash; /* what the last call was asked for */
	bool corrupt;	   /* flip a bit of the signature */
	bool odd_length;   /* drop the last byte */
	enum pe_code fail; /* return this instead of signing */
};

struct fixture {
	EVP_PKEY *ec;
	EVP_PKEY *ec384;
	EVP_PKEY *rsa;
	EVP_PKEY *other_ec;
};

static struct fixture fx;

static EVP_PKEY *
key_make(const char *type, const char *param)
{
	EVP_PKEY *pkey = NULL;

	if (strcmp(type, "RSA") == 0)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	return pkey;
}

static int
group_setup(void **state)
{
	fx.ec = key_make("EC", "P-256");
	fx.ec384 = key_make("EC", "P-384");
	fx.rsa = key_make("RSA", NULL);
	fx.other_ec = key_make("EC", "P-256");
	if (fx.ec == NULL || fx.ec384 == NULL || fx.rsa == NULL || fx.other_ec == NULL)
		return -1;
	*state = &fx;
	return 0;
}

static int
group_teardown(void **state)
{
	EVP_PKEY_free(fx.ec);
	EVP_PKEY_free(fx.ec384);
	EVP_PKEY_free(fx.rsa);
	EVP_PKEY_free(fx.other_ec);
	return 0;
}

static const EVP_MD *
md_for(enum pe_hash hash)
{
	switch (hash) {
	case PE_HASH_SHA1:
		return EVP_sha1();
	case PE_HASH_SHA256:
		return EVP_sha256();
	case PE_HASH_SHA384:
		return EVP_sha384();
	case PE_HASH_SHA512:
		return EVP_sha512();
	case PE_HASH_NONE:
		break;
	}
	return NULL;
}

/* The DER ECDSA-Sig-Value from OpenSSL as the fixed-width r || s a token returns. */
static unsigned char *
ecdsa_raw(const unsigned char *der, size_t der_len, size_t width, size_t *raw_len)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	unsigned char *raw;

	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (sig == NULL)
		return NULL;
	ECDSA_SIG_get0(sig, &r, &s);
	raw = malloc(2 * width);
	if (raw == NULL || BN_bn2binpad(r, raw, (int)width) != (int)width ||
	    BN_bn2binpad(s, raw + width, (int)width) != (int)width) {
		free(raw);
		raw = NULL;
	}
	ECDSA_SIG_free(sig);
	*raw_len = 2 * width;
	return raw;
}

static enum pe_code
soft_sign(void *key, enum pe_hash hash, const unsigned char *data, size_t len, unsigned char **sig,
	  size_t *siglen, struct pe_err *err)
{
	struct soft_key *k = key;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL, *out = NULL;
	size_t der_len = 0, out_len = 0;
	enum pe_code rc = PE_OK;

	k->calls++;
	k->hash = hash;
	if (k->fail != PE_OK)
		return pe_err_set(err, k->fail, "software token refused");
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md_for(hash), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &der_len, data, len) != 1 ||
	    (der = malloc(der_len)) == NULL || EVP_DigestSign(ctx, der, &der_len, data, len) != 1) {
		rc = pe_err_set(err, PE_E_CRYPTO, "software signature failed");
		goto out;
	}
	if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC) {
		out = ecdsa_raw(der, der_len, ((size_t)EVP_PKEY_get_bits(k->pkey) + 7) / 8,
				&out_len);
		if (out == NULL) {
			rc = pe_err_set(err, PE_E_CRYPTO, "bad ECDSA signature");
			goto out;
		}
	} else {
		out = der;
		out_len = der_len;
		der = NULL;
	}
	if (k->corrupt)
		out[5] ^= 0x01;
	if (k->odd_length)
		out_len--;
	*sig = out;
	*siglen = out_len;
out:
	free(der);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* A signer for @pkey that claims to be @claimed (usually the same key). */
static void
soft_init(struct soft_key *k, struct pe_csr_signer *signer, EVP_PKEY *pkey, EVP_PKEY *claimed)
{
	unsigned char *der = NULL;
	int len;

	memset(k, 0, sizeof(*k));
	k->pkey = pkey;
	len = i2d_PUBKEY(claimed, &der);
	assert_true(len > 0);
	k->spki = der;
	k->spki_len = (size_t)len;
	signer->spki = k->spki;
	signer->spki_len = k->spki_len;
	signer->sign = soft_sign;
	signer->key = k;
}

static void
soft_cleanup(struct soft_key *k)
{
	OPENSSL_free(k->spki);
}

static X509_REQ *
req_parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *req;

	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_ptr_equal(p, der + len);
	return req;
}

/* Checks entry @i of @name: its OID, ASN.1 string type and value. */
static void
entry_check(const X509_NAME *name, int i, const char *oid, int type, const char *value)
{
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
	const ASN1_STRING *data;
	char txt[128];

	assert_non_null(e);
	assert_true(OBJ_obj2txt(txt, sizeof(txt), X509_NAME_ENTRY_get_object(e), 1) > 0);
	assert_string_equal(txt, oid);
	data = X509_NAME_ENTRY_get_data(e);
	assert_int_equal(ASN1_STRING_type(data), type);
	assert_int_equal(ASN1_STRING_length(data), (int)strlen(value));
	assert_memory_equal(ASN1_STRING_get0_data(data), value, strlen(value));
}

/* Returns: the extension with @oid in @exts (borrowed), or NULL. */
static X509_EXTENSION *
ext_find(const STACK_OF(X509_EXTENSION) * exts, const char *oid)
{
	char txt[128];
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2txt(txt, sizeof(txt), X509_EXTENSION_get_object(ext), 1) > 0 &&
		    strcmp(txt, oid) == 0)
			return ext;
	}
	return NULL;
}

/* pe_csr_attr_lookup */

static void
test_pe_csr_attr_lookup_standard(void **state)
{
	char oid[64];

	assert_int_equal(pe_csr_attr_lookup("CN", oid, sizeof(oid)), V_ASN1_UTF8STRING);
	assert_string_equal(oid, "2.5.4.3");
	assert_int_equal(pe_csr_attr_lookup("commonName", oid, sizeof(oid)), V_ASN1_UTF8STRING);
	assert_string_equal(oid, "2.5.4.3");
	assert_int_equal(pe_csr_attr_lookup("C", oid, sizeof(oid)), V_ASN1_PRINTABLESTRING);
	assert_string_equal(oid, "2.5.4.6");
	assert_int_equal(pe_csr_attr_lookup("E", oid, sizeof(oid)), V_ASN1_IA5STRING);
	assert_string_equal(oid, "1.2.840.113549.1.9.1");
	assert_int_equal(pe_csr_attr_lookup("O", oid, sizeof(oid)), V_ASN1_UTF8STRING);
	assert_string_equal(oid, "2.5.4.10");
	assert_int_equal(pe_csr_attr_lookup("SN", oid, sizeof(oid)), V_ASN1_UTF8STRING);
	assert_string_equal(oid, "2.5.4.4");
	assert_int_equal(pe_csr_attr_lookup("G", oid, sizeof(oid)), V_ASN1_UTF8STRING);
	assert_string_equal(oid, "2.5.4.42");
	assert_int_equal(pe_csr_attr_lookup("street", oid, sizeof(oid)), V_ASN1_UTF8STRING);
	assert_string_equal(oid, "2.5.4.9");
}

static void
test_pe_csr_attr_lookup_russian(void **state)
{
	static const struct {
		const char *name, *oid;
	} ru[] = {
		{ "INN", "1.2.643.3.131.1.1" }, { "SNILS", "1.2.643.100.3" },
		{ "OGRN", "1.2.643.100.1" },	{ "OGRNIP", "1.2.643.100.5" },
		{ "INNLE", "1.2.643.100.4" },
	};
	char oid[64];
	size_t i;

	for (i = 0; i < sizeof(ru) / sizeof(ru[0]); i++) {
		memset(oid, 0, sizeof(oid));
		assert_int_equal(pe_csr_attr_lookup(ru[i].name, oid, sizeof(oid)),
				 V_ASN1_NUMERICSTRING);
		assert_string_equal(oid, ru[i].oid);
		/* by OID the type is the same */
		assert_int_equal(pe_csr_attr_lookup(ru[i].oid, oid, sizeof(oid)),
				 V_ASN1_NUMERICSTRING);
	}
}

static void
test_pe_csr_attr_lookup_oid(void **state)
{
	char oid[64];

	assert_int_equal(pe_csr_attr_lookup("1.2.3.4.5", oid, sizeof(oid)), V_ASN1_UTF8STRING);
	assert_string_equal(oid, "1.2.3.4.5");
	/* an OID this program knows keeps its own type */
	assert_int_equal(pe_csr_attr_lookup("2.5.4.6", oid, sizeof(oid)), V_ASN1_PRINTABLESTRING);
	assert_int_equal(pe_csr_attr_lookup("1..2", oid, sizeof(oid)), 0);
	assert_int_equal(pe_csr_attr_lookup("1.2.", oid, sizeof(oid)), 0);
	assert_int_equal(pe_csr_attr_lookup(".1.2", oid, sizeof(oid)), 0);
}

static void
test_pe_csr_attr_lookup_unknown(void **state)
{
	char oid[64];

	assert_int_equal(pe_csr_attr_lookup("NOSUCHATTR", oid, sizeof(oid)), 0);
	assert_int_equal(pe_csr_attr_lookup("", oid, sizeof(oid)), 0);
	assert_int_equal(pe_csr_attr_lookup("CN ", oid, sizeof(oid)), 0);
	/* names OpenSSL knows are taken too */
	assert_int_equal(pe_csr_attr_lookup("DC", oid, sizeof(oid)), V_ASN1_IA5STRING);
	assert_string_equal(oid, "0.9.2342.19200300.100.1.25");
}

/* pe_csr_attr_check */

static void
expect_bad(const char *attr, const char *value)
{
	struct pe_err err;

	pe_err_clear(&err);
	if (pe_csr_attr_check(attr, value, &err) != PE_E_USAGE)
		fail_msg("%s='%s' was accepted", attr, value);
	assert_int_equal(err.code, PE_E_USAGE);
	if (strstr(err.msg, attr) == NULL)
		fail_msg("message '%s' does not name %s", err.msg, attr);
}

static void
expect_good(const char *attr, const char *value)
{
	struct pe_err err;

	pe_err_clear(&err);
	if (pe_csr_attr_check(attr, value, &err) != PE_OK)
		fail_msg("%s='%s' was refused: %s", attr, value, err.msg);
}

static void
test_pe_csr_attr_check_lengths(void **state)
{
	expect_good("INN", "500100732259");
	expect_bad("INN", "50010073225");
	expect_bad("INN", "5001007322590");
	expect_good("SNILS", "11223344595");
	expect_bad("SNILS", "1122334459");
	expect_good("OGRN", "1027700132195");
	expect_bad("OGRN", "102770013219");
	expect_good("OGRNIP", "304500116000157");
	expect_bad("OGRNIP", "3045001160001570");
	expect_good("INNLE", "7707083893");
	expect_bad("INNLE", "770708389");
	expect_bad("INNLE", "500100732259");
}

static void
test_pe_csr_attr_check_letters(void **state)
{
	expect_bad("INN", "50010073225a");
	expect_bad("SNILS", "112-233-445 95");
	expect_bad("OGRN", "１０２７７００１３２１９５");
	expect_bad("INNLE", "77070838 3");
}

static void
test_pe_csr_attr_check_country(void **state)
{
	expect_good("C", "RU");
	expect_good("C", "de");
	expect_bad("C", "RUS");
	expect_bad("C", "R");
	expect_bad("C", "1A");
	expect_bad("C", "R1");
	expect_bad("C", "РФ");
}

static void
test_pe_csr_attr_check_email(void **state)
{
	expect_good("E", "ivanov@example.ru");
	expect_bad("E", "иванов@пример.рф");
	expect_bad("E", "ivanov@exämple.de");
}

static void
test_pe_csr_attr_check_empty(void **state)
{
	expect_bad("CN", "");
	expect_bad("INN", "");
	expect_bad("C", "");
	expect_good("CN", "Иванов Иван Иванович");
	expect_good("1.2.3.4", "anything");
}

static void
test_pe_csr_attr_check_unknown(void **state)
{
	expect_bad("NOSUCHATTR", "x");
}

/* pe_csr_dn_split */

static void
test_pe_csr_dn_split_slash_order(void **state)
{
	struct pe_csr_field *fields = NULL;
	char *storage = NULL;
	struct pe_err err;
	size_t n = 0;

	assert_int_equal(pe_csr_dn_split("/C=RU/O=x/CN=y", &fields, &n, &storage, &err), PE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(fields[0].attr, "C");
	assert_string_equal(fields[0].value, "RU");
	assert_string_equal(fields[1].attr, "O");
	assert_string_equal(fields[1].value, "x");
	assert_string_equal(fields[2].attr, "CN");
	assert_string_equal(fields[2].value, "y");
	free(fields);
	free(storage);
}

static void
test_pe_csr_dn_split_comma_reversed(void **state)
{
	struct pe_csr_field *fields = NULL;
	char *storage = NULL;
	struct pe_err err;
	size_t n = 0;

	assert_int_equal(pe_csr_dn_split("CN=y,O=x,C=RU", &fields, &n, &storage, &err), PE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(fields[0].attr, "C");
	assert_string_equal(fields[0].value, "RU");
	assert_string_equal(fields[1].attr, "O");
	assert_string_equal(fields[1].value, "x");
	assert_string_equal(fields[2].attr, "CN");
	assert_string_equal(fields[2].value, "y");
	free(fields);
	free(storage);

	/* blanks after the separator and around the name are dropped */
	fields = NULL;
	storage = NULL;
	assert_int_equal(pe_csr_dn_split("CN=y, O =x", &fields, &n, &storage, &err), PE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(fields[0].attr, "O");
	assert_string_equal(fields[0].value, "x");
	assert_string_equal(fields[1].attr, "CN");
	free(fields);
	free(storage);
}

static void
test_pe_csr_dn_split_escapes(void **state)
{
	struct pe_csr_field *fields = NULL;
	char *storage = NULL;
	struct pe_err err;
	size_t n = 0;

	assert_int_equal(pe_csr_dn_split("/O=A\\/B/CN=c\\\\d", &fields, &n, &storage, &err), PE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(fields[0].attr, "O");
	assert_string_equal(fields[0].value, "A/B");
	assert_string_equal(fields[1].value, "c\\d");
	free(fields);
	free(storage);

	fields = NULL;
	storage = NULL;
	assert_int_equal(pe_csr_dn_split("CN=Doe\\, John,O=x", &fields, &n, &storage, &err), PE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(fields[0].attr, "O");
	assert_string_equal(fields[1].attr, "CN");
	assert_string_equal(fields[1].value, "Doe, John");
	free(fields);
	free(storage);

	/* in a slash DN a comma is plain text, and empty components are skipped */
	fields = NULL;
	storage = NULL;
	assert_int_equal(pe_csr_dn_split("/CN=Doe, John//O=x/", &fields, &n, &storage, &err),
			 PE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(fields[0].value, "Doe, John");
	assert_string_equal(fields[1].value, "x");
	free(fields);
	free(storage);
}

static void
test_pe_csr_dn_split_bad(void **state)
{
	static const struct {
		const char *dn, *part;
	} bad[] = {
		{ "/CN", "'CN'" }, { "/C=RU/CN", "'CN'" }, { "CN=y,O", "'O'" },
		{ "/=x", "'=x'" }, { "plain", "'plain'" },
	};
	struct pe_csr_field *fields;
	char *storage;
	struct pe_err err;
	size_t n, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fields = NULL;
		storage = NULL;
		pe_err_clear(&err);
		assert_int_equal(pe_csr_dn_split(bad[i].dn, &fields, &n, &storage, &err),
				 PE_E_USAGE);
		assert_null(fields);
		assert_null(storage);
		assert_non_null(strstr(err.msg, "NAME=VALUE"));
		/* the message names the component at fault */
		if (strstr(err.msg, bad[i].part) == NULL)
			fail_msg("message '%s' does not name %s", err.msg, bad[i].part);
	}
}

/* pe_csr_ecdsa_der */

/* Converts @raw and reads r and s back with OpenSSL. */
static void
ecdsa_round_trip(const unsigned char *raw, size_t raw_len, unsigned char **der_out,
		 size_t *der_len_out)
{
	unsigned char *der = NULL, back[132];
	const unsigned char *p;
	const BIGNUM *r, *s;
	size_t der_len = 0, half = raw_len / 2;
	struct pe_err err;
	ECDSA_SIG *sig;

	assert_int_equal(pe_csr_ecdsa_der(raw, raw_len, &der, &der_len, &err), PE_OK);
	assert_non_null(der);
	p = der;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	assert_non_null(sig);
	assert_ptr_equal(p, der + der_len);
	ECDSA_SIG_get0(sig, &r, &s);
	assert_int_equal(BN_bn2binpad(r, back, (int)half), (int)half);
	assert_int_equal(BN_bn2binpad(s, back + half, (int)half), (int)half);
	assert_memory_equal(back, raw, raw_len);
	ECDSA_SIG_free(sig);
	*der_out = der;
	*der_len_out = der_len;
}

static void
test_pe_csr_ecdsa_der_round_trip(void **state)
{
	unsigned char raw[64], *der = NULL;
	size_t der_len = 0, i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(0x11 + i);
	ecdsa_round_trip(raw, sizeof(raw), &der, &der_len);
	/* SEQUENCE { INTEGER 32 bytes, INTEGER 32 bytes } with no padding */
	assert_int_equal(der_len, 2 + 34 + 34);
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 68);
	assert_int_equal(der[2], 0x02);
	assert_int_equal(der[3], 32);
	assert_int_equal(der[4], 0x11);
	free(der);
}

static void
test_pe_csr_ecdsa_der_high_bit(void **state)
{
	unsigned char raw[64], *der = NULL;
	size_t der_len = 0;

	memset(raw, 0x5a, sizeof(raw));
	raw[0] = 0x80;
	raw[32] = 0xff;
	ecdsa_round_trip(raw, sizeof(raw), &der, &der_len);
	/* both INTEGERs get a 0x00 so that they stay positive */
	assert_int_equal(der_len, 2 + 35 + 35);
	assert_int_equal(der[2], 0x02);
	assert_int_equal(der[3], 33);
	assert_int_equal(der[4], 0x00);
	assert_int_equal(der[5], 0x80);
	assert_int_equal(der[2 + 35], 0x02);
	assert_int_equal(der[2 + 35 + 1], 33);
	assert_int_equal(der[2 + 35 + 2], 0x00);
	assert_int_equal(der[2 + 35 + 3], 0xff);
	free(der);
}

static void
test_pe_csr_ecdsa_der_leading_zero(void **state)
{
	unsigned char raw[64], *der = NULL;
	size_t der_len = 0;

	memset(raw, 0x33, sizeof(raw));
	raw[0] = 0x00;
	raw[1] = 0x00;
	raw[2] = 0x7f;
	memset(raw + 32, 0x00, 32);
	raw[63] = 0x01;
	ecdsa_round_trip(raw, sizeof(raw), &der, &der_len);
	/* minimal INTEGERs: r loses its two zero bytes, s is the one byte 0x01 */
	assert_int_equal(der[3], 30);
	assert_int_equal(der[4], 0x7f);
	assert_int_equal(der[2 + 32], 0x02);
	assert_int_equal(der[2 + 32 + 1], 1);
	assert_int_equal(der[2 + 32 + 2], 0x01);
	assert_int_equal(der_len, 2 + 32 + 3);
	free(der);
}

static void
test_pe_csr_ecdsa_der_p521(void **state)
{
	unsigned char raw[132], *der = NULL;
	size_t der_len = 0;

	memset(raw, 0x01, sizeof(raw));
	ecdsa_round_trip(raw, sizeof(raw), &der, &der_len);
	free(der);
}

static void
test_pe_csr_ecdsa_der_bad_length(void **state)
{
	unsigned char raw[140], *der = NULL;
	size_t der_len = 0;
	struct pe_err err;

	memset(raw, 0x42, sizeof(raw));
	assert_int_equal(pe_csr_ecdsa_der(raw, 63, &der, &der_len, &err), PE_E_CRYPTO);
	assert_null(der);
	assert_non_null(strstr(err.msg, "63"));
	assert_int_equal(pe_csr_ecdsa_der(raw, 0, &der, &der_len, &err), PE_E_CRYPTO);
	assert_null(der);
	assert_int_equal(pe_csr_ecdsa_der(raw, 1, &der, &der_len, &err), PE_E_CRYPTO);
	assert_null(der);
	assert_int_equal(pe_csr_ecdsa_der(raw, 134, &der, &der_len, &err), PE_E_CRYPTO);
	assert_null(der);
}

/* pe_csr_build */

static void
test_pe_csr_build_ec_full(void **state)
{
	static const unsigned char template_der[] = {
		0x30, 0x10,						    /* SEQUENCE */
		0x06, 0x08, 0x2a, 0x85, 0x03, 0x02, 0x02, 0x2e, 0x00, 0x08, /* OID */
		0x02, 0x01, 0x01,					    /* 1 */
		0x02, 0x01, 0x00,					    /* 0 */
	};
	static const char tool[] = "КриптоПро CSP (версия 5.0)";
	static const char *const emails[] = { "ivanov@example.ru" };
	static const char *const upns[] = { "ivanov@corp.example.ru" };
	static const struct pe_csr_field fields[] = {
		{ "INN", "500100732259" },
		{ "SNILS", "11223344595" },
		{ "E", "ivanov@example.ru" },
	};
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req;
	const X509_NAME *name;
	STACK_OF(X509_EXTENSION) * exts;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *data;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *san;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *alg_obj;
	bool saw_email = false, saw_upn = false;
	int i, crit;

	soft_init(&key, &signer, f->ec, f->ec);
	memset(&spec, 0, sizeof(spec));
	spec.subject = "/C=RU/CN=Иванов Иван Иванович";
	spec.fields = fields;
	spec.n_fields = sizeof(fields) / sizeof(fields[0]);
	spec.template_oid = "1.2.643.2.2.46.0.8";
	spec.template_major = 1;
	spec.template_minor = 0;
	spec.sign_tool = tool;
	spec.key_usage = "critical,digitalSignature,keyEncipherment";
	spec.ext_key_usage = "clientAuth,emailProtection";
	spec.emails = emails;
	spec.n_emails = 1;
	spec.upns = upns;
	spec.n_upns = 1;

	pe_err_clear(&err);
	if (pe_csr_build(&spec, &signer, &der, &len, &err) != PE_OK)
		fail_msg("pe_csr_build: %s", err.msg);
	assert_int_equal(key.calls, 1);
	assert_int_equal(key.hash, PE_HASH_SHA256);
	assert_non_null(der);

	req = req_parse(der, len);
	assert_int_equal(X509_REQ_verify(req, f->ec), 1);
	X509_REQ_get0_signature(req, NULL, &alg);
	X509_ALGOR_get0(&alg_obj, NULL, NULL, alg);
	assert_int_equal(OBJ_obj2nid(alg_obj), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_REQ_get_version(req), 0);

	/* the subject in the order given, each attribute with its own string type */
	name = X509_REQ_get_subject_name(req);
	assert_int_equal(X509_NAME_entry_count(name), 5);
	entry_check(name, 0, "2.5.4.6", V_ASN1_PRINTABLESTRING, "RU");
	entry_check(name, 1, "2.5.4.3", V_ASN1_UTF8STRING, "Иванов Иван Иванович");
	entry_check(name, 2, "1.2.643.3.131.1.1", V_ASN1_NUMERICSTRING, "500100732259");
	entry_check(name, 3, "1.2.643.100.3", V_ASN1_NUMERICSTRING, "11223344595");
	entry_check(name, 4, "1.2.840.113549.1.9.1", V_ASN1_IA5STRING, "ivanov@example.ru");

	exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	assert_int_equal(sk_X509_EXTENSION_num(exts), 5);

	ext = ext_find(exts, OID_TEMPLATE);
	assert_non_null(ext);
	assert_false(X509_EXTENSION_get_critical(ext));
	data = X509_EXTENSION_get_data(ext);
	assert_int_equal(ASN1_STRING_length(data), sizeof(template_der));
	assert_memory_equal(ASN1_STRING_get0_data(data), template_der, sizeof(template_der));

	ext = ext_find(exts, OID_SIGN_TOOL);
	assert_non_null(ext);
	data = X509_EXTENSION_get_data(ext);
	assert_int_equal(ASN1_STRING_get0_data(data)[0], V_ASN1_UTF8STRING);
	assert_int_equal(ASN1_STRING_get0_data(data)[1], sizeof(tool) - 1);
	assert_int_equal(ASN1_STRING_length(data), 2 + sizeof(tool) - 1);
	assert_memory_equal(ASN1_STRING_get0_data(data) + 2, tool, sizeof(tool) - 1);

	ku = X509V3_get_d2i(exts, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 0));  /* digitalSignature */
	assert_false(ASN1_BIT_STRING_get_bit(ku, 1)); /* nonRepudiation */
	assert_true(ASN1_BIT_STRING_get_bit(ku, 2));  /* keyEncipherment */
	ASN1_BIT_STRING_free(ku);

	eku = X509V3_get_d2i(exts, NID_ext_key_usage, &crit, NULL);
	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 2);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_client_auth);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_email_protect);
	EXTENDED_KEY_USAGE_free(eku);

	san = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 2);
	for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);
		char txt[64];

		if (gn->type == GEN_EMAIL) {
			assert_int_equal(ASN1_STRING_length(gn->d.rfc822Name), strlen(emails[0]));
			assert_memory_equal(ASN1_STRING_get0_data(gn->d.rfc822Name), emails[0],
					    strlen(emails[0]));
			saw_email = true;
		} else if (gn->type == GEN_OTHERNAME) {
			OBJ_obj2txt(txt, sizeof(txt), gn->d.otherName->type_id, 1);
			assert_string_equal(txt, OID_UPN);
			assert_int_equal(gn->d.otherName->value->type, V_ASN1_UTF8STRING);
			assert_memory_equal(
				ASN1_STRING_get0_data(gn->d.otherName->value->value.utf8string),
				upns[0], strlen(upns[0]));
			saw_upn = true;
		}
	}
	assert_true(saw_email);
	assert_true(saw_upn);
	GENERAL_NAMES_free(san);

	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_rsa(void **state)
{
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req;
	const X509_NAME *name;
	STACK_OF(X509_EXTENSION) * exts;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *alg_obj;
	EVP_PKEY *pub;
	char *pem;

	soft_init(&key, &signer, f->rsa, f->rsa);
	memset(&spec, 0, sizeof(spec));
	spec.subject = "CN=Service account,OU=IT,O=Example LLC,C=RU";

	pe_err_clear(&err);
	if (pe_csr_build(&spec, &signer, &der, &len, &err) != PE_OK)
		fail_msg("pe_csr_build: %s", err.msg);
	assert_int_equal(key.calls, 1);
	assert_int_equal(key.hash, PE_HASH_SHA256);

	req = req_parse(der, len);
	assert_int_equal(X509_REQ_verify(req, f->rsa), 1);
	/* the key in the request is the signer's */
	pub = X509_REQ_get0_pubkey(req);
	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_eq(pub, f->rsa), 1);
	X509_REQ_get0_signature(req, NULL, &alg);
	X509_ALGOR_get0(&alg_obj, NULL, NULL, alg);
	assert_int_equal(OBJ_obj2nid(alg_obj), NID_sha256WithRSAEncryption);

	name = X509_REQ_get_subject_name(req);
	assert_int_equal(X509_NAME_entry_count(name), 4);
	entry_check(name, 0, "2.5.4.6", V_ASN1_PRINTABLESTRING, "RU");
	entry_check(name, 1, "2.5.4.10", V_ASN1_UTF8STRING, "Example LLC");
	entry_check(name, 2, "2.5.4.11", V_ASN1_UTF8STRING, "IT");
	entry_check(name, 3, "2.5.4.3", V_ASN1_UTF8STRING, "Service account");

	/* nothing asked, no extensions */
	exts = X509_REQ_get_extensions(req);
	assert_int_equal(exts == NULL ? 0 : sk_X509_EXTENSION_num(exts), 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

	pem = pe_csr_to_pem(der, len);
	assert_non_null(pem);
	assert_memory_equal(pem, "-----BEGIN CERTIFICATE REQUEST-----\n", 36);
	free(pem);

	X509_REQ_free(req);
	free(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_ec_p384(void **state)
{
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *alg_obj;

	soft_init(&key, &signer, f->ec384, f->ec384);
	memset(&spec, 0, sizeof(spec));
	spec.subject = "/CN=p384";

	if (pe_csr_build(&spec, &signer, &der, &len, &err) != PE_OK)
		fail_msg("pe_csr_build: %s", err.msg);
	assert_int_equal(key.hash, PE_HASH_SHA384);
	req = req_parse(der, len);
	assert_int_equal(X509_REQ_verify(req, f->ec384), 1);
	X509_REQ_get0_signature(req, NULL, &alg);
	X509_ALGOR_get0(&alg_obj, NULL, NULL, alg);
	assert_int_equal(OBJ_obj2nid(alg_obj), NID_ecdsa_with_SHA384);
	X509_REQ_free(req);
	free(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_template_large(void **state)
{
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) * exts;
	const ASN1_OCTET_STRING *data;
	ASN1_SEQUENCE_ANY *seq;
	ASN1_INTEGER *ai;
	X509_EXTENSION *ext;
	const unsigned char *p;
	char oid[400], back[400];
	size_t used = 0;
	int64_t v;
	int i;

	/*
	 * A long template OID and big version numbers: 119 bytes of OID and 11
	 * of INTEGERs make a SEQUENCE over 127 bytes, which needs a long-form length.
	 */
	used = (size_t)snprintf(oid, sizeof(oid), "1.3.6.1.4.1.311.21.8");
	for (i = 0; i < 36; i++)
		used += (size_t)snprintf(oid + used, sizeof(oid) - used, ".%d", 1000000 + i);
	soft_init(&key, &signer, f->ec, f->ec);
	memset(&spec, 0, sizeof(spec));
	spec.subject = "/CN=template";
	spec.template_oid = oid;
	spec.template_major = 0xffffffffu;
	spec.template_minor = 128;

	if (pe_csr_build(&spec, &signer, &der, &len, &err) != PE_OK)
		fail_msg("pe_csr_build: %s", err.msg);
	req = req_parse(der, len);
	exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	ext = ext_find(exts, OID_TEMPLATE);
	assert_non_null(ext);
	data = X509_EXTENSION_get_data(ext);
	assert_true(ASN1_STRING_length(data) > 2 + 127);

	/* the value must be one well-formed DER SEQUENCE */
	p = ASN1_STRING_get0_data(data);
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(data));
	assert_non_null(seq);
	assert_ptr_equal(p, ASN1_STRING_get0_data(data) + ASN1_STRING_length(data));
	assert_int_equal(sk_ASN1_TYPE_num(seq), 3);
	assert_int_equal(ASN1_TYPE_get(sk_ASN1_TYPE_value(seq, 0)), V_ASN1_OBJECT);
	assert_true(OBJ_obj2txt(back, sizeof(back), sk_ASN1_TYPE_value(seq, 0)->value.object, 1) >
		    0);
	assert_string_equal(back, oid);
	ai = sk_ASN1_TYPE_value(seq, 1)->value.integer;
	assert_int_equal(ASN1_INTEGER_get_int64(&v, ai), 1);
	assert_int_equal(v, 0xffffffffL);
	ai = sk_ASN1_TYPE_value(seq, 2)->value.integer;
	assert_int_equal(ASN1_INTEGER_get_int64(&v, ai), 1);
	assert_int_equal(v, 128);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);

	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_bad_subject(void **state)
{
	static const struct pe_csr_field bad_inn[] = { { "INN", "50010073225X" } };
	static const struct pe_csr_field unknown[] = { { "NOSUCHATTR", "x" } };
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;

	soft_init(&key, &signer, f->ec, f->ec);

	memset(&spec, 0, sizeof(spec));
	spec.subject = "/C=RUS/CN=x";
	pe_err_clear(&err);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "subject"));
	assert_non_null(strstr(err.msg, "RUS"));

	spec.subject = "/CN";
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);

	spec.subject = "/CN=x";
	spec.fields = bad_inn;
	spec.n_fields = 1;
	pe_err_clear(&err);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "INN"));

	spec.fields = unknown;
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);

	/* an empty subject is refused too */
	memset(&spec, 0, sizeof(spec));
	pe_err_clear(&err);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "empty"));

	/* the token was never asked to sign */
	assert_int_equal(key.calls, 0);
	assert_null(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_bad_extension(void **state)
{
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;
	static const char *const comma[] = { "a@example.ru,b@example.ru" };

	soft_init(&key, &signer, f->ec, f->ec);
	memset(&spec, 0, sizeof(spec));
	spec.subject = "/CN=x";

	spec.template_oid = "not an oid";
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);
	spec.template_oid = NULL;

	spec.key_usage = "digitalSignature,noSuchUsage";
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "key usage"));
	spec.key_usage = NULL;

	spec.ext_key_usage = "clientAuth,noSuchPurpose";
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);
	spec.ext_key_usage = NULL;

	spec.emails = comma;
	spec.n_emails = 1;
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_USAGE);

	assert_int_equal(key.calls, 0);
	assert_null(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_wrong_signature(void **state)
{
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;

	memset(&spec, 0, sizeof(spec));
	spec.subject = "/CN=x";

	/* ECDSA with a bit flipped */
	soft_init(&key, &signer, f->ec, f->ec);
	key.corrupt = true;
	pe_err_clear(&err);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_CRYPTO);
	assert_non_null(strstr(err.msg, "does not verify"));
	assert_int_equal(key.calls, 1);
	assert_null(der);
	soft_cleanup(&key);

	/* RSA with a bit flipped */
	soft_init(&key, &signer, f->rsa, f->rsa);
	key.corrupt = true;
	pe_err_clear(&err);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_CRYPTO);
	assert_non_null(strstr(err.msg, "does not verify"));
	assert_null(der);
	soft_cleanup(&key);

	/* a well-formed signature by another key than the one in the request */
	soft_init(&key, &signer, f->other_ec, f->ec);
	pe_err_clear(&err);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_CRYPTO);
	assert_non_null(strstr(err.msg, "does not verify"));
	assert_null(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_signer_fails(void **state)
{
	struct fixture *f = *state;
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;

	memset(&spec, 0, sizeof(spec));
	spec.subject = "/CN=x";

	/* the signer's own code comes back, with context */
	soft_init(&key, &signer, f->ec, f->ec);
	key.fail = PE_E_PIN;
	pe_err_clear(&err);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_PIN);
	assert_string_equal(err.msg, "signing the request: software token refused");
	assert_null(der);
	soft_cleanup(&key);

	/* an ECDSA answer that is not r || s */
	soft_init(&key, &signer, f->ec, f->ec);
	key.odd_length = true;
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_CRYPTO);
	assert_null(der);
	soft_cleanup(&key);
}

static void
test_pe_csr_build_bad_spki(void **state)
{
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *der = NULL;
	size_t len = 0;

	memset(&key, 0, sizeof(key));
	memset(&spec, 0, sizeof(spec));
	spec.subject = "/CN=x";
	signer.spki = junk;
	signer.spki_len = sizeof(junk);
	signer.sign = soft_sign;
	signer.key = &key;
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &len, &err), PE_E_CRYPTO);
	assert_int_equal(key.calls, 0);
	assert_null(der);
	/* nothing left on the OpenSSL error queue for the next caller */
	assert_int_equal(ERR_peek_error(), 0);
}

/* pe_csr_with_challenge */

/* Returns: the one challengePassword of @req as text (static), or NULL; its ASN.1 type in *type. */
static const char *
challenge_of(X509_REQ *req, int *type)
{
	static char text[300];
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *t;
	int i = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);

	if (i < 0)
		return NULL;
	assert_true(X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, i) < 0);
	attr = X509_REQ_get_attr(req, i);
	assert_int_equal(X509_ATTRIBUTE_count(attr), 1);
	t = X509_ATTRIBUTE_get0_type(attr, 0);
	*type = t->type;
	assert_true(t->value.asn1_string->length < (int)sizeof(text));
	memcpy(text, t->value.asn1_string->data, (size_t)t->value.asn1_string->length);
	text[t->value.asn1_string->length] = '\0';
	return text;
}

static void
test_pe_csr_with_challenge_added(void **state)
{
	struct fixture *f = *state;
	struct pe_secret *challenge = pe_secret_new("s3cret challenge", 16);
	struct pe_secret *utf8 = pe_secret_new("пароль", strlen("пароль"));
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct soft_key key;
	struct pe_err err;
	unsigned char *csr = NULL, *der = NULL, *again = NULL;
	size_t csr_len = 0, len = 0, again_len = 0;
	X509_REQ *orig, *req;
	int type = 0;

	assert_non_null(challenge);
	assert_non_null(utf8);
	soft_init(&key, &signer, f->rsa, f->rsa);
	memset(&spec, 0, sizeof(spec));
	spec.subject = "CN=SCEP client,C=RU";
	assert_int_equal(pe_csr_build(&spec, &signer, &csr, &csr_len, &err), PE_OK);
	if (pe_csr_with_challenge(csr, csr_len, challenge, &signer, &der, &len, &err) != PE_OK)
		fail_msg("pe_csr_with_challenge: %s", err.msg);
	assert_int_equal(key.calls, 2);
	orig = req_parse(csr, csr_len);
	req = req_parse(der, len);
	assert_null(challenge_of(orig, &type));
	assert_string_equal(challenge_of(req, &type), "s3cret challenge");
	assert_int_equal(type, V_ASN1_PRINTABLESTRING);
	/* signed again by the key, same subject and key */
	assert_int_equal(X509_REQ_verify(req, f->rsa), 1);
	assert_int_equal(
		X509_NAME_cmp(X509_REQ_get_subject_name(req), X509_REQ_get_subject_name(orig)), 0);
	/* a second challenge replaces the first; text that is not printable is UTF8String */
	if (pe_csr_with_challenge(der, len, utf8, &signer, &again, &again_len, &err) != PE_OK)
		fail_msg("pe_csr_with_challenge: %s", err.msg);
	X509_REQ_free(req);
	req = req_parse(again, again_len);
	assert_string_equal(challenge_of(req, &type), "пароль");
	assert_int_equal(type, V_ASN1_UTF8STRING);
	assert_int_equal(X509_REQ_verify(req, f->rsa), 1);
	X509_REQ_free(req);
	X509_REQ_free(orig);
	free(again);
	free(der);
	free(csr);
	pe_secret_free(challenge);
	pe_secret_free(utf8);
	soft_cleanup(&key);
}

static void
test_pe_csr_with_challenge_refused(void **state)
{
	struct fixture *f = *state;
	struct pe_secret *challenge = pe_secret_new("x", 1);
	struct pe_secret *empty = pe_secret_new("", 0);
	struct pe_csr_spec spec;
	struct pe_csr_signer signer, other;
	struct soft_key key, other_key;
	struct pe_err err;
	unsigned char *csr = NULL, *der = NULL;
	size_t csr_len = 0, len = 0;

	soft_init(&key, &signer, f->rsa, f->rsa);
	soft_init(&other_key, &other, f->ec, f->ec);
	memset(&spec, 0, sizeof(spec));
	spec.subject = "CN=SCEP client";
	assert_int_equal(pe_csr_build(&spec, &signer, &csr, &csr_len, &err), PE_OK);
	/* another key than the request's */
	assert_int_equal(pe_csr_with_challenge(csr, csr_len, challenge, &other, &der, &len, &err),
			 PE_E_USAGE);
	assert_non_null(strstr(err.msg, "another key"));
	/* an empty challenge, a truncated request */
	assert_int_equal(pe_csr_with_challenge(csr, csr_len, empty, &signer, &der, &len, &err),
			 PE_E_USAGE);
	assert_int_equal(
		pe_csr_with_challenge(csr, csr_len - 1, challenge, &signer, &der, &len, &err),
		PE_E_USAGE);
	assert_null(der);
	free(csr);
	pe_secret_free(challenge);
	pe_secret_free(empty);
	soft_cleanup(&key);
	soft_cleanup(&other_key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_csr_attr_lookup_standard),
		cmocka_unit_test(test_pe_csr_attr_lookup_russian),
		cmocka_unit_test(test_pe_csr_attr_lookup_oid),
		cmocka_unit_test(test_pe_csr_attr_lookup_unknown),
		cmocka_unit_test(test_pe_csr_attr_check_lengths),
		cmocka_unit_test(test_pe_csr_attr_check_letters),
		cmocka_unit_test(test_pe_csr_attr_check_country),
		cmocka_unit_test(test_pe_csr_attr_check_email),
		cmocka_unit_test(test_pe_csr_attr_check_empty),
		cmocka_unit_test(test_pe_csr_attr_check_unknown),
		cmocka_unit_test(test_pe_csr_dn_split_slash_order),
		cmocka_unit_test(test_pe_csr_dn_split_comma_reversed),
		cmocka_unit_test(test_pe_csr_dn_split_escapes),
		cmocka_unit_test(test_pe_csr_dn_split_bad),
		cmocka_unit_test(test_pe_csr_ecdsa_der_round_trip),
		cmocka_unit_test(test_pe_csr_ecdsa_der_high_bit),
		cmocka_unit_test(test_pe_csr_ecdsa_der_leading_zero),
		cmocka_unit_test(test_pe_csr_ecdsa_der_p521),
		cmocka_unit_test(test_pe_csr_ecdsa_der_bad_length),
		cmocka_unit_test(test_pe_csr_build_ec_full),
		cmocka_unit_test(test_pe_csr_build_rsa),
		cmocka_unit_test(test_pe_csr_build_ec_p384),
		cmocka_unit_test(test_pe_csr_build_template_large),
		cmocka_unit_test(test_pe_csr_build_bad_subject),
		cmocka_unit_test(test_pe_csr_build_bad_extension),
		cmocka_unit_test(test_pe_csr_build_wrong_signature),
		cmocka_unit_test(test_pe_csr_build_signer_fails),
		cmocka_unit_test(test_pe_csr_build_bad_spki),
		cmocka_unit_test(test_pe_csr_with_challenge_added),
		cmocka_unit_test(test_pe_csr_with_challenge_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
