/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/ca/scep.c: GetCACaps and GetCACert answers (one
 * certificate, a CA and RA bag, garbage), the pkiMessage the connector sends
 * (checked with OpenSSL's own PKCS#7 code), and CertRep answers built here
 * with OpenSSL as a SCEP CA would: SUCCESS (AES and DES), PENDING, FAILURE
 * with its failInfo, and hostile ones (truncated, wrong content type, not
 * SignedData, a bad signature, another nonce or transaction). The key is a
 * software key behind the same callbacks the token fills.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

#define CT_CA	"application/x-x509-ca-cert"
#define CT_CARA "application/x-x509-ca-ra-cert"
#define CT_PKI	"application/x-pki-message"
#define TID	"0123456789abcdef"

static EVP_PKEY *ca_key, *client_key, *other_key, *ra_key;
static X509 *ca_cert, *client_self, *issued, *ra_cert, *fake_ca;
static unsigned char *ca_der, *client_spki;
static size_t ca_der_len, client_spki_len;
static const unsigned char nonce[PE_CA_SCEP_NONCE_LEN] = "0123456789abcdef";

/* Helpers: keys and certificates made with OpenSSL */

static EVP_PKEY *
rsa_key(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);

	assert_non_null(k);
	return k;
}

/* A certificate for @key, named @cn, issued by @issuer (NULL: self-signed) with @issuer_key. */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "CA:FALSE");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
				  ca ? "keyCertSign,cRLSign" : "digitalSignature,keyEncipherment");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

static unsigned char *
cert_der(X509 *x, size_t *len)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	assert_true(n > 0);
	*len = (size_t)n;
	return p;
}

static int
setup(void **state)
{
	unsigned char *p = NULL;
	int n;

	(void)state;
	ca_key = rsa_key();
	client_key = rsa_key();
	other_key = rsa_key();
	ra_key = rsa_key();
	ca_cert = make_cert(ca_key, "SCEP test CA", NULL, NULL, true, 1);
	client_self = make_cert(client_key, "Ivanov Ivan", NULL, NULL, false, 2);
	issued = make_cert(client_key, "Ivanov Ivan", ca_cert, ca_key, false, 3);
	ra_cert = make_cert(ra_key, "SCEP test RA", ca_cert, ca_key, false, 4);
	/* the CA's name and serial on another key: a forged signer */
	fake_ca = make_cert(other_key, "SCEP test CA", NULL, NULL, true, 1);
	ca_der = cert_der(ca_cert, &ca_der_len);
	n = i2d_PUBKEY(client_key, &p);
	assert_true(n > 0);
	client_spki = p;
	client_spki_len = (size_t)n;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ca_cert);
	X509_free(client_self);
	X509_free(issued);
	X509_free(ra_cert);
	X509_free(fake_ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(client_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ra_key);
	OPENSSL_free(ca_der);
	OPENSSL_free(client_spki);
	return 0;
}

/* The software key behind the callbacks the token fills */

static enum pe_code
sw_sign(void *key, enum pe_hash hash, const unsigned char *data, size_t len, unsigned char **sig,
	size_t *siglen, struct pe_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 0;

	assert_int_equal(hash, PE_HASH_SHA256);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &n, data, len), 1);
	*sig = malloc(n);
	assert_non_null(*sig);
	assert_int_equal(EVP_DigestSign(ctx, *sig, &n, data, len), 1);
	*siglen = n;
	EVP_MD_CTX_free(ctx);
	(void)err;
	return PE_OK;
}

static enum pe_code
sw_decrypt(void *key, const unsigned char *in, size_t len, unsigned char **out, size_t *out_len,
	   struct pe_err *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t n = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, NULL, &n, in, len), 1);
	*out = malloc(n);
	assert_non_null(*out);
	if (EVP_PKEY_decrypt(ctx, *out, &n, in, len) != 1) {
		free(*out);
		EVP_PKEY_CTX_free(ctx);
		ERR_clear_error();
		return pe_err_set(err, PE_E_P11, "C_Decrypt: CKR_ENCRYPTED_DATA_INVALID");
	}
	*out_len = n;
	EVP_PKEY_CTX_free(ctx);
	return PE_OK;
}

