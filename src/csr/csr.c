/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PKCS#10 requests: built with OpenSSL around a public key, the
 * CertificationRequestInfo handed to a signer (the token), the signature put
 * in place and verified before anything leaves this file.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"

#define OID_TEMPLATE  "1.3.6.1.4.1.311.21.7"
#define OID_SIGN_TOOL "1.2.643.100.111"

static enum pe_code
ossl_fail(struct pe_err *err, enum pe_code code, const char *what)
{
	unsigned long e = ERR_get_error();
	char text[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return pe_err_set(err, code, "%s: %s", what, text);
}

static enum pe_code
token_sign(void *key, enum pe_hash hash, const unsigned char *data, size_t len, unsigned char **sig,
	   size_t *siglen, struct pe_err *err)
{
	return pe_p11_key_sign(key, hash, data, len, sig, siglen, err);
}

struct pe_csr_signer
pe_csr_signer_token(struct pe_p11_key *key, const unsigned char *spki, size_t spki_len)
{
	struct pe_csr_signer signer = { spki, spki_len, token_sign, key };

	return signer;
}

enum pe_code
pe_csr_ecdsa_der(const unsigned char *raw, size_t raw_len, unsigned char **der, size_t *der_len,
		 struct pe_err *err)
{
	ECDSA_SIG *sig;
	BIGNUM *r, *s;
	unsigned char *buf = NULL;
	int len;

	if (raw_len == 0 || raw_len % 2 != 0 || raw_len > 2 * 66)
		return pe_err_set(err, PE_E_CRYPTO, "an ECDSA signature of %zu bytes is not r || s",
				  raw_len);
	sig = ECDSA_SIG_new();
	r = BN_bin2bn(raw, (int)(raw_len / 2), NULL);
	s = BN_bin2bn(raw + raw_len / 2, (int)(raw_len / 2), NULL);
	if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		ECDSA_SIG_free(sig);
		BN_free(r);
		BN_free(s);
		return ossl_fail(err, PE_E_FAIL, "ECDSA signature");
	}
	len = i2d_ECDSA_SIG(sig, &buf);
	ECDSA_SIG_free(sig);
	if (len <= 0)
		return ossl_fail(err, PE_E_CRYPTO, "ECDSA signature");
	*der = malloc((size_t)len);
	if (*der == NULL) {
		OPENSSL_free(buf);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	memcpy(*der, buf, (size_t)len);
	*der_len = (size_t)len;
	OPENSSL_free(buf);
	return PE_OK;
}

static enum pe_code
name_add(X509_NAME *name, const char *attr, const char *value, struct pe_err *err)
{
	char oid[128];
	ASN1_OBJECT *obj;
	enum pe_code rc;
	int type;

	rc = pe_csr_attr_check(attr, value, err);
	if (rc != PE_OK)
		return rc;
	type = pe_csr_attr_lookup(attr, oid, sizeof(oid));
	obj = OBJ_txt2obj(oid, 1);
	if (obj == NULL)
		return ossl_fail(err, PE_E_USAGE, attr);
	if (X509_NAME_add_entry_by_OBJ(name, obj, type, (const unsigned char *)value, -1, -1, 0) !=
	    1) {
		ASN1_OBJECT_free(obj);
		return ossl_fail(err, PE_E_USAGE, attr);
	}
	ASN1_OBJECT_free(obj);
	return PE_OK;
}

static enum pe_code
subject_build(const struct pe_csr_spec *spec, X509_NAME *name, struct pe_err *err)
{
	struct pe_csr_field *fields = NULL;
	char *storage = NULL;
	size_t n = 0, i;
	enum pe_code rc = PE_OK;

	if (spec->subject != NULL && spec->subject[0] != '\0') {
		rc = pe_csr_dn_split(spec->subject, &fields, &n, &storage, err);
		for (i = 0; rc == PE_OK && i < n; i++)
			rc = name_add(name, fields[i].attr, fields[i].value, err);
	}
	for (i = 0; rc == PE_OK && i < spec->n_fields; i++)
		rc = name_add(name, spec->fields[i].attr, spec->fields[i].value, err);
	free(fields);
	free(storage);
	if (rc == PE_OK && X509_NAME_entry_count(name) == 0)
		rc = pe_err_set(err, PE_E_USAGE, "the subject is empty: give --subject or --field");
	if (rc != PE_OK)
		pe_err_prefix(err, "subject");
	return rc;
}

/* DER of a small non-negative INTEGER */
static size_t
der_uint(unsigned value, unsigned char *out)
{
	unsigned char tmp[5];
	size_t n = 0, i;

	do {
		tmp[n++] = (unsigned char)(value & 0xff);
		value >>= 8;
	} while (value != 0);
	if (tmp[n - 1] & 0x80)
		tmp[n++] = 0;
	out[0] = 0x02;
	out[1] = (unsigned char)n;
	for (i = 0; i < n; i++)
		out[2 + i] = tmp[n - 1 - i];
	return 2 + n;
}

static enum pe_code
ext_add_der(STACK_OF(X509_EXTENSION) * exts, const char *oid, const unsigned char *der, size_t len,
	    struct pe_err *err)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	enum pe_code rc = PE_OK;

	if (obj == NULL || os == NULL || ASN1_OCTET_STRING_set(os, der, (int)len) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) <= 0) {
		X509_EXTENSION_free(ext);
		rc = ossl_fail(err, PE_E_FAIL, oid);
	}
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	return rc;
}

