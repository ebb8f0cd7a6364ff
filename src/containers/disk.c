/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The disk carrier: a container in a directory the user names, on removable
 * media. Until the certificate arrives the key alone is kept, as encrypted
 * PKCS#8 (scrypt, AES-256-CBC) in DIR/NAME.key; the installation completes
 * DIR/NAME.p12, a PKCS#12 protected by the container password (key bag
 * AES-256-CBC with PBKDF2, MAC SHA-256, 100000 iterations each) that
 * `openssl pkcs12`, browsers and other tools read, and only once that file is
 * safely on the medium is NAME.key removed. The certificate bag is not
 * encrypted (a certificate is public), so containers can be listed without
 * their password; the MAC still covers it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "soft-int.h"

#define KEY_SUFFIX "key"
#define P12_SUFFIX "p12"
/* PBKDF2 (HMAC-SHA-256) for the key bag and the MAC's PKCS#12 KDF: 50 times OpenSSL's
 * default of 2048, about 50 ms each here, and what the rest of the suite can afford
 * under AddressSanitizer (every iteration allocates in OpenSSL 3.0) */
#define P12_ITER 100000

struct pe_container {
	struct pe_carrier_env env;  /* a copy: the strings it points to outlive the container */
	char *dir;		    /* absolute */
	char *name;		    /* the container found or made last */
	char *key_path;		    /* dir/name.key */
	char *p12_path;		    /* dir/name.p12 */
	struct pe_soft_key key;	    /* its key, once decrypted */
	struct pe_secret *password; /* kept from the decryption for the PKCS#12 */
};

static void
disk_close(struct pe_container *c)
{
	if (c == NULL)
		return;
	pe_soft_key_cleanup(&c->key);
	pe_secret_free(c->password);
	free(c->dir);
	free(c->name);
	free(c->key_path);
	free(c->p12_path);
	free(c);
}