static struct pe_ca_key
client(void)
{
	struct pe_ca_key key;

	memset(&key, 0, sizeof(key));
	key.signer.spki = client_spki;
	key.signer.spki_len = client_spki_len;
	key.signer.sign = sw_sign;
	key.signer.key = client_key;
	key.decrypt = sw_decrypt;
	key.decrypt_ctx = client_key;
	return key;
}

static struct pe_ca_scep_ca *
the_ca(void)
{
	struct pe_ca_scep_ca *ca = NULL;
	struct pe_err err;

	if (pe_ca_scep_ca_parse(CT_CA, ca_der, ca_der_len, &ca, &err) != PE_OK)
		fail_msg("%s", err.msg);
	return ca;
}

static void
assert_msg_contains(const struct pe_err *err, const char *part)
{
	if (strstr(err->msg, part) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, part);
}

/* A degenerate PKCS#7 (a certificate bag) of @a and @b (may be NULL). */
static unsigned char *
bag(X509 *a, X509 *b, size_t *len)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *p = NULL;
	int n;

	assert_non_null(p7);
	assert_int_equal(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
	assert_int_equal(PKCS7_content_new(p7, NID_pkcs7_data), 1);
	assert_int_equal(PKCS7_add_certificate(p7, a), 1);
	if (b != NULL)
		assert_int_equal(PKCS7_add_certificate(p7, b), 1);
	n = i2d_PKCS7(p7, &p);
	assert_true(n > 0);
	PKCS7_free(p7);
	*len = (size_t)n;
	return p;
}

static void
attr(PKCS7_SIGNER_INFO *si, const char *oid, int type, const void *data, int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);

	assert_non_null(obj);
	assert_non_null(X509at_add1_attr_by_OBJ(&si->auth_attr, obj, type,
						(const unsigned char *)data, len));
	ASN1_OBJECT_free(obj);
}

struct rep {
	const char *type;	     /* messageType, "3" */
	const char *status;	     /* pkiStatus */
	const char *fail_info;	     /* or NULL */
	const char *fail_text;	     /* or NULL */
	const char *tid;	     /* transactionID */
	const unsigned char *rnonce; /* recipientNonce */
	X509 *signer;
	EVP_PKEY *signer_key;
	const EVP_CIPHER *cipher; /* for SUCCESS; NULL: AES-256-CBC */
	OSSL_LIB_CTX *libctx;	  /* where the cipher lives, or NULL */
	bool detached;		  /* FAILURE and PENDING: no content at all */
};

static struct rep
rep_default(const char *status)
{
	struct rep r;

	memset(&r, 0, sizeof(r));
	r.type = "3";
	r.status = status;
	r.tid = TID;
	r.rnonce = nonce;
	r.signer = ca_cert;
	r.signer_key = ca_key;
	return r;
}

/* A CertRep as a SCEP CA makes it, with OpenSSL's PKCS#7 code. */
static unsigned char *
certrep(const struct rep *r, size_t *len)
{
	unsigned char *content = NULL, *env = NULL, *p = NULL;
	size_t content_len = 0;
	STACK_OF(X509) *to = sk_X509_new_null();
	PKCS7 *p7, *e7;
	PKCS7_SIGNER_INFO *si;
	BIO *in;
	int n = 0;

	assert_non_null(to);
	if (strcmp(r->status, "0") == 0) {
		content = bag(issued, NULL, &content_len);
		in = BIO_new_mem_buf(content, (int)content_len);
		assert_int_equal(sk_X509_push(to, client_self), 1);
		e7 = PKCS7_encrypt_ex(to, in, r->cipher ? r->cipher : EVP_aes_256_cbc(),
				      PKCS7_BINARY, r->libctx, NULL);
		assert_non_null(e7);
		BIO_free(in);
		n = i2d_PKCS7(e7, &env);
		assert_true(n > 0);
		PKCS7_free(e7);
	}
	in = BIO_new_mem_buf(env != NULL ? (const void *)env : "", n);
	p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY);
	assert_non_null(p7);
	si = PKCS7_sign_add_signer(p7, r->signer, r->signer_key, EVP_sha256(),
				   PKCS7_BINARY | PKCS7_NOSMIMECAP);
	assert_non_null(si);
	attr(si, "2.16.840.1.113733.1.9.2", V_ASN1_PRINTABLESTRING, r->type, (int)strlen(r->type));
	attr(si, "2.16.840.1.113733.1.9.3", V_ASN1_PRINTABLESTRING, r->status,
	     (int)strlen(r->status));
	if (r->fail_info != NULL)
		attr(si, "2.16.840.1.113733.1.9.4", V_ASN1_PRINTABLESTRING, r->fail_info,
		     (int)strlen(r->fail_info));
	if (r->fail_text != NULL)
		attr(si, "1.3.6.1.5.5.7.24.1", V_ASN1_UTF8STRING, r->fail_text,
		     (int)strlen(r->fail_text));
	attr(si, "2.16.840.1.113733.1.9.7", V_ASN1_PRINTABLESTRING, r->tid, (int)strlen(r->tid));
	attr(si, "2.16.840.1.113733.1.9.5", V_ASN1_OCTET_STRING, "fedcba9876543210", 16);
	attr(si, "2.16.840.1.113733.1.9.6", V_ASN1_OCTET_STRING, r->rnonce, 16);
	if (r->detached)
		assert_int_equal(PKCS7_set_detached(p7, 1), 1);
	assert_int_equal(PKCS7_final(p7, in, PKCS7_BINARY), 1);
	n = i2d_PKCS7(p7, &p);
	assert_true(n > 0);
	*len = (size_t)n;
	PKCS7_free(p7);
	BIO_free(in);
	OPENSSL_free(env);
	OPENSSL_free(content);
	sk_X509_free(to);
	return p;
}

