/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SCEP connector (RFC 8894): GetCACaps, GetCACert into the trusted roots,
 * PKCSReq and CertPoll messages signed by the request's own key through its
 * carrier (a self-signed certificate for that key, the signerInfo made by the
 * token), the request enveloped to the CA's (or RA's) certificate, and
 * CertRep answers checked (signature, transaction, nonce) and decrypted by
 * the request's key on the token.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

/* RFC 8894 section 3.2.1: the SCEP signed attributes (id-VeriSign pki attributes) */
#define OID_MESSAGE_TYPE    "2.16.840.1.113733.1.9.2"
#define OID_PKI_STATUS	    "2.16.840.1.113733.1.9.3"
#define OID_FAIL_INFO	    "2.16.840.1.113733.1.9.4"
#define OID_SENDER_NONCE    "2.16.840.1.113733.1.9.5"
#define OID_RECIPIENT_NONCE "2.16.840.1.113733.1.9.6"
#define OID_TRANSACTION_ID  "2.16.840.1.113733.1.9.7"
#define OID_FAIL_INFO_TEXT  "1.3.6.1.5.5.7.24.1"

#define CT_CA_CERT    "application/x-x509-ca-cert"
#define CT_CA_RA_CERT "application/x-x509-ca-ra-cert"
#define CT_PKI	      "application/x-pki-message"

#define GARBAGE "the SCEP server answered garbage"

/* What GetCACert answered. */
struct pe_ca_scep_ca {
	STACK_OF(X509) * certs;	 /* every certificate, in the order sent */
	X509 *encrypt_to;	 /* borrowed: the RA's, else the issuing CA's certificate */
	const X509_NAME *issuer; /* borrowed: the issuing CA's name (CertPoll) */
};

/* The connection's context (conn->priv): what the server said once. */
struct scep {
	bool caps_known;
	unsigned caps;
	struct pe_ca_scep_ca *ca; /* checked against the trusted roots */
};

/* Returns: the reason of the last OpenSSL error (static), and empties the queue. */
static const char *
ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown error";
}

static enum pe_code
oom(struct pe_err *err)
{
	ERR_clear_error();
	return pe_err_set(err, PE_E_FAIL, "out of memory");
}

/* Returns: whether @ct (a Content-Type header, parameters allowed) is @want. */
static bool
content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Returns: a newly allocated malloc() copy of @p (OpenSSL's memory), or NULL. */
static unsigned char *
ossl_take(unsigned char *p, int n)
{
	unsigned char *copy = n > 0 ? malloc((size_t)n) : NULL;

	if (copy != NULL)
		memcpy(copy, p, (size_t)n);
	OPENSSL_free(p);
	return copy;
}

/* GetCACaps */

unsigned
pe_ca_scep_caps_parse(const char *body, size_t len)
{
	static const struct {
		const char *name;
		unsigned flag;
	} known[] = {
		{ "AES", PE_CA_SCEP_CAP_AES },
		{ "DES3", PE_CA_SCEP_CAP_DES3 },
		{ "SHA-256", PE_CA_SCEP_CAP_SHA256 },
		{ "POSTPKIOperation", PE_CA_SCEP_CAP_POST },
		/* RFC 8894 section 3.5.2: SCEPStandard means AES, SHA-256 and POST */
		{ "SCEPStandard", PE_CA_SCEP_CAP_AES | PE_CA_SCEP_CAP_SHA256 | PE_CA_SCEP_CAP_POST |
					  PE_CA_SCEP_CAP_STANDARD },
		{ "Renewal", PE_CA_SCEP_CAP_RENEWAL },
	};
	unsigned caps = 0;
	size_t i = 0, start, end, k;

	while (i < len) {
		while (i < len &&
		       (body[i] == '\r' || body[i] == '\n' || body[i] == ' ' || body[i] == '\t'))
			i++;
		start = i;
		while (i < len && body[i] != '\r' && body[i] != '\n')
			i++;
		end = i;
		while (end > start && (body[end - 1] == ' ' || body[end - 1] == '\t'))
			end--;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			if (strlen(known[k].name) == end - start &&
			    strncasecmp(body + start, known[k].name, end - start) == 0)
				caps |= known[k].flag;
		}
	}
	return caps;
}

/* GetCACert */

void
pe_ca_scep_ca_free(struct pe_ca_scep_ca *ca)
{
	if (ca == NULL)
		return;
	sk_X509_pop_free(ca->certs, X509_free);
	free(ca);
}

static bool
is_ca_cert(X509 *x)
{
	return X509_check_ca(x) != 0;
}

/* Returns: whether @x issued another certificate of @certs. */
static bool
issued_another(STACK_OF(X509) * certs, X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(certs); i++) {
		if (sk_X509_value(certs, i) != x &&
		    X509_check_issued(x, sk_X509_value(certs, i)) == X509_V_OK)
			return true;
	}
	return false;
}

/*
 * Chooses the certificate requests are encrypted to (RFC 8894 section
 * 3.5.1): an RA certificate that may encipher keys, else any RA certificate,
 * else the CA certificate that issued none of the others (the issuing CA
 * below its roots).
 */
