/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates on their way to the token: read from PEM or DER, split into
 * the DER parts a certificate object carries, and described for output.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csr.h"

#define CERT_FILE_MAX (256 * 1024)

struct pe_cert {
	X509 *x509;
	unsigned char *value, *subject, *issuer, *serial, *spki;
	struct pe_p11_cert p11;
	char *subject_text;
	char *issuer_text;
	char *serial_hex;
	char *sha256_hex;
	char not_after[32];
};

void
pe_cert_free(struct pe_cert *cert)
{
	if (cert == NULL)
		return;
	X509_free(cert->x509);
	OPENSSL_free(cert->value);
	OPENSSL_free(cert->subject);
	OPENSSL_free(cert->issuer);
	OPENSSL_free(cert->serial);
	OPENSSL_free(cert->spki);
	free(cert->subject_text);
	free(cert->issuer_text);
	free(cert->serial_hex);
	free(cert->sha256_hex);
	free(cert);
}

static char *
name_text(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;
	char *text = NULL;

	if (bio != NULL &&
	    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    BIO_get_mem_ptr(bio, &mem) == 1) {
		text = malloc(mem->length + 1);
		if (text != NULL) {
			memcpy(text, mem->data, mem->length);
			text[mem->length] = '\0';
		}
	}
	BIO_free(bio);
	return text;
}

static void
time_text(const ASN1_TIME *t, char *out, size_t size)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(out, size, "unknown");
		return;
	}
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static enum pe_code
cert_take(X509 *x509, struct pe_cert **out, struct pe_err *err)
{
	struct pe_cert *cert;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	const ASN1_INTEGER *sn;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int n[5];

	cert = calloc(1, sizeof(*cert));
	if (cert == NULL) {
		X509_free(x509);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	cert->x509 = x509;
	sn = X509_get0_serialNumber(x509);
	n[0] = i2d_X509(x509, &cert->value);
	n[1] = i2d_X509_NAME(X509_get_subject_name(x509), &cert->subject);
	n[2] = i2d_X509_NAME(X509_get_issuer_name(x509), &cert->issuer);
	n[3] = i2d_ASN1_INTEGER((ASN1_INTEGER *)sn, &cert->serial);
	/* as i2d_PUBKEY writes it; a key OpenSSL cannot decode (GOST without its engine)
	 * as the certificate carries it */
	if (X509_get0_pubkey(x509) != NULL)
		n[4] = i2d_PUBKEY(X509_get0_pubkey(x509), &cert->spki);
	else
		n[4] = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x509), &cert->spki);
	if (n[0] <= 0 || n[1] <= 0 || n[2] <= 0 || n[3] <= 0 || n[4] <= 0 ||
	    X509_digest(x509, EVP_sha256(), md, &md_len) != 1) {
		pe_cert_free(cert);
		ERR_clear_error();
		return pe_err_set(err, PE_E_CRYPTO, "the certificate cannot be encoded again");
	}
	cert->p11.value = cert->value;
	cert->p11.value_len = (size_t)n[0];
	cert->p11.subject = cert->subject;
	cert->p11.subject_len = (size_t)n[1];
	cert->p11.issuer = cert->issuer;
	cert->p11.issuer_len = (size_t)n[2];
	cert->p11.serial = cert->serial;
	cert->p11.serial_len = (size_t)n[3];
	cert->p11.spki = cert->spki;
	cert->p11.spki_len = (size_t)n[4];
	cert->subject_text = name_text(X509_get_subject_name(x509));
	cert->issuer_text = name_text(X509_get_issuer_name(x509));
	time_text(X509_get0_notAfter(x509), cert->not_after, sizeof(cert->not_after));
	cert->sha256_hex = pe_hex_encode(md, md_len);
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex != NULL) {
		char *c;

		for (c = hex; *c != '\0'; c++)
			*c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
		cert->serial_hex = strdup(hex);
	}
	OPENSSL_free(hex);
	BN_free(bn);
	if (cert->subject_text == NULL || cert->issuer_text == NULL || cert->sha256_hex == NULL ||
	    cert->serial_hex == NULL) {
		pe_cert_free(cert);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	*out = cert;
	return PE_OK;
}