/* Parses @body as the answer to our message TID with nonce. */
static enum pe_code
parse(const char *ct, const unsigned char *body, size_t len, unsigned char **cert, size_t *cert_len,
      struct pe_err *err)
{
	struct pe_ca_scep_ca *ca = the_ca();
	struct pe_ca_key key = client();
	enum pe_code rc;

	*cert = NULL;
	rc = pe_ca_scep_certrep_parse(ca, ct, body, len, TID, nonce, &key, cert, cert_len, err);
	pe_ca_scep_ca_free(ca);
	return rc;
}

static void
assert_garbage(const unsigned char *body, size_t len, const char *ct, const char *what)
{
	unsigned char *cert = NULL;
	size_t cert_len = 0;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(parse(ct, body, len, &cert, &cert_len, &err), PE_E_NET);
	assert_null(cert);
	assert_msg_contains(&err, "the SCEP server answered garbage");
	assert_msg_contains(&err, what);
}

/* GetCACaps */

static void
test_caps_parse_scepserver(void **state)
{
	static const char caps[] = "Renewal\nSHA-1\nSHA-256\nAES\nDES3\nSCEPStandard\n"
				   "POSTPKIOperation";

	(void)state;
	assert_int_equal(pe_ca_scep_caps_parse(caps, strlen(caps)),
			 PE_CA_SCEP_CAP_AES | PE_CA_SCEP_CAP_DES3 | PE_CA_SCEP_CAP_SHA256 |
				 PE_CA_SCEP_CAP_POST | PE_CA_SCEP_CAP_STANDARD |
				 PE_CA_SCEP_CAP_RENEWAL);
}

static void
test_caps_parse_case_and_crlf(void **state)
{
	static const char caps[] = "aes\r\n  postpkioperation \r\nAESX\r\n";

	(void)state;
	assert_int_equal(pe_ca_scep_caps_parse(caps, strlen(caps)),
			 PE_CA_SCEP_CAP_AES | PE_CA_SCEP_CAP_POST);
	assert_int_equal(pe_ca_scep_caps_parse("", 0), 0);
	/* SCEPStandard alone means AES, SHA-256 and POST */
	assert_int_equal(pe_ca_scep_caps_parse("SCEPStandard", 12),
			 PE_CA_SCEP_CAP_AES | PE_CA_SCEP_CAP_SHA256 | PE_CA_SCEP_CAP_POST |
				 PE_CA_SCEP_CAP_STANDARD);
}

/* GetCACert */

