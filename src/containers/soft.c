/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Software keys for the registry and disk containers: made, encrypted and
 * used with OpenSSL (GOST through its gost engine), never written to disk
 * unencrypted; and the file handling both containers rely on: directories
 * only their owner writes, and files written atomically (a temporary file in
 * the same directory, fsync, rename, fsync of the directory), so that an
 * interrupted write leaves the previous state intact.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "soft-int.h"

/* scrypt as `openssl pkcs8 -scrypt` makes it: N = 2^14, r = 8, p = 1 (16 MiB, within
 * OpenSSL's default memory limit, so every tool can read the key back). */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16

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

void
pe_soft_key_cleanup(struct pe_soft_key *key)
{
	EVP_PKEY_free(key->pkey);
	free(key->spki);
	free(key->id_hex);
	memset(key, 0, sizeof(*key));
}

enum pe_code
pe_soft_key_set(struct pe_soft_key *key, EVP_PKEY *pkey, struct pe_err *err)
{
	X509_PUBKEY *pub = NULL;
	const unsigned char *bits = NULL;
	unsigned char *der = NULL, id[EVP_MAX_MD_SIZE];
	unsigned int id_len = 0;
	int der_len, bits_len = 0;
	enum pe_code rc = PE_OK;

	pe_soft_key_cleanup(key);
	key->pkey = pkey;
	ERR_clear_error();
	der_len = i2d_PUBKEY(pkey, &der);
	if (der_len <= 0 || X509_PUBKEY_set(&pub, pkey) != 1 ||
	    X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, pub) != 1 ||
	    EVP_Digest(bits, (size_t)bits_len, id, &id_len, EVP_sha1(), NULL) != 1) {
		rc = ossl_fail(err, PE_E_CRYPTO, "the container's public key");
		goto out;
	}
	key->spki = malloc((size_t)der_len);
	key->id_hex = pe_hex_encode(id, id_len);
	if (key->spki == NULL || key->id_hex == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	memcpy(key->spki, der, (size_t)der_len);
	key->spki_len = (size_t)der_len;
out:
	OPENSSL_free(der);
	X509_PUBKEY_free(pub);
	if (rc != PE_OK)
		pe_soft_key_cleanup(key);
	return rc;
}

unsigned
pe_soft_key_types(void)
{
	unsigned types = 0;
	int i;

	for (i = PE_KEY_NONE + 1; i < PE_KEY_TYPE_MAX; i++)
		types |= 1u << i;
	return types;
}

enum pe_key_type
pe_soft_key_type(EVP_PKEY *pkey)
{
	char group[64];
	int bits = EVP_PKEY_get_bits(pkey);

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return bits == 2048   ? PE_KEY_RSA_2048
		       : bits == 3072 ? PE_KEY_RSA_3072
		       : bits == 4096 ? PE_KEY_RSA_4096
				      : PE_KEY_NONE;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1)
			return PE_KEY_NONE;
		if (strcmp(group, "prime256v1") == 0)
			return PE_KEY_EC_P256;
		if (strcmp(group, "secp384r1") == 0)
			return PE_KEY_EC_P384;
		return PE_KEY_NONE;
	case EVP_PKEY_ED25519:
		return PE_KEY_ED25519;
	case NID_id_GostR3410_2012_256:
		return PE_KEY_GOST2012_256;
	case NID_id_GostR3410_2012_512:
		return PE_KEY_GOST2012_512;
	}
	return PE_KEY_NONE;
}

/* GOST R 34.10-2012 through the gost engine, in its parameter set A. */
static enum pe_code
gost_generate(int nid, EVP_PKEY **out, struct pe_err *err)
{
	EVP_PKEY_CTX *ctx;
	enum pe_code rc;

	rc = pe_csr_gost_load(err);
	if (rc != PE_OK)
		return rc;
	ctx = EVP_PKEY_CTX_new_id(nid, NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_ctrl_str(ctx, "paramset", "A") <= 0 || EVP_PKEY_keygen(ctx, out) != 1)
		rc = ossl_fail(err, PE_E_CRYPTO, "GOST key generation");
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

enum pe_code
pe_soft_generate(enum pe_key_type type, EVP_PKEY **out, struct pe_err *err)
{
	EVP_PKEY *pkey = NULL;

	ERR_clear_error();
	switch (type) {
	case PE_KEY_RSA_2048:
	case PE_KEY_RSA_3072:
	case PE_KEY_RSA_4096:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)pe_key_type_bits(type));
		break;
	case PE_KEY_EC_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case PE_KEY_EC_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case PE_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case PE_KEY_GOST2012_256:
		return gost_generate(NID_id_GostR3410_2012_256, out, err);
	case PE_KEY_GOST2012_512:
		return gost_generate(NID_id_GostR3410_2012_512, out, err);
	default:
		return pe_err_set(err, PE_E_USAGE, "cannot make %s keys in software",
				  pe_key_type_name(type));
	}
	if (pkey == NULL)
		return ossl_fail(err, PE_E_CRYPTO, "key generation");
	*out = pkey;
	return PE_OK;
}

