/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CA's cryptography: the root and TLS certificates made by init, the
 * checks a submitted PKCS#10 request must pass, and the certificates issued
 * from a request and its template, signed ecdsa-with-SHA256 by the CA key.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "csr/csr.h"
#include "refca.h"

#define OID_TEMPLATE "1.3.6.1.4.1.311.21.7"
#define CA_DAYS	     3650
#define SERIAL_BYTES 16

enum pe_code
pe_refca_ossl_err(struct pe_err *err, enum pe_code code, const char *what)
{
	unsigned long e = ERR_get_error();
	char text[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return pe_err_set(err, code, "%s: %s", what, text);
}

static enum pe_code
key_new(EVP_PKEY **out, struct pe_err *err)
{
	*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (*out == NULL)
		return pe_refca_ossl_err(err, PE_E_CRYPTO, "EC P-256 key generation");
	return PE_OK;
}

/* A positive random serial of exactly SERIAL_BYTES bytes; its hex into *hex when asked. */
static enum pe_code
serial_set(X509 *cert, char **hex, struct pe_err *err)
{
	unsigned char raw[SERIAL_BYTES];
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	enum pe_code rc = PE_OK;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return pe_refca_ossl_err(err, PE_E_CRYPTO, "RAND_bytes");
	/* top bit clear: positive; next bit set: no leading zero byte is dropped */
	raw[0] = (raw[0] & 0x7f) | 0x40;
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn != NULL)
		serial = BN_to_ASN1_INTEGER(bn, NULL);
	if (serial == NULL || X509_set_serialNumber(cert, serial) != 1) {
		rc = pe_refca_ossl_err(err, PE_E_CRYPTO, "serial number");
		goto out;
	}
	if (hex != NULL) {
		*hex = pe_hex_encode(raw, sizeof(raw));
		if (*hex == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rc;
}

static enum pe_code
ext_add(X509 *cert, X509V3_CTX *ctx, int nid, const char *text, struct pe_err *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, text);
	char what[128];
	int ok;

	if (ext == NULL) {
		snprintf(what, sizeof(what), "%s '%s'", OBJ_nid2sn(nid), text);
		return pe_refca_ossl_err(err, PE_E_CRYPTO, what);
	}
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	if (ok != 1)
		return pe_refca_ossl_err(err, PE_E_CRYPTO, OBJ_nid2sn(nid));
	return PE_OK;
}

/*
 * A version 3 certificate for @pubkey and @subject, issued by @issuer (NULL:
 * self-signed), valid from now for @days, but never past the issuer's end.
 */
static enum pe_code
cert_new(const X509_NAME *subject, EVP_PKEY *pubkey, const X509 *issuer, unsigned days, X509 **out,
	 char **serial_hex, struct pe_err *err)
{
	X509 *cert = X509_new();
	enum pe_code rc;

	if (cert == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    X509_set_subject_name(cert, subject) != 1 ||
	    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
	    X509_set_pubkey(cert, pubkey) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL) {
		rc = pe_refca_ossl_err(err, PE_E_CRYPTO, "certificate");
		goto out;
	}
	if (issuer != NULL &&
	    ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(issuer)) > 0 &&
	    X509_set1_notAfter(cert, X509_get0_notAfter(issuer)) != 1) {
		rc = pe_refca_ossl_err(err, PE_E_CRYPTO, "certificate");
		goto out;
	}
	rc = serial_set(cert, serial_hex, err);
	if (rc != PE_OK)
		goto out;
	*out = cert;
	return PE_OK;
out:
	X509_free(cert);
	return rc;
}

static enum pe_code
cert_sign(X509 *cert, EVP_PKEY *key, struct pe_err *err)
{
	if (X509_sign(cert, key, EVP_sha256()) <= 0)
		return pe_refca_ossl_err(err, PE_E_CRYPTO, "signing the certificate");
	return PE_OK;
}