static void
test_ca_parse_one_cert(void **state)
{
	struct pe_ca_scep_ca *ca = the_ca();
	unsigned char **certs = NULL;
	size_t *lens = NULL, n = 0;
	struct pe_err err;

	(void)state;
	assert_int_equal(pe_ca_scep_ca_roots(ca, &certs, &lens, &n, &err), PE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(lens[0], ca_der_len);
	assert_memory_equal(certs[0], ca_der, ca_der_len);
	pe_ca_certs_free(certs, lens, n);
	pe_ca_scep_ca_free(ca);
}

/* A CA and RA bag: only the CA is a root; requests are encrypted to the RA. */
static void
test_ca_parse_ra_bag(void **state)
{
	struct pe_ca_scep_ca *ca = NULL;
	struct pe_ca_key key = client();
	unsigned char *body, **certs = NULL, *msg = NULL, *subject = NULL, *env_der;
	const unsigned char *p;
	size_t len, *lens = NULL, n = 0, msg_len = 0;
	BIO *plain;
	PKCS7 *p7, *env;
	char *data;
	long data_len;
	struct pe_err err;
	int subject_len;

	(void)state;
	body = bag(ra_cert, ca_cert, &len);
	if (pe_ca_scep_ca_parse(CT_CARA, body, len, &ca, &err) != PE_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(pe_ca_scep_ca_roots(ca, &certs, &lens, &n, &err), PE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(lens[0], ca_der_len);
	assert_memory_equal(certs[0], ca_der, ca_der_len);
	pe_ca_certs_free(certs, lens, n);

	/* the RA's key opens the message's envelope */
	subject_len = i2d_X509_NAME(X509_get_subject_name(client_self), &subject);
	assert_true(subject_len > 0);
	assert_int_equal(pe_ca_scep_message_build(ca, PE_CA_SCEP_CAP_AES, &key, "19", TID, nonce,
						  (const unsigned char *)"request", 7, subject,
						  (size_t)subject_len, &msg, &msg_len, &err),
			 PE_OK);
	p = msg;
	p7 = d2i_PKCS7(NULL, &p, (long)msg_len);
	assert_non_null(p7);
	env_der = p7->d.sign->contents->d.data->data;
	p = env_der;
	env = d2i_PKCS7(NULL, &p, p7->d.sign->contents->d.data->length);
	assert_non_null(env);
	plain = BIO_new(BIO_s_mem());
	assert_int_equal(PKCS7_decrypt(env, ra_key, ra_cert, plain, PKCS7_BINARY), 1);
	data_len = BIO_get_mem_data(plain, &data);
	assert_int_equal(data_len, 7);
	assert_memory_equal(data, "request", 7);
	BIO_free(plain);
	PKCS7_free(env);
	PKCS7_free(p7);
	free(msg);
	OPENSSL_free(subject);
	OPENSSL_free(body);
	pe_ca_scep_ca_free(ca);
}

static void
test_ca_parse_wrong_content_type(void **state)
{
	struct pe_ca_scep_ca *ca = NULL;
	struct pe_err err;

	(void)state;
	assert_int_equal(pe_ca_scep_ca_parse("text/html", ca_der, ca_der_len, &ca, &err), PE_E_NET);
	assert_null(ca);
	assert_msg_contains(&err, "'text/html', not application/x-x509-ca-cert");
	assert_int_equal(pe_ca_scep_ca_parse(NULL, ca_der, ca_der_len, &ca, &err), PE_E_NET);
	assert_msg_contains(&err, "without a content type");
}

static void
test_ca_parse_truncated(void **state)
{
	struct pe_ca_scep_ca *ca = NULL;
	unsigned char *body;
	size_t len;
	struct pe_err err;

	(void)state;
	body = bag(ra_cert, ca_cert, &len);
	assert_int_equal(pe_ca_scep_ca_parse(CT_CARA, body, len - 20, &ca, &err), PE_E_NET);
	assert_msg_contains(&err, "not a whole PKCS#7");
	assert_int_equal(pe_ca_scep_ca_parse(CT_CA, ca_der, ca_der_len - 20, &ca, &err), PE_E_NET);
	assert_msg_contains(&err, "not a certificate");
	/* a PKCS#7 said to be one certificate */
	assert_int_equal(pe_ca_scep_ca_parse(CT_CA, body, len, &ca, &err), PE_E_NET);
	assert_null(ca);
	OPENSSL_free(body);
}

/* The pkiMessage, checked with OpenSSL's PKCS#7 code as a CA would */

static const char *
signed_text(PKCS7_SIGNER_INFO *si, const char *oid, int *type, int *len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int i = X509at_get_attr_by_OBJ(PKCS7_get_signed_attributes(si), obj, -1);
	ASN1_TYPE *t;

	ASN1_OBJECT_free(obj);
	assert_true(i >= 0);
	t = X509_ATTRIBUTE_get0_type(X509at_get_attr(PKCS7_get_signed_attributes(si), i), 0);
	assert_non_null(t);
	*type = t->type;
	*len = t->value.asn1_string->length;
	return (const char *)t->value.asn1_string->data;
}

static void
test_message_build_verifies(void **state)
{
	struct pe_ca_scep_ca *ca = the_ca();
	struct pe_ca_key key = client();
	unsigned char *msg = NULL, *subject = NULL;
	const unsigned char *p;
	size_t msg_len = 0;
	PKCS7 *p7, *env;
	PKCS7_SIGNER_INFO *si;
	STACK_OF(X509) * signers;
	BIO *out = BIO_new(BIO_s_mem()), *plain = BIO_new(BIO_s_mem());
	const char *text;
	char *data;
	long data_len;
	struct pe_err err;
	int subject_len, type, len;

	(void)state;
	subject_len = i2d_X509_NAME(X509_get_subject_name(client_self), &subject);
	assert_true(subject_len > 0);
	assert_int_equal(pe_ca_scep_message_build(ca, 0, &key, "19", TID, nonce,
						  (const unsigned char *)"a request", 9, subject,
						  (size_t)subject_len, &msg, &msg_len, &err),
			 PE_OK);
	p = msg;
	p7 = d2i_PKCS7(NULL, &p, (long)msg_len);
	assert_non_null(p7);
	assert_ptr_equal(p, msg + msg_len);
	/* signed by the self-signed certificate it carries, for the client's key */
	assert_int_equal(PKCS7_verify(p7, NULL, NULL, NULL, out, PKCS7_NOVERIFY | PKCS7_BINARY), 1);
	signers = PKCS7_get0_signers(p7, NULL, 0);
	assert_int_equal(sk_X509_num(signers), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(signers, 0)), client_key), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(sk_X509_value(signers, 0)),
				       X509_get_subject_name(client_self)),
			 0);
	assert_int_equal(X509_verify(sk_X509_value(signers, 0), client_key), 1);
	sk_X509_free(signers);
	si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
	text = signed_text(si, "2.16.840.1.113733.1.9.2", &type, &len);
	assert_int_equal(type, V_ASN1_PRINTABLESTRING);
	assert_int_equal(len, 2);
	assert_memory_equal(text, "19", 2);
	text = signed_text(si, "2.16.840.1.113733.1.9.7", &type, &len);
	assert_int_equal(type, V_ASN1_PRINTABLESTRING);
	assert_int_equal(len, (int)strlen(TID));
	assert_memory_equal(text, TID, strlen(TID));
	text = signed_text(si, "2.16.840.1.113733.1.9.5", &type, &len);
	assert_int_equal(type, V_ASN1_OCTET_STRING);
	assert_int_equal(len, PE_CA_SCEP_NONCE_LEN);
	assert_memory_equal(text, nonce, PE_CA_SCEP_NONCE_LEN);
	/* the content opens with the CA's key; without the AES capability it is 3DES */
	data_len = BIO_get_mem_data(out, &data);
	p = (const unsigned char *)data;
	env = d2i_PKCS7(NULL, &p, data_len);
	assert_non_null(env);
	assert_int_equal(OBJ_obj2nid(env->d.enveloped->enc_data->algorithm->algorithm),
			 NID_des_ede3_cbc);
	assert_int_equal(PKCS7_decrypt(env, ca_key, ca_cert, plain, PKCS7_BINARY), 1);
	data_len = BIO_get_mem_data(plain, &data);
	assert_int_equal(data_len, 9);
	assert_memory_equal(data, "a request", 9);
	PKCS7_free(env);
	PKCS7_free(p7);
	BIO_free(out);
	BIO_free(plain);
	free(msg);
	OPENSSL_free(subject);
	pe_ca_scep_ca_free(ca);
}

