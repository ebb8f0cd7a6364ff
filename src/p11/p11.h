/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p11: the only part of p11enroll that speaks PKCS#11. Modules, slots and
 * tokens found by RFC 7512 URIs, PINs, keys made on the device, signatures,
 * and certificate objects. No CK_* type crosses this header.
 */
#ifndef PE_P11_P11_H
#define PE_P11_P11_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

struct pe_p11_ctx;   /* the loaded modules; module.c owns their lifecycle */
struct pe_p11_token; /* one token, resolved from a URI, with its session */
struct pe_p11_key;   /* a key pair on a token */

/* Token flags, as in CK_TOKEN_INFO, one bit each. */
enum pe_p11_flag {
	PE_P11_F_INITIALIZED = 1u << 0,
	PE_P11_F_LOGIN_REQUIRED = 1u << 1,
	PE_P11_F_PROTECTED_AUTH_PATH = 1u << 2,
	PE_P11_F_USER_PIN_INITIALIZED = 1u << 3,
	PE_P11_F_USER_PIN_COUNT_LOW = 1u << 4,
	PE_P11_F_USER_PIN_FINAL_TRY = 1u << 5,
	PE_P11_F_USER_PIN_LOCKED = 1u << 6,
	PE_P11_F_USER_PIN_TO_BE_CHANGED = 1u << 7,
	PE_P11_F_SO_PIN_COUNT_LOW = 1u << 8,
	PE_P11_F_SO_PIN_FINAL_TRY = 1u << 9,
	PE_P11_F_SO_PIN_LOCKED = 1u << 10,
	PE_P11_F_SO_PIN_TO_BE_CHANGED = 1u << 11,
	PE_P11_F_WRITE_PROTECTED = 1u << 12,
	PE_P11_F_RNG = 1u << 13,
};
#define PE_P11_F_COUNT 14

/* Returns: "user_pin_count_low" and so on for one flag bit, static. */
const char *pe_p11_flag_name(unsigned flag);

/* What list-slots shows of one slot, and what an open token knows of itself. */
struct pe_p11_slot {
	char *module; /* module name */
	unsigned long slot_id;
	char *description;
	char *slot_manufacturer;
	char *slot_uri;
	bool token_present;
	bool removable;
	bool hardware;
	/* the rest only when token_present */
	char *label;
	char *manufacturer;
	char *model;
	char *serial;
	char *uri;	/* RFC 7512, P11_KIT_URI_FOR_TOKEN */
	unsigned flags; /* enum pe_p11_flag bits */
	unsigned long min_pin;
	unsigned long max_pin;
	unsigned key_types; /* bits 1 << enum pe_key_type this token can make and use */
	char hw_version[16];
	char fw_version[16];
};

/* module.c */

/*
 * Loads and initialises @module_path, or with NULL every module registered
 * with p11-kit. The context is the one owner of each module's lifecycle.
 * Returns: PE_OK and a newly allocated *out, free with pe_p11_ctx_free();
 * PE_E_P11 when a module cannot be loaded or initialised.
 */
enum pe_code pe_p11_ctx_new(const char *module_path, struct pe_p11_ctx **out, struct pe_err *err);

/* Finalizes every module; every token and key opened from @ctx must be freed first. */
void pe_p11_ctx_free(struct pe_p11_ctx *ctx);

/*
 * Finalizes and initialises every module again, so that it looks at its
 * slots afresh: SoftHSM only sees a token another process made after
 * C_Finalize and C_Initialize. Every token and key opened from @ctx must be
 * freed first (no session survives C_Finalize).
 * Returns: PE_OK; PE_E_P11 when a module cannot be initialised again.
 */
enum pe_code pe_p11_reload(struct pe_p11_ctx *ctx, struct pe_err *err);

/*
 * Asks every module, without blocking, whether a slot changed since the last
 * call (C_WaitForSlotEvent with CKF_DONT_BLOCK). *supported is false when a
 * module does not report slot events (SoftHSM: CKR_FUNCTION_NOT_SUPPORTED);
 * then only pe_p11_reload() and a new slot list see what changed.
 * Returns: PE_OK with *changed and *supported set; PE_E_P11.
 */
enum pe_code pe_p11_slot_events(struct pe_p11_ctx *ctx, bool *changed, bool *supported,
				struct pe_err *err);

