/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/floor: the token work of one enrollment and nothing more, the floor
 * the other variants are measured against. The module is dlopen()ed, one
 * session is opened and logged in once; then per enrollment:
 *   C_GenerateKeyPair (the templates p11enroll uses, CKA_ID given up front),
 *   C_GetAttributeValue of the public key (one call, buffers sized ahead),
 *   C_SignInit + C_Sign of a SHA-256 digest (CKM_ECDSA, or CKM_RSA_PKCS
 *   over a DigestInfo),
 *   C_CreateObject of an X.509 certificate object (the template import-cert
 *   writes) whose DER was made once, before the loop, with OpenSSL.
 * Prints the wall time of each enrollment in ms, one a line, on stdout; with
 * -v the median of each step on stderr.
 *
 * usage: floor -m MODULE -t TOKEN_LABEL -p PIN_FILE [-n N] [-k ec-p256|rsa-2048] [-v]
 */
#include "config.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <p11-kit/pkcs11.h>

enum { STEP_KEYGEN, STEP_PUBKEY, STEP_SIGN, STEP_CERT, STEP_TOTAL, STEP_COUNT };

static const char *const step_names[STEP_COUNT] = {
	"C_GenerateKeyPair", "C_GetAttributeValue(public)",
	"C_SignInit+C_Sign", "C_CreateObject(cert)",
	"enrollment",
};

static CK_FUNCTION_LIST *fn;
static CK_SESSION_HANDLE session;

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

static void
die(const char *what, CK_RV rv)
{
	fprintf(stderr, "floor: %s failed: 0x%lx\n", what, (unsigned long)rv);
	exit(1);
}

static int
read_pin(const char *path, char *pin, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL || fgets(pin, (int)size, f) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	len = strcspn(pin, "\r\n");
	pin[len] = '\0';
	return len > 0 ? 0 : -1;
}

static CK_SLOT_ID
slot_find(const char *label)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	char padded[32];
	size_t len = strlen(label);
	CK_RV rv;

	if (len > sizeof(padded)) {
		fprintf(stderr, "floor: token label '%s' is too long\n", label);
		exit(2);
	}
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, len);
	rv = fn->C_GetSlotList(CK_TRUE, ids, &n);
	if (rv != CKR_OK)
		die("C_GetSlotList", rv);
	for (i = 0; i < n; i++) {
		if (fn->C_GetTokenInfo(ids[i], &ti) == CKR_OK &&
		    memcmp(ti.label, padded, sizeof(padded)) == 0)
			return ids[i];
	}
	fprintf(stderr, "floor: no token labelled '%s'\n", label);
	exit(1);
}

/*
 * One certificate of the size the CA in run.sh and core.c issues: EC P-256
 * (or RSA-2048) subject key, ECDSA P-256 issuer, the same names and
 * extensions.
 */
struct cert_der {
	unsigned char *value, *subject, *issuer, *serial;
	int value_len, subject_len, issuer_len, serial_len;
};

static void
ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
		fprintf(stderr, "floor: certificate extension %d\n", nid);
		exit(1);
	}
	X509_EXTENSION_free(ext);
}