static void
test_message_build_refuses_ec(void **state)
{
	struct pe_ca_scep_ca *ca = the_ca();
	struct pe_ca_key key = client();
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	unsigned char *spki = NULL, *msg = NULL, *subject = NULL;
	size_t msg_len = 0;
	struct pe_err err;
	int n, subject_len;

	(void)state;
	assert_non_null(ec);
	n = i2d_PUBKEY(ec, &spki);
	assert_true(n > 0);
	key.signer.spki = spki;
	key.signer.spki_len = (size_t)n;
	subject_len = i2d_X509_NAME(X509_get_subject_name(client_self), &subject);
	assert_int_equal(pe_ca_scep_message_build(ca, 0, &key, "19", TID, nonce,
						  (const unsigned char *)"x", 1, subject,
						  (size_t)subject_len, &msg, &msg_len, &err),
			 PE_E_USAGE);
	assert_msg_contains(&err, "SCEP needs an RSA key");
	assert_null(msg);
	OPENSSL_free(subject);
	OPENSSL_free(spki);
	EVP_PKEY_free(ec);
	pe_ca_scep_ca_free(ca);
}

/* CertPoll: IssuerAndSubject names the issuing CA (the RA's issuer) and the request's subject */
static void
test_issuer_and_subject(void **state)
{
	struct pe_ca_scep_ca *ca = NULL;
	unsigned char *subject = NULL, *body, *der = NULL;
	const unsigned char *p, *end;
	size_t len, der_len = 0;
	X509_NAME *name;
	struct pe_err err;
	long seq_len;
	int subject_len, tag, cls;

	(void)state;
	body = bag(ra_cert, ca_cert, &len);
	assert_int_equal(pe_ca_scep_ca_parse(CT_CARA, body, len, &ca, &err), PE_OK);
	subject_len = i2d_X509_NAME(X509_get_subject_name(client_self), &subject);
	assert_true(subject_len > 0);
	assert_int_equal(pe_ca_scep_issuer_and_subject(ca, subject, (size_t)subject_len, &der,
						       &der_len, &err),
			 PE_OK);
	p = der;
	assert_int_equal(ASN1_get_object(&p, &seq_len, &tag, &cls, (long)der_len),
			 V_ASN1_CONSTRUCTED);
	assert_int_equal(tag, V_ASN1_SEQUENCE);
	end = p + seq_len;
	assert_ptr_equal(end, der + der_len);
	name = d2i_X509_NAME(NULL, &p, end - p);
	assert_non_null(name);
	assert_int_equal(X509_NAME_cmp(name, X509_get_subject_name(ca_cert)), 0);
	X509_NAME_free(name);
	name = d2i_X509_NAME(NULL, &p, end - p);
	assert_non_null(name);
	assert_int_equal(X509_NAME_cmp(name, X509_get_subject_name(client_self)), 0);
	assert_ptr_equal(p, end);
	X509_NAME_free(name);
	free(der);
	OPENSSL_free(subject);
	OPENSSL_free(body);
	pe_ca_scep_ca_free(ca);
}