static const EVP_MD *
hash_md(enum pe_hash hash, EVP_PKEY *pkey)
{
	int nid = NID_undef;

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
	/* Ed25519 hashes inside the signature; GOST with its own digest (the engine's) */
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519)
		return NULL;
	if (EVP_PKEY_get_default_digest_nid(pkey, &nid) > 0 && nid != NID_undef)
		return EVP_get_digestbynid(nid);
	return NULL;
}

/* The DER ECDSA-Sig-Value OpenSSL makes, as the fixed-width r || s a signer returns. */
static enum pe_code
ecdsa_raw(EVP_PKEY *pkey, const unsigned char *der, size_t len, unsigned char **raw,
	  size_t *raw_len, struct pe_err *err)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	size_t width = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	unsigned char *out;

	sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (sig == NULL)
		return ossl_fail(err, PE_E_CRYPTO, "ECDSA signature");
	ECDSA_SIG_get0(sig, &r, &s);
	out = malloc(2 * width);
	if (out == NULL) {
		ECDSA_SIG_free(sig);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	if (BN_bn2binpad(r, out, (int)width) < 0 || BN_bn2binpad(s, out + width, (int)width) < 0) {
		free(out);
		ECDSA_SIG_free(sig);
		return pe_err_set(err, PE_E_CRYPTO, "ECDSA signature: r or s too long");
	}
	ECDSA_SIG_free(sig);
	*raw = out;
	*raw_len = 2 * width;
	return PE_OK;
}

static enum pe_code
soft_sign(void *key, enum pe_hash hash, const unsigned char *data, size_t len, unsigned char **sig,
	  size_t *siglen, struct pe_err *err)
{
	struct pe_soft_key *k = key;
	EVP_MD_CTX *ctx;
	unsigned char *out = NULL;
	size_t n = 0;
	enum pe_code rc = PE_OK;

	ERR_clear_error();
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, hash_md(hash, k->pkey), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1) {
		rc = ossl_fail(err, PE_E_CRYPTO, "signing with the container's key");
		goto out;
	}
	out = malloc(n);
	if (out == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, out, &n, data, len) != 1) {
		rc = ossl_fail(err, PE_E_CRYPTO, "signing with the container's key");
		goto out;
	}
	if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC) {
		rc = ecdsa_raw(k->pkey, out, n, sig, siglen, err);
		goto out;
	}
	*sig = out;
	*siglen = n;
	out = NULL;