/* CertificateTemplate ::= SEQUENCE { templateID OID, major INTEGER, minor INTEGER OPTIONAL } */
static enum pe_code
ext_template(STACK_OF(X509_EXTENSION) * exts, const struct pe_csr_spec *spec, struct pe_err *err)
{
	unsigned char der[160], *p;
	ASN1_OBJECT *obj;
	size_t body = 0;
	int oid_len;

	obj = OBJ_txt2obj(spec->template_oid, 1);
	if (obj == NULL) {
		ERR_clear_error();
		return pe_err_set(err, PE_E_USAGE, "template '%s' is not an OID",
				  spec->template_oid);
	}
	oid_len = i2d_ASN1_OBJECT(obj, NULL);
	if (oid_len <= 0 || oid_len > 120) {
		ASN1_OBJECT_free(obj);
		return pe_err_set(err, PE_E_USAGE, "template '%s' is too long", spec->template_oid);
	}
	/* the body goes after three bytes: room for a long-form length */
	p = der + 3;
	i2d_ASN1_OBJECT(obj, &p);
	ASN1_OBJECT_free(obj);
	body = (size_t)oid_len;
	body += der_uint(spec->template_major, der + 3 + body);
	body += der_uint(spec->template_minor, der + 3 + body);
	if (body < 0x80) {
		der[1] = 0x30;
		der[2] = (unsigned char)body;
		return ext_add_der(exts, OID_TEMPLATE, der + 1, body + 2, err);
	}
	/* at most 120 + 2 * 7 bytes: one length byte after 0x81 */
	der[0] = 0x30;
	der[1] = 0x81;
	der[2] = (unsigned char)body;
	return ext_add_der(exts, OID_TEMPLATE, der, body + 3, err);
}

static enum pe_code
ext_sign_tool(STACK_OF(X509_EXTENSION) * exts, const char *tool, struct pe_err *err)
{
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
	unsigned char *der = NULL;
	enum pe_code rc;
	int len;

	if (s == NULL || ASN1_STRING_set(s, tool, -1) != 1 ||
	    (len = i2d_ASN1_UTF8STRING(s, &der)) <= 0)
		rc = ossl_fail(err, PE_E_FAIL, "subjectSignTool");
	else
		rc = ext_add_der(exts, OID_SIGN_TOOL, der, (size_t)len, err);
	ASN1_UTF8STRING_free(s);
	OPENSSL_free(der);
	return rc;
}

static enum pe_code
ext_conf(STACK_OF(X509_EXTENSION) * exts, int nid, const char *value, const char *what,
	 struct pe_err *err)
{
	X509_EXTENSION *ext;