static enum pe_code
choose_recipient(struct pe_ca_scep_ca *ca, struct pe_err *err)
{
	X509 *x, *ra = NULL, *ra_enc = NULL, *issuing = NULL;
	int i;

	for (i = 0; i < sk_X509_num(ca->certs); i++) {
		x = sk_X509_value(ca->certs, i);
		if (!is_ca_cert(x)) {
			if (ra == NULL)
				ra = x;
			if (ra_enc == NULL && (X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT))
				ra_enc = x;
		} else if (issuing == NULL && !issued_another(ca->certs, x)) {
			issuing = x;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(ca->certs) == 1) {
		/* a lone certificate is the CA's, whatever its extensions say */
		ca->encrypt_to = sk_X509_value(ca->certs, 0);
		ca->issuer = X509_get_subject_name(ca->encrypt_to);
	} else if (ra_enc != NULL || ra != NULL) {
		ca->encrypt_to = ra_enc != NULL ? ra_enc : ra;
		ca->issuer = X509_get_issuer_name(ca->encrypt_to);
	} else if (issuing != NULL) {
		ca->encrypt_to = issuing;
		ca->issuer = X509_get_subject_name(issuing);
	} else {
		return pe_err_set(err, PE_E_NET,
				  GARBAGE ": no certificate of the GetCACert answer can "
					  "be told to be the CA's or the RA's");
	}
	if (EVP_PKEY_get_base_id(X509_get0_pubkey(ca->encrypt_to)) != EVP_PKEY_RSA) {
		ERR_clear_error();
		return pe_err_set(err, PE_E_NET,
				  GARBAGE ": the CA's certificate has no RSA key to encrypt to");
	}
	return PE_OK;
}

enum pe_code
pe_ca_scep_ca_parse(const char *content_type, const unsigned char *body, size_t len,
		    struct pe_ca_scep_ca **out, struct pe_err *err)
{
	struct pe_ca_scep_ca *ca;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	STACK_OF(X509) * certs;
	PKCS7 *p7 = NULL;
	X509 *x = NULL;
	enum pe_code rc = PE_OK;
	int i;

	ca = calloc(1, sizeof(*ca));
	if (ca == NULL || (ca->certs = sk_X509_new_null()) == NULL) {
		free(ca);
		return oom(err);
	}
	ERR_clear_error();
	if (len > INT_MAX) {
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the GetCACert answer is too large");
	} else if (content_type_is(content_type, CT_CA_CERT)) {
		/* one certificate, DER (PEM tolerated) */
		rc = pe_ca_cert_parse(body, len, &der, &der_len, err);
		if (rc != PE_OK) {
			pe_err_prefix(err, GARBAGE " to GetCACert");
			goto out;
		}
		p = der;
		x = d2i_X509(NULL, &p, (long)der_len);
		if (x == NULL || sk_X509_push(ca->certs, x) <= 0) {
			X509_free(x);
			rc = oom(err);
		}
	} else if (content_type_is(content_type, CT_CA_RA_CERT)) {
		/* a degenerate PKCS#7 SignedData: the CA's chain and the RA's certificates */
		p = body;
		p7 = d2i_PKCS7(NULL, &p, (long)len);
		if (p7 == NULL || p != body + len) {
			rc = pe_err_set(err, PE_E_NET,
					GARBAGE ": the GetCACert answer is not a whole PKCS#7 "
						"message (%s)",
					p7 == NULL ? ossl_reason() : "bytes follow it");
			goto out;
		}
		if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL) {
			rc = pe_err_set(err, PE_E_NET,
					GARBAGE ": the GetCACert answer is not a PKCS#7 "
						"certificate bag (SignedData)");
			goto out;
		}
		certs = p7->d.sign->cert;
		if (sk_X509_num(certs) <= 0 || sk_X509_num(certs) > PE_CA_CHAIN_MAX) {
			rc = pe_err_set(err, PE_E_NET,
					GARBAGE ": the GetCACert answer holds %d certificates "
						"(1 to %d expected)",
					sk_X509_num(certs), PE_CA_CHAIN_MAX);
			goto out;
		}
		for (i = 0; i < sk_X509_num(certs); i++) {
			x = X509_dup(sk_X509_value(certs, i));
			if (x == NULL || sk_X509_push(ca->certs, x) <= 0) {
				X509_free(x);
				rc = oom(err);
				goto out;
			}
		}
	} else {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the GetCACert answer is '%s', not " CT_CA_CERT
					" or " CT_CA_RA_CERT,
				content_type ? content_type : "without a content type");
	}
	if (rc == PE_OK)
		rc = choose_recipient(ca, err);
out:
	PKCS7_free(p7);
	free(der);
	ERR_clear_error();
	if (rc != PE_OK) {
		pe_ca_scep_ca_free(ca);
		return rc;
	}
	*out = ca;
	return PE_OK;
}

static enum pe_code
x509_der(X509 *x, unsigned char **der, size_t *len, struct pe_err *err)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	*der = ossl_take(p, n);
	if (*der == NULL)
		return oom(err);
	*len = (size_t)n;
	return PE_OK;
}

enum pe_code
pe_ca_scep_ca_roots(const struct pe_ca_scep_ca *ca, unsigned char ***certs, size_t **lens,
		    size_t *n, struct pe_err *err)
{
	unsigned char **c;
	size_t *l, count = 0;
	enum pe_code rc = PE_OK;
	X509 *x;
	int i;

	c = calloc((size_t)sk_X509_num(ca->certs), sizeof(*c));
	l = calloc((size_t)sk_X509_num(ca->certs), sizeof(*l));
	if (c == NULL || l == NULL) {
		free(c);
		free(l);
		return oom(err);
	}
	/* the CA's certificates, not the RA's: a lone certificate is the CA's */
	for (i = 0; rc == PE_OK && i < sk_X509_num(ca->certs); i++) {
		x = sk_X509_value(ca->certs, i);
		if (sk_X509_num(ca->certs) > 1 && !is_ca_cert(x))
			continue;
		rc = x509_der(x, &c[count], &l[count], err);
		if (rc == PE_OK)
			count++;
	}
	ERR_clear_error();
	if (rc == PE_OK && count == 0)
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the GetCACert answer holds no CA certificate");
	if (rc != PE_OK) {
		pe_ca_certs_free(c, l, count);
		return rc;
	}
	*certs = c;
	*lens = l;
	*n = count;
	return PE_OK;
}

/* The pkiMessage */

/* Appends a DER length. */
static size_t
der_len(size_t n, unsigned char *out)
{
	if (n < 0x80) {
		out[0] = (unsigned char)n;
		return 1;
	}
	if (n < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)n;
		return 2;
	}
	if (n < 0x10000) {
		out[0] = 0x82;
		out[1] = (unsigned char)(n >> 8);
		out[2] = (unsigned char)n;
		return 3;
	}
	out[0] = 0x83;
	out[1] = (unsigned char)(n >> 16);
	out[2] = (unsigned char)(n >> 8);
	out[3] = (unsigned char)n;
	return 4;
}

/* Returns: a newly allocated TLV @tag around the parts @a, @b, @c (each may be empty). */
static enum pe_code
der_tlv(unsigned char tag, const unsigned char *a, size_t a_len, const unsigned char *b,
	size_t b_len, const unsigned char *c, size_t c_len, unsigned char **out, size_t *out_len,
	struct pe_err *err)
{
	size_t body = a_len + b_len + c_len, head;
	unsigned char *p;

	if (body >= 0x1000000)
		return pe_err_set(err, PE_E_FAIL, "a SCEP message part is too large");
	p = malloc(body + 5);
	if (p == NULL)
		return oom(err);
	p[0] = tag;
	head = 1 + der_len(body, p + 1);
	if (a_len > 0)
		memcpy(p + head, a, a_len);
	if (b_len > 0)
		memcpy(p + head + a_len, b, b_len);
	if (c_len > 0)
		memcpy(p + head + a_len + b_len, c, c_len);
	*out = p;
	*out_len = head + body;
	return PE_OK;
}

/*
 * The self-signed certificate for the request's key that signs the message
 * (RFC 8894 section 2.3: same subject and key as the request), signed by the
 * key itself through its carrier.
 */
