/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bridge between the token and OpenSSL: public keys read from token
 * attributes become DER SubjectPublicKeyInfo, key ids are hashed, digests
 * and DigestInfo are made for mechanisms that sign a bare hash.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "p11-int.h"

static enum pe_code
ossl_fail(struct pe_err *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char text[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return pe_err_set(err, PE_E_CRYPTO, "%s: %s", what, text);
}

static enum pe_code
pkey_to_der(EVP_PKEY *pkey, unsigned char **der, size_t *der_len, struct pe_err *err)
{
	unsigned char *buf = NULL;
	int len;

	len = i2d_PUBKEY(pkey, &buf);
	if (len <= 0)
		return ossl_fail(err, "i2d_PUBKEY");
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
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, unsigned char **der, size_t *der_len,
		 struct pe_err *err)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	enum pe_code rc;

	ERR_clear_error();
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		rc = ossl_fail(err, "the token's public key");
	else
		rc = pkey_to_der(pkey, der, der_len, err);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rc;
}

enum pe_code
pe_p11_evp_rsa_spki(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
		    unsigned char **der, size_t *der_len, struct pe_err *err)
{
	OSSL_PARAM_BLD *bld;
	BIGNUM *bn_n, *bn_e;
	enum pe_code rc;

	bld = OSSL_PARAM_BLD_new();
	bn_n = BN_bin2bn(n, (int)n_len, NULL);
	bn_e = BN_bin2bn(e, (int)e_len, NULL);
	if (bld == NULL || bn_n == NULL || bn_e == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		rc = ossl_fail(err, "RSA public key");
	else
		rc = pkey_from_params("RSA", bld, der, der_len, err);
	BN_free(bn_n);
	BN_free(bn_e);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/*
 * CKA_EC_POINT is a DER OCTET STRING (PKCS#11 2.40 section 2.3.3), but some
 * tokens give the bare point. A bare point has exactly @raw_len bytes.
 */
static bool
unwrap_point(const unsigned char *point, size_t len, size_t raw_len, const unsigned char **raw)
{
	const unsigned char *p = point;
	ASN1_OCTET_STRING *os;
	bool ok = false;

	if (len == raw_len) {
		*raw = point;
		return true;
	}
	os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
	if (os != NULL && (size_t)(p - point) == len && (size_t)ASN1_STRING_length(os) == raw_len) {
		*raw = point + (len - raw_len);
		ok = true;
	}
	ASN1_OCTET_STRING_free(os);
	return ok;
}

enum pe_code
pe_p11_evp_ec_spki(const unsigned char *params, size_t params_len, const unsigned char *point,
		   size_t point_len, unsigned char **der, size_t *der_len, struct pe_err *err)
{
	const unsigned char *p = params, *raw = NULL;
	ASN1_OBJECT *oid;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	enum pe_code rc;
	size_t field;
	int nid;

	oid = d2i_ASN1_OBJECT(NULL, &p, (long)params_len);
	nid = oid ? OBJ_obj2nid(oid) : NID_undef;
	ASN1_OBJECT_free(oid);
	if (nid == NID_undef && params_len == 14 && memcmp(params + 2, "edwards25519", 12) == 0)
		nid = NID_ED25519; /* PKCS#11 3.0 also allows a PrintableString name */
	switch (nid) {
	case NID_X9_62_prime256v1:
		field = 32;
		break;
	case NID_secp384r1:
		field = 48;
		break;
	case NID_secp521r1:
		field = 66;
		break;
	case NID_ED25519:
		if (!unwrap_point(point, point_len, 32, &raw))
			return pe_err_set(err, PE_E_CRYPTO, "Ed25519 key: malformed CKA_EC_POINT");
		ERR_clear_error();
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
		if (pkey == NULL)
			return ossl_fail(err, "Ed25519 public key");
		rc = pkey_to_der(pkey, der, der_len, err);
		EVP_PKEY_free(pkey);
		return rc;
	default:
		return pe_err_set(err, PE_E_CRYPTO, "EC key on a curve p11enroll does not know");
	}
	if (!unwrap_point(point, point_len, 1 + 2 * field, &raw) || raw[0] != 0x04)
		return pe_err_set(err, PE_E_CRYPTO, "EC key: malformed CKA_EC_POINT");
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) !=
		    1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, 1 + 2 * field) != 1)
		rc = ossl_fail(err, "EC public key");
	else
		rc = pkey_from_params("EC", bld, der, der_len, err);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