static void
cert_make(bool rsa, struct cert_der *out)
{
	EVP_PKEY *ca = EVP_EC_gen("P-256");
	EVP_PKEY *subject = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *in = X509_NAME_new(), *sn = X509_NAME_new();
	X509V3_CTX ctx;

	if (ca == NULL || subject == NULL || x == NULL || in == NULL || sn == NULL) {
		fprintf(stderr, "floor: cannot make the certificate\n");
		exit(1);
	}
	X509_NAME_add_entry_by_txt(in, "O", MBSTRING_ASC, (const unsigned char *)"p11enroll bench",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC,
				   (const unsigned char *)"p11enroll bench CA", -1, -1, 0);
	X509_NAME_add_entry_by_txt(sn, "O", MBSTRING_ASC, (const unsigned char *)"p11enroll bench",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(sn, "CN", MBSTRING_ASC,
				   (const unsigned char *)"bench floor 0001", -1, -1, 0);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set_int64(X509_get_serialNumber(x), 1001);
	X509_set_issuer_name(x, in);
	X509_set_subject_name(x, sn);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, subject);
	/* the certificate is its own issuer here: the AKI takes its own SKI, same size */
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext_add(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	ext_add(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
	ext_add(x, &ctx, NID_ext_key_usage, "clientAuth,emailProtection");
	ext_add(x, &ctx, NID_subject_key_identifier, "hash");
	ext_add(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (X509_sign(x, ca, EVP_sha256()) <= 0) {
		fprintf(stderr, "floor: cannot sign the certificate\n");
		exit(1);
	}
	memset(out, 0, sizeof(*out));
	out->value_len = i2d_X509(x, &out->value);
	out->subject_len = i2d_X509_NAME(sn, &out->subject);
	out->issuer_len = i2d_X509_NAME(in, &out->issuer);
	out->serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &out->serial);
	X509_NAME_free(in);
	X509_NAME_free(sn);
	X509_free(x);
	EVP_PKEY_free(subject);
	EVP_PKEY_free(ca);
}

static void
usage(void)
{
	fprintf(stderr, "usage: floor -m MODULE -t TOKEN_LABEL -p PIN_FILE [-n N] "
			"[-k ec-p256|rsa-2048] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	/* DER OID of prime256v1 for CKA_EC_PARAMS */
	static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
					      0xce, 0x3d, 0x03, 0x01, 0x07 };
	/* DigestInfo prefix for SHA-256, for CKM_RSA_PKCS */
	static const unsigned char sha256_info[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
						     0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
						     0x01, 0x05, 0x00, 0x04, 0x20 };
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };
	const char *module = NULL, *token = NULL, *pin_file = NULL, *type = "ec-p256";
	CK_C_GetFunctionList get_list;
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
	CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE cert_type = CKC_X_509;
	CK_ULONG bits = 2048;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM gen_mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM sign_mech = { CKM_ECDSA, NULL, 0 };
	CK_OBJECT_HANDLE pub, priv, cert;
	CK_ATTRIBUTE pub_tmpl[8], priv_tmpl[8], cert_tmpl[11], read[2];
	CK_ULONG n_pub = 0, n_priv = 0, n_cert = 0, n_read, sig_len, tbs_len;
	unsigned char point[600], exponent[8], sig[512], tbs[64];
	unsigned char id[20];
	char label[32], pin[256];
	struct cert_der der;
	double *times[STEP_COUNT], t0, t1, t_start;
	void *lib;
	bool rsa, verbose = false;
	int n = 30, i, s, c;
	CK_RV rv;

	while ((c = getopt(argc, argv, "m:t:p:n:k:v")) != -1) {
		switch (c) {
		case 'm':
			module = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'p':
			pin_file = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'k':
			type = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (module == NULL || token == NULL || pin_file == NULL || n < 1 || optind < argc)
		usage();
	if (strcmp(type, "ec-p256") != 0 && strcmp(type, "rsa-2048") != 0)
		usage();
	rsa = strcmp(type, "rsa-2048") == 0;
	if (read_pin(pin_file, pin, sizeof(pin)) != 0) {
		fprintf(stderr, "floor: cannot read a PIN from '%s'\n", pin_file);
		return 1;
	}
	for (s = 0; s < STEP_COUNT; s++) {
		times[s] = calloc((size_t)n, sizeof(double));
		if (times[s] == NULL)
			return 1;
	}
	cert_make(rsa, &der);

	/* once: module, session, login */
	lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "floor: %s\n", dlerror());
		return 1;
	}
	*(void **)&get_list = dlsym(lib, "C_GetFunctionList");
	if (get_list == NULL || get_list(&fn) != CKR_OK) {
		fprintf(stderr, "floor: '%s' has no C_GetFunctionList\n", module);
		return 1;
	}
	rv = fn->C_Initialize(NULL);
	if (rv != CKR_OK)
		die("C_Initialize", rv);
	rv = fn->C_OpenSession(slot_find(token), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
			       &session);
	if (rv != CKR_OK)
		die("C_OpenSession", rv);
	rv = fn->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK)
		die("C_Login", rv);

	if (rsa) {
		gen_mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		sign_mech.mechanism = CKM_RSA_PKCS;
	}
	memset(id, 0, sizeof(id));
	memcpy(id, "floor", 5);
	for (i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "floor-%04d-%ld", i, (long)getpid());
		id[16] = (unsigned char)(getpid() >> 8);
		id[17] = (unsigned char)getpid();
		id[18] = (unsigned char)(i >> 8);
		id[19] = (unsigned char)i;
		n_pub = n_priv = n_cert = 0;
		/* the templates pe_p11_key_generate() and pe_p11_cert_import() use */
#define ADD(t, n_, type_, value, len)                                                              \
	do {                                                                                       \
		(t)[(n_)].type = (type_);                                                          \
		(t)[(n_)].pValue = (void *)(value);                                                \
		(t)[(n_)++].ulValueLen = (len);                                                    \
	} while (0)
		ADD(pub_tmpl, n_pub, CKA_CLASS, &pub_class, sizeof(pub_class));
		ADD(pub_tmpl, n_pub, CKA_TOKEN, &yes, sizeof(yes));
		ADD(pub_tmpl, n_pub, CKA_PRIVATE, &no, sizeof(no));
		ADD(pub_tmpl, n_pub, CKA_VERIFY, &yes, sizeof(yes));
		ADD(pub_tmpl, n_pub, CKA_LABEL, label, strlen(label));
		ADD(pub_tmpl, n_pub, CKA_ID, id, sizeof(id));
		if (rsa) {
			ADD(pub_tmpl, n_pub, CKA_MODULUS_BITS, &bits, sizeof(bits));
			ADD(pub_tmpl, n_pub, CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
		} else {
			ADD(pub_tmpl, n_pub, CKA_EC_PARAMS, p256, sizeof(p256));
		}
		ADD(priv_tmpl, n_priv, CKA_CLASS, &priv_class, sizeof(priv_class));
		ADD(priv_tmpl, n_priv, CKA_TOKEN, &yes, sizeof(yes));
		ADD(priv_tmpl, n_priv, CKA_PRIVATE, &yes, sizeof(yes));
		ADD(priv_tmpl, n_priv, CKA_SENSITIVE, &yes, sizeof(yes));
		ADD(priv_tmpl, n_priv, CKA_EXTRACTABLE, &no, sizeof(no));
		ADD(priv_tmpl, n_priv, CKA_SIGN, &yes, sizeof(yes));
		ADD(priv_tmpl, n_priv, CKA_LABEL, label, strlen(label));
		ADD(priv_tmpl, n_priv, CKA_ID, id, sizeof(id));
		ADD(cert_tmpl, n_cert, CKA_CLASS, &cert_class, sizeof(cert_class));
		ADD(cert_tmpl, n_cert, CKA_CERTIFICATE_TYPE, &cert_type, sizeof(cert_type));
		ADD(cert_tmpl, n_cert, CKA_TOKEN, &yes, sizeof(yes));
		ADD(cert_tmpl, n_cert, CKA_PRIVATE, &no, sizeof(no));
		ADD(cert_tmpl, n_cert, CKA_MODIFIABLE, &yes, sizeof(yes));
		ADD(cert_tmpl, n_cert, CKA_LABEL, label, strlen(label));
		ADD(cert_tmpl, n_cert, CKA_ID, id, sizeof(id));
		ADD(cert_tmpl, n_cert, CKA_SUBJECT, der.subject, der.subject_len);
		ADD(cert_tmpl, n_cert, CKA_ISSUER, der.issuer, der.issuer_len);
		ADD(cert_tmpl, n_cert, CKA_SERIAL_NUMBER, der.serial, der.serial_len);
		ADD(cert_tmpl, n_cert, CKA_VALUE, der.value, der.value_len);
#undef ADD
		n_read = 0;
		read[n_read].type = rsa ? CKA_MODULUS : CKA_EC_POINT;
		read[n_read].pValue = point;
		read[n_read++].ulValueLen = sizeof(point);
		if (rsa) {
			read[n_read].type = CKA_PUBLIC_EXPONENT;
			read[n_read].pValue = exponent;
			read[n_read++].ulValueLen = sizeof(exponent);
		}

		t_start = t0 = now_ms();
		rv = fn->C_GenerateKeyPair(session, &gen_mech, pub_tmpl, n_pub, priv_tmpl, n_priv,
					   &pub, &priv);
		if (rv != CKR_OK)
			die("C_GenerateKeyPair", rv);
		t1 = now_ms();
		times[STEP_KEYGEN][i] = t1 - t0;

		t0 = t1;
		rv = fn->C_GetAttributeValue(session, pub, read, n_read);
		if (rv != CKR_OK)
			die("C_GetAttributeValue", rv);
		t1 = now_ms();
		times[STEP_PUBKEY][i] = t1 - t0;

		/* the request's signature: a SHA-256 digest of what the key is bound to */
		t0 = t1;
		tbs_len = 0;
		if (rsa) {
			memcpy(tbs, sha256_info, sizeof(sha256_info));
			tbs_len = sizeof(sha256_info);
		}
		SHA256(point, read[0].ulValueLen, tbs + tbs_len);
		tbs_len += SHA256_DIGEST_LENGTH;
		rv = fn->C_SignInit(session, &sign_mech, priv);
		if (rv != CKR_OK)
			die("C_SignInit", rv);
		sig_len = sizeof(sig);
		rv = fn->C_Sign(session, tbs, tbs_len, sig, &sig_len);
		if (rv != CKR_OK)
			die("C_Sign", rv);
		t1 = now_ms();
		times[STEP_SIGN][i] = t1 - t0;

		t0 = t1;
		rv = fn->C_CreateObject(session, cert_tmpl, n_cert, &cert);
		if (rv != CKR_OK)
			die("C_CreateObject", rv);
		t1 = now_ms();
		times[STEP_CERT][i] = t1 - t0;
		times[STEP_TOTAL][i] = t1 - t_start;
		printf("%.3f\n", t1 - t_start);
	}
	fflush(stdout);

	fn->C_Logout(session);
	fn->C_CloseSession(session);
	fn->C_Finalize(NULL);
	if (verbose) {
		fprintf(stderr,
			"floor: median ms per step over %d enrollments (%s, cert %d bytes)\n", n,
			type, der.value_len);
		for (s = 0; s < STEP_COUNT; s++)
			fprintf(stderr, "  %-30s %8.3f\n", step_names[s], median(times[s], n));
	}
	for (s = 0; s < STEP_COUNT; s++)
		free(times[s]);
	OPENSSL_free(der.value);
	OPENSSL_free(der.subject);
	OPENSSL_free(der.issuer);
	OPENSSL_free(der.serial);
	/* no dlclose(): the process ends here, and a module's own cleanup may run at exit */
	(void)lib;
	return 0;
}