static enum pe_code
self_signed(const struct pe_ca_key *key, EVP_PKEY *pub, const X509_NAME *subject, X509 **out,
	    struct pe_err *err)
{
	/* AlgorithmIdentifier sha256WithRSAEncryption, NULL parameters */
	static const unsigned char alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					     0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	unsigned char *tbs = NULL, *sig = NULL, *bits = NULL, *der = NULL;
	size_t sig_len = 0, bits_len = 0, der_len_ = 0;
	const unsigned char *p;
	X509_ALGOR *tbs_alg;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = BN_new();
	X509 *x = X509_new(), *done = NULL;
	enum pe_code rc = PE_OK;
	int tbs_len = 0;

	if (x == NULL || bn == NULL || BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || X509_set_version(x, 2) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 || X509_set_issuer_name(x, subject) != 1 ||
	    X509_set_subject_name(x, subject) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600) == NULL ||
	    X509_set_pubkey(x, pub) != 1) {
		rc = oom(err);
		goto out;
	}
	/* the inner algorithm is OpenSSL's to set when it signs; here the token signs */
	tbs_alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	if (X509_ALGOR_set0(tbs_alg, OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_NULL, NULL) !=
		    1 ||
	    (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		rc = oom(err);
		goto out;
	}
	rc = key->signer.sign(key->signer.key, PE_HASH_SHA256, tbs, (size_t)tbs_len, &sig, &sig_len,
			      err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "signing the SCEP signer certificate");
		goto out;
	}
	/* BIT STRING: no unused bits, then the signature */
	rc = der_tlv(0x03, (const unsigned char *)"", 1, sig, sig_len, NULL, 0, &bits, &bits_len,
		     err);
	if (rc == PE_OK)
		rc = der_tlv(0x30, tbs, (size_t)tbs_len, alg, sizeof(alg), bits, bits_len, &der,
			     &der_len_, err);
	if (rc != PE_OK)
		goto out;
	p = der;
	done = d2i_X509(NULL, &p, (long)der_len_);
	if (done == NULL || X509_verify(done, pub) != 1) {
		rc = pe_err_set(err, PE_E_CRYPTO,
				"the signature the key made on the SCEP signer "
				"certificate does not verify: %s",
				ossl_reason());
		goto out;
	}
	*out = done;
	done = NULL;
out:
	ERR_clear_error();
	X509_free(done);
	X509_free(x);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	OPENSSL_free(tbs);
	free(sig);
	free(bits);
	free(der);
	return rc;
}

/* pkcsPKIEnvelope: @data enveloped to the CA's (RA's) certificate, DER. */
static enum pe_code
envelope(X509 *to, unsigned caps, const unsigned char *data, size_t len, unsigned char **der,
	 size_t *der_len_, struct pe_err *err)
{
	/* RFC 8894 section 3.5.2: AES where the CA says so, else triple DES */
	const EVP_CIPHER *cipher =
		(caps & PE_CA_SCEP_CAP_AES) ? EVP_aes_256_cbc() : EVP_des_ede3_cbc();
	STACK_OF(X509) *to_sk = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf(data, (int)len);
	PKCS7 *p7 = NULL;
	unsigned char *p = NULL;
	enum pe_code rc = PE_OK;
	int n;

	if (to_sk == NULL || in == NULL || sk_X509_push(to_sk, to) <= 0) {
		rc = oom(err);
		goto out;
	}
	p7 = PKCS7_encrypt(to_sk, in, cipher, PKCS7_BINARY);
	if (p7 == NULL) {
		rc = pe_err_set(err, PE_E_CRYPTO, "enveloping the SCEP request: %s", ossl_reason());
		goto out;
	}
	n = i2d_PKCS7(p7, &p);
	*der = ossl_take(p, n);
	if (*der == NULL) {
		rc = oom(err);
		goto out;
	}
	*der_len_ = (size_t)n;
out:
	ERR_clear_error();
	PKCS7_free(p7);
	BIO_free(in);
	sk_X509_free(to_sk);
	return rc;
}

static bool
attr_add(STACK_OF(X509_ATTRIBUTE) * *attrs, const char *oid, int type, const void *data, int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	bool ok = obj != NULL && X509at_add1_attr_by_OBJ(attrs, obj, type,
							 (const unsigned char *)data, len) != NULL;

	ASN1_OBJECT_free(obj);
	return ok;
}

enum pe_code
pe_ca_scep_message_build(const struct pe_ca_scep_ca *ca, unsigned caps, const struct pe_ca_key *key,
			 const char *message_type, const char *transaction_id,
			 const unsigned char *nonce, const unsigned char *content,
			 size_t content_len, const unsigned char *subject_der, size_t subject_len,
			 unsigned char **der, size_t *len, struct pe_err *err)
{
	unsigned char *env = NULL, *attrs_der = NULL, *sig = NULL, *p = NULL;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	size_t env_len = 0, sig_len = 0;
	const unsigned char *q;
	X509_NAME *subject = NULL;
	EVP_PKEY *pub = NULL;
	X509 *self = NULL;
	PKCS7 *p7 = NULL;
	PKCS7_SIGNER_INFO *si = NULL;
	enum pe_code rc;
	int n;

	ERR_clear_error();
	q = key->signer.spki;
	pub = d2i_PUBKEY(NULL, &q, (long)key->signer.spki_len);
	q = subject_der;
	subject = d2i_X509_NAME(NULL, &q, (long)subject_len);
	if (pub == NULL || subject == NULL) {
		rc = pe_err_set(err, PE_E_CRYPTO, "the request's key or subject cannot be read");
		goto out;
	}
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) {
		rc = pe_err_set(err, PE_E_USAGE,
				"SCEP needs an RSA key (the CA encrypts its answer to it); "
				"use --key-type rsa-2048");
		goto out;
	}
	rc = self_signed(key, pub, subject, &self, err);
	if (rc == PE_OK)
		rc = envelope(ca->encrypt_to, caps, content, content_len, &env, &env_len, err);
	if (rc != PE_OK)
		goto out;
	if (EVP_Digest(env, env_len, digest, &digest_len, EVP_sha256(), NULL) != 1) {
		rc = oom(err);
		goto out;
	}

	/* SignedData around the envelope, signed by the key through its carrier */
	p7 = PKCS7_new();
	si = PKCS7_SIGNER_INFO_new();
	if (p7 == NULL || si == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1 ||
	    ASN1_OCTET_STRING_set(p7->d.sign->contents->d.data, env, (int)env_len) != 1 ||
	    PKCS7_add_certificate(p7, self) != 1 || ASN1_INTEGER_set(si->version, 1) != 1 ||
	    X509_NAME_set(&si->issuer_and_serial->issuer, X509_get_issuer_name(self)) != 1) {
		rc = oom(err);
		goto out;
	}
	ASN1_INTEGER_free(si->issuer_and_serial->serial);
	si->issuer_and_serial->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(self));
	if (si->issuer_and_serial->serial == NULL ||
	    X509_ALGOR_set0(si->digest_alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) != 1 ||
	    X509_ALGOR_set0(si->digest_enc_alg, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL,
			    NULL) != 1 ||
	    !attr_add(&si->auth_attr, "1.2.840.113549.1.9.3", V_ASN1_OBJECT,
		      OBJ_nid2obj(NID_pkcs7_data), -1) ||
	    !attr_add(&si->auth_attr, "1.2.840.113549.1.9.4", V_ASN1_OCTET_STRING, digest,
		      (int)digest_len) ||
	    !attr_add(&si->auth_attr, OID_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING, message_type,
		      (int)strlen(message_type)) ||
	    !attr_add(&si->auth_attr, OID_TRANSACTION_ID, V_ASN1_PRINTABLESTRING, transaction_id,
		      (int)strlen(transaction_id)) ||
	    !attr_add(&si->auth_attr, OID_SENDER_NONCE, V_ASN1_OCTET_STRING, nonce,
		      PE_CA_SCEP_NONCE_LEN)) {
		rc = oom(err);
		goto out;
	}
	/* the DER SET OF the signed attributes, sorted as the SignerInfo will carry them */
	n = ASN1_item_i2d((const ASN1_VALUE *)si->auth_attr, &attrs_der,
			  ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
	if (n <= 0) {
		rc = oom(err);
		goto out;
	}
	rc = key->signer.sign(key->signer.key, PE_HASH_SHA256, attrs_der, (size_t)n, &sig, &sig_len,
			      err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "signing the SCEP message");
		goto out;
	}
	if (ASN1_OCTET_STRING_set(si->enc_digest, sig, (int)sig_len) != 1 ||
	    PKCS7_add_signer(p7, si) != 1) {
		rc = oom(err);
		goto out;
	}
	si = NULL; /* p7's now */
	n = i2d_PKCS7(p7, &p);
	*der = ossl_take(p, n);
	if (*der == NULL) {
		rc = oom(err);
		goto out;
	}
	*len = (size_t)n;