/* CertRep */

static void
assert_issued(const unsigned char *body, size_t len)
{
	unsigned char *cert = NULL, *want;
	size_t cert_len = 0, want_len;
	struct pe_err err;

	pe_err_clear(&err);
	if (parse(CT_PKI, body, len, &cert, &cert_len, &err) != PE_OK)
		fail_msg("%s", err.msg);
	want = cert_der(issued, &want_len);
	assert_int_equal(cert_len, want_len);
	assert_memory_equal(cert, want, want_len);
	OPENSSL_free(want);
	free(cert);
}

static void
test_certrep_success_aes(void **state)
{
	struct rep r = rep_default("0");
	unsigned char *body;
	size_t len;

	(void)state;
	body = certrep(&r, &len);
	assert_issued(body, len);
	OPENSSL_free(body);
}

/* scepserver (Go's pkcs7) encrypts with single DES: OpenSSL's legacy provider */
static void
test_certrep_success_des(void **state)
{
	struct rep r = rep_default("0");
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *legacy, *deflt;
	EVP_CIPHER *des;
	unsigned char *body;
	size_t len;

	(void)state;
	assert_non_null(ctx);
	legacy = OSSL_PROVIDER_load(ctx, "legacy");
	deflt = OSSL_PROVIDER_load(ctx, "default");
	/* the connector needs it too: Debian's libssl3 ships it */
	assert_non_null(legacy);
	assert_non_null(deflt);
	des = EVP_CIPHER_fetch(ctx, "DES-CBC", NULL);
	assert_non_null(des);
	r.cipher = des;
	r.libctx = ctx;
	body = certrep(&r, &len);
	assert_issued(body, len);
	OPENSSL_free(body);
	EVP_CIPHER_free(des);
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	OSSL_LIB_CTX_free(ctx);
}