/* The directory named for the container, made absolute (it is what a request records). */
static enum pe_code
dir_resolve(const struct pe_carrier_env *env, char **out, struct pe_err *err)
{
	const char *dir = env->container != NULL ? env->container : env->dir;
	char real[PATH_MAX];
	enum pe_code rc;

	if (dir == NULL)
		return pe_err_set(
			err, PE_E_USAGE,
			"the disk carrier needs --dir DIRECTORY (on the removable medium)");
	if (realpath(dir, real) == NULL) {
		if (errno == ENOENT)
			return pe_err_set(err, PE_E_NOTFOUND,
					  "directory '%s' does not exist (is the medium there?)",
					  dir);
		return pe_err_set(err, PE_E_STORE, "cannot read directory '%s': %s", dir,
				  strerror(errno));
	}
	rc = pe_soft_dir_check(real, err);
	if (rc != PE_OK)
		return rc;
	*out = strdup(real);
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

static enum pe_code
disk_open(const struct pe_carrier_env *env, struct pe_container **out, struct pe_err *err)
{
	struct pe_container *c;
	struct pe_err none;
	enum pe_code rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	c->env = *env;
	rc = dir_resolve(env, &c->dir, err);
	if (rc == PE_OK && access(c->dir, W_OK) != 0)
		rc = pe_err_set(err, PE_E_STORE, "directory '%s' cannot be written: %s", c->dir,
				strerror(errno));
	if (rc != PE_OK) {
		disk_close(c);
		return rc;
	}
	/* GOST keys are read back through the engine: loaded where it is installed */
	pe_csr_gost_load(&none);
	*out = c;
	return PE_OK;
}

static unsigned
disk_key_types(struct pe_container *c)
{
	(void)c;
	return pe_soft_key_types();
}

static enum pe_code
select_name(struct pe_container *c, const char *name, struct pe_err *err)
{
	if (!pe_container_name_ok(name))
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' cannot name a container: use 1 to 64 of A-Z a-z 0-9 . _ - "
				  "not starting with '.'",
				  name);
	pe_soft_key_cleanup(&c->key);
	pe_secret_free(c->password);
	c->password = NULL;
	free(c->name);
	free(c->key_path);
	free(c->p12_path);
	c->name = strdup(name);
	c->key_path = pe_soft_path(c->dir, name, "." KEY_SUFFIX);
	c->p12_path = pe_soft_path(c->dir, name, "." P12_SUFFIX);
	if (c->name == NULL || c->key_path == NULL || c->p12_path == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

static enum pe_code
ref_fill(struct pe_container *c, const char *uri, struct pe_key_ref *ref, struct pe_err *err)
{
	ref->label = strdup(c->name);
	ref->uri = strdup(uri);
	ref->id_hex = c->key.id_hex != NULL ? strdup(c->key.id_hex) : NULL;
	if (ref->label == NULL || ref->uri == NULL ||
	    (c->key.id_hex != NULL && ref->id_hex == NULL)) {
		pe_key_ref_cleanup(ref);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

static enum pe_code
disk_find(struct pe_container *c, const char *label, struct pe_key_ref *ref, struct pe_err *err)
{
	enum pe_code rc;

	rc = select_name(c, label, err);
	if (rc != PE_OK)
		return rc;
	rc = pe_soft_file_check(c->p12_path, err);
	if (rc == PE_OK)
		return ref_fill(c, c->p12_path, ref, err);
	if (rc != PE_E_NOTFOUND)
		return rc;
	rc = pe_soft_file_check(c->key_path, err);
	if (rc == PE_OK)
		return ref_fill(c, c->key_path, ref, err);
	if (rc == PE_E_NOTFOUND)
		return pe_err_set(err, PE_E_NOTFOUND, "there is no container '%s' in '%s'", label,
				  c->dir);
	return rc;
}

/* Reads a PKCS#12 file. */
static enum pe_code
p12_read(const char *path, PKCS12 **out, struct pe_err *err)
{
	const unsigned char *p;
	char *data = NULL;
	size_t len = 0;
	enum pe_code rc;

	rc = pe_file_read(path, PE_SOFT_FILE_MAX, &data, &len, err);
	if (rc != PE_OK)
		return rc;
	p = (const unsigned char *)data;
	*out = d2i_PKCS12(NULL, &p, (long)len);
	free(data);
	if (*out == NULL) {
		ERR_clear_error();
		return pe_err_set(err, PE_E_CRYPTO, "'%s' is not a PKCS#12 file", path);
	}
	return PE_OK;
}

/* The certificate of a PKCS#12 file, read without the password (its bag is not encrypted). */
static X509 *
p12_cert(PKCS12 *p12)
{
	STACK_OF(PKCS7) * safes;
	STACK_OF(PKCS12_SAFEBAG) * bags;
	const PKCS12_SAFEBAG *bag;
	X509 *x509 = NULL;
	int i, j;

	safes = PKCS12_unpack_authsafes(p12);
	for (i = 0; safes != NULL && x509 == NULL && i < sk_PKCS7_num(safes); i++) {
		if (OBJ_obj2nid(sk_PKCS7_value(safes, i)->type) != NID_pkcs7_data)
			continue;
		bags = PKCS12_unpack_p7data(sk_PKCS7_value(safes, i));
		for (j = 0; bags != NULL && x509 == NULL && j < sk_PKCS12_SAFEBAG_num(bags); j++) {
			bag = sk_PKCS12_SAFEBAG_value(bags, j);
			if (PKCS12_SAFEBAG_get_nid(bag) == NID_certBag &&
			    PKCS12_SAFEBAG_get_bag_nid(bag) == NID_x509Certificate)
				x509 = PKCS12_SAFEBAG_get1_cert(bag);
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
	ERR_clear_error();
	return x509;
}

/* Decrypts the selected container's key with its password, from the PKCS#12 once there. */
static enum pe_code
key_load(struct pe_container *c, struct pe_err *err)
{
	struct pe_secret *password = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *x509 = NULL;
	PKCS12 *p12 = NULL;
	char *pem = NULL;
	size_t len = 0;
	enum pe_code rc;
	bool installed;

	pe_return_val_if_fail(c->name != NULL, PE_E_FAIL);
	if (c->key.pkey != NULL)
		return PE_OK;
	rc = pe_soft_file_check(c->p12_path, err);
	installed = rc == PE_OK;
	if (rc == PE_E_NOTFOUND)
		rc = pe_soft_file_check(c->key_path, err);
	if (rc == PE_OK && installed)
		rc = p12_read(c->p12_path, &p12, err);
	if (rc == PE_OK && !installed)
		rc = pe_file_read(c->key_path, PE_SOFT_FILE_MAX, &pem, &len, err);
	if (rc == PE_OK)
		rc = pe_soft_password(&c->env, c->name, false, &password, err);
	/* the MAC is checked once (by PKCS12_parse); only a failure asks what it was */
	if (rc == PE_OK && installed) {
		ERR_clear_error();
		if (PKCS12_parse(p12, (const char *)password->data, &pkey, &x509, NULL) != 1 ||
		    pkey == NULL) {
			if (PKCS12_verify_mac(p12, (const char *)password->data,
					      (int)password->len) != 1)
				rc = pe_err_set(err, PE_E_PIN,
						"wrong password for '%s' (the container was not "
						"changed)",
						c->p12_path);
			else
				rc = pe_err_set(err, PE_E_CRYPTO,
						"'%s' holds no key p11enroll can read",
						c->p12_path);
		}
		ERR_clear_error();
	}
	if (rc == PE_OK && !installed)
		rc = pe_soft_pkcs8_decode(pem, len, password, c->key_path, &pkey, err);
	if (rc == PE_OK) {
		rc = pe_soft_key_set(&c->key, pkey, err);
		pkey = NULL;
	}
	if (rc == PE_OK) {
		c->password = password;
		password = NULL;
	}
	EVP_PKEY_free(pkey);
	X509_free(x509);
	PKCS12_free(p12);
	pe_secret_free(password);
	if (pem != NULL)
		OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

static enum pe_code
disk_generate(struct pe_container *c, enum pe_key_type type, const char *label,
	      struct pe_key_ref *ref, struct pe_err *err)
{
	struct pe_secret *password = NULL;
	EVP_PKEY *pkey = NULL;
	char *pem = NULL, file[80];
	size_t len = 0;
	enum pe_code rc;

	rc = select_name(c, label, err);
	if (rc != PE_OK)
		return rc;
	if (access(c->p12_path, F_OK) == 0 || access(c->key_path, F_OK) == 0)
		return pe_err_set(err, PE_E_USAGE,
				  "container '%s' already exists in '%s': it is never "
				  "overwritten (choose another --label)",
				  label, c->dir);
	rc = pe_soft_password(&c->env, label, true, &password, err);
	if (rc == PE_OK)
		rc = pe_soft_generate(type, &pkey, err);
	if (rc == PE_OK)
		rc = pe_soft_key_set(&c->key, pkey, err);
	if (rc == PE_OK)
		rc = pe_soft_pkcs8_encode(c->key.pkey, password, &pem, &len, err);
	if (rc == PE_OK) {
		snprintf(file, sizeof(file), "%s." KEY_SUFFIX, label);
		rc = pe_soft_write(c->dir, file, pem, len, false, err);
		if (rc == PE_E_USAGE)
			pe_err_set(err, PE_E_USAGE,
				   "container '%s' already exists in '%s': it is never "
				   "overwritten (choose another --label)",
				   label, c->dir);
	}
	if (rc == PE_OK)
		rc = ref_fill(c, c->key_path, ref, err);
	if (rc == PE_OK) {
		c->password = password;
		password = NULL;
	} else {
		pe_soft_key_cleanup(&c->key);
	}
	pe_secret_free(password);
	if (pem != NULL)
		OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

static enum pe_code
disk_public_key(struct pe_container *c, unsigned char **spki, size_t *len, struct pe_err *err)
{
	enum pe_code rc = key_load(c, err);

	return rc == PE_OK ? pe_soft_public_key(&c->key, spki, len, err) : rc;
}

/* The key is opened with the container password here, as for public_key. */
static enum pe_code
disk_decrypt(struct pe_container *c, const unsigned char *in, size_t len, unsigned char **out,
	     size_t *out_len, struct pe_err *err)
{
	enum pe_code rc = key_load(c, err);

	if (rc != PE_OK)
		return rc;
	return pe_soft_decrypt(&c->key, in, len, out, out_len, err);
}

static struct pe_csr_signer
disk_signer(struct pe_container *c, const unsigned char *spki, size_t len)
{
	(void)spki;
	(void)len;
	return pe_soft_signer(&c->key);
}

/* The PKCS#12 of the key and @x509, DER, newly allocated (OPENSSL_free()). */
static enum pe_code
p12_build(struct pe_container *c, X509 *x509, unsigned char **der, int *len, struct pe_err *err)
{
	const char *pass = (const char *)c->password->data;
	char text[256] = "unknown error";
	unsigned long e;
	PKCS12 *p12;
	enum pe_code rc = PE_OK;

	ERR_clear_error();
	/* key bag: PBES2 (PBKDF2, AES-256-CBC); certificate bag in the clear; MAC set below
	 * (with SHA-256: PKCS12_create would make it SHA-1) */
	p12 = PKCS12_create(pass, c->name, c->key.pkey, x509, NULL, NID_aes_256_cbc, -1, P12_ITER,
			    -1, 0);
	if (p12 == NULL || PKCS12_set_mac(p12, pass, (int)c->password->len, NULL, 0, P12_ITER,
					  EVP_sha256()) != 1) {
		PKCS12_free(p12);
		e = ERR_get_error();
		if (e != 0)
			ERR_error_string_n(e, text, sizeof(text));
		ERR_clear_error();
		return pe_err_set(err, PE_E_CRYPTO, "building the PKCS#12: %s", text);
	}
	*der = NULL;
	*len = i2d_PKCS12(p12, der);
	if (*len <= 0)
		rc = pe_err_set(err, PE_E_FAIL, "encoding the PKCS#12");
	PKCS12_free(p12);
	return rc;
}

static enum pe_code
disk_install(struct pe_container *c, const struct pe_cert *cert, bool *written, struct pe_err *err)
{
	const struct pe_p11_cert *parts = pe_cert_p11(cert);
	const unsigned char *p = parts->value;
	unsigned char *der = NULL, *have_der = NULL;
	X509 *x509 = NULL, *have = NULL;
	PKCS12 *old = NULL;
	char file[80];
	int len = 0, have_len;
	struct pe_err none;
	enum pe_code rc;

	/* the password proves the owner, and the key must be the certificate's */
	rc = key_load(c, err);
	if (rc != PE_OK)
		return rc;
	if (!pe_cert_matches_spki(cert, c->key.spki, c->key.spki_len))
		return pe_err_set(err, PE_E_CRYPTO,
				  "the certificate is not for the key of container '%s'", c->name);
	/* already there: nothing to write (but a key file an interrupted install left goes) */
	if (p12_read(c->p12_path, &old, &none) == PE_OK && (have = p12_cert(old)) != NULL) {
		have_len = i2d_X509(have, &have_der);
		*written = !(have_len > 0 && (size_t)have_len == parts->value_len &&
			     memcmp(have_der, parts->value, parts->value_len) == 0);
	} else {
		*written = true;
	}
	OPENSSL_free(have_der);
	X509_free(have);
	PKCS12_free(old);
	/* a medium that cannot be written is told before the slow PKCS#12 is built */
	if (*written && access(c->dir, W_OK) != 0)
		return pe_err_set(err, PE_E_STORE,
				  "directory '%s' cannot be written: %s (the container was not "
				  "changed)",
				  c->dir, strerror(errno));
	if (*written) {
		x509 = d2i_X509(NULL, &p, (long)parts->value_len);
		if (x509 == NULL) {
			ERR_clear_error();
			return pe_err_set(err, PE_E_CRYPTO, "the certificate cannot be read");
		}
		rc = p12_build(c, x509, &der, &len, err);
		snprintf(file, sizeof(file), "%s." P12_SUFFIX, c->name);
		if (rc == PE_OK)
			rc = pe_soft_write(c->dir, file, der, (size_t)len, true, err);
	}
	/* the PKCS#12 is on the medium: the key alone is no longer needed */
	if (rc == PE_OK)
		rc = pe_soft_unlink(c->dir, c->key_path, err);
	OPENSSL_free(der);
	X509_free(x509);
	return rc;
}

static const char *
disk_serial(struct pe_container *c)
{
	(void)c;
	return NULL;
}

static const char *
disk_model(struct pe_container *c)
{
	(void)c;
	return NULL;
}

static char *
disk_record(struct pe_container *c, int64_t request_id, const char *label, bool *oom)
{
	char *dir = strdup(c->dir);

	(void)request_id;
	(void)label;
	*oom = dir == NULL;
	return dir;
}

/* One container of a directory listing: @name with its PKCS#12 or key file. */
static enum pe_code
info_fill(const char *dir, const char *name, bool installed, struct pe_container_info *info,
	  struct pe_err *err)
{
	struct pe_err none;
	PKCS12 *p12 = NULL;
	X509 *x509 = NULL;
	unsigned char *der = NULL;
	int len;

	memset(info, 0, sizeof(*info));
	info->name = strdup(name);
	info->location = pe_soft_path(dir, name, installed ? "." P12_SUFFIX : "." KEY_SUFFIX);
	if (info->name == NULL || info->location == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (installed && p12_read(info->location, &p12, &none) == PE_OK &&
	    (x509 = p12_cert(p12)) != NULL) {
		len = i2d_X509(x509, &der);
		if (len > 0 && (info->cert = malloc((size_t)len)) != NULL) {
			memcpy(info->cert, der, (size_t)len);
			info->cert_len = (size_t)len;
		}
		if (X509_get0_pubkey(x509) != NULL &&
		    pe_soft_key_type(X509_get0_pubkey(x509)) != PE_KEY_NONE)
			info->key_type =
				strdup(pe_key_type_name(pe_soft_key_type(X509_get0_pubkey(x509))));
		ERR_clear_error();
	}
	OPENSSL_free(der);
	X509_free(x509);
	PKCS12_free(p12);
	return PE_OK;
}

/* Returns: true when @file is NAME.@suffix with a valid NAME, copied into @name. */
static bool
name_of(const char *file, const char *suffix, char *name, size_t size)
{
	size_t len = strlen(file), slen = strlen(suffix);

	if (len <= slen + 1 || len - slen - 1 >= size || file[len - slen - 1] != '.' ||
	    strcmp(file + len - slen, suffix) != 0)
		return false;
	memcpy(name, file, len - slen - 1);
	name[len - slen - 1] = '\0';
	return pe_container_name_ok(name);
}

static enum pe_code
disk_list(const struct pe_carrier_env *env, struct pe_container_info **out, size_t *n,
	  struct pe_err *err)
{
	struct pe_container_info *list = NULL, *grown;
	struct dirent *de;
	char name[80], *dir = NULL, *p12 = NULL;
	size_t count = 0;
	enum pe_code rc;
	bool installed;
	DIR *d;

	*out = NULL;
	*n = 0;
	rc = dir_resolve(env, &dir, err);
	if (rc != PE_OK)
		return rc;
	d = opendir(dir);
	if (d == NULL) {
		rc = pe_err_set(err, PE_E_STORE, "cannot read '%s': %s", dir, strerror(errno));
		free(dir);
		return rc;
	}
	while (rc == PE_OK && (de = readdir(d)) != NULL) {
		installed = name_of(de->d_name, P12_SUFFIX, name, sizeof(name));
		if (!installed) {
			if (!name_of(de->d_name, KEY_SUFFIX, name, sizeof(name)))
				continue;
			/* a key file an interrupted install left beside its PKCS#12 */
			p12 = pe_soft_path(dir, name, "." P12_SUFFIX);
			if (p12 != NULL && access(p12, F_OK) == 0) {
				free(p12);
				continue;
			}
			free(p12);
		}
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (grown == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			break;
		}
		list = grown;
		rc = info_fill(dir, name, installed, &list[count], err);
		count++;
	}
	closedir(d);
	free(dir);
	if (rc != PE_OK) {
		pe_container_info_list_free(list, count);
		return rc;
	}
	*out = list;
	*n = count;
	return PE_OK;
}

const struct pe_container_ops pe_container_disk_ops = {
	.name = "disk",
	.open = disk_open,
	.close = disk_close,
	.key_types = disk_key_types,
	.generate = disk_generate,
	.find = disk_find,
	.public_key = disk_public_key,
	.signer = disk_signer,
	.install = disk_install,
	.serial = disk_serial,
	.model = disk_model,
	.decrypt = disk_decrypt,
	.record = disk_record,
	.list = disk_list,
};