out:
	ERR_clear_error();
	PKCS7_SIGNER_INFO_free(si);
	PKCS7_free(p7);
	OPENSSL_free(attrs_der);
	free(sig);
	free(env);
	X509_free(self);
	X509_NAME_free(subject);
	EVP_PKEY_free(pub);
	return rc;
}

/* CertRep */

/* Returns: the one value of the signed attribute @oid, or NULL when absent or not one. */
static ASN1_TYPE *
attr_get(const STACK_OF(X509_ATTRIBUTE) * attrs, const char *oid, bool *several)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	X509_ATTRIBUTE *attr;
	int i;

	*several = false;
	if (obj == NULL)
		return NULL;
	i = X509at_get_attr_by_OBJ(attrs, obj, -1);
	if (i >= 0 && X509at_get_attr_by_OBJ(attrs, obj, i) >= 0)
		*several = true;
	ASN1_OBJECT_free(obj);
	if (i < 0 || *several)
		return NULL;
	attr = X509at_get_attr(attrs, i);
	if (X509_ATTRIBUTE_count(attr) != 1) {
		*several = true;
		return NULL;
	}
	return X509_ATTRIBUTE_get0_type(attr, 0);
}

/*
 * A text attribute (PrintableString; UTF8String for failInfoText) copied into
 * @out (at most @size bytes, NUL-terminated). Returns: PE_OK; PE_E_NOTFOUND
 * when absent; PE_E_NET naming @name when malformed.
 */
static enum pe_code
attr_text(const STACK_OF(X509_ATTRIBUTE) * attrs, const char *oid, const char *name, char *out,
	  size_t size, struct pe_err *err)
{
	bool several;
	ASN1_TYPE *t = attr_get(attrs, oid, &several);
	const ASN1_STRING *s;
	int i;

	if (t == NULL && !several)
		return PE_E_NOTFOUND;
	if (t == NULL || (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_UTF8STRING))
		return pe_err_set(err, PE_E_NET, GARBAGE ": the CertRep's %s is not one string",
				  name);
	s = t->value.asn1_string;
	if ((size_t)s->length >= size)
		return pe_err_set(err, PE_E_NET, GARBAGE ": the CertRep's %s is too long", name);
	for (i = 0; i < s->length; i++) {
		/* text for messages: control characters become spaces */
		out[i] = (s->data[i] < 0x20 || s->data[i] == 0x7f) ? ' ' : (char)s->data[i];
	}
	out[s->length] = '\0';
	return PE_OK;
}

static const char *
fail_info_name(const char *code)
{
	static const char *const names[] = {
		"badAlg (the CA does not know or allow an algorithm of the request)",
		"badMessageCheck (the request's signature did not verify)",
		"badRequest (the request is not permitted or not supported)",
		"badTime (the request's time is too far from the CA's)",
		"badCertId (no certificate matches the request)",
	};

	if (code[0] >= '0' && code[0] <= '4' && code[1] == '\0')
		return names[code[0] - '0'];
	return NULL;
}

/* Returns: a cipher for @nid (the CBC ciphers SCEP uses); DES from the legacy provider. */
static EVP_CIPHER *
cipher_fetch(int nid, OSSL_LIB_CTX **legacy, OSSL_PROVIDER **prov)
{
	switch (nid) {
	case NID_des_cbc:
		/*
		 * Single DES: scepserver (Go's pkcs7 package) encrypts every answer
		 * with it by default. OpenSSL 3 keeps it in the legacy provider,
		 * loaded here into a context of its own, for this decryption only.
		 */
		*legacy = OSSL_LIB_CTX_new();
		if (*legacy == NULL)
			return NULL;
		*prov = OSSL_PROVIDER_load(*legacy, "legacy");
		if (*prov == NULL)
			return NULL;
		return EVP_CIPHER_fetch(*legacy, "DES-CBC", NULL);
	case NID_des_ede3_cbc:
	case NID_aes_128_cbc:
	case NID_aes_192_cbc:
	case NID_aes_256_cbc:
		return EVP_CIPHER_fetch(NULL, OBJ_nid2sn(nid), NULL);
	default:
		return NULL;
	}
}