enum pe_key_type
pe_p11_evp_spki_type(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;
	enum pe_key_type type = PE_KEY_NONE;
	char group[64];

	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (pkey == NULL) {
		ERR_clear_error();
		return PE_KEY_NONE;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		switch (EVP_PKEY_get_bits(pkey)) {
		case 2048:
			type = PE_KEY_RSA_2048;
			break;
		case 3072:
			type = PE_KEY_RSA_3072;
			break;
		case 4096:
			type = PE_KEY_RSA_4096;
			break;
		}
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1) {
			if (strcmp(group, "prime256v1") == 0)
				type = PE_KEY_EC_P256;
			else if (strcmp(group, "secp384r1") == 0)
				type = PE_KEY_EC_P384;
		}
		break;
	case EVP_PKEY_ED25519:
		type = PE_KEY_ED25519;
		break;
	}
	EVP_PKEY_free(pkey);
	return type;
}

enum pe_code
pe_p11_evp_key_id(const unsigned char *der, size_t len, unsigned char id[20], struct pe_err *err)
{
	const unsigned char *p = der, *bits = NULL;
	X509_PUBKEY *pub;
	int bits_len = 0;
	enum pe_code rc = PE_OK;

	ERR_clear_error();
	pub = d2i_X509_PUBKEY(NULL, &p, (long)len);
	if (pub == NULL || X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, pub) != 1)
		rc = ossl_fail(err, "public key");
	else if (EVP_Digest(bits, (size_t)bits_len, id, NULL, EVP_sha1(), NULL) != 1)
		rc = ossl_fail(err, "SHA-1");
	X509_PUBKEY_free(pub);
	return rc;
}

static const EVP_MD *
hash_md(enum pe_hash hash)
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

enum pe_code
pe_p11_evp_digest(enum pe_hash hash, const unsigned char *data, size_t len, unsigned char *out,
		  size_t *out_len, struct pe_err *err)
{
	const EVP_MD *md = hash_md(hash);
	unsigned int n = 0;

	pe_return_val_if_fail(md != NULL, PE_E_FAIL);
	ERR_clear_error();
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return ossl_fail(err, pe_hash_name(hash));
	*out_len = n;
	return PE_OK;
}

/* DER DigestInfo prefixes, RFC 8017 section 9.2 note 1. */
static const unsigned char prefix_sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					     0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
static const unsigned char prefix_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
					       0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					       0x01, 0x05, 0x00, 0x04, 0x20 };
static const unsigned char prefix_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
					       0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					       0x02, 0x05, 0x00, 0x04, 0x30 };
static const unsigned char prefix_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
					       0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					       0x03, 0x05, 0x00, 0x04, 0x40 };

enum pe_code
pe_p11_evp_digest_info(enum pe_hash hash, const unsigned char *digest, size_t len,
		       unsigned char **out, size_t *out_len, struct pe_err *err)
{
	const unsigned char *prefix;
	size_t prefix_len;
	unsigned char *info;

	switch (hash) {
	case PE_HASH_SHA1:
		prefix = prefix_sha1;
		prefix_len = sizeof(prefix_sha1);
		break;
	case PE_HASH_SHA256:
		prefix = prefix_sha256;
		prefix_len = sizeof(prefix_sha256);
		break;
	case PE_HASH_SHA384:
		prefix = prefix_sha384;
		prefix_len = sizeof(prefix_sha384);
		break;
	case PE_HASH_SHA512:
		prefix = prefix_sha512;
		prefix_len = sizeof(prefix_sha512);
		break;
	default:
		return pe_err_set(err, PE_E_FAIL, "no DigestInfo for hash '%s'",
				  pe_hash_name(hash));
	}
	pe_return_val_if_fail(len == pe_hash_size(hash), PE_E_FAIL);
	info = malloc(prefix_len + len);
	if (info == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	memcpy(info, prefix, prefix_len);
	memcpy(info + prefix_len, digest, len);
	*out = info;
	*out_len = prefix_len + len;
	return PE_OK;
}

static const unsigned char oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const unsigned char oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

enum pe_code
pe_p11_evp_curve_params(enum pe_key_type type, unsigned char **der, size_t *len, struct pe_err *err)
{
	const unsigned char *oid;
	size_t n;

	switch (type) {
	case PE_KEY_EC_P256:
		oid = oid_p256;
		n = sizeof(oid_p256);
		break;
	case PE_KEY_EC_P384:
		oid = oid_p384;
		n = sizeof(oid_p384);
		break;
	case PE_KEY_ED25519:
		oid = oid_ed25519;
		n = sizeof(oid_ed25519);
		break;
	default:
		return pe_err_set(err, PE_E_FAIL, "'%s' is not a curve", pe_key_type_name(type));
	}
	*der = malloc(n);
	if (*der == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	memcpy(*der, oid, n);
	*len = n;
	return PE_OK;
}
