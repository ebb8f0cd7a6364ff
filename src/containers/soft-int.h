/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the software containers (registry.c, disk.c) share: keys made and
 * used with OpenSSL, the container password, encrypted PKCS#8, and files
 * written atomically in directories only their owner can write.
 */
#ifndef PE_CONTAINERS_SOFT_INT_H
#define PE_CONTAINERS_SOFT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "containers.h"

/* The largest container file read (a key, a certificate, a PKCS#12, metadata). */
#define PE_SOFT_FILE_MAX (256 * 1024)

/* A key in memory, with its public key and its id. */
struct pe_soft_key {
	EVP_PKEY *pkey;
	unsigned char *spki; /* DER SubjectPublicKeyInfo */
	size_t spki_len;
	char *id_hex; /* SHA-1 of the public key bits (RFC 5280 key identifier), lowercase hex */
};

/* Takes @pkey into @key (also on failure) and derives its public key and id. */
enum pe_code pe_soft_key_set(struct pe_soft_key *key, EVP_PKEY *pkey, struct pe_err *err);
void pe_soft_key_cleanup(struct pe_soft_key *key);

/* Returns: the key types software makes (GOST when the gost engine loads; see
 * pe_container_key_type_check()). */
unsigned pe_soft_key_types(void);

/* Makes a key of @type in memory. */
enum pe_code pe_soft_generate(enum pe_key_type type, EVP_PKEY **out, struct pe_err *err);

/* Returns: PE_OK and a newly allocated copy of @key's SubjectPublicKeyInfo (DER) in *spki. */
enum pe_code pe_soft_public_key(const struct pe_soft_key *key, unsigned char **spki, size_t *len,
				struct pe_err *err);

/* Returns: a signer for @key (borrowed) for pe_csr_build(). */
struct pe_csr_signer pe_soft_signer(struct pe_soft_key *key);

/*
 * RSA PKCS#1 v1.5 decryption of @in with @key (how a SCEP answer's
 * content-encryption key is recovered). Returns: PE_OK and the plaintext in a
 * newly allocated *out (zeroise it before free(): it is a key); PE_E_USAGE
 * for a key that is not RSA; PE_E_CRYPTO for a message not encrypted to it.
 */
enum pe_code pe_soft_decrypt(struct pe_soft_key *key, const unsigned char *in, size_t len,
			     unsigned char **out, size_t *out_len, struct pe_err *err);

/*
 * The password of container @name: env->password, else env->password_source,
 * else a no-echo prompt (asked twice and compared when @new_container). A new
 * container's password passes pe_container_password_check().
 */
enum pe_code pe_soft_password(const struct pe_carrier_env *env, const char *name,
			      bool new_container, struct pe_secret **out, struct pe_err *err);

/* Encrypted PKCS#8 (PEM, scrypt and AES-256-CBC) of @pkey, newly allocated (free()). */
enum pe_code pe_soft_pkcs8_encode(EVP_PKEY *pkey, const struct pe_secret *password, char **pem,
				  size_t *len, struct pe_err *err);
/* Decrypts the PKCS#8 in @pem (file @what). Returns: PE_E_PIN for a wrong password. */
enum pe_code pe_soft_pkcs8_decode(const char *pem, size_t len, const struct pe_secret *password,
				  const char *what, EVP_PKEY **out, struct pe_err *err);

/* Returns: "@dir/@name@suffix", newly allocated (free()); NULL on OOM. */
char *pe_soft_path(const char *dir, const char *name, const char *suffix);

/*
 * Checks that @path is a directory its owner alone can write.
 * Returns: PE_OK; PE_E_NOTFOUND when it does not exist; PE_E_USAGE when it is
 * not a directory or others can write it; PE_E_STORE when it cannot be read.
 */
enum pe_code pe_soft_dir_check(const char *path, struct pe_err *err);

/* Checks that file @path exists (else PE_E_NOTFOUND) and others cannot write it. */
enum pe_code pe_soft_file_check(const char *path, struct pe_err *err);

/* Makes directory @path with mode 0700 (one that is there is checked instead). */
enum pe_code pe_soft_mkdir(const char *path, struct pe_err *err);

/*
 * Writes @data to @dir/@name atomically: a temporary file in @dir (mode 0600),
 * fsync, rename, fsync of @dir. Without @replace an existing @name is never
 * replaced (PE_E_USAGE). On failure @name is as it was.
 */
enum pe_code pe_soft_write(const char *dir, const char *name, const void *data, size_t len,
			   bool replace, struct pe_err *err);

/* Renames @from to @to, never replacing an existing @to (PE_E_USAGE), and syncs @parent. */
enum pe_code pe_soft_rename_new(const char *from, const char *to, const char *parent,
				struct pe_err *err);

/* Removes @path and syncs @dir. A missing file is not an error. */
enum pe_code pe_soft_unlink(const char *dir, const char *path, struct pe_err *err);

/* Writes the current time as RFC 3339 UTC into @buf. */
void pe_soft_time_now(char buf[32]);

/* Returns: the key type of @pkey (PE_KEY_NONE when it is none p11enroll makes). */
enum pe_key_type pe_soft_key_type(EVP_PKEY *pkey);

#endif /* PE_CONTAINERS_SOFT_INT_H */
