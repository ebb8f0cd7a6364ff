/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * containers: key carriers behind one ops table. The token is the carrier
 * p11enroll is built around; registry and disk containers are the fallbacks
 * and join the table as backends of their own.
 */
#ifndef PE_CONTAINERS_CONTAINERS_H
#define PE_CONTAINERS_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>

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

struct pe_container_ops {
	const char *name; /* "token" */
	/* Opens the carrier (finding, initialising, logging in). */
	enum pe_code (*open)(const struct pe_carrier_env *env, struct pe_container **out,
			     struct pe_err *err);
	void (*close)(struct pe_container *c);
	/* Returns: the key types the carrier can make (bits 1 << enum pe_key_type). */
	unsigned (*key_types)(struct pe_container *c);
	/* Makes a key labelled @label. */
	enum pe_code (*generate)(struct pe_container *c, enum pe_key_type type, const char *label,
				 struct pe_key_ref *ref, struct pe_err *err);
	/* Finds the key labelled @label: PE_OK, or PE_E_NOTFOUND. */
	enum pe_code (*find)(struct pe_container *c, const char *label, struct pe_key_ref *ref,
			     struct pe_err *err);
	/* The public key (DER SubjectPublicKeyInfo, newly allocated) of the key found last. */
	enum pe_code (*public_key)(struct pe_container *c, unsigned char **spki, size_t *len,
				   struct pe_err *err);
	/* A signer for the key found last; it borrows @spki. */
	struct pe_csr_signer (*signer)(struct pe_container *c, const unsigned char *spki,
				       size_t len);
	/* Stores the issued certificate next to its key; *written false if it was there. */
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
};

/* Returns: the carrier called @name, or NULL. */
const struct pe_container_ops *pe_container_find(const char *name);

extern const struct pe_container_ops pe_container_token_ops;

#endif /* PE_CONTAINERS_CONTAINERS_H */
