/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the software containers (src/containers: registry.c,
 * disk.c, soft.c) without a CA: names, passwords, atomic writes and the
 * directory checks, encrypted PKCS#8, and each carrier's key through its
 * life (made, found again, opened with its password and refused with a wrong
 * one, signing a request, taking its certificate once, listed), read back
 * with OpenSSL. GOST runs where OpenSSL's gost engine is installed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "containers/containers.h"
#include "containers/soft-int.h"

#define PASSWORD "correct-horse-1"

static char tmpdir[PATH_MAX];

struct fixture {
	char base[PATH_MAX + 32];
	struct pe_secret *password;
	struct pe_secret *wrong;
	struct pe_carrier_env env;
};

static int
group_setup(void **state)
{
	const char *base = getenv("TEST_TMP");

	(void)state;
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (mkdir(base, 0700) != 0 && errno != EEXIST)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-containers.XXXXXX", base);
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->base, sizeof(f->base), "%s/case.XXXXXX", tmpdir);
	if (mkdtemp(f->base) == NULL) {
		free(f);
		return -1;
	}
	f->password = pe_secret_new(PASSWORD, strlen(PASSWORD));
	f->wrong = pe_secret_new("wrong-horse-22", 14);
	f->env.home = f->base;
	f->env.dir = f->base;
	f->env.password = f->password;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc = nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	pe_secret_free(f->password);
	pe_secret_free(f->wrong);
	free(f);
	return rc;
}

static char *
path_of(const struct fixture *f, const char *rel)
{
	return pe_soft_path(f->base, rel, "");
}

static bool
exists(const struct fixture *f, const char *rel)
{
	char *path = path_of(f, rel);
	bool there = access(path, F_OK) == 0;

	free(path);
	return there;
}

static unsigned
mode_of(const struct fixture *f, const char *rel)
{
	char *path = path_of(f, rel);
	struct stat st;
	unsigned mode = stat(path, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 0;

	free(path);
	return mode;
}

/* Returns: how many entries (other than . and ..) the case's directory has. */
static int
entries(const struct fixture *f)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(f->base);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* A certificate for @spki issued by a throw-away CA key. */
static struct pe_cert *
cert_for(const unsigned char *spki, size_t len)
{
	const unsigned char *p = spki;
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)len);
	X509 *x509 = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	struct pe_cert *cert = NULL;
	struct pe_err err;
	int n;

	assert_non_null(ca);
	assert_non_null(pub);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
						    (const unsigned char *)"Container test", -1, -1,
						    0),
			 1);
	assert_int_equal(X509_set_version(x509, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x509), 7), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x509), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x509), 3600));
	assert_int_equal(X509_set_subject_name(x509, name), 1);
	assert_int_equal(X509_set_issuer_name(x509, name), 1);
	assert_int_equal(X509_set_pubkey(x509, pub), 1);
	assert_true(X509_sign(x509, ca, EVP_sha256()) > 0);
	n = i2d_X509(x509, &der);
	assert_true(n > 0);
	assert_int_equal(pe_cert_from_der(der, (size_t)n, &cert, &err), PE_OK);
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_free(x509);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(ca);
	return cert;
}

/* Builds and checks a request signed by the container's key (pe_csr_build verifies it). */
static void
request_signed(const struct pe_container_ops *ops, struct pe_container *c)
{
	struct pe_csr_field cn = { "CN", "Container test" };
	struct pe_csr_spec spec = { 0 };
	struct pe_csr_signer signer;
	unsigned char *spki = NULL, *der = NULL;
	size_t spki_len = 0, der_len = 0;
	struct pe_err err;

	spec.fields = &cn;
	spec.n_fields = 1;
	assert_int_equal(ops->public_key(c, &spki, &spki_len, &err), PE_OK);
	signer = ops->signer(c, spki, spki_len);
	assert_int_equal(pe_csr_build(&spec, &signer, &der, &der_len, &err), PE_OK);
	assert_true(der_len > 0);
	free(der);
	free(spki);
}