static enum pe_code
name_cn(const char *cn, X509_NAME **out, struct pe_err *err)
{
	X509_NAME *name = X509_NAME_new();

	if (name == NULL || X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
						       (const unsigned char *)cn, -1, -1, 0) != 1) {
		X509_NAME_free(name);
		return pe_refca_ossl_err(err, PE_E_CRYPTO, "subject");
	}
	*out = name;
	return PE_OK;
}

enum pe_code
pe_refca_issue_ca(EVP_PKEY *given, EVP_PKEY **ca_key_out, X509 **ca_out, EVP_PKEY **tls_key_out,
		  X509 **tls_out, struct pe_err *err)
{
	EVP_PKEY *ca_key = NULL, *tls_key = NULL;
	X509 *ca = NULL, *tls = NULL;
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	enum pe_code rc;

	if (given != NULL && EVP_PKEY_up_ref(given) == 1) {
		ca_key = given;
		rc = PE_OK;
	} else if (given != NULL) {
		rc = pe_refca_ossl_err(err, PE_E_FAIL, "the CA key");
	} else {
		rc = key_new(&ca_key, err);
	}
	if (rc == PE_OK)
		rc = name_cn(PE_REFCA_CA_CN, &name, err);
	if (rc == PE_OK)
		rc = cert_new(name, ca_key, NULL, CA_DAYS, &ca, NULL, err);
	if (rc != PE_OK)
		goto out;
	X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
	rc = ext_add(ca, &ctx, NID_basic_constraints, "critical,CA:TRUE", err);
	if (rc == PE_OK)
		rc = ext_add(ca, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", err);
	if (rc == PE_OK)
		rc = ext_add(ca, &ctx, NID_subject_key_identifier, "hash", err);
	if (rc == PE_OK)
		rc = cert_sign(ca, ca_key, err);
	if (rc != PE_OK)
		goto out;
	X509_NAME_free(name);
	name = NULL;

	rc = key_new(&tls_key, err);
	if (rc == PE_OK)
		rc = name_cn("localhost", &name, err);
	if (rc == PE_OK)
		rc = cert_new(name, tls_key, ca, CA_DAYS, &tls, NULL, err);
	if (rc != PE_OK)
		goto out;
	X509V3_set_ctx(&ctx, ca, tls, NULL, NULL, 0);
	rc = ext_add(tls, &ctx, NID_basic_constraints, "critical,CA:FALSE", err);
	if (rc == PE_OK)
		rc = ext_add(tls, &ctx, NID_key_usage, "critical,digitalSignature", err);
	if (rc == PE_OK)
		rc = ext_add(tls, &ctx, NID_ext_key_usage, "serverAuth", err);
	if (rc == PE_OK)
		rc = ext_add(tls, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost", err);
	if (rc == PE_OK)
		rc = ext_add(tls, &ctx, NID_subject_key_identifier, "hash", err);
	if (rc == PE_OK)
		rc = ext_add(tls, &ctx, NID_authority_key_identifier, "keyid:always", err);
	if (rc == PE_OK)
		rc = cert_sign(tls, ca_key, err);
	if (rc != PE_OK)
		goto out;
	*ca_key_out = ca_key;
	*ca_out = ca;
	*tls_key_out = tls_key;
	*tls_out = tls;
	ca_key = tls_key = NULL;
	ca = tls = NULL;
out:
	X509_NAME_free(name);
	X509_free(tls);
	X509_free(ca);
	EVP_PKEY_free(tls_key);
	EVP_PKEY_free(ca_key);
	return rc;
}

enum pe_code
pe_refca_issue_ext_check(const char *type, const char *text, struct pe_err *err)
{
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	int nid = OBJ_sn2nid(type);

	X509V3_set_ctx_test(&ctx);
	ext = nid != NID_undef ? X509V3_EXT_conf_nid(NULL, &ctx, nid, text) : NULL;
	ERR_clear_error();
	if (ext == NULL)
		return pe_err_set(err, PE_E_USAGE, "'%s' is not a %s", text, type);
	X509_EXTENSION_free(ext);
	return PE_OK;
}

/*
 * Returns: a newly allocated one-line subject for people (RFC 2253 escapes,
 * UTF-8 kept, but in encoding order: CN first), NULL on OOM.
 */
static char *
name_line(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *line = NULL, *data;
	long len;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_DN_REV) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		line = len >= 0 ? strndup(data, (size_t)len) : NULL;
	}
	BIO_free(bio);
	return line;
}

