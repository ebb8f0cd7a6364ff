/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p11 internals: the structures behind the opaque handles, the template
 * builder, the two-call helpers and the OpenSSL bridge (evp.c). Included only
 * by src/p11/ and by the tests that inject faults into a function list.
 */
#ifndef PE_P11_P11_INT_H
#define PE_P11_P11_INT_H

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "p11.h"

/* TC26 vendor extension for GOST R 34.10-2012 (protocols/ru-subject.md) */
#define PE_CKM_GOSTR3410_512_KEY_PAIR_GEN (0xD4321000UL + 0x005)
#define PE_CKM_GOSTR3410_512		  (0xD4321000UL + 0x006)

struct pe_p11_module {
	CK_FUNCTION_LIST *fn;
	char *name;
	CK_INFO info;
};

struct pe_p11_ctx {
	struct pe_p11_module *mods;
	size_t n_mods;
	CK_FUNCTION_LIST **registered; /* from p11-kit's registry, or NULL */
	CK_FUNCTION_LIST *direct;      /* loaded from --module, or NULL */
	char *direct_path;
	bool borrowed; /* a function list handed in by a test */
};

struct pe_p11_token {
	struct pe_p11_ctx *ctx;
	struct pe_p11_module *mod;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	bool has_session;
	bool rw;
	bool logged_in;
	CK_MECHANISM_TYPE *mechs;
	CK_ULONG n_mechs;
	struct pe_p11_slot info;
	char name[160];
};

struct pe_p11_key {
	struct pe_p11_token *tok;
	CK_OBJECT_HANDLE priv;
	CK_OBJECT_HANDLE pub; /* CK_INVALID_HANDLE when the token keeps none */
	CK_KEY_TYPE key_type;
	enum pe_key_type type;
	unsigned char id[256];
	size_t id_len;
	char *label;
	char *uri;
	unsigned char *spki; /* the public key as DER, read once: pe_p11_key_public_der() */
	size_t spki_len;
};

/* A template that is freed in one call (libp11 PKCS11_TEMPLATE). */
#define PE_TMPL_MAX 24
struct pe_tmpl {
	CK_ATTRIBUTE attrs[PE_TMPL_MAX];
	CK_ULONG n;
	void *owned[PE_TMPL_MAX];
	size_t n_owned;
	CK_BBOOL yes;
	CK_BBOOL no;
};

void pe_tmpl_init(struct pe_tmpl *t);
/* Adds an attribute that points at @value, which must outlive the template. */
void pe_tmpl_add(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len);
void pe_tmpl_add_bool(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, bool value);
/* Adds a copy of @value, owned by the template. Returns: false on OOM. */
bool pe_tmpl_add_copy(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len);
bool pe_tmpl_add_ulong(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG value);
void pe_tmpl_cleanup(struct pe_tmpl *t);

/* Maps @rv to a code (PIN_* → PE_E_PIN, TOKEN_NOT_PRESENT → PE_E_NOTFOUND, else PE_E_P11). */
enum pe_code pe_p11_err(struct pe_err *err, const char *call, CK_RV rv);

/*
 * The two-call idiom for one attribute: reads @type of @obj into a newly
 * allocated *value (free()). CK_UNAVAILABLE_INFORMATION and an invalid
 * attribute give PE_E_NOTFOUND.
 */
enum pe_code pe_p11_attr_get(struct pe_p11_token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
			     unsigned char **value, CK_ULONG *len, struct pe_err *err);

/*
 * Finds up to @max objects matching @tmpl. Returns: PE_OK and *count (which
 * may be larger than @max: then only @max handles are stored).
 */
enum pe_code pe_p11_objects_find(struct pe_p11_token *tok, CK_ATTRIBUTE *tmpl, CK_ULONG n,
				 CK_OBJECT_HANDLE *found, CK_ULONG max, CK_ULONG *count,
				 struct pe_err *err);

/* Fills @slot from a module's slot (and token) information. */
enum pe_code pe_p11_slot_fill(struct pe_p11_module *mod, CK_SLOT_ID id, struct pe_p11_slot *slot,
			      CK_MECHANISM_TYPE **mechs, CK_ULONG *n_mechs, struct pe_err *err);
void pe_p11_slot_cleanup(struct pe_p11_slot *slot);

bool pe_p11_has_mech(const struct pe_p11_token *tok, CK_MECHANISM_TYPE mech);

/* A context over a function list the caller owns and has initialised (tests). */
enum pe_code pe_p11_ctx_new_borrowed(CK_FUNCTION_LIST *fn, const char *name,
				     struct pe_p11_ctx **out, struct pe_err *err);

/*
 * key.c: the key whose private half is @priv and public half @pub, or with
 * @pub CK_INVALID_HANDLE the one public key with the same CKA_ID (label when
 * it has no id), if any. Returns: newly allocated *out.
 */
enum pe_code pe_p11_key_from_handle(struct pe_p11_token *tok, CK_OBJECT_HANDLE priv,
				    CK_OBJECT_HANDLE pub, struct pe_p11_key **out,
				    struct pe_err *err);

/* uri.c */

/* Parses @string (NULL: "pkcs11:"). Returns: PE_OK and *out (p11_kit_uri_free()); PE_E_USAGE. */
enum pe_code pe_p11_uri_parse(const char *string, P11KitUri **out, struct pe_err *err);

/*
 * Returns: true when @uri selects the token in slot @id: module (NULL to skip),
 * slot-id, slot (NULL to skip) and token attributes. Object attributes are ignored.
 */
bool pe_p11_uri_match_slot(P11KitUri *uri, const CK_INFO *module, CK_SLOT_ID id,
			   const CK_SLOT_INFO *slot, const CK_TOKEN_INFO *token);

/* Formats a key URI for @tok with the object's label and id. Returns: newly allocated, or NULL. */
char *pe_p11_object_uri(struct pe_p11_token *tok, CK_OBJECT_CLASS klass, const char *label,
			const unsigned char *id, size_t id_len);

/* evp.c: the OpenSSL side */
enum pe_code pe_p11_evp_rsa_spki(const unsigned char *n, size_t n_len, const unsigned char *e,
				 size_t e_len, unsigned char **der, size_t *der_len,
				 struct pe_err *err);
enum pe_code pe_p11_evp_ec_spki(const unsigned char *params, size_t params_len,
				const unsigned char *point, size_t point_len, unsigned char **der,
				size_t *der_len, struct pe_err *err);
/* Returns: the key type of an SPKI (RSA size, curve), PE_KEY_NONE if not one of ours. */
enum pe_key_type pe_p11_evp_spki_type(const unsigned char *der, size_t len);
/* SHA-1 of the subjectPublicKey BIT STRING contents of @der into @id (20 bytes). */
enum pe_code pe_p11_evp_key_id(const unsigned char *der, size_t len, unsigned char id[20],
			       struct pe_err *err);
enum pe_code pe_p11_evp_digest(enum pe_hash hash, const unsigned char *data, size_t len,
			       unsigned char *out, size_t *out_len, struct pe_err *err);
/* Wraps @digest in a DER DigestInfo for CKM_RSA_PKCS. Returns newly allocated *out. */
enum pe_code pe_p11_evp_digest_info(enum pe_hash hash, const unsigned char *digest, size_t len,
				    unsigned char **out, size_t *out_len, struct pe_err *err);
/* DER of the named curve's OID for CKA_EC_PARAMS (P-256, P-384, Ed25519). */
enum pe_code pe_p11_evp_curve_params(enum pe_key_type type, unsigned char **der, size_t *len,
				     struct pe_err *err);

#endif /* PE_P11_P11_INT_H */