static void
test_container_names(void **state)
{
	(void)state;
	assert_true(pe_container_name_ok("p11enroll-12"));
	assert_true(pe_container_name_ok("a.b_c-D9"));
	assert_false(pe_container_name_ok(""));
	assert_false(pe_container_name_ok(".hidden"));
	assert_false(pe_container_name_ok(".."));
	assert_false(pe_container_name_ok("../escape"));
	assert_false(pe_container_name_ok("a/b"));
	assert_false(pe_container_name_ok("space name"));
	assert_false(pe_container_name_ok(
		"a1234567890123456789012345678901234567890123456789012345678901234"));
}

static void
test_container_password_check(void **state)
{
	struct pe_secret *short_pw = pe_secret_new("1234567", 7);
	struct fixture *f = *state;
	struct pe_err err;

	assert_int_equal(pe_container_password_check(short_pw, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "at least 8"));
	assert_int_equal(pe_container_password_check(f->password, &err), PE_OK);
	pe_secret_free(short_pw);
}

static void
test_soft_write_atomic_no_replace(void **state)
{
	struct fixture *f = *state;
	struct pe_err err;
	char *data = NULL, *path = path_of(f, "file");

	assert_int_equal(pe_soft_write(f->base, "file", "one", 3, false, &err), PE_OK);
	assert_int_equal(mode_of(f, "file"), 0600);
	/* never over an existing file without @replace; the old content stays */
	assert_int_equal(pe_soft_write(f->base, "file", "two", 3, false, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "never overwritten"));
	assert_int_equal(pe_file_read(path, 16, &data, NULL, &err), PE_OK);
	assert_string_equal(data, "one");
	free(data);
	assert_int_equal(pe_soft_write(f->base, "file", "three", 5, true, &err), PE_OK);
	assert_int_equal(pe_file_read(path, 16, &data, NULL, &err), PE_OK);
	assert_string_equal(data, "three");
	free(data);
	/* no temporary file is left behind */
	assert_int_equal(entries(f), 1);
	free(path);
}

static void
test_soft_dir_check(void **state)
{
	struct fixture *f = *state;
	char *open = path_of(f, "open"), *missing = path_of(f, "missing"), *file = path_of(f, "f");
	struct pe_err err;

	assert_int_equal(pe_soft_dir_check(f->base, &err), PE_OK);
	assert_int_equal(pe_soft_dir_check(missing, &err), PE_E_NOTFOUND);
	assert_int_equal(mkdir(open, 0700), 0);
	assert_int_equal(chmod(open, 0777), 0);
	assert_int_equal(pe_soft_dir_check(open, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "written by others"));
	assert_int_equal(pe_soft_write(f->base, "f", "x", 1, false, &err), PE_OK);
	assert_int_equal(pe_soft_dir_check(file, &err), PE_E_USAGE);
	assert_int_equal(chmod(file, 0666), 0);
	assert_int_equal(pe_soft_file_check(file, &err), PE_E_USAGE);
	free(open);
	free(missing);
	free(file);
}

static void
test_soft_pkcs8_round_trip(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *pkey = NULL, *back = NULL;
	char *pem = NULL;
	size_t len = 0;
	struct pe_err err;

	assert_int_equal(pe_soft_generate(PE_KEY_EC_P256, &pkey, &err), PE_OK);
	assert_int_equal(pe_soft_pkcs8_encode(pkey, f->password, &pem, &len, &err), PE_OK);
	assert_non_null(strstr(pem, "BEGIN ENCRYPTED PRIVATE KEY"));
	assert_int_equal(pe_soft_pkcs8_decode(pem, len, f->wrong, "k", &back, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "wrong password"));
	assert_int_equal(pe_soft_pkcs8_decode(pem, len, f->password, "k", &back, &err), PE_OK);
	assert_int_equal(EVP_PKEY_eq(pkey, back), 1);
	assert_int_equal(pe_soft_pkcs8_decode("garbage", 7, f->password, "k", &back, &err),
			 PE_E_CRYPTO);
	EVP_PKEY_free(back);
	EVP_PKEY_free(pkey);
	free(pem);
}