	ERR_clear_error();
	ext = X509V3_EXT_nconf_nid(NULL, NULL, nid, value);
	if (ext == NULL)
		return ossl_fail(err, PE_E_USAGE, what);
	if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
		X509_EXTENSION_free(ext);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

static enum pe_code
ext_san(STACK_OF(X509_EXTENSION) * exts, const struct pe_csr_spec *spec, struct pe_err *err)
{
	struct pe_buf b;
	size_t i;
	enum pe_code rc = PE_OK;
	const char *sep = "";

	pe_buf_init(&b, 8192);
	for (i = 0; rc == PE_OK && i < spec->n_emails; i++) {
		if (strchr(spec->emails[i], ',') != NULL)
			rc = pe_err_set(err, PE_E_USAGE, "e-mail '%s' has a comma",
					spec->emails[i]);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, sep, strlen(sep), err);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, "email:", 6, err);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, spec->emails[i], strlen(spec->emails[i]), err);
		sep = ",";
	}
	for (i = 0; rc == PE_OK && i < spec->n_upns; i++) {
		static const char upn[] = "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:";

		if (strchr(spec->upns[i], ',') != NULL)
			rc = pe_err_set(err, PE_E_USAGE, "UPN '%s' has a comma", spec->upns[i]);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, sep, strlen(sep), err);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, upn, strlen(upn), err);
		if (rc == PE_OK)
			rc = pe_buf_add(&b, spec->upns[i], strlen(spec->upns[i]), err);
		sep = ",";
	}
	if (rc == PE_OK && b.len > 0)
		rc = ext_conf(exts, NID_subject_alt_name, (const char *)b.data, "subjectAltName",
			      err);
	pe_buf_cleanup(&b);
	return rc;
}

static enum pe_code
extensions_build(const struct pe_csr_spec *spec, X509_REQ *req, struct pe_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	enum pe_code rc = PE_OK;

	if (exts == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (spec->template_oid != NULL)
		rc = ext_template(exts, spec, err);
	if (rc == PE_OK && spec->sign_tool != NULL)
		rc = ext_sign_tool(exts, spec->sign_tool, err);
	if (rc == PE_OK && spec->key_usage != NULL)
		rc = ext_conf(exts, NID_key_usage, spec->key_usage, "key usage", err);
	if (rc == PE_OK && spec->ext_key_usage != NULL)
		rc = ext_conf(exts, NID_ext_key_usage, spec->ext_key_usage, "extended key usage",
			      err);
	if (rc == PE_OK)
		rc = ext_san(exts, spec, err);
	if (rc == PE_OK && sk_X509_EXTENSION_num(exts) > 0 &&
	    X509_REQ_add_extensions(req, exts) != 1)
		rc = ossl_fail(err, PE_E_FAIL, "extensions");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* The signature algorithm and hash for the signer's key. */
static enum pe_code
algorithm_for(EVP_PKEY *pkey, int *sig_nid, enum pe_hash *hash, struct pe_err *err)
{
	char group[64];

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		*sig_nid = NID_sha256WithRSAEncryption;
		*hash = PE_HASH_SHA256;
		return PE_OK;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1 &&
		    strcmp(group, "secp384r1") == 0) {
			*sig_nid = NID_ecdsa_with_SHA384;
			*hash = PE_HASH_SHA384;
		} else {
			*sig_nid = NID_ecdsa_with_SHA256;
			*hash = PE_HASH_SHA256;
		}
		return PE_OK;
	case EVP_PKEY_ED25519:
		*sig_nid = NID_ED25519;
		*hash = PE_HASH_NONE;
		return PE_OK;
	case NID_id_GostR3410_2012_256:
		/* the signer hashes with GOST R 34.11-2012 itself */
		*sig_nid = NID_id_tc26_signwithdigest_gost3410_2012_256;
		*hash = PE_HASH_NONE;
		return PE_OK;
	case NID_id_GostR3410_2012_512:
		*sig_nid = NID_id_tc26_signwithdigest_gost3410_2012_512;
		*hash = PE_HASH_NONE;
		return PE_OK;
	}
	return pe_err_set(err, PE_E_USAGE, "p11enroll cannot sign a request with this key type");
}