out:
	free(out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

enum pe_code
pe_soft_public_key(const struct pe_soft_key *key, unsigned char **spki, size_t *len,
		   struct pe_err *err)
{
	*spki = malloc(key->spki_len);
	if (*spki == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	memcpy(*spki, key->spki, key->spki_len);
	*len = key->spki_len;
	return PE_OK;
}

struct pe_csr_signer
pe_soft_signer(struct pe_soft_key *key)
{
	struct pe_csr_signer signer = { key->spki, key->spki_len, soft_sign, key };

	return signer;
}

enum pe_code
pe_soft_decrypt(struct pe_soft_key *key, const unsigned char *in, size_t len, unsigned char **out,
		size_t *out_len, struct pe_err *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	size_t n = 0;
	enum pe_code rc = PE_OK;

	pe_return_val_if_fail(key->pkey != NULL, PE_E_FAIL);
	if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_RSA)
		return pe_err_set(err, PE_E_USAGE,
				  "the container's key is %s, not RSA: it cannot decrypt",
				  pe_key_type_name(pe_soft_key_type(key->pkey)));
	ERR_clear_error();
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_decrypt(ctx, NULL, &n, in, len) != 1) {
		rc = ossl_fail(err, PE_E_CRYPTO, "decrypting with the container's key");
		goto out;
	}
	buf = malloc(n ? n : 1);
	if (buf == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (EVP_PKEY_decrypt(ctx, buf, &n, in, len) != 1) {
		/* a message not encrypted to this key: its padding does not check */
		rc = ossl_fail(err, PE_E_CRYPTO, "decrypting with the container's key");
		OPENSSL_cleanse(buf, n);
		free(buf);
		goto out;
	}
	*out = buf;
	*out_len = n;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

enum pe_code
pe_soft_password(const struct pe_carrier_env *env, const char *name, bool new_container,
		 struct pe_secret **out, struct pe_err *err)
{
	struct pe_secret *pw;
	char prompt[160];
	enum pe_code rc;

	if (env->password != NULL) {
		pw = pe_secret_new(env->password->data, env->password->len);
		if (pw == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
	} else {
		snprintf(prompt, sizeof(prompt), "%s for container '%s'",
			 new_container ? "new password" : "password", name);
		rc = pe_secret_read(env->password_source, "--password-source", prompt,
				    new_container, &pw, err);
		if (rc != PE_OK)
			return rc;
	}
	if (new_container && pe_container_password_check(pw, err) != PE_OK) {
		pe_secret_free(pw);
		return PE_E_PIN;
	}
	*out = pw;
	return PE_OK;
}

/* Returns: what a memory BIO holds, newly allocated and NUL-terminated. */
static enum pe_code
bio_take(BIO *bio, char **out, size_t *len, struct pe_err *err)
{
	BUF_MEM *mem = NULL;

	if (BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	*out = malloc(mem->length + 1);
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	memcpy(*out, mem->data, mem->length);
	(*out)[mem->length] = '\0';
	*len = mem->length;
	return PE_OK;
}

enum pe_code
pe_soft_pkcs8_encode(EVP_PKEY *pkey, const struct pe_secret *password, char **pem, size_t *len,
		     struct pe_err *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *enc = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	enum pe_code rc = PE_OK;

	ERR_clear_error();
	p8 = EVP_PKEY2PKCS8(pkey);
	pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, SALT_LEN, NULL, SCRYPT_N, SCRYPT_R,
				    SCRYPT_P);
	if (p8 == NULL || pbe == NULL) {
		rc = ossl_fail(err, PE_E_CRYPTO, "encrypting the key");
		goto out;
	}
	enc = PKCS8_set0_pbe((const char *)password->data, (int)password->len, p8, pbe);
	if (enc == NULL) {
		rc = ossl_fail(err, PE_E_CRYPTO, "encrypting the key");
		goto out;
	}
	pbe = NULL; /* the encrypted key owns it now */
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PKCS8(bio, enc) != 1) {
		rc = ossl_fail(err, PE_E_CRYPTO, "encoding the key");
		goto out;
	}
	rc = bio_take(bio, pem, len, err);
out:
	if (bio != NULL && BIO_get_mem_ptr(bio, &mem) == 1 && mem != NULL)
		OPENSSL_cleanse(mem->data, mem->length);
	BIO_free(bio);
	X509_SIG_free(enc);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

enum pe_code
pe_soft_pkcs8_decode(const char *pem, size_t len, const struct pe_secret *password,
		     const char *what, EVP_PKEY **out, struct pe_err *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *enc = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	enum pe_code rc = PE_OK;

	ERR_clear_error();
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio != NULL)
		enc = PEM_read_bio_PKCS8(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (enc == NULL) {
		rc = ossl_fail(err, PE_E_CRYPTO, "not an encrypted PKCS#8 key");
		pe_err_prefix(err, "'%s'", what);
		return rc;
	}
	p8 = PKCS8_decrypt(enc, (const char *)password->data, (int)password->len);
	X509_SIG_free(enc);
	if (p8 == NULL) {
		ERR_clear_error();
		return pe_err_set(err, PE_E_PIN,
				  "wrong password for '%s' (the container was not changed)", what);
	}
	pkey = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (pkey == NULL) {
		rc = ossl_fail(err, PE_E_CRYPTO, "the key cannot be read");
		pe_err_prefix(err, "'%s'", what);
		return rc;
	}
	*out = pkey;
	return PE_OK;
}

char *
pe_soft_path(const char *dir, const char *name, const char *suffix)
{
	size_t len = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *path = malloc(len);

	if (path != NULL)
		snprintf(path, len, "%s/%s%s", dir, name, suffix);
	return path;
}

enum pe_code
pe_soft_dir_check(const char *path, struct pe_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return pe_err_set(err, PE_E_NOTFOUND, "directory '%s' does not exist",
					  path);
		return pe_err_set(err, PE_E_STORE, "cannot read directory '%s': %s", path,
				  strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return pe_err_set(err, PE_E_USAGE, "'%s' is not a directory", path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return pe_err_set(err, PE_E_USAGE,
				  "directory '%s' can be written by others (mode %03o): keys are "
				  "kept only where their owner alone writes (chmod go-w)",
				  path, (unsigned)(st.st_mode & 0777));
	return PE_OK;
}

enum pe_code
pe_soft_file_check(const char *path, struct pe_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return pe_err_set(err, PE_E_NOTFOUND, "'%s' does not exist", path);
		return pe_err_set(err, PE_E_STORE, "cannot read '%s': %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return pe_err_set(err, PE_E_USAGE, "'%s' is not a file", path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' can be written by others (mode %03o): refused", path,
				  (unsigned)(st.st_mode & 0777));
	return PE_OK;
}

enum pe_code
pe_soft_mkdir(const char *path, struct pe_err *err)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return pe_err_set(err, PE_E_STORE, "cannot create directory '%s': %s", path,
				  strerror(errno));
	return pe_soft_dir_check(path, err);
}

static enum pe_code
sync_dir(const char *dir, struct pe_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return pe_err_set(err, PE_E_STORE, "cannot open directory '%s': %s", dir,
				  strerror(errno));
	/* some file systems cannot sync a directory: the rename is then as durable as it gets */
	if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
		pe_err_set(err, PE_E_STORE, "cannot sync directory '%s': %s", dir, strerror(errno));
		close(fd);
		return PE_E_STORE;
	}
	close(fd);
	return PE_OK;
}

enum pe_code
pe_soft_rename_new(const char *from, const char *to, const char *parent, struct pe_err *err)
{
	int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);

	/* a file system without RENAME_NOREPLACE: look first (no one else writes here) */
	if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
		if (access(to, F_OK) == 0)
			errno = EEXIST;
		else
			rc = rename(from, to);
	}
	if (rc != 0 && errno == EEXIST)
		return pe_err_set(err, PE_E_USAGE, "'%s' already exists: it is never overwritten",
				  to);
	if (rc != 0)
		return pe_err_set(err, PE_E_STORE, "cannot create '%s': %s", to, strerror(errno));
	return sync_dir(parent, err);
}

/* Tests: P11ENROLL_TEST_KILL_AFTER=temp-written kills the process once a temporary file is
 * written and synced, before it replaces anything: an interrupted install. */
static void
test_kill_point(void)
{
	const char *kill_after = getenv("P11ENROLL_TEST_KILL_AFTER");

	if (kill_after != NULL && strcmp(kill_after, "temp-written") == 0)
		raise(SIGKILL);
}

/* Removes the temporary files of @name that an interrupted write left in @dir. */
static void
stale_remove(const char *dir, const char *name)
{
	char prefix[128], *path;
	struct dirent *de;
	DIR *d;

	snprintf(prefix, sizeof(prefix), ".%s.tmp.", name);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		path = pe_soft_path(dir, de->d_name, "");
		if (path != NULL && unlink(path) == 0)
			pe_msg_debug("removed '%s', left by an interrupted write", path);
		free(path);
	}
	closedir(d);
}