/* slot.c */

/*
 * Lists every slot of every module, with its token when one is present.
 * Returns: PE_OK and a newly allocated array *out of *count slots, free with
 * pe_p11_slot_list_free(); PE_E_P11 when a module fails.
 */
enum pe_code pe_p11_slot_list(struct pe_p11_ctx *ctx, struct pe_p11_slot **out, size_t *count,
			      struct pe_err *err);
void pe_p11_slot_list_free(struct pe_p11_slot *slots, size_t count);

/* token.c */

enum pe_p11_open_flags {
	PE_P11_OPEN_RW = 1u << 0,	     /* a read-write session */
	PE_P11_OPEN_NO_SESSION = 1u << 1,    /* resolve only (C_InitToken wants no session) */
	PE_P11_OPEN_UNINITIALIZED = 1u << 2, /* a token without CKF_TOKEN_INITIALIZED is fine */
};

/*
 * Resolves @uri (token attributes of an RFC 7512 URI; "pkcs11:" or NULL
 * matches any, slot-id narrows to one slot) to exactly one present token and
 * opens a session on it. Object attributes in the URI are ignored here, so a
 * key URI opens its token.
 * Returns: PE_OK and a newly allocated *out, free with pe_p11_token_free();
 * PE_E_NOTFOUND when nothing matches; PE_E_USAGE when more than one token
 * matches (their labels and serials are named) or the URI is malformed, or
 * when the token is not initialized and the flags do not allow it.
 */
enum pe_code pe_p11_token_open(struct pe_p11_ctx *ctx, const char *uri, unsigned flags,
			       struct pe_p11_token **out, struct pe_err *err);

/* Logs out if needed, closes the session; NULL is a no-op. */
void pe_p11_token_free(struct pe_p11_token *tok);

/* Returns: what the token last said of itself (borrowed; pe_p11_token_refresh() updates it). */
const struct pe_p11_slot *pe_p11_token_info(const struct pe_p11_token *tok);

/* Reads the token information (flags) again. */
enum pe_code pe_p11_token_refresh(struct pe_p11_token *tok, struct pe_err *err);

/* Returns: a name for messages: "'label' (serial S)", borrowed. */
const char *pe_p11_token_name(const struct pe_p11_token *tok);

enum pe_p11_user { PE_P11_USER, PE_P11_SO };

/*
 * Before a PIN is asked for: reads the token's flags, refuses a locked PIN
 * (PE_E_PIN, nothing tried) and warns on count-low and final-try.
 * Returns: PE_OK, PE_E_PIN when the PIN is locked or not initialized.
 */
enum pe_code pe_p11_token_login_check(struct pe_p11_token *tok, enum pe_p11_user who,
				      struct pe_err *err);

/* Returns: true when the token has a PIN pad (CKF_PROTECTED_AUTHENTICATION_PATH). */
bool pe_p11_token_has_pin_pad(const struct pe_p11_token *tok);

/*
 * Logs in as @who, after pe_p11_token_login_check(). @pin NULL logs in on the
 * PIN pad. A failed PIN is never retried: the message says what the token
 * reports afterwards (count low, final try, locked).
 * Returns: PE_OK; PE_E_PIN for a wrong, locked or ill-sized PIN; PE_E_P11.
 */
enum pe_code pe_p11_token_login(struct pe_p11_token *tok, enum pe_p11_user who,
				const struct pe_secret *pin, struct pe_err *err);

/*
 * The whole login by the PIN safety rules: pe_p11_token_login_check(), then the
 * PIN pad, or the PIN from @source (file:, env:, fd:) or a no-echo prompt,
 * tried once. @option names the source option in messages.
 */
enum pe_code pe_p11_token_login_source(struct pe_p11_token *tok, enum pe_p11_user who,
				       const char *source, const char *option, struct pe_err *err);

/*
 * C_InitToken with @so_pin and @label (at most 32 bytes) on a token opened with
 * PE_P11_OPEN_NO_SESSION, then opens a read-write session, logs in as SO and
 * sets @user_pin with C_InitPIN. Everything on the token is destroyed.
 */
enum pe_code pe_p11_token_init(struct pe_p11_token *tok, const char *label,
			       const struct pe_secret *so_pin, const struct pe_secret *user_pin,
			       struct pe_err *err);