static void
test_certrep_success_no_content_type(void **state)
{
	struct rep r = rep_default("0");
	unsigned char *body, *cert = NULL;
	size_t len, cert_len = 0;
	struct pe_err err;

	(void)state;
	body = certrep(&r, &len);
	/* a missing Content-Type is tolerated, the parameters of one too */
	assert_int_equal(parse(NULL, body, len, &cert, &cert_len, &err), PE_OK);
	free(cert);
	assert_int_equal(parse(CT_PKI "; charset=binary", body, len, &cert, &cert_len, &err),
			 PE_OK);
	free(cert);
	OPENSSL_free(body);
}

static void
test_certrep_pending(void **state)
{
	struct rep r = rep_default("3");
	unsigned char *body, *cert = NULL;
	size_t len, cert_len = 0;
	struct pe_err err;

	(void)state;
	body = certrep(&r, &len);
	assert_int_equal(parse(CT_PKI, body, len, &cert, &cert_len, &err), PE_E_PENDING);
	assert_null(cert);
	OPENSSL_free(body);
	/* a PENDING without any content */
	r.detached = true;
	body = certrep(&r, &len);
	assert_int_equal(parse(CT_PKI, body, len, &cert, &cert_len, &err), PE_E_PENDING);
	OPENSSL_free(body);
}

static void
test_certrep_failure(void **state)
{
	struct rep r = rep_default("2");
	unsigned char *body, *cert = NULL;
	size_t len, cert_len = 0;
	struct pe_err err;

	(void)state;
	r.fail_info = "2";
	r.fail_text = "wrong challenge\npassword";
	body = certrep(&r, &len);
	assert_int_equal(parse(CT_PKI, body, len, &cert, &cert_len, &err), PE_E_CA);
	assert_null(cert);
	assert_msg_contains(&err, "the SCEP CA refused the request: badRequest");
	/* the CA's text, control characters made spaces */
	assert_msg_contains(&err, ": wrong challenge password");
	OPENSSL_free(body);

	r.fail_info = "0";
	r.fail_text = NULL;
	r.detached = true;
	body = certrep(&r, &len);
	assert_int_equal(parse(CT_PKI, body, len, &cert, &cert_len, &err), PE_E_CA);
	assert_msg_contains(&err, "badAlg");
	OPENSSL_free(body);

	r.fail_info = "4";
	body = certrep(&r, &len);
	assert_int_equal(parse(CT_PKI, body, len, &cert, &cert_len, &err), PE_E_CA);
	assert_msg_contains(&err, "badCertId");
	OPENSSL_free(body);

	r.fail_info = "9";
	body = certrep(&r, &len);
	assert_int_equal(parse(CT_PKI, body, len, &cert, &cert_len, &err), PE_E_CA);
	assert_msg_contains(&err, "failInfo 9");
	OPENSSL_free(body);

	r.fail_info = NULL;
	body = certrep(&r, &len);
	assert_int_equal(parse(CT_PKI, body, len, &cert, &cert_len, &err), PE_E_CA);
	assert_msg_contains(&err, "no failInfo given");
	OPENSSL_free(body);
}

static void
test_certrep_truncated(void **state)
{
	struct rep r = rep_default("0");
	unsigned char *body;
	size_t len;

	(void)state;
	body = certrep(&r, &len);
	assert_garbage(body, len - 1, CT_PKI, "not a whole PKCS#7 message");
	assert_garbage(body, len / 2, CT_PKI, "not a whole PKCS#7 message");
	assert_garbage(body, 0, CT_PKI, "empty");
	assert_garbage((const unsigned char *)"<html>error</html>", 18, CT_PKI,
		       "not a whole PKCS#7 message");
	OPENSSL_free(body);
}

static void
test_certrep_wrong_content_type(void **state)
{
	struct rep r = rep_default("0");
	unsigned char *body;
	size_t len;

	(void)state;
	body = certrep(&r, &len);
	assert_garbage(body, len, "text/html", "'text/html', not application/x-pki-message");
	OPENSSL_free(body);
}