enum pe_code
pe_soft_write(const char *dir, const char *name, const void *data, size_t len, bool replace,
	      struct pe_err *err)
{
	const unsigned char *p = data;
	char *path = NULL, *tmp = NULL, suffix[48];
	enum pe_code rc = PE_OK;
	ssize_t n;
	int fd = -1, e = 0;

	snprintf(suffix, sizeof(suffix), ".tmp.%ld", (long)getpid());
	path = pe_soft_path(dir, name, "");
	tmp = malloc(strlen(dir) + strlen(name) + strlen(suffix) + 3);
	if (path == NULL || tmp == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	/* hidden, so that a temporary file left by a crash is never taken for a container */
	sprintf(tmp, "%s/.%s%s", dir, name, suffix);
	/* a file of that name can only be one a crash of an earlier process of this pid left */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = pe_err_set(err, PE_E_STORE, "cannot write in '%s': %s", dir, strerror(errno));
		goto out;
	}
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : ENOSPC;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (e == 0 && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e != 0) {
		rc = pe_err_set(err, PE_E_STORE, "cannot write '%s': %s", path, strerror(e));
		fd = -1;
		unlink(tmp);
		goto out;
	}
	fd = -1;
	test_kill_point();
	if (replace) {
		if (rename(tmp, path) != 0)
			rc = pe_err_set(err, PE_E_STORE, "cannot write '%s': %s", path,
					strerror(errno));
		else
			rc = sync_dir(dir, err);
	} else {
		rc = pe_soft_rename_new(tmp, path, dir, err);
	}
	if (rc != PE_OK)
		unlink(tmp);
	else
		stale_remove(dir, name);
out:
	free(path);
	free(tmp);
	return rc;
}

enum pe_code
pe_soft_unlink(const char *dir, const char *path, struct pe_err *err)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return pe_err_set(err, PE_E_STORE, "cannot remove '%s': %s", path, strerror(errno));
	return sync_dir(dir, err);
}

void
pe_soft_time_now(char buf[32])
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "1970-01-01T00:00:00Z");
}