/* C_SetPIN for the user logged in (or SO with @who PE_P11_SO). */
enum pe_code pe_p11_token_set_pin(struct pe_p11_token *tok, enum pe_p11_user who,
				  const struct pe_secret *old_pin, const struct pe_secret *new_pin,
				  struct pe_err *err);

/* C_InitPIN: a new user PIN set by the SO, who must be logged in (unblock). */
enum pe_code pe_p11_token_init_pin(struct pe_p11_token *tok, const struct pe_secret *user_pin,
				   struct pe_err *err);

/* key.c */

enum pe_p11_id_scheme {
	PE_P11_ID_SHA1_PUBKEY, /* SHA-1 of the subjectPublicKey bits, as RFC 5280 key id (1) */
	PE_P11_ID_TOKEN,       /* keep what the token assigns */
};

struct pe_p11_keygen {
	enum pe_key_type type;
	const char *label;
	const unsigned char *id; /* an explicit CKA_ID, or NULL for the scheme */
	size_t id_len;
	enum pe_p11_id_scheme scheme;
};

/*
 * Generates a key pair on the token (logged in, read-write): the private key
 * with CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true and CKA_EXTRACTABLE false,
 * read back and checked (a key that does not hold them is destroyed and
 * refused). A label or CKA_ID already on the token is refused, and so is a
 * type the token cannot make (the message lists what it can).
 * Returns: PE_OK and a newly allocated *out, free with pe_p11_key_free();
 * PE_E_USAGE for a refused type, label or id; PE_E_P11; PE_E_CRYPTO.
 */
enum pe_code pe_p11_key_generate(struct pe_p11_token *tok, const struct pe_p11_keygen *gen,
				 struct pe_p11_key **out, struct pe_err *err);

/*
 * Clears the way for a key labelled @label whose earlier generation was
 * interrupted (the process killed, the token pulled inside
 * C_GenerateKeyPair): removes the public keys labelled @label that have no
 * private key, and logs each one. Only for a label that is the caller's own
 * (a request's, checked unused when the request was made). Nothing is
 * removed when anything else carries the label (a private key, a
 * certificate, any other object), nor when one of the public keys still has
 * a partner: a private key or certificate with its CKA_ID, or a private key
 * with its RSA modulus (one that lost its label). A private key or a
 * certificate is never removed. A private key that an interrupted generation
 * left without label or id (not seen with SoftHSM, which writes the label
 * with the object) cannot be told from another key: an EC one stays as
 * garbage on the token; an RSA one is found by its modulus and blocks the
 * removal.
 * Returns: PE_OK and *removed (0 when nothing carries the label); PE_E_USAGE
 * naming what is in the way (nothing removed); PE_E_P11.
 */
enum pe_code pe_p11_key_orphans_remove(struct pe_p11_token *tok, const char *label, size_t *removed,
				       struct pe_err *err);

/* Counts the objects of any class labelled @label that the session sees. */
enum pe_code pe_p11_label_count(struct pe_p11_token *tok, const char *label, size_t *count,
				struct pe_err *err);

/*
 * Finds the one private key that @uri names (object=, id=, type=private) on
 * @tok, which is logged in, with its public half where the token has one.
 * Returns: PE_OK and a newly allocated *out; PE_E_NOTFOUND; PE_E_USAGE when the
 * URI matches several keys.
 */
enum pe_code pe_p11_key_open(struct pe_p11_token *tok, const char *uri, struct pe_p11_key **out,
			     struct pe_err *err);

/* As pe_p11_key_open(), for the one private key labelled @label. */
enum pe_code pe_p11_key_open_label(struct pe_p11_token *tok, const char *label,
				   struct pe_p11_key **out, struct pe_err *err);

void pe_p11_key_free(struct pe_p11_key *key);

enum pe_key_type pe_p11_key_type(const struct pe_p11_key *key);
const char *pe_p11_key_label(const struct pe_p11_key *key);
/* Returns: the key's RFC 7512 URI (token and object), borrowed. */
const char *pe_p11_key_uri(const struct pe_p11_key *key);
/* Returns: CKA_ID, borrowed; *len set. */
const unsigned char *pe_p11_key_id(const struct pe_p11_key *key, size_t *len);

/*
 * Returns: the public key as DER SubjectPublicKeyInfo in a newly allocated
 * *der (free()), built from the public object or, failing that, from the
 * private object's public attributes.
 */