/* Every type a software container makes signs a request that verifies. */
static void
test_soft_key_types_sign(void **state)
{
	static const enum pe_key_type types[] = { PE_KEY_EC_P256, PE_KEY_EC_P384, PE_KEY_ED25519,
						  PE_KEY_RSA_2048 };
	struct fixture *f = *state;
	struct pe_container *c = NULL;
	struct pe_key_ref ref;
	struct pe_err err;
	char label[32];
	size_t i;

	assert_int_equal(pe_container_registry_ops.open(&f->env, &c, &err), PE_OK);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(label, sizeof(label), "k%zu", i);
		memset(&ref, 0, sizeof(ref));
		assert_int_equal(
			pe_container_key_type_check(&pe_container_registry_ops, c, types[i], &err),
			PE_OK);
		assert_int_equal(pe_container_registry_ops.generate(c, types[i], label, &ref, &err),
				 PE_OK);
		request_signed(&pe_container_registry_ops, c);
		pe_key_ref_cleanup(&ref);
	}
	pe_container_registry_ops.close(c);
}

static void
test_registry_life(void **state)
{
	const struct pe_container_ops *ops = pe_container_find("registry");
	struct fixture *f = *state;
	struct pe_container *c = NULL;
	struct pe_container_info *list = NULL;
	struct pe_key_ref ref;
	struct pe_cert *cert;
	unsigned char *spki = NULL;
	size_t spki_len = 0, n = 0;
	struct pe_err err;
	bool written = false, oom = true;
	char *where;

	assert_non_null(ops);
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(ops->find(c, "mine", &ref, &err), PE_E_NOTFOUND);
	where = ops->record(c, 42, "mine", &oom);
	assert_false(oom);
	assert_string_equal(where, "mine");
	free(where);
	assert_int_equal(ops->generate(c, PE_KEY_EC_P256, "mine", &ref, &err), PE_OK);
	assert_string_equal(ref.label, "mine");
	assert_int_equal(strlen(ref.id_hex), 40);
	pe_key_ref_cleanup(&ref);
	assert_int_equal(mode_of(f, "containers"), 0700);
	assert_int_equal(mode_of(f, "containers/mine"), 0700);
	assert_int_equal(mode_of(f, "containers/mine/key.pem"), 0600);
	assert_true(exists(f, "containers/mine/meta.json"));
	/* a second container of that name is refused, the first one untouched */
	assert_int_equal(ops->generate(c, PE_KEY_EC_P256, "mine", &ref, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(ops->public_key(c, &spki, &spki_len, &err), PE_OK);
	ops->close(c);

	/* opened again: found by name, refused with a wrong password, nothing written */
	f->env.password = f->wrong;
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	assert_int_equal(ops->find(c, "mine", &ref, &err), PE_OK);
	pe_key_ref_cleanup(&ref);
	cert = cert_for(spki, spki_len);
	assert_int_equal(ops->install(c, cert, &written, &err), PE_E_PIN);
	assert_false(exists(f, "containers/mine/cert.pem"));
	ops->close(c);

	f->env.password = f->password;
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	assert_int_equal(ops->find(c, "mine", &ref, &err), PE_OK);
	pe_key_ref_cleanup(&ref);
	assert_int_equal(ops->install(c, cert, &written, &err), PE_OK);
	assert_true(written);
	assert_int_equal(mode_of(f, "containers/mine/cert.pem"), 0600);
	assert_int_equal(ops->install(c, cert, &written, &err), PE_OK);
	assert_false(written);
	ops->close(c);

	assert_int_equal(ops->list(&f->env, &list, &n, &err), PE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "mine");
	assert_string_equal(list[0].key_type, "ec-p256");
	assert_int_equal(list[0].request_id, 42);
	assert_non_null(list[0].cert);
	pe_container_info_list_free(list, n);
	pe_cert_free(cert);
	free(spki);
}

static void
test_disk_life(void **state)
{
	const struct pe_container_ops *ops = pe_container_find("disk");
	struct fixture *f = *state;
	struct pe_container *c = NULL;
	struct pe_container_info *list = NULL;
	struct pe_key_ref ref;
	struct pe_cert *cert;
	unsigned char *spki = NULL;
	size_t spki_len = 0, n = 0;
	struct pe_err err;
	bool written = false, oom = true;
	char *where, *p12_path;

	assert_non_null(ops);
	f->env.dir = "no-such-directory";
	assert_int_equal(ops->open(&f->env, &c, &err), PE_E_NOTFOUND);
	f->env.dir = f->base;
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	where = ops->record(c, 1, "stick", &oom);
	assert_false(oom);
	assert_string_equal(where, f->base);
	free(where);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(ops->generate(c, PE_KEY_EC_P256, "stick", &ref, &err), PE_OK);
	pe_key_ref_cleanup(&ref);
	assert_int_equal(mode_of(f, "stick.key"), 0600);
	assert_false(exists(f, "stick.p12"));
	assert_int_equal(ops->public_key(c, &spki, &spki_len, &err), PE_OK);
	request_signed(ops, c);
	ops->close(c);

	/* the key alone is listed, without a certificate */
	assert_int_equal(ops->list(&f->env, &list, &n, &err), PE_OK);
	assert_int_equal(n, 1);
	assert_null(list[0].cert);
	pe_container_info_list_free(list, n);

	cert = cert_for(spki, spki_len);
	f->env.password = f->wrong;
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	assert_int_equal(ops->find(c, "stick", &ref, &err), PE_OK);
	pe_key_ref_cleanup(&ref);
	assert_int_equal(ops->install(c, cert, &written, &err), PE_E_PIN);
	assert_true(exists(f, "stick.key"));
	assert_false(exists(f, "stick.p12"));
	ops->close(c);

	f->env.password = f->password;
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	assert_int_equal(ops->find(c, "stick", &ref, &err), PE_OK);
	pe_key_ref_cleanup(&ref);
	assert_int_equal(ops->install(c, cert, &written, &err), PE_OK);
	assert_true(written);
	assert_false(exists(f, "stick.key"));
	assert_int_equal(mode_of(f, "stick.p12"), 0600);
	ops->close(c);

	/* found and opened again from the PKCS#12 (`openssl pkcs12` reads it: test-carriers.sh) */
	p12_path = path_of(f, "stick.p12");
	ERR_clear_error();
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	assert_int_equal(ops->find(c, "stick", &ref, &err), PE_OK);
	assert_string_equal(ref.uri, p12_path);
	pe_key_ref_cleanup(&ref);
	assert_int_equal(ops->install(c, cert, &written, &err), PE_OK);
	assert_false(written);
	assert_int_equal(ops->generate(c, PE_KEY_EC_P256, "stick", &ref, &err), PE_E_USAGE);
	ops->close(c);
	/* the PKCS#12 with a wrong password: refused as such */
	f->env.password = f->wrong;
	assert_int_equal(ops->open(&f->env, &c, &err), PE_OK);
	assert_int_equal(ops->find(c, "stick", &ref, &err), PE_OK);
	pe_key_ref_cleanup(&ref);
	assert_int_equal(ops->install(c, cert, &written, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "wrong password"));
	ops->close(c);
	assert_int_equal(ops->list(&f->env, &list, &n, &err), PE_OK);
	assert_int_equal(n, 1);
	assert_non_null(list[0].cert);
	assert_string_equal(list[0].key_type, "ec-p256");
	pe_container_info_list_free(list, n);

	free(p12_path);
	pe_cert_free(cert);
	free(spki);
}

static void
test_gost_container(void **state)
{
	struct fixture *f = *state;
	struct pe_container *c = NULL;
	struct pe_key_ref ref;
	struct pe_err err;

	if (pe_csr_gost_load(&err) != PE_OK) {
		assert_non_null(strstr(err.msg, "libengine-gost-openssl"));
		skip();
	}
	assert_int_equal(pe_container_disk_ops.open(&f->env, &c, &err), PE_OK);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(pe_container_disk_ops.generate(c, PE_KEY_GOST2012_256, "g256", &ref, &err),
			 PE_OK);
	pe_key_ref_cleanup(&ref);
	request_signed(&pe_container_disk_ops, c);
	assert_int_equal(pe_container_disk_ops.generate(c, PE_KEY_GOST2012_512, "g512", &ref, &err),
			 PE_OK);
	pe_key_ref_cleanup(&ref);
	request_signed(&pe_container_disk_ops, c);
	pe_container_disk_ops.close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_names),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_container_password_check),
		T(test_soft_write_atomic_no_replace),
		T(test_soft_dir_check),
		T(test_soft_pkcs8_round_trip),
		T(test_soft_key_types_sign),
		T(test_registry_life),
		T(test_disk_life),
		T(test_gost_container),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