/* Decrypts the content of @env with @cek. Returns: the plaintext, newly allocated. */
static enum pe_code
content_decrypt(PKCS7_ENC_CONTENT *ec, const unsigned char *cek, size_t cek_len,
		unsigned char **out, size_t *out_len, struct pe_err *err)
{
	OSSL_LIB_CTX *legacy = NULL;
	OSSL_PROVIDER *prov = NULL;
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *plain = NULL;
	const ASN1_OCTET_STRING *iv;
	int nid, n1 = 0, n2 = 0;
	enum pe_code rc = PE_OK;

	nid = OBJ_obj2nid(ec->algorithm->algorithm);
	cipher = cipher_fetch(nid, &legacy, &prov);
	if (cipher == NULL) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the answer is encrypted with %s, which p11enroll "
					"does not decrypt",
				nid != NID_undef ? OBJ_nid2sn(nid) : "an unknown cipher");
		goto out;
	}
	if (ec->algorithm->parameter == NULL ||
	    ec->algorithm->parameter->type != V_ASN1_OCTET_STRING ||
	    (iv = ec->algorithm->parameter->value.octet_string)->length !=
		    EVP_CIPHER_get_iv_length(cipher)) {
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the answer's %s has no proper IV",
				OBJ_nid2sn(nid));
		goto out;
	}
	if ((int)cek_len != EVP_CIPHER_get_key_length(cipher)) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the answer's key has %zu bytes, %s takes %d", cek_len,
				OBJ_nid2sn(nid), EVP_CIPHER_get_key_length(cipher));
		goto out;
	}
	if (ec->enc_data == NULL || ec->enc_data->length <= 0) {
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the answer's envelope is empty");
		goto out;
	}
	ctx = EVP_CIPHER_CTX_new();
	plain = malloc((size_t)ec->enc_data->length + (size_t)EVP_CIPHER_get_block_size(cipher));
	if (ctx == NULL || plain == NULL) {
		rc = oom(err);
		goto out;
	}
	if (EVP_DecryptInit_ex2(ctx, cipher, cek, iv->data, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, plain, &n1, ec->enc_data->data, ec->enc_data->length) != 1 ||
	    EVP_DecryptFinal_ex(ctx, plain + n1, &n2) != 1) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the answer's envelope does not decrypt (%s)",
				ossl_reason());
		goto out;
	}
	*out = plain;
	*out_len = (size_t)(n1 + n2);
	plain = NULL;
out:
	if (plain != NULL) {
		OPENSSL_cleanse(plain, (size_t)ec->enc_data->length);
		free(plain);
	}
	ERR_clear_error();
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	if (prov != NULL)
		OSSL_PROVIDER_unload(prov);
	OSSL_LIB_CTX_free(legacy);
	return rc;
}

/* Returns: whether @x carries the public key @spki. */
static bool
cert_has_key(X509 *x, const unsigned char *spki, size_t spki_len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	bool same = n > 0 && (size_t)n == spki_len && memcmp(der, spki, spki_len) == 0;

	OPENSSL_free(der);
	return same;
}

/*
 * The issued certificate from the CertRep's pkcsPKIEnvelope: decrypted with
 * the request's key (RSA on the token), a degenerate PKCS#7 inside.
 */
static enum pe_code
issued_cert(const ASN1_OCTET_STRING *content, const struct pe_ca_key *key, unsigned char **cert,
	    size_t *cert_len, struct pe_err *err)
{
	const unsigned char *p = content->data;
	STACK_OF(PKCS7_RECIP_INFO) * ris;
	PKCS7_RECIP_INFO *ri;
	PKCS7 *env = NULL, *bag = NULL;
	unsigned char *cek = NULL, *plain = NULL;
	size_t cek_len = 0, plain_len = 0;
	struct pe_err first, why;
	STACK_OF(X509) * certs;
	X509 *found = NULL;
	enum pe_code rc = PE_OK;
	int i;

	if (key->decrypt == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "the key's carrier cannot decrypt the SCEP answer");
	env = d2i_PKCS7(NULL, &p, content->length);
	if (env == NULL || p != content->data + content->length || !PKCS7_type_is_enveloped(env) ||
	    env->d.enveloped == NULL) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep's content is not a PKCS#7 "
					"EnvelopedData");
		goto out;
	}
	/* the recipient is our self-signed certificate: the first that our key opens */
	ris = env->d.enveloped->recipientinfo;
	pe_err_clear(&first);
	for (i = 0; i < sk_PKCS7_RECIP_INFO_num(ris) && cek == NULL; i++) {
		ri = sk_PKCS7_RECIP_INFO_value(ris, i);
		if (OBJ_obj2nid(ri->key_enc_algor->algorithm) != NID_rsaEncryption ||
		    ri->enc_key == NULL)
			continue;
		pe_err_clear(&why);
		if (key->decrypt(key->decrypt_ctx, ri->enc_key->data, (size_t)ri->enc_key->length,
				 &cek, &cek_len, &why) != PE_OK) {
			cek = NULL;
			if (first.msg[0] == '\0')
				first = why;
		}
	}
	if (cek == NULL && first.msg[0] != '\0') {
		/* not for our key, or the token failed: either way, ask again later */
		*err = first;
		pe_err_prefix(err, "decrypting the SCEP answer with the request's key");
		rc = err->code = first.code == PE_E_FAIL ? PE_E_FAIL : PE_E_NET;
		goto out;
	}
	if (cek == NULL) {
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the CertRep is encrypted to no RSA key");
		goto out;
	}
	rc = content_decrypt(env->d.enveloped->enc_data, cek, cek_len, &plain, &plain_len, err);
	if (rc != PE_OK)
		goto out;
	p = plain;
	bag = plain_len <= INT_MAX ? d2i_PKCS7(NULL, &p, (long)plain_len) : NULL;
	if (bag == NULL || !PKCS7_type_is_signed(bag) || bag->d.sign == NULL ||
	    sk_X509_num(bag->d.sign->cert) <= 0) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep's envelope holds no PKCS#7 "
					"certificate bag");
		goto out;
	}
	/* ours is the one with our key; if none has it, the first, which enroll refuses */
	certs = bag->d.sign->cert;
	found = sk_X509_value(certs, 0);
	for (i = 0; i < sk_X509_num(certs); i++) {
		if (cert_has_key(sk_X509_value(certs, i), key->signer.spki, key->signer.spki_len)) {
			found = sk_X509_value(certs, i);
			break;
		}
	}
	rc = x509_der(found, cert, cert_len, err);
out:
	ERR_clear_error();
	if (cek != NULL) {
		OPENSSL_cleanse(cek, cek_len);
		free(cek);
	}
	if (plain != NULL) {
		OPENSSL_cleanse(plain, plain_len);
		free(plain);
	}
	PKCS7_free(bag);
	PKCS7_free(env);
	return rc;
}