/*
 * The Microsoft template extension: SEQUENCE { templateID OID, major INTEGER,
 * minor INTEGER OPTIONAL }. Sets *found and the template OID into @oid.
 */
static enum pe_code
template_ext(X509_REQ *req, char *oid, size_t size, bool *found, struct pe_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	STACK_OF(ASN1_TYPE) *seq = NULL;
	ASN1_OBJECT *want = OBJ_txt2obj(OID_TEMPLATE, 1);
	const ASN1_OCTET_STRING *data;
	const unsigned char *p, *end;
	const ASN1_TYPE *first, *second;
	enum pe_code rc = PE_OK;
	int idx;

	*found = false;
	ERR_clear_error();
	if (want == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	idx = exts != NULL ? X509v3_get_ext_by_OBJ(exts, want, -1) : -1;
	if (idx < 0)
		goto out;
	data = X509_EXTENSION_get_data(X509v3_get_ext(exts, idx));
	p = ASN1_STRING_get0_data(data);
	end = p + ASN1_STRING_length(data);
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, end - p);
	if (seq == NULL || p != end || sk_ASN1_TYPE_num(seq) < 2 || sk_ASN1_TYPE_num(seq) > 3) {
		rc = pe_err_set(err, PE_E_USAGE,
				"the certificate template extension (%s) is "
				"malformed",
				OID_TEMPLATE);
		goto out;
	}
	first = sk_ASN1_TYPE_value(seq, 0);
	second = sk_ASN1_TYPE_value(seq, 1);
	if (ASN1_TYPE_get(first) != V_ASN1_OBJECT || ASN1_TYPE_get(second) != V_ASN1_INTEGER ||
	    OBJ_obj2txt(oid, (int)size, first->value.object, 1) <= 0) {
		rc = pe_err_set(err, PE_E_USAGE,
				"the certificate template extension (%s) is "
				"malformed",
				OID_TEMPLATE);
		goto out;
	}
	*found = true;
out:
	ERR_clear_error();
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	ASN1_OBJECT_free(want);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static bool
name_has(const X509_NAME *name, const char *oid)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	bool has;

	if (obj == NULL)
		return false;
	has = X509_NAME_get_index_by_OBJ(name, obj, -1) >= 0;
	ASN1_OBJECT_free(obj);
	return has;
}

/* The subject has the template's attributes, and fits one of its owner types. */
static enum pe_code
template_fit(const struct pe_refca_config *config, const struct pe_refca_template *tpl,
	     const X509_NAME *name, struct pe_err *err)
{
	const struct pe_refca_owner_type *ot, *best = NULL;
	const char *best_missing = NULL, *missing;
	size_t i, j, k, n, best_n = 0;
	char aname[64];

	for (i = 0; i < tpl->n_required; i++) {
		if (!name_has(name, tpl->required[i]))
			return pe_err_set(err, PE_E_USAGE,
					  "the subject lacks %s (%s), which "
					  "template '%s' requires",
					  pe_refca_config_attr_name(config, tpl->required[i], aname,
								    sizeof(aname)),
					  tpl->required[i], tpl->localized_name);
	}
	for (i = 0; i < tpl->n_owner_types; i++) {
		ot = NULL;
		for (j = 0; j < config->n_owner_types; j++) {
			if (strcmp(config->owner_types[j].name, tpl->owner_types[i]) == 0)
				ot = &config->owner_types[j];
		}
		if (ot == NULL)
			continue;
		n = 0;
		missing = NULL;
		for (k = 0; k < ot->n_required; k++) {
			if (!name_has(name, ot->required[k])) {
				if (missing == NULL)
					missing = ot->required[k];
				n++;
			}
		}
		if (n == 0)
			return PE_OK;
		if (best == NULL || n < best_n) {
			best = ot;
			best_n = n;
			best_missing = missing;
		}
	}
	if (best == NULL)
		return PE_OK;
	return pe_err_set(err, PE_E_USAGE,
			  "the subject lacks %s (%s), which template '%s' "
			  "requires of an owner of type %s",
			  pe_refca_config_attr_name(config, best_missing, aname, sizeof(aname)),
			  best_missing, tpl->localized_name, best->name);
}

