/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * csr: PKCS#10 requests built with OpenSSL from a public key and signed by a
 * signer (the token through C_Sign, later a software container); subjects
 * with the right ASN.1 string type per attribute; the template and
 * subjectSignTool extensions; and certificates read for installation.
 */
#ifndef PE_CSR_CSR_H
#define PE_CSR_CSR_H

#include <stdbool.h>
#include <stddef.h>

#include "p11/p11.h"
#include "util/util.h"

/* A key that signs. The token's is pe_p11_key_sign() on a struct pe_p11_key. */
struct pe_csr_signer {
	const unsigned char *spki; /* DER SubjectPublicKeyInfo */
	size_t spki_len;
	/* Returns the signer's raw signature (ECDSA: r || s) over @data hashed with @hash. */
	enum pe_code (*sign)(void *key, enum pe_hash hash, const unsigned char *data, size_t len,
			     unsigned char **sig, size_t *siglen, struct pe_err *err);
	void *key;
};

/* Returns: a signer for @key; it borrows @key and @spki. */
struct pe_csr_signer pe_csr_signer_token(struct pe_p11_key *key, const unsigned char *spki,
					 size_t spki_len);

struct pe_csr_field {
	const char *attr;  /* short name (CN, INN, ...) or dotted OID */
	const char *value; /* UTF-8 */
};

struct pe_csr_spec {
	const char *subject;		   /* "/C=RU/CN=x" or "CN=x,C=RU", or NULL */
	const struct pe_csr_field *fields; /* appended after the subject */
	size_t n_fields;
	const char *template_oid; /* 1.3.6.1.4.1.311.21.7, or NULL */
	unsigned template_major;
	unsigned template_minor;
	const char *sign_tool;	   /* 1.2.643.100.111, or NULL */
	const char *key_usage;	   /* "digitalSignature,keyEncipherment", or NULL */
	const char *ext_key_usage; /* "clientAuth,emailProtection,OID", or NULL */
	const char *const *emails; /* subjectAltName rfc822Name */
	size_t n_emails;
	const char *const *upns; /* subjectAltName otherName UPN */
	size_t n_upns;
};

/*
 * Builds a PKCS#10 request for the signer's public key, signs it through the
 * signer and checks the signature against the public key.
 * Returns: PE_OK and the DER request in a newly allocated *der (free());
 * PE_E_USAGE for a bad subject, field or extension (the message names it);
 * PE_E_CRYPTO; whatever the signer returns.
 */
enum pe_code pe_csr_build(const struct pe_csr_spec *spec, const struct pe_csr_signer *signer,
			  unsigned char **der, size_t *len, struct pe_err *err);

/*
 * A copy of the DER request @csr with the PKCS#9 challengePassword attribute
 * set to @challenge (SCEP), signed again through @signer, whose key must be
 * the request's. The stored request stays without the secret: this copy is
 * made in memory when it is sent.
 * Returns: PE_OK and the DER request in a newly allocated *der (it holds the
 * challenge: zeroise it before free()); PE_E_USAGE for a request that cannot
 * be read, a key that is not the request's or an ill-sized challenge;
 * PE_E_CRYPTO; whatever the signer returns.
 */
enum pe_code pe_csr_with_challenge(const unsigned char *csr, size_t csr_len,
				   const struct pe_secret *challenge,
				   const struct pe_csr_signer *signer, unsigned char **der,
				   size_t *len, struct pe_err *err);

/* Returns: a newly allocated PEM text of the DER request (free()), NULL on OOM. */
char *pe_csr_to_pem(const unsigned char *der, size_t len);

/* gost.c */

/*
 * Loads OpenSSL's gost engine (once per process) as the default for GOST
 * R 34.10-2012 keys and GOST R 34.11-2012 digests, so that software keys,
 * requests and certificates with GOST keys work through EVP. A GOST key's
 * signer is given PE_HASH_NONE: it hashes with the key's own digest.
 * Returns: PE_OK; PE_E_USAGE saying what to install when the engine is absent.
 */
enum pe_code pe_csr_gost_load(struct pe_err *err);

/* subject.c */