static enum pe_code
signature_set(X509_REQ *req, int sig_nid, const unsigned char *sig, size_t len, struct pe_err *err)
{
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
	/* RSA and GOST (as OpenSSL's gost engine writes it) carry a NULL parameter */
	int ptype = sig_nid == NID_sha256WithRSAEncryption ||
				    sig_nid == NID_id_tc26_signwithdigest_gost3410_2012_256 ||
				    sig_nid == NID_id_tc26_signwithdigest_gost3410_2012_512
			    ? V_ASN1_NULL
			    : V_ASN1_UNDEF;

	if (alg == NULL || bits == NULL ||
	    X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), ptype, NULL) != 1 ||
	    ASN1_BIT_STRING_set(bits, (unsigned char *)sig, (int)len) != 1 ||
	    X509_REQ_set1_signature_algo(req, alg) != 1) {
		X509_ALGOR_free(alg);
		ASN1_BIT_STRING_free(bits);
		return ossl_fail(err, PE_E_FAIL, "signature");
	}
	/* a BIT STRING with no unused bits */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	X509_ALGOR_free(alg);
	return PE_OK;
}

/*
 * Signs @req (its content final) through @signer, checks the signature
 * against @pkey and encodes it. The encodings pass through buffers that are
 * zeroised: a request may hold a challenge password.
 */
static enum pe_code
req_sign(X509_REQ *req, EVP_PKEY *pkey, int sig_nid, enum pe_hash hash,
	 const struct pe_csr_signer *signer, unsigned char **der, size_t *len, struct pe_err *err)
{
	unsigned char *tbs = NULL, *raw = NULL, *sig = NULL, *out = NULL;
	size_t raw_len = 0, sig_len = 0;
	enum pe_code rc;
	int tbs_len, out_len = 0;

	tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
	if (tbs_len <= 0) {
		rc = ossl_fail(err, PE_E_FAIL, "request encoding");
		goto out;
	}
	rc = signer->sign(signer->key, hash, tbs, (size_t)tbs_len, &raw, &raw_len, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "signing the request");
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		rc = pe_csr_ecdsa_der(raw, raw_len, &sig, &sig_len, err);
		if (rc != PE_OK)
			goto out;
	} else {
		sig = raw;
		sig_len = raw_len;
		raw = NULL;
	}
	rc = signature_set(req, sig_nid, sig, sig_len, err);
	if (rc != PE_OK)
		goto out;
	if (X509_REQ_verify(req, pkey) != 1) {
		rc = ossl_fail(err, PE_E_CRYPTO, "the signature the carrier made does not verify");
		goto out;
	}
	out_len = i2d_X509_REQ(req, &out);
	if (out_len <= 0) {
		rc = ossl_fail(err, PE_E_FAIL, "request encoding");
		goto out;
	}
	*der = malloc((size_t)out_len);
	if (*der == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	memcpy(*der, out, (size_t)out_len);
	*len = (size_t)out_len;
out:
	if (out != NULL)
		OPENSSL_cleanse(out, (size_t)out_len);
	if (tbs != NULL)
		OPENSSL_cleanse(tbs, (size_t)tbs_len);
	OPENSSL_free(out);
	OPENSSL_free(tbs);
	free(raw);
	free(sig);
	return rc;
}

enum pe_code
pe_csr_build(const struct pe_csr_spec *spec, const struct pe_csr_signer *signer,
	     unsigned char **der, size_t *len, struct pe_err *err)
{
	const unsigned char *p = signer->spki;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pkey = NULL;
	enum pe_hash hash = PE_HASH_NONE;
	enum pe_code rc;
	int sig_nid = NID_undef;

	ERR_clear_error();
	pkey = d2i_PUBKEY(NULL, &p, (long)signer->spki_len);
	req = X509_REQ_new();
	name = X509_NAME_new();
	if (pkey == NULL || req == NULL || name == NULL) {
		rc = ossl_fail(err, PE_E_CRYPTO, "public key");
		goto out;
	}
	rc = algorithm_for(pkey, &sig_nid, &hash, err);
	if (rc == PE_OK)
		rc = subject_build(spec, name, err);
	if (rc == PE_OK)
		rc = extensions_build(spec, req, err);
	if (rc != PE_OK)
		goto out;
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, pkey) != 1) {
		rc = ossl_fail(err, PE_E_FAIL, "request");
		goto out;
	}

	rc = req_sign(req, pkey, sig_nid, hash, signer, der, len, err);
out:
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	return rc;
}

