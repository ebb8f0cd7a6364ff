/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/core: the enrollment's token work through the core library in one
 * process, as a long-running enrollment service would do it. Once: the
 * module is loaded (pe_p11_ctx_new), the token opened, the token profile
 * read, the user logged in, and a local CA (EC P-256 key, self-signed
 * certificate) made in memory. Then per enrollment:
 *   pe_p11_key_generate (CKA_ID as the token profile says: SHA-1 of the key),
 *   pe_p11_key_public_der and pe_csr_build with pe_csr_signer_token (the
 *   token signs the request; the library verifies the signature),
 *   the CA: the request parsed and its signature verified, a certificate
 *   issued and signed with OpenSSL in this process (the extensions the
 *   openssl x509 -req of run.sh adds),
 *   pe_cert_from_der and pe_p11_cert_import (the certificate written next
 *   to its key).
 * Prints the wall time of each enrollment in ms, one a line, on stdout; with
 * -v the median of each step on stderr.
 *
 * usage: core -m MODULE -t TOKEN_URI -p PIN_FILE [-n N] [-k ec-p256|rsa-2048] [-v]
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr/csr.h"
#include "p11/p11.h"
#include "profile/profile.h"
#include "util/util.h"

enum { STEP_KEYGEN, STEP_CSR, STEP_CA, STEP_IMPORT, STEP_TOTAL, STEP_COUNT };

static const char *const step_names[STEP_COUNT] = {
	"pe_p11_key_generate",
	"public key + pe_csr_build",
	"CA signing (in process)",
	"pe_cert_from_der + import",
	"enrollment",
};

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
ext_add(X509 *x, X509V3_CTX *ctx, const char *name, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf(NULL, ctx, name, value);
	int ok;

	if (ext == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static const unsigned char *
ustr(const char *s)
{
	return (const unsigned char *)s;
}

/* The CA of run.sh: EC P-256, "O=p11enroll bench, CN=p11enroll bench CA". */
static int
ca_make(struct ca *ca)
{
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	int ok;

	ca->key = EVP_EC_gen("P-256");
	ca->cert = X509_new();
	ok = name != NULL && ca->key != NULL && ca->cert != NULL &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, ustr("p11enroll bench"), -1, -1,
					0) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, ustr("p11enroll bench CA"), -1,
					-1, 0) == 1 &&
	     X509_set_version(ca->cert, X509_VERSION_3) == 1 &&
	     ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), 1) == 1 &&
	     X509_set_issuer_name(ca->cert, name) == 1 &&
	     X509_set_subject_name(ca->cert, name) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(ca->cert), 0) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(ca->cert), 3650L * 24 * 3600) != NULL &&
	     X509_set_pubkey(ca->cert, ca->key) == 1;
	if (ok) {
		X509V3_set_ctx(&ctx, ca->cert, ca->cert, NULL, NULL, 0);
		ok = ext_add(ca->cert, &ctx, "basicConstraints", "critical,CA:TRUE") &&
		     ext_add(ca->cert, &ctx, "keyUsage", "critical,keyCertSign,cRLSign") &&
		     ext_add(ca->cert, &ctx, "subjectKeyIdentifier", "hash") &&
		     X509_sign(ca->cert, ca->key, EVP_sha256()) > 0;
	}
	X509_NAME_free(name);
	return ok;
}

/*
 * What `openssl x509 -req -CA -CAkey -set_serial -days -extfile` does:
 * the request's signature verified, a certificate for its subject and key
 * with the extensions of run.sh's extfile, signed ECDSA-SHA256.
 */
static int
ca_issue(const struct ca *ca, const unsigned char *csr, size_t csr_len, long serial,
	 unsigned char **der, int *der_len)
{
	const unsigned char *p = csr;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	EVP_PKEY *pub = req ? X509_REQ_get0_pubkey(req) : NULL;
	X509 *x = X509_new();
	X509V3_CTX ctx;
	int ok;

	*der = NULL;
	ok = pub != NULL && x != NULL && X509_REQ_verify(req, pub) == 1 &&
	     X509_set_version(x, X509_VERSION_3) == 1 &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1 &&
	     X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1 &&
	     X509_set_subject_name(x, X509_REQ_get_subject_name(req)) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) != NULL &&
	     X509_set_pubkey(x, pub) == 1;
	if (ok) {
		X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
		ok = ext_add(x, &ctx, "basicConstraints", "critical,CA:FALSE") &&
		     ext_add(x, &ctx, "keyUsage", "critical,digitalSignature,keyEncipherment") &&
		     ext_add(x, &ctx, "extendedKeyUsage", "clientAuth,emailProtection") &&
		     ext_add(x, &ctx, "subjectKeyIdentifier", "hash") &&
		     ext_add(x, &ctx, "authorityKeyIdentifier", "keyid") &&
		     X509_sign(x, ca->key, EVP_sha256()) > 0;
	}
	if (ok) {
		*der_len = i2d_X509(x, der);
		ok = *der_len > 0;
	}
	X509_free(x);
	X509_REQ_free(req);
	return ok;
}

static void
usage(void)
{
	fprintf(stderr, "usage: core -m MODULE -t TOKEN_URI -p PIN_FILE [-n N] "
			"[-k ec-p256|rsa-2048] [-v]\n");
	exit(2);
}