/*
 * Finds an attribute by short name (CN, SN, GN, C, L, ST, O, OU, T, E, street,
 * INN, INNLE, OGRN, OGRNIP, SNILS, ...) or dotted OID.
 * Returns: its dotted OID into @oid (at most @size bytes) and its ASN.1
 * string type (V_ASN1_UTF8STRING, V_ASN1_PRINTABLESTRING, V_ASN1_NUMERICSTRING,
 * V_ASN1_IA5STRING); 0 when the name is unknown.
 */
int pe_csr_attr_lookup(const char *attr, char *oid, size_t size);

/*
 * Checks @value for the attribute's string type and fixed length (C: two
 * letters; INN: 12 digits; SNILS: 11; ...). Returns: PE_OK, or PE_E_USAGE
 * naming the attribute and why.
 */
enum pe_code pe_csr_attr_check(const char *attr, const char *value, struct pe_err *err);

/*
 * Splits a distinguished name, "/A=v/B=w" (OpenSSL order, first RDN first,
 * '\' escapes) or "B=w,A=v" (RFC 4514, last RDN first), into fields in
 * encoding order. The fields point into *storage, which the caller frees.
 * Returns: PE_OK and a newly allocated *fields (free()) with *n entries.
 */
enum pe_code pe_csr_dn_split(const char *dn, struct pe_csr_field **fields, size_t *n,
			     char **storage, struct pe_err *err);

/* Returns: the DER ECDSA-Sig-Value of a raw r || s signature, newly allocated (free()). */
enum pe_code pe_csr_ecdsa_der(const unsigned char *raw, size_t raw_len, unsigned char **der,
			      size_t *der_len, struct pe_err *err);

/* cert.c */
struct pe_cert;

/*
 * Reads a certificate, PEM or DER, from @path.
 * Returns: PE_OK and a newly allocated *out (free with pe_cert_free());
 * PE_E_USAGE when the file holds no certificate.
 */
enum pe_code pe_cert_load(const char *path, struct pe_cert **out, struct pe_err *err);
enum pe_code pe_cert_from_der(const unsigned char *der, size_t len, struct pe_cert **out,
			      struct pe_err *err);
void pe_cert_free(struct pe_cert *cert);

/* Returns: the parts the token wants (borrowed from @cert). */
const struct pe_p11_cert *pe_cert_p11(const struct pe_cert *cert);
/* Returns: the subject as one line (RFC 2253), the serial in hex, SHA-256 of the DER in hex. */
const char *pe_cert_subject(const struct pe_cert *cert);
const char *pe_cert_serial_hex(const struct pe_cert *cert);
const char *pe_cert_sha256_hex(const struct pe_cert *cert);

/* Returns: the issuer as one line (RFC 2253), notAfter as RFC 3339 UTC (borrowed). */
const char *pe_cert_issuer(const struct pe_cert *cert);
const char *pe_cert_not_after(const struct pe_cert *cert);

/* Returns: true when the certificate carries the public key @spki (DER SubjectPublicKeyInfo). */
bool pe_cert_matches_spki(const struct pe_cert *cert, const unsigned char *spki, size_t len);

/* Returns: true when the DER PKCS#10 @csr asks for the subject @cert has (a renewal keeps it). */
bool pe_cert_subject_matches_csr(const struct pe_cert *cert, const unsigned char *csr, size_t len);

/*
 * Checks that @cert chains to one of the roots in @roots_pem (PEM text), and is
 * valid now. Returns: PE_OK; PE_E_CRYPTO saying why it does not verify.
 */
enum pe_code pe_cert_verify_chain(const struct pe_cert *cert, const char *roots_pem,
				  struct pe_err *err);

/*
 * Reads every certificate of a PEM text (a chain or a bundle).
 * Returns: PE_OK and a newly allocated array of *n certificates, free with
 * pe_cert_list_free(); PE_E_USAGE when there is none.
 */
enum pe_code pe_cert_list_from_pem(const char *pem, size_t len, struct pe_cert ***out, size_t *n,
				   struct pe_err *err);
void pe_cert_list_free(struct pe_cert **list, size_t n);

#endif /* PE_CSR_CSR_H */