/* One subject attribute: its string type, its value, and the registered value. */
static enum pe_code
entry_check(const struct pe_refca_config *config, const X509_NAME_ENTRY *entry,
	    const cJSON *profile, struct pe_err *err)
{
	const ASN1_STRING *data = X509_NAME_ENTRY_get_data(entry);
	const cJSON *item, *registered;
	unsigned char *utf8 = NULL;
	char oid[128], name[64], sink[128];
	enum pe_code rc = PE_OK;
	int want, type = ASN1_STRING_type(data), len;

	if (OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(entry), 1) <= 0)
		return pe_err_set(err, PE_E_USAGE, "a subject attribute has a malformed OID");
	pe_refca_config_attr_name(config, oid, name, sizeof(name));
	want = pe_csr_attr_lookup(oid, sink, sizeof(sink));
	if ((want == V_ASN1_NUMERICSTRING || want == V_ASN1_PRINTABLESTRING ||
	     want == V_ASN1_IA5STRING) &&
	    type != want)
		return pe_err_set(err, PE_E_USAGE, "subject %s (%s) must be a %s, not a %s", name,
				  oid, ASN1_tag2str(want), ASN1_tag2str(type));
	len = ASN1_STRING_to_UTF8(&utf8, data);
	if (len < 0) {
		ERR_clear_error();
		return pe_err_set(err, PE_E_USAGE, "subject %s (%s) is not a string", name, oid);
	}
	if ((size_t)len != strlen((const char *)utf8)) {
		rc = pe_err_set(err, PE_E_USAGE, "subject %s (%s) holds a NUL", name, oid);
		goto out;
	}
	rc = pe_refca_config_value_check(oid, name, (const char *)utf8, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "subject");
		goto out;
	}
	cJSON_ArrayForEach(item, profile)
	{
		registered = cJSON_GetObjectItemCaseSensitive(item, oid);
		if (cJSON_IsString(registered) &&
		    strcmp(registered->valuestring, (const char *)utf8) != 0) {
			rc = pe_err_set(err, PE_E_USAGE,
					"subject %s (%s) '%s' differs from the "
					"registered '%s'",
					name, oid, (const char *)utf8, registered->valuestring);
			goto out;
		}
	}
out:
	OPENSSL_free(utf8);
	return rc;
}

/* The public keys this CA certifies. */
/*
 * Reads a DER request. A GOST R 34.10-2012 key decodes only through OpenSSL's
 * gost engine: when the key does not decode, the engine is loaded (where it
 * is installed) and the request read again, since OpenSSL keeps the first
 * decoding's failure. Returns: the request (X509_REQ_free()), or NULL; *end
 * where the parse stopped.
 */
static X509_REQ *
req_parse(const unsigned char *der, size_t len, const unsigned char **end)
{
	const unsigned char *p = der;
	struct pe_err none;
	X509_REQ *req;

	req = d2i_X509_REQ(NULL, &p, (long)len);
	if (req != NULL && X509_REQ_get0_pubkey(req) == NULL && pe_csr_gost_load(&none) == PE_OK) {
		ERR_clear_error();
		X509_REQ_free(req);
		p = der;
		req = d2i_X509_REQ(NULL, &p, (long)len);
	}
	if (end != NULL)
		*end = p;
	return req;
}