enum pe_code
pe_ca_scep_certrep_parse(const struct pe_ca_scep_ca *ca, const char *content_type,
			 const unsigned char *body, size_t len, const char *transaction_id,
			 const unsigned char *nonce, const struct pe_ca_key *key,
			 unsigned char **cert, size_t *cert_len, struct pe_err *err)
{
	const STACK_OF(X509_ATTRIBUTE) * attrs;
	const unsigned char *p = body;
	const ASN1_OCTET_STRING *content = NULL;
	PKCS7_SIGNER_INFO *si;
	BIO *indata = NULL;
	PKCS7 *p7 = NULL;
	ASN1_TYPE *t;
	char text[256], status[8], info[8], info_text[256];
	const char *info_name;
	bool several;
	enum pe_code rc;

	ERR_clear_error();
	if (content_type != NULL && !content_type_is(content_type, CT_PKI))
		return pe_err_set(err, PE_E_NET, GARBAGE ": its answer is '%s', not " CT_PKI,
				  content_type);
	if (len == 0 || len > INT_MAX)
		return pe_err_set(err, PE_E_NET, GARBAGE ": its answer is %s",
				  len == 0 ? "empty" : "too large");
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 == NULL || p != body + len) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep is not a whole PKCS#7 message (%s)",
				p7 == NULL ? ossl_reason() : "bytes follow it");
		goto out;
	}
	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
	    sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(p7)) != 1) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep is not a PKCS#7 SignedData with one "
					"signer");
		goto out;
	}
	/* signed by the CA or its RA, as GetCACert named them: not by certificates it carries */
	if (PKCS7_get_detached(p7)) {
		indata = BIO_new_mem_buf("", 0);
		if (indata == NULL) {
			rc = oom(err);
			goto out;
		}
	}
	if (PKCS7_verify(p7, ca->certs, NULL, indata, NULL,
			 PKCS7_NOVERIFY | PKCS7_NOINTERN | PKCS7_NOCHAIN | PKCS7_BINARY) != 1) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep's signature does not verify with the "
					"CA's certificate (%s)",
				ossl_reason());
		goto out;
	}
	si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
	attrs = PKCS7_get_signed_attributes(si);

	rc = attr_text(attrs, OID_MESSAGE_TYPE, "messageType", text, sizeof(text), err);
	if (rc == PE_OK && strcmp(text, "3") != 0)
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the message is of type '%s', not CertRep",
				text);
	else if (rc == PE_E_NOTFOUND)
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the CertRep has no messageType");
	if (rc != PE_OK)
		goto out;
	rc = attr_text(attrs, OID_TRANSACTION_ID, "transactionID", text, sizeof(text), err);
	if (rc == PE_OK && strcmp(text, transaction_id) != 0)
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep is for transaction '%s', not ours", text);
	else if (rc == PE_E_NOTFOUND)
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the CertRep has no transactionID");
	if (rc != PE_OK)
		goto out;
	t = attr_get(attrs, OID_RECIPIENT_NONCE, &several);
	if (t == NULL || t->type != V_ASN1_OCTET_STRING ||
	    t->value.octet_string->length != PE_CA_SCEP_NONCE_LEN ||
	    CRYPTO_memcmp(t->value.octet_string->data, nonce, PE_CA_SCEP_NONCE_LEN) != 0) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep's recipientNonce is %s (a replayed or "
					"misdirected answer)",
				t == NULL ? "missing" : "not the nonce sent");
		goto out;
	}
	rc = attr_text(attrs, OID_PKI_STATUS, "pkiStatus", status, sizeof(status), err);
	if (rc == PE_E_NOTFOUND)
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the CertRep has no pkiStatus");
	if (rc != PE_OK)
		goto out;

	if (strcmp(status, "2") == 0) {
		/* FAILURE: the reason is what the user sees */
		rc = attr_text(attrs, OID_FAIL_INFO, "failInfo", info, sizeof(info), err);
		if (rc != PE_OK && rc != PE_E_NOTFOUND)
			goto out;
		info_name = rc == PE_OK ? fail_info_name(info) : NULL;
		if (attr_text(attrs, OID_FAIL_INFO_TEXT, "failInfoText", info_text,
			      sizeof(info_text), err) != PE_OK)
			info_text[0] = '\0';
		if (info_name == NULL && rc == PE_OK)
			snprintf(text, sizeof(text), "failInfo %s", info);
		else
			snprintf(text, sizeof(text), "%s",
				 info_name != NULL ? info_name : "no failInfo given");
		rc = pe_err_set(err, PE_E_CA, "the SCEP CA refused the request: %s%s%s", text,
				info_text[0] != '\0' ? ": " : "", info_text);
		goto out;
	}
	if (strcmp(status, "3") == 0) {
		rc = pe_err_set(err, PE_E_PENDING, "the SCEP CA holds the request (PENDING)");
		goto out;
	}
	if (strcmp(status, "0") != 0) {
		rc = pe_err_set(err, PE_E_NET, GARBAGE ": the CertRep's pkiStatus is '%s'", status);
		goto out;
	}
	/* SUCCESS: the certificate, enveloped to our key */
	if (p7->d.sign->contents != NULL && PKCS7_type_is_data(p7->d.sign->contents))
		content = p7->d.sign->contents->d.data;
	if (content == NULL || content->length <= 0) {
		rc = pe_err_set(err, PE_E_NET,
				GARBAGE ": the CertRep says SUCCESS but carries no envelope");
		goto out;
	}
	rc = issued_cert(content, key, cert, cert_len, err);
out:
	ERR_clear_error();
	BIO_free(indata);
	PKCS7_free(p7);
	return rc;
}

/* The connection */

static void
scep_release(struct pe_ca_conn *conn)
{
	struct scep *s = conn->priv;

	if (s == NULL)
		return;
	pe_ca_scep_ca_free(s->ca);
	free(s);
	conn->priv = NULL;
}

static enum pe_code
need_priv(struct pe_ca_conn *conn, struct scep **out, struct pe_err *err)
{
	if (conn->priv == NULL) {
		conn->priv = calloc(1, sizeof(struct scep));
		if (conn->priv == NULL)
			return oom(err);
	}
	*out = conn->priv;
	return PE_OK;
}

/* Returns: newly allocated URL?operation=OP[&message=MSG] (MSG already URL-safe). */
static char *
op_url(const char *url, const char *op, const char *message)
{
	const char *sep = strchr(url, '?') != NULL ? "&" : "?";
	size_t n = strlen(url) + strlen(op) + (message ? strlen(message) : 0) + 32;
	char *out = malloc(n);

	if (out != NULL)
		snprintf(out, n, "%s%soperation=%s%s%s", url, sep, op, message ? "&message=" : "",
			 message ? message : "");
	return out;
}

/* Returns: the first line of an error answer's body, printable, in @out. */
static void
body_text(const struct pe_http_response *res, char *out, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < res->body_len && n + 1 < size; i++) {
		if (res->body[i] == '\n' || res->body[i] == '\r')
			break;
		out[n++] = (res->body[i] < 0x20 || res->body[i] >= 0x7f) ? ' ' : (char)res->body[i];
	}
	out[n] = '\0';
}

/*
 * One SCEP operation: GET (or POST @body) to URL?operation=@op.
 * Returns: PE_OK with @res for a 200 answer; PE_E_NET for any other status
 * (the body's first line in the message) or a transport failure.
 */
