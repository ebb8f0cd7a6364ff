/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * containers: key carriers behind one ops table. The token is the carrier
 * p11enroll is built around; the software containers are the fallbacks:
 * "registry" (a directory per container under the state directory: the key
 * as encrypted PKCS#8, the certificate and a metadata file beside it) and
 * "disk" (a container in a directory the user names, on removable media:
 * the key as encrypted PKCS#8 until the certificate arrives, then one
 * PKCS#12 file that other tools read with the container password).
 */
#ifndef PE_CONTAINERS_CONTAINERS_H
#define PE_CONTAINERS_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csr/csr.h"
#include "p11/p11.h"
#include "util/util.h"

/* What a carrier needs to open: given by the caller, borrowed. */
struct pe_carrier_env {
	struct pe_p11_ctx *p11;	     /* the loaded modules (token carrier) */
	const char *token_uri;	     /* the token to use, or NULL: by serial, else the only one */
	const char *token_serial;    /* a request's token, found again by its serial */
	const char *pin_source;	     /* the user PIN: file:, env:, fd:, or NULL for a prompt */
	const struct pe_secret *pin; /* the user PIN already read: used before pin_source */
	const char *so_pin_source;   /* for a token that must be initialised first */
	const struct pe_secret *so_pin; /* the SO PIN already read: used before so_pin_source */
	const char *init_label;		/* the label for a token initialised here */
	/* software containers (registry, disk) */
	const char *home;      /* registry: the state directory (containers in HOME/containers) */
	const char *dir;       /* disk: the directory the user named for a new container */
	const char *container; /* a request's recorded container (registry: its name;
					disk: its directory); used before @dir */
	const char *password_source;	  /* the container password: file:, env:, fd:, or NULL for a
					prompt (asked twice for a new container) */
	const struct pe_secret *password; /* the password already read: used before the source */
};

struct pe_container; /* an opened carrier, logged in, ready for one key */

struct pe_key_ref {
	char *label;
	char *id_hex;
	char *uri;
	char *serial; /* the carrier's serial (token) */
	char *model;
	enum pe_key_type type; /* PE_KEY_NONE when the carrier cannot tell */
};
void pe_key_ref_cleanup(struct pe_key_ref *ref);

/* A container found by a carrier's list operation (without a password). */
struct pe_container_info {
	char *name;	     /* the container's (and its key's) name */
	char *location;	     /* where it lives: its directory or file, a token's URI */
	char *serial;	     /* a token's serial, or NULL */
	char *key_type;	     /* "ec-p256", ..., or NULL when unknown */
	char *created_at;    /* RFC 3339 UTC, or NULL */
	int64_t request_id;  /* 0 when unknown */
	unsigned char *cert; /* the installed certificate (DER), or NULL before install */
	size_t cert_len;
};
void pe_container_info_list_free(struct pe_container_info *list, size_t n);

struct pe_container_ops {
	const char *name; /* "token", "registry", "disk" */
	/* Opens the carrier (finding, initialising, logging in). */
	enum pe_code (*open)(const struct pe_carrier_env *env, struct pe_container **out,
			     struct pe_err *err);
	void (*close)(struct pe_container *c);
	/* Returns: the key types the carrier can make (bits 1 << enum pe_key_type); see also
	 * pe_container_key_type_check(). */
	unsigned (*key_types)(struct pe_container *c);
	/* Makes a key labelled @label (a software container named @label: one that exists
	 * is never overwritten, the new password is asked twice). @label is a request's own:
	 * a token first removes the public key an interrupted generation for @label left
	 * without its private key (pe_p11_key_orphans_remove()). */
	enum pe_code (*generate)(struct pe_container *c, enum pe_key_type type, const char *label,
				 struct pe_key_ref *ref, struct pe_err *err);
	/* Finds the key labelled @label: PE_OK, or PE_E_NOTFOUND. A software container is
	 * only looked at: its password is asked when its key is first used. */
	enum pe_code (*find)(struct pe_container *c, const char *label, struct pe_key_ref *ref,
			     struct pe_err *err);
	/* The public key (DER SubjectPublicKeyInfo, newly allocated) of the key found last.
	 * A software container is opened with its password here: a wrong one is PE_E_PIN. */
	enum pe_code (*public_key)(struct pe_container *c, unsigned char **spki, size_t *len,
				   struct pe_err *err);
	/* A signer for the key found last; it borrows @spki. */
	struct pe_csr_signer (*signer)(struct pe_container *c, const unsigned char *spki,
				       size_t len);
	/* Stores the issued certificate next to its key (atomically: an interrupted install
	 * leaves the container as it was); *written false if it was there. */
	enum pe_code (*install)(struct pe_container *c, const struct pe_cert *cert, bool *written,
				struct pe_err *err);
	/* The carrier's identity, for the request record (borrowed). */
	const char *(*serial)(struct pe_container *c);
	const char *(*model)(struct pe_container *c);
	/*
	 * RSA PKCS#1 v1.5 decryption with the key found last (SCEP answers are
	 * encrypted to it): a newly allocated *out, zeroised by the caller
	 * before free(). NULL when the carrier cannot decrypt.
	 */
	enum pe_code (*decrypt)(struct pe_container *c, const unsigned char *in, size_t len,
				unsigned char **out, size_t *out_len, struct pe_err *err);
	/*
	 * Finds the one private key an existing key's name (@uri: RFC 7512 for a
	 * token) names, with its public key: PE_OK, PE_E_NOTFOUND, PE_E_USAGE when
	 * it names several. NULL for a carrier that cannot enroll a key it did not make.
	 */
	enum pe_code (*find_uri)(struct pe_container *c, const char *uri, struct pe_key_ref *ref,
				 struct pe_err *err);
	/*
	 * Binds the container to request @request_id and its key @label. Returns: what the
	 * request records as its container (newly allocated: the registry container's name,
	 * the disk container's absolute directory), NULL for none (token) or out of memory
	 * (then *oom is set).
	 */
	char *(*record)(struct pe_container *c, int64_t request_id, const char *label, bool *oom);
	/*
	 * Whether any object on the carrier carries @label, not only a key (on a token:
	 * a public key or a certificate too). A new request's label is free of them all,
	 * so that what carries it later is the request's own. NULL: find() tells.
	 * Returns: PE_OK and *used.
	 */
	enum pe_code (*label_used)(struct pe_container *c, const char *label, bool *used,
				   struct pe_err *err);
	/* Lists the carrier's containers that @env reaches, with their certificates, without
	 * asking for a password or PIN (disk: the directory in env->container or env->dir;
	 * token: the certificates every present token shows without a login, one entry
	 * each). Returns: a newly allocated array (pe_container_info_list_free()). */
	enum pe_code (*list)(const struct pe_carrier_env *env, struct pe_container_info **out,
			     size_t *n, struct pe_err *err);
};

/* Returns: the carrier called @name, or NULL. */
const struct pe_container_ops *pe_container_find(const char *name);

/*
 * Checks that the carrier @c (opened through @ops) can make @type keys.
 * Returns: PE_OK; PE_E_USAGE naming what it can make instead, or, for GOST
 * in a software container without OpenSSL's gost engine, what to install.
 */
enum pe_code pe_container_key_type_check(const struct pe_container_ops *ops, struct pe_container *c,
					 enum pe_key_type type, struct pe_err *err);

/*
 * The carrier for "--carrier auto": the token when exactly one usable token
 * is present (not write-protected, its user PIN not locked): the one
 * initialised token, or, when none is initialised, the one new token the
 * token carrier sets up. Otherwise (no module, no token, several) the
 * registry. A token reader's spare empty slot (SoftHSM always offers one)
 * does not count beside an initialised token.
 * Returns: "token" with *token_uri (newly allocated) naming the token, or
 * "registry" with *token_uri NULL; @why (at most @size bytes) says why.
 */
const char *pe_container_auto(struct pe_p11_ctx *p11, char **token_uri, char *why, size_t size);

/* The shortest password a new registry or disk container gets. */
#define PE_CONTAINER_PASSWORD_MIN 8

/* Returns: PE_OK when @password may protect a new container; PE_E_PIN saying why not. */
enum pe_code pe_container_password_check(const struct pe_secret *password, struct pe_err *err);

/* Returns: true when @name can name a software container: 1 to 64 of [A-Za-z0-9._-],
 * not starting with '.'. */
bool pe_container_name_ok(const char *name);

extern const struct pe_container_ops pe_container_token_ops;
extern const struct pe_container_ops pe_container_registry_ops;
extern const struct pe_container_ops pe_container_disk_ops;

#endif /* PE_CONTAINERS_CONTAINERS_H */