static enum pe_code
key_check(EVP_PKEY *key, struct pe_err *err)
{
	int bits = EVP_PKEY_get_bits(key);

	if (EVP_PKEY_is_a(key, "RSA") && bits >= 2048)
		return PE_OK;
	if (EVP_PKEY_is_a(key, "EC") && bits >= 256)
		return PE_OK;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return PE_OK;
	/* GOST R 34.10-2012 keys come through the gost engine (legacy key types) */
	if (EVP_PKEY_get_base_id(key) == NID_id_GostR3410_2012_256 ||
	    EVP_PKEY_get_base_id(key) == NID_id_GostR3410_2012_512)
		return PE_OK;
	return pe_err_set(err, PE_E_USAGE,
			  "a %s key of %d bits is not one this CA certifies "
			  "(RSA 2048 and up, EC P-256 and up, Ed25519, GOST R 34.10-2012)",
			  EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?", bits);
}

enum pe_code
pe_refca_issue_csr_check(const struct pe_refca_config *config, const unsigned char *der, size_t len,
			 const char *profile_json, const struct pe_refca_template **tpl_out,
			 char **subject_out, struct pe_err *err)
{
	const unsigned char *p = der;
	const struct pe_refca_template *tpl;
	const X509_NAME *name;
	X509_REQ *req;
	EVP_PKEY *key;
	cJSON *profile = NULL;
	char oid[128];
	enum pe_code rc;
	bool found;
	int i;

	ERR_clear_error();
	req = req_parse(der, len, &p);
	if (req == NULL || p != der + len) {
		rc = pe_err_set(err, PE_E_USAGE, "the body is not a DER PKCS#10 request");
		goto out;
	}
	key = X509_REQ_get0_pubkey(req);
	if (key == NULL) {
		rc = pe_err_set(err, PE_E_USAGE, "the request's public key cannot be read");
		goto out;
	}
	if (X509_REQ_verify(req, key) != 1) {
		rc = pe_err_set(err, PE_E_USAGE, "the request's signature does not verify");
		goto out;
	}
	rc = key_check(key, err);
	if (rc != PE_OK)
		goto out;
	rc = template_ext(req, oid, sizeof(oid), &found, err);
	if (rc != PE_OK)
		goto out;
	tpl = found ? pe_refca_config_template(config, oid) : config->default_template;
	if (tpl == NULL) {
		rc = pe_err_set(err, PE_E_USAGE, "template %s is not one this CA issues", oid);
		goto out;
	}
	name = X509_REQ_get_subject_name(req);
	if (X509_NAME_entry_count(name) == 0) {
		rc = pe_err_set(err, PE_E_USAGE, "the request's subject is empty");
		goto out;
	}
	profile = cJSON_Parse(profile_json);
	if (!cJSON_IsArray(profile)) {
		rc = pe_err_set(err, PE_E_STORE, "the registered profile is damaged");
		goto out;
	}
	for (i = 0; i < X509_NAME_entry_count(name); i++) {
		rc = entry_check(config, X509_NAME_get_entry(name, i), profile, err);
		if (rc != PE_OK)
			goto out;
	}
	rc = template_fit(config, tpl, name, err);
	if (rc != PE_OK)
		goto out;
	*subject_out = name_line(name);
	if (*subject_out == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	*tpl_out = tpl;
out:
	ERR_clear_error();
	cJSON_Delete(profile);
	X509_REQ_free(req);
	return rc;
}

/* Copies the request's subjectAltName extension, if it has one. */
static enum pe_code
san_copy(X509 *cert, X509_REQ *req, struct pe_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	enum pe_code rc = PE_OK;
	int idx;

	idx = exts != NULL ? X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) : -1;
	if (idx >= 0 && X509_add_ext(cert, X509v3_get_ext(exts, idx), -1) != 1)
		rc = pe_refca_ossl_err(err, PE_E_CRYPTO, "subjectAltName");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static enum pe_code
cert_issue(struct pe_refca *ca, const struct pe_refca_template *tpl, const unsigned char *der,
	   size_t len, unsigned char **cert_der, size_t *cert_len, char **serial,
	   struct pe_err *err)
{
	unsigned char *out = NULL;
	X509_REQ *req;
	X509 *cert = NULL;
	X509V3_CTX ctx;
	char ku[256];
	enum pe_code rc;
	int n;

	req = req_parse(der, len, NULL);
	if (req == NULL) {
		rc = pe_refca_ossl_err(err, PE_E_CRYPTO, "the stored request");
		goto out;
	}
	rc = cert_new(X509_REQ_get_subject_name(req), X509_REQ_get0_pubkey(req), ca->ca_cert,
		      tpl->days, &cert, serial, err);
	if (rc != PE_OK)
		goto out;
	snprintf(ku, sizeof(ku), "critical,%s", tpl->key_usage);
	X509V3_set_ctx(&ctx, ca->ca_cert, cert, NULL, NULL, 0);
	rc = ext_add(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE", err);
	if (rc == PE_OK)
		rc = ext_add(cert, &ctx, NID_key_usage, ku, err);
	if (rc == PE_OK && tpl->ext_key_usage != NULL)
		rc = ext_add(cert, &ctx, NID_ext_key_usage, tpl->ext_key_usage, err);
	if (rc == PE_OK)
		rc = san_copy(cert, req, err);
	if (rc == PE_OK)
		rc = ext_add(cert, &ctx, NID_subject_key_identifier, "hash", err);
	if (rc == PE_OK)
		rc = ext_add(cert, &ctx, NID_authority_key_identifier, "keyid:always", err);
	if (rc == PE_OK)
		rc = cert_sign(cert, ca->ca_key, err);
	if (rc != PE_OK)
		goto out;
	n = i2d_X509(cert, &out);
	if (n <= 0) {
		rc = pe_refca_ossl_err(err, PE_E_CRYPTO, "i2d_X509");
		goto out;
	}
	*cert_der = out;
	*cert_len = (size_t)n;
out:
	if (rc != PE_OK && serial != NULL) {
		free(*serial);
		*serial = NULL;
	}
	X509_free(cert);
	X509_REQ_free(req);
	return rc;
}

enum pe_code
pe_refca_issue_request(struct pe_refca *ca, long long id, struct pe_refca_req **out,
		       struct pe_err *err)
{
	const struct pe_refca_template *tpl;
	struct pe_refca_req *req = NULL;
	unsigned char *cert = NULL;
	char *serial = NULL;
	size_t cert_len = 0;
	enum pe_code rc;

	rc = pe_refca_db_req_get(ca->db, id, &req, err);
	if (rc != PE_OK)
		return rc;
	if (req->status != PE_REFCA_ST_QUEUED) {
		rc = pe_err_set(err, PE_E_USAGE, "request %lld is %c (%s), not Q (queued)", id,
				req->status, pe_refca_status_name(req->status));
		goto out;
	}
	tpl = pe_refca_config_template(ca->config, req->template_oid);
	if (tpl == NULL) {
		rc = pe_err_set(err, PE_E_USAGE,
				"request %lld: template %s is no longer in " PE_REFCA_CONFIG, id,
				req->template_oid);
		goto out;
	}
	rc = cert_issue(ca, tpl, req->csr, req->csr_len, &cert, &cert_len, &serial, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "request %lld", id);
		goto out;
	}
	rc = pe_refca_db_req_set_cert(ca->db, id, cert, cert_len, serial, err);
	if (rc != PE_OK)
		goto out;
	if (out != NULL) {
		pe_refca_req_free(req);
		req = NULL;
		rc = pe_refca_db_req_get(ca->db, id, &req, err);
		if (rc != PE_OK)
			goto out;
		*out = req;
		req = NULL;
	}
out:
	OPENSSL_free(cert);
	free(serial);
	pe_refca_req_free(req);
	return rc;
}