static enum pe_code
scep_http(struct pe_ca_conn *conn, const char *op, const char *message, const void *body,
	  size_t body_len, struct pe_http_response *res, struct pe_err *err)
{
	char *url = op_url(conn->url, op, message), text[160];
	enum pe_code rc;

	if (url == NULL)
		return oom(err);
	memset(res, 0, sizeof(*res));
	rc = pe_http_request(conn->http, body != NULL ? "POST" : "GET", url, NULL, NULL,
			     body != NULL ? CT_PKI : NULL, body, body_len, res, err);
	free(url);
	if (rc != PE_OK)
		return rc;
	if (res->status != 200) {
		body_text(res, text, sizeof(text));
		rc = pe_err_set(err, PE_E_NET, "the SCEP server answered %s with HTTP %ld%s%s", op,
				res->status, text[0] ? ": " : "", text);
		pe_http_response_cleanup(res);
	}
	return rc;
}

static enum pe_code
need_caps(struct pe_ca_conn *conn, struct scep *s, struct pe_err *err)
{
	struct pe_http_response res;
	enum pe_code rc;

	if (s->caps_known)
		return PE_OK;
	rc = scep_http(conn, "GetCACaps", NULL, NULL, 0, &res, err);
	if (rc != PE_OK)
		return rc;
	s->caps = pe_ca_scep_caps_parse((const char *)res.body, res.body_len);
	s->caps_known = true;
	pe_http_response_cleanup(&res);
	return PE_OK;
}

static enum pe_code
fetch_ca(struct pe_ca_conn *conn, struct pe_ca_scep_ca **ca, struct pe_err *err)
{
	struct pe_http_response res;
	enum pe_code rc;

	rc = scep_http(conn, "GetCACert", "CA", NULL, 0, &res, err);
	if (rc != PE_OK)
		return rc;
	rc = pe_ca_scep_ca_parse(res.content_type, res.body, res.body_len, ca, err);
	pe_http_response_cleanup(&res);
	return rc;
}

/* Checks that @x chains to the roots trusted for the service (@pem). */
static enum pe_code
trusted(X509 *x, const char *pem, const char *what, struct pe_err *err)
{
	unsigned char *der = NULL;
	size_t len = 0;
	struct pe_cert *cert = NULL;
	enum pe_code rc;

	rc = x509_der(x, &der, &len, err);
	if (rc == PE_OK)
		rc = pe_cert_from_der(der, len, &cert, err);
	if (rc == PE_OK)
		rc = pe_cert_verify_chain(cert, pem, err);
	if (rc == PE_E_CRYPTO)
		pe_err_prefix(err,
			      "the SCEP server's %s certificate is not trusted for the "
			      "service (run install-roots again if the CA changed)",
			      what);
	pe_cert_free(cert);
	free(der);
	return rc;
}

/*
 * The CA's certificates for a message: fetched once per connection, and
 * used only when the certificate requests are encrypted to, and every RA
 * certificate, chain to the roots the user trusted for the service (the
 * challenge password goes to that key).
 */
static enum pe_code
need_ca(struct pe_ca_conn *conn, struct scep *s, struct pe_err *err)
{
	struct pe_ca_scep_ca *ca = NULL;
	char *pem = NULL;
	enum pe_code rc;
	X509 *x;
	int i;

	if (s->ca != NULL)
		return PE_OK;
	if (conn->roots_file == NULL)
		return pe_err_set(
			err, PE_E_USAGE,
			"the service has no trusted roots to check the SCEP CA's "
			"certificate against: run 'p11enroll install-roots' for it first");
	rc = fetch_ca(conn, &ca, err);
	if (rc == PE_OK)
		rc = pe_file_read(conn->roots_file, PE_HTTP_MAX_BODY, &pem, NULL, err);
	if (rc == PE_OK)
		rc = trusted(ca->encrypt_to, pem, "CA", err);
	for (i = 0; rc == PE_OK && i < sk_X509_num(ca->certs); i++) {
		x = sk_X509_value(ca->certs, i);
		if (!is_ca_cert(x) && x != ca->encrypt_to)
			rc = trusted(x, pem, "RA", err);
	}
	ERR_clear_error();
	free(pem);
	if (rc != PE_OK) {
		pe_ca_scep_ca_free(ca);
		return rc;
	}
	s->ca = ca;
	return PE_OK;
}

static enum pe_code
scep_roots(struct pe_ca_conn *conn, unsigned char ***certs, size_t **lens, size_t *n,
	   struct pe_err *err)
{
	struct pe_ca_scep_ca *ca = NULL;
	enum pe_code rc;

	rc = fetch_ca(conn, &ca, err);
	if (rc == PE_OK)
		rc = pe_ca_scep_ca_roots(ca, certs, lens, n, err);
	pe_ca_scep_ca_free(ca);
	return rc;
}

/* SCEP has no login: a server that answers GetCACaps is ready. */
static enum pe_code
scep_login_status(struct pe_ca_conn *conn, enum pe_ca_login_state *state, struct pe_err *err)
{
	struct scep *s = NULL;
	enum pe_code rc;

	rc = need_priv(conn, &s, err);
	if (rc == PE_OK)
		rc = need_caps(conn, s, err);
	if (rc == PE_OK)
		*state = PE_CA_LOGIN_READY;
	return rc;
}

/* The transactionID: the SHA-256 of the request's public key, hex (the same on every resend). */
static enum pe_code
transaction_id(const struct pe_ca_key *key, char out[65], struct pe_err *err)
{
	unsigned char digest[32];
	unsigned int n = 0, i;

	if (EVP_Digest(key->signer.spki, key->signer.spki_len, digest, &n, EVP_sha256(), NULL) !=
		    1 ||
	    n != sizeof(digest))
		return oom(err);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	return PE_OK;
}

/* Returns: the DER subject of the request @csr, newly allocated. */
static enum pe_code
csr_subject(const struct pe_ca_req *req, unsigned char **der, size_t *len, struct pe_err *err)
{
	const unsigned char *p = req->csr;
	X509_REQ *csr = d2i_X509_REQ(NULL, &p, (long)req->csr_len);
	unsigned char *out = NULL;
	int n = csr != NULL ? i2d_X509_NAME(X509_REQ_get_subject_name(csr), &out) : -1;

	X509_REQ_free(csr);
	ERR_clear_error();
	if (n <= 0)
		return pe_err_set(err, PE_E_USAGE, "the stored request cannot be read");
	*der = ossl_take(out, n);
	if (*der == NULL)
		return oom(err);
	*len = (size_t)n;
	return PE_OK;
}

/* URL-safe base64 for a GET PKIOperation: '+', '/' and '=' escaped. */
static char *
url_base64(const unsigned char *data, size_t len)
{
	char *b64 = pe_base64_encode(data, len, 0), *out, *q;
	const char *p;

	if (b64 == NULL)
		return NULL;
	out = malloc(strlen(b64) * 3 + 1);
	if (out != NULL) {
		for (p = b64, q = out; *p != '\0'; p++) {
			if (*p == '+' || *p == '/' || *p == '=')
				q += sprintf(q, "%%%02X", (unsigned char)*p);
			else
				*q++ = *p;
		}
		*q = '\0';
	}
	free(b64);
	return out;
}