static void
test_certrep_not_signed_data(void **state)
{
	unsigned char *body, *env = NULL;
	size_t len;
	STACK_OF(X509) *to = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf("x", 1);
	PKCS7 *e7;
	int n;

	(void)state;
	/* a certificate bag: SignedData, but nobody signed it */
	body = bag(issued, NULL, &len);
	assert_garbage(body, len, CT_PKI, "not a PKCS#7 SignedData with one signer");
	OPENSSL_free(body);
	/* an EnvelopedData where the SignedData belongs */
	assert_int_equal(sk_X509_push(to, client_self), 1);
	e7 = PKCS7_encrypt(to, in, EVP_aes_256_cbc(), PKCS7_BINARY);
	assert_non_null(e7);
	n = i2d_PKCS7(e7, &env);
	assert_garbage(env, (size_t)n, CT_PKI, "not a PKCS#7 SignedData");
	OPENSSL_free(env);
	PKCS7_free(e7);
	BIO_free(in);
	sk_X509_free(to);
}

static void
test_certrep_bad_signature(void **state)
{
	struct rep r = rep_default("0");
	unsigned char *body;
	size_t len;

	(void)state;
	/* the CA's name and serial, another key */
	r.signer = fake_ca;
	r.signer_key = other_key;
	body = certrep(&r, &len);
	assert_garbage(body, len, CT_PKI, "signature does not verify");
	OPENSSL_free(body);
	/* signed by the certificate it carries, not by the CA */
	r.signer = client_self;
	r.signer_key = client_key;
	body = certrep(&r, &len);
	assert_garbage(body, len, CT_PKI, "signature does not verify");
	OPENSSL_free(body);
	/* one byte of the signature changed */
	r = rep_default("3");
	body = certrep(&r, &len);
	body[len - 10] ^= 0x01;
	assert_garbage(body, len, CT_PKI, "signature does not verify");
	OPENSSL_free(body);
}

static void
test_certrep_nonce_mismatch(void **state)
{
	static const unsigned char another[PE_CA_SCEP_NONCE_LEN] = "0123456789abcdeX";
	struct rep r = rep_default("0");
	unsigned char *body;
	size_t len;

	(void)state;
	r.rnonce = another;
	body = certrep(&r, &len);
	assert_garbage(body, len, CT_PKI, "recipientNonce is not the nonce sent");
	OPENSSL_free(body);
}

static void
test_certrep_transaction_mismatch(void **state)
{
	struct rep r = rep_default("0");
	unsigned char *body;
	size_t len;

	(void)state;
	r.tid = "another";
	body = certrep(&r, &len);
	assert_garbage(body, len, CT_PKI, "for transaction 'another', not ours");
	OPENSSL_free(body);
}

static void
test_certrep_wrong_message_type(void **state)
{
	struct rep r = rep_default("0");
	unsigned char *body;
	size_t len;

	(void)state;
	r.type = "19";
	body = certrep(&r, &len);
	assert_garbage(body, len, CT_PKI, "of type '19', not CertRep");
	OPENSSL_free(body);
}

static void
test_certrep_unknown_status(void **state)
{
	struct rep r = rep_default("7");
	unsigned char *body;
	size_t len;

	(void)state;
	body = certrep(&r, &len);
	assert_garbage(body, len, CT_PKI, "pkiStatus is '7'");
	OPENSSL_free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_parse_scepserver),
		cmocka_unit_test(test_caps_parse_case_and_crlf),
		cmocka_unit_test(test_ca_parse_one_cert),
		cmocka_unit_test(test_ca_parse_ra_bag),
		cmocka_unit_test(test_ca_parse_wrong_content_type),
		cmocka_unit_test(test_ca_parse_truncated),
		cmocka_unit_test(test_message_build_verifies),
		cmocka_unit_test(test_message_build_refuses_ec),
		cmocka_unit_test(test_issuer_and_subject),
		cmocka_unit_test(test_certrep_success_aes),
		cmocka_unit_test(test_certrep_success_des),
		cmocka_unit_test(test_certrep_success_no_content_type),
		cmocka_unit_test(test_certrep_pending),
		cmocka_unit_test(test_certrep_failure),
		cmocka_unit_test(test_certrep_truncated),
		cmocka_unit_test(test_certrep_wrong_content_type),
		cmocka_unit_test(test_certrep_not_signed_data),
		cmocka_unit_test(test_certrep_bad_signature),
		cmocka_unit_test(test_certrep_nonce_mismatch),
		cmocka_unit_test(test_certrep_transaction_mismatch),
		cmocka_unit_test(test_certrep_wrong_message_type),
		cmocka_unit_test(test_certrep_unknown_status),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