enum pe_code pe_p11_key_public_der(struct pe_p11_key *key, unsigned char **der, size_t *len,
				   struct pe_err *err);

struct pe_p11_key_attrs {
	bool token;
	bool private_;
	bool sensitive;
	bool extractable;
	bool always_sensitive;
	bool never_extractable;
};

/* Reads the private key's protection attributes back from the token. */
enum pe_code pe_p11_key_attrs(struct pe_p11_key *key, struct pe_p11_key_attrs *attrs,
			      struct pe_err *err);

/*
 * Signs @data with the private key on the token, hashing with @hash: with the
 * token's combined mechanism (CKM_SHA256_RSA_PKCS, CKM_ECDSA_SHA256) where it
 * has one, else digest here and CKM_RSA_PKCS over the DigestInfo or CKM_ECDSA
 * over the digest. Ed25519 signs @data itself (CKM_EDDSA); @hash is ignored.
 * Returns: the token's raw signature (ECDSA: r || s) in a newly allocated
 * *sig (free()).
 */
enum pe_code pe_p11_key_sign(struct pe_p11_key *key, enum pe_hash hash, const unsigned char *data,
			     size_t len, unsigned char **sig, size_t *siglen, struct pe_err *err);

/*
 * Decrypts @in (RSA PKCS#1 v1.5, CKM_RSA_PKCS) with the private key on the
 * token: how a SCEP answer's content-encryption key is recovered without the
 * key leaving the token.
 * Returns: PE_OK and the plaintext in a newly allocated *out (zeroise it
 * before free(): it is a key); PE_E_USAGE for a key that is not RSA;
 * PE_E_P11 (CKR_ENCRYPTED_DATA_INVALID and the like for a message that was
 * not encrypted to this key).
 */
enum pe_code pe_p11_key_decrypt(struct pe_p11_key *key, const unsigned char *in, size_t len,
				unsigned char **out, size_t *out_len, struct pe_err *err);

/* object.c */

struct pe_p11_cert {
	const unsigned char *value; /* the certificate, DER */
	size_t value_len;
	const unsigned char *subject; /* DER Name */
	size_t subject_len;
	const unsigned char *issuer; /* DER Name */
	size_t issuer_len;
	const unsigned char *serial; /* DER INTEGER */
	size_t serial_len;
	const unsigned char *spki; /* DER SubjectPublicKeyInfo, as i2d_PUBKEY writes it */
	size_t spki_len;
};

struct pe_p11_cert_result {
	char *label;  /* the key's label, now also the certificate's */
	char *id_hex; /* the key's CKA_ID */
	char *key_uri;
	char *cert_uri;
	bool already_present; /* the same certificate was on the token: nothing written */
};

/*
 * Writes @cert next to the private key whose public key equals cert->spki:
 * same CKA_ID and CKA_LABEL, with CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER
 * and CKA_VALUE; CKA_PRIVATE as @private_object. A certificate already on the
 * token is not written again. The token is logged in and read-write.
 * Returns: PE_OK and @res filled (free with pe_p11_cert_result_cleanup());
 * PE_E_NOTFOUND when no key on the token matches (nothing written).
 */
enum pe_code pe_p11_cert_import(struct pe_p11_token *tok, const struct pe_p11_cert *cert,
				bool private_object, struct pe_p11_cert_result *res,
				struct pe_err *err);
void pe_p11_cert_result_cleanup(struct pe_p11_cert_result *res);

/* A certificate object on a token. */
struct pe_p11_cert_object {
	char *label;	    /* CKA_LABEL, or NULL */
	char *id_hex;	    /* CKA_ID, or NULL */
	unsigned char *der; /* CKA_VALUE */
	size_t der_len;
};

/*
 * Lists the X.509 certificates on @tok that the session sees (the public
 * ones, unless logged in), at most 256.
 * Returns: PE_OK and a newly allocated array of *n (pe_p11_cert_objects_free()).
 */
enum pe_code pe_p11_cert_list(struct pe_p11_token *tok, struct pe_p11_cert_object **out, size_t *n,
			      struct pe_err *err);
void pe_p11_cert_objects_free(struct pe_p11_cert_object *list, size_t n);

#endif /* PE_P11_P11_H */