/*
 * Sends one pkiMessage of @type with @content and reads the CertRep into
 * @status (id and state: the transactionID; raw: the pkiStatus).
 */
static enum pe_code
transact(struct pe_ca_conn *conn, struct scep *s, const struct pe_ca_req *req, const char *type,
	 const char *tid, const unsigned char *content, size_t content_len,
	 struct pe_ca_status *status, struct pe_err *err)
{
	unsigned char nonce[PE_CA_SCEP_NONCE_LEN];
	unsigned char *subject = NULL, *msg = NULL, *cert = NULL;
	size_t subject_len = 0, msg_len = 0, cert_len = 0;
	struct pe_http_response res;
	char *get = NULL;
	enum pe_code rc;

	memset(&res, 0, sizeof(res));
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return pe_err_set(err, PE_E_CRYPTO, "no random nonce: %s", ossl_reason());
	rc = csr_subject(req, &subject, &subject_len, err);
	if (rc == PE_OK)
		rc = pe_ca_scep_message_build(s->ca, s->caps, req->key, type, tid, nonce, content,
					      content_len, subject, subject_len, &msg, &msg_len,
					      err);
	if (rc != PE_OK)
		goto out;
	if (s->caps & PE_CA_SCEP_CAP_POST) {
		rc = scep_http(conn, "PKIOperation", NULL, msg, msg_len, &res, err);
	} else {
		get = url_base64(msg, msg_len);
		rc = get != NULL ? scep_http(conn, "PKIOperation", get, NULL, 0, &res, err)
				 : oom(err);
	}
	if (rc != PE_OK)
		goto out;
	rc = pe_ca_scep_certrep_parse(s->ca, res.content_type, res.body, res.body_len, tid, nonce,
				      req->key, &cert, &cert_len, err);
	if (rc == PE_OK || rc == PE_E_PENDING || rc == PE_E_CA) {
		pe_ca_status_cleanup(status);
		status->id = strdup(tid);
		status->state = strdup(tid);
		status->raw = strdup(rc == PE_OK	  ? "SUCCESS"
				     : rc == PE_E_PENDING ? "PENDING"
							  : "FAILURE");
		if (rc == PE_E_CA)
			status->reason = strdup(err->msg);
		if (status->id == NULL || status->state == NULL || status->raw == NULL ||
		    (rc == PE_E_CA && status->reason == NULL)) {
			rc = oom(err);
			goto out;
		}
		status->cert = cert;
		status->cert_len = cert_len;
		cert = NULL;
	}
out:
	pe_http_response_cleanup(&res);
	free(get);
	free(cert);
	free(msg);
	free(subject);
	return rc;
}

/* What every message needs: the key (RSA, that can decrypt), the CA, its caps. */
static enum pe_code
prepare(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct scep **s, char tid[65],
	struct pe_err *err)
{
	const unsigned char *p;
	EVP_PKEY *pub;
	enum pe_code rc;
	bool rsa;

	pe_return_val_if_fail(req->key != NULL, PE_E_FAIL);
	p = req->key->signer.spki;
	pub = d2i_PUBKEY(NULL, &p, (long)req->key->signer.spki_len);
	rsa = pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
	EVP_PKEY_free(pub);
	ERR_clear_error();
	if (!rsa)
		return pe_err_set(err, PE_E_USAGE,
				  "SCEP needs an RSA key (the CA encrypts its answer to it); "
				  "use --key-type rsa-2048");
	if (req->key->decrypt == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "the key's carrier cannot decrypt, which SCEP needs");
	rc = need_priv(conn, s, err);
	if (rc == PE_OK)
		rc = need_caps(conn, *s, err);
	if (rc == PE_OK)
		rc = need_ca(conn, *s, err);
	if (rc == PE_OK)
		rc = transaction_id(req->key, tid, err);
	return rc;
}

/* PKCSReq: the request, with the service's password as its challengePassword. */
static enum pe_code
scep_submit(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	    struct pe_err *err)
{
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	struct scep *s = NULL;
	char tid[65];
	enum pe_code rc;

	rc = prepare(conn, req, &s, tid, err);
	if (rc != PE_OK)
		return rc;
	if (conn->password != NULL) {
		/* in memory only: the stored request never holds the challenge */
		rc = pe_csr_with_challenge(req->csr, req->csr_len, conn->password,
					   &req->key->signer, &csr, &csr_len, err);
		if (rc != PE_OK)
			return rc;
	}
	rc = transact(conn, s, req, "19", tid, csr != NULL ? csr : req->csr,
		      csr != NULL ? csr_len : req->csr_len, status, err);
	if (csr != NULL) {
		OPENSSL_cleanse(csr, csr_len);
		free(csr);
	}
	return rc;
}

enum pe_code
pe_ca_scep_issuer_and_subject(const struct pe_ca_scep_ca *ca, const unsigned char *subject_der,
			      size_t subject_len, unsigned char **der, size_t *len,
			      struct pe_err *err)
{
	unsigned char *issuer = NULL;
	enum pe_code rc;
	int n;

	n = i2d_X509_NAME(ca->issuer, &issuer);
	if (n <= 0) {
		OPENSSL_free(issuer);
		return oom(err);
	}
	rc = der_tlv(0x30, issuer, (size_t)n, subject_der, subject_len, NULL, 0, der, len, err);
	OPENSSL_free(issuer);
	return rc;
}

/* CertPoll (GetCertInitial): IssuerAndSubject of the request, same transaction. */
static enum pe_code
scep_poll(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	  struct pe_err *err)
{
	unsigned char *subject = NULL, *ias = NULL;
	size_t subject_len = 0, ias_len = 0;
	struct scep *s = NULL;
	char tid[65];
	enum pe_code rc;

	rc = prepare(conn, req, &s, tid, err);
	if (rc != PE_OK)
		return rc;
	/* the transaction the request was sent in (older records: derived again) */
	if (req->state != NULL && strlen(req->state) < sizeof(tid))
		snprintf(tid, sizeof(tid), "%s", req->state);
	rc = csr_subject(req, &subject, &subject_len, err);
	if (rc == PE_OK)
		rc = pe_ca_scep_issuer_and_subject(s->ca, subject, subject_len, &ias, &ias_len,
						   err);
	if (rc == PE_OK)
		rc = transact(conn, s, req, "20", tid, ias, ias_len, status, err);
	free(subject);
	free(ias);
	return rc;
}

const struct pe_ca_ops pe_ca_scep_ops = {
	.name = "scep",
	.needs_key = true,
	.needs_rsa = true,
	.plain_http = true,
	.roots = scep_roots,
	.login_status = scep_login_status,
	.submit = scep_submit,
	.poll = scep_poll,
	.release = scep_release,
};