enum pe_code
pe_cert_from_der(const unsigned char *der, size_t len, struct pe_cert **out, struct pe_err *err)
{
	const unsigned char *p = der;
	X509 *x509;

	struct pe_err none;

	ERR_clear_error();
	x509 = d2i_X509(NULL, &p, (long)len);
	/* a GOST key decodes only through the gost engine, and OpenSSL keeps the first
	 * failure: read again once the engine is there */
	if (x509 != NULL && X509_get0_pubkey(x509) == NULL && pe_csr_gost_load(&none) == PE_OK) {
		X509_free(x509);
		ERR_clear_error();
		p = der;
		x509 = d2i_X509(NULL, &p, (long)len);
	}
	if (x509 == NULL || (size_t)(p - der) != len) {
		X509_free(x509);
		ERR_clear_error();
		return pe_err_set(err, PE_E_USAGE, "not a DER certificate");
	}
	ERR_clear_error();
	return cert_take(x509, out, err);
}

enum pe_code
pe_cert_load(const char *path, struct pe_cert **out, struct pe_err *err)
{
	X509 *x509 = NULL;
	char *data = NULL;
	size_t len = 0;
	enum pe_code rc;
	BIO *bio;

	rc = pe_file_read(path, CERT_FILE_MAX, &data, &len, err);
	if (rc != PE_OK)
		return rc;
	if (len > 0 && memmem(data, len, "-----BEGIN", 10) != NULL) {
		bio = BIO_new_mem_buf(data, (int)len);
		x509 = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		free(data);
		ERR_clear_error();
		if (x509 == NULL)
			return pe_err_set(err, PE_E_USAGE, "'%s' holds no PEM certificate", path);
		return cert_take(x509, out, err);
	}
	rc = pe_cert_from_der((const unsigned char *)data, len, out, err);
	free(data);
	if (rc != PE_OK)
		pe_err_prefix(err, "'%s'", path);
	return rc;
}

const struct pe_p11_cert *
pe_cert_p11(const struct pe_cert *cert)
{
	return &cert->p11;
}

const char *
pe_cert_subject(const struct pe_cert *cert)
{
	return cert->subject_text;
}

const char *
pe_cert_serial_hex(const struct pe_cert *cert)
{
	return cert->serial_hex;
}

const char *
pe_cert_sha256_hex(const struct pe_cert *cert)
{
	return cert->sha256_hex;
}

const char *
pe_cert_issuer(const struct pe_cert *cert)
{
	return cert->issuer_text;
}

const char *
pe_cert_not_after(const struct pe_cert *cert)
{
	return cert->not_after;
}

bool
pe_cert_matches_spki(const struct pe_cert *cert, const unsigned char *spki, size_t len)
{
	return cert->p11.spki_len == len && memcmp(cert->p11.spki, spki, len) == 0;
}

bool
pe_cert_subject_matches_csr(const struct pe_cert *cert, const unsigned char *csr, size_t len)
{
	const unsigned char *p = csr;
	X509_REQ *req;
	bool same;

	if (len > LONG_MAX)
		return false;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	/* compared in canonical form, as certificate path building compares names */
	same = req != NULL && X509_NAME_cmp(X509_REQ_get_subject_name(req),
					    X509_get_subject_name(cert->x509)) == 0;
	X509_REQ_free(req);
	ERR_clear_error();
	return same;
}

enum pe_code
pe_cert_list_from_pem(const char *pem, size_t len, struct pe_cert ***out, size_t *n,
		      struct pe_err *err)
{
	struct pe_cert **list = NULL, **grown;
	size_t count = 0;
	enum pe_code rc = PE_OK;
	X509 *x509;
	BIO *bio;

	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	while (rc == PE_OK && (x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (grown == NULL) {
			X509_free(x509);
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			break;
		}
		list = grown;
		rc = cert_take(x509, &list[count], err);
		if (rc == PE_OK)
			count++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (rc == PE_OK && count == 0)
		rc = pe_err_set(err, PE_E_USAGE, "no PEM certificate found");
	if (rc != PE_OK) {
		pe_cert_list_free(list, count);
		return rc;
	}
	*out = list;
	*n = count;
	return PE_OK;
}

void
pe_cert_list_free(struct pe_cert **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pe_cert_free(list[i]);
	free(list);
}

enum pe_code
pe_cert_verify_chain(const struct pe_cert *cert, const char *roots_pem, struct pe_err *err)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *root;
	BIO *bio = BIO_new_mem_buf(roots_pem, -1);
	enum pe_code rc = PE_OK;
	int roots = 0;

	if (store == NULL || ctx == NULL || bio == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	while ((root = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, root) == 1)
			roots++;
		X509_free(root);
	}
	ERR_clear_error();
	if (roots == 0) {
		rc = pe_err_set(err, PE_E_CRYPTO,
				"no trusted root to check the certificate against");
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, store, cert->x509, NULL) != 1) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1)
		rc = pe_err_set(err, PE_E_CRYPTO,
				"the certificate does not chain to a trusted root: %s",
				X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}