static int
fail(const char *what, const struct pe_err *err)
{
	fprintf(stderr, "core: %s: %s\n", what, err->msg);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *module = NULL, *uri = NULL, *pin_file = NULL, *type_name = "ec-p256";
	struct pe_p11_keygen gen = { PE_KEY_NONE, NULL, NULL, 0, PE_P11_ID_SHA1_PUBKEY };
	struct pe_csr_spec spec;
	struct pe_csr_signer signer;
	struct pe_token_profile *profile = NULL;
	struct pe_p11_ctx *ctx = NULL;
	struct pe_p11_token *tok = NULL;
	struct pe_p11_key *key;
	struct pe_p11_cert_result res;
	struct pe_secret *pin = NULL;
	struct pe_cert *cert;
	const struct pe_p11_slot *info;
	struct ca ca = { NULL, NULL };
	unsigned char *spki, *csr, *der;
	size_t spki_len, csr_len;
	double *times[STEP_COUNT], t0, t1, t_start;
	char label[32], subject[96], source[4096];
	struct pe_err err;
	bool verbose = false;
	int n = 30, i, s, c, der_len;

	while ((c = getopt(argc, argv, "m:t:p:n:k:v")) != -1) {
		switch (c) {
		case 'm':
			module = optarg;
			break;
		case 't':
			uri = optarg;
			break;
		case 'p':
			pin_file = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'k':
			type_name = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (module == NULL || uri == NULL || pin_file == NULL || n < 1 || optind < argc)
		usage();
	gen.type = pe_key_type_from_name(type_name);
	if (gen.type == PE_KEY_NONE)
		usage();
	pe_msg_init("core", PE_NORMAL);
	for (s = 0; s < STEP_COUNT; s++) {
		times[s] = calloc((size_t)n, sizeof(double));
		if (times[s] == NULL)
			return 1;
	}
	if (!ca_make(&ca)) {
		fprintf(stderr, "core: cannot make the CA\n");
		return 1;
	}

	/* once: one module load, one token, one login */
	snprintf(source, sizeof(source), "file:%s", pin_file);
	if (pe_p11_ctx_new(module, &ctx, &err) != PE_OK)
		return fail("module", &err);
	if (pe_p11_token_open(ctx, uri, PE_P11_OPEN_RW, &tok, &err) != PE_OK)
		return fail("token", &err);
	info = pe_p11_token_info(tok);
	if (pe_token_profile_find(NULL, info->manufacturer, info->model, &profile, &err) != PE_OK)
		return fail("token profile", &err);
	gen.scheme = profile->id_scheme;
	if (pe_p11_token_login_check(tok, PE_P11_USER, &err) != PE_OK ||
	    pe_secret_read(source, "-p", "PIN", false, &pin, &err) != PE_OK ||
	    pe_p11_token_login(tok, PE_P11_USER, pin, &err) != PE_OK)
		return fail("login", &err);
	pe_secret_free(pin);

	memset(&spec, 0, sizeof(spec));
	spec.subject = subject;
	for (i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "core-%04d-%ld", i, (long)getpid());
		snprintf(subject, sizeof(subject), "/O=p11enroll bench/CN=bench core %04d", i);
		gen.label = label;
		key = NULL;
		spki = csr = der = NULL;
		cert = NULL;

		t_start = t0 = now_ms();
		if (pe_p11_key_generate(tok, &gen, &key, &err) != PE_OK)
			return fail("generate", &err);
		t1 = now_ms();
		times[STEP_KEYGEN][i] = t1 - t0;

		t0 = t1;
		if (pe_p11_key_public_der(key, &spki, &spki_len, &err) != PE_OK)
			return fail("public key", &err);
		signer = pe_csr_signer_token(key, spki, spki_len);
		if (pe_csr_build(&spec, &signer, &csr, &csr_len, &err) != PE_OK)
			return fail("request", &err);
		t1 = now_ms();
		times[STEP_CSR][i] = t1 - t0;

		t0 = t1;
		if (!ca_issue(&ca, csr, csr_len, 1000 + i, &der, &der_len)) {
			fprintf(stderr, "core: the CA cannot issue\n");
			return 1;
		}
		t1 = now_ms();
		times[STEP_CA][i] = t1 - t0;

		t0 = t1;
		if (pe_cert_from_der(der, (size_t)der_len, &cert, &err) != PE_OK)
			return fail("certificate", &err);
		if (pe_p11_cert_import(tok, pe_cert_p11(cert), profile->cert_private, &res, &err) !=
		    PE_OK)
			return fail("import", &err);
		t1 = now_ms();
		times[STEP_IMPORT][i] = t1 - t0;
		times[STEP_TOTAL][i] = t1 - t_start;
		printf("%.3f\n", t1 - t_start);

		pe_p11_cert_result_cleanup(&res);
		pe_cert_free(cert);
		OPENSSL_free(der);
		free(csr);
		free(spki);
		pe_p11_key_free(key);
	}
	fflush(stdout);

	pe_p11_token_free(tok);
	pe_p11_ctx_free(ctx);
	pe_token_profile_free(profile);
	if (verbose) {
		fprintf(stderr, "core: median ms per step over %d enrollments (%s)\n", n,
			type_name);
		for (s = 0; s < STEP_COUNT; s++)
			fprintf(stderr, "  %-30s %8.3f\n", step_names[s], median(times[s], n));
	}
	for (s = 0; s < STEP_COUNT; s++)
		free(times[s]);
	X509_free(ca.cert);
	EVP_PKEY_free(ca.key);
	return 0;
}