char *
pe_csr_to_pem(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *req;
	BIO *bio;
	BUF_MEM *mem = NULL;
	char *pem = NULL;

	req = d2i_X509_REQ(NULL, &p, (long)len);
	bio = BIO_new(BIO_s_mem());
	if (req != NULL && bio != NULL && PEM_write_bio_X509_REQ(bio, req) == 1 &&
	    BIO_get_mem_ptr(bio, &mem) == 1) {
		pem = malloc(mem->length + 1);
		if (pem != NULL) {
			memcpy(pem, mem->data, mem->length);
			pem[mem->length] = '\0';
		}
	}
	BIO_free(bio);
	X509_REQ_free(req);
	ERR_clear_error();
	return pem;
}

/* Returns: whether @s holds only PrintableString characters (X.680). */
static bool
printable(const struct pe_secret *s)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < s->len; i++) {
		c = s->data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(" '()+,-./:=?", c) != NULL) ||
		    c == '\0')
			return false;
	}
	return true;
}

/* Zeroises the value of every challengePassword attribute of @req. */
static void
challenge_cleanse(X509_REQ *req)
{
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *value;
	int i, j;

	for (i = 0; i < X509_REQ_get_attr_count(req); i++) {
		attr = X509_REQ_get_attr(req, i);
		if (OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr)) != NID_pkcs9_challengePassword)
			continue;
		for (j = 0; j < X509_ATTRIBUTE_count(attr); j++) {
			value = X509_ATTRIBUTE_get0_type(attr, j);
			if (value != NULL && value->type != V_ASN1_BOOLEAN &&
			    value->type != V_ASN1_NULL && value->type != V_ASN1_OBJECT &&
			    value->value.asn1_string != NULL &&
			    value->value.asn1_string->data != NULL)
				OPENSSL_cleanse(value->value.asn1_string->data,
						(size_t)value->value.asn1_string->length);
		}
	}
}

enum pe_code
pe_csr_with_challenge(const unsigned char *csr, size_t csr_len, const struct pe_secret *challenge,
		      const struct pe_csr_signer *signer, unsigned char **der, size_t *len,
		      struct pe_err *err)
{
	const unsigned char *p = csr;
	X509_REQ *req = NULL;
	EVP_PKEY *pkey = NULL;
	enum pe_hash hash = PE_HASH_NONE;
	enum pe_code rc;
	int sig_nid = NID_undef, i;

	ERR_clear_error();
	if (challenge->len == 0 || challenge->len > 255)
		return pe_err_set(err, PE_E_USAGE,
				  "a challenge password has 1 to 255 characters, not %zu",
				  challenge->len);
	req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	if (req == NULL || p != csr + csr_len) {
		rc = ossl_fail(err, PE_E_USAGE, "the stored request cannot be read");
		goto out;
	}
	p = signer->spki;
	pkey = d2i_PUBKEY(NULL, &p, (long)signer->spki_len);
	if (pkey == NULL) {
		rc = ossl_fail(err, PE_E_CRYPTO, "public key");
		goto out;
	}
	if (EVP_PKEY_eq(pkey, X509_REQ_get0_pubkey(req)) != 1) {
		rc = pe_err_set(err, PE_E_USAGE,
				"the request is for another key than the signer's");
		goto out;
	}
	rc = algorithm_for(pkey, &sig_nid, &hash, err);
	if (rc != PE_OK)
		goto out;
	/* one challenge: any earlier one goes */
	while ((i = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1)) >= 0) {
		challenge_cleanse(req);
		X509_ATTRIBUTE_free(X509_REQ_delete_attr(req, i));
	}
	/*
	 * a PrintableString where the text allows (some SCEP servers read no
	 * other DirectoryString), else a UTF8String of valid UTF-8
	 */
	if (X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
				      printable(challenge) ? V_ASN1_PRINTABLESTRING : MBSTRING_UTF8,
				      challenge->data, (int)challenge->len) != 1) {
		rc = ossl_fail(err, PE_E_USAGE, "challenge password");
		goto out;
	}
	rc = req_sign(req, pkey, sig_nid, hash, signer, der, len, err);
out:
	if (req != NULL)
		challenge_cleanse(req);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	return rc;
}
