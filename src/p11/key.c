/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key pairs on the token: generated on the device with the protection
 * attributes read back, found by URI, their public half as DER, and
 * signatures made by the token.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "p11-int.h"

static enum pe_code
count_objects(struct pe_p11_token *tok, CK_ATTRIBUTE_TYPE type, const void *value, size_t len,
	      CK_ULONG *count, struct pe_err *err)
{
	CK_ATTRIBUTE attr = { type, (void *)value, len };
	CK_OBJECT_HANDLE found[1];

	return pe_p11_objects_find(tok, &attr, 1, found, 1, count, err);
}

static void
destroy(struct pe_p11_token *tok, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv)
{
	if (priv != CK_INVALID_HANDLE)
		tok->mod->fn->C_DestroyObject(tok->session, priv);
	if (pub != CK_INVALID_HANDLE)
		tok->mod->fn->C_DestroyObject(tok->session, pub);
}

void
pe_p11_key_free(struct pe_p11_key *key)
{
	if (key == NULL)
		return;
	free(key->label);
	free(key->uri);
	free(key->spki);
	free(key);
}

enum pe_key_type
pe_p11_key_type(const struct pe_p11_key *key)
{
	return key->type;
}

const char *
pe_p11_key_label(const struct pe_p11_key *key)
{
	return key->label ? key->label : "";
}

const char *
pe_p11_key_uri(const struct pe_p11_key *key)
{
	return key->uri ? key->uri : "";
}

const unsigned char *
pe_p11_key_id(const struct pe_p11_key *key, size_t *len)
{
	*len = key->id_len;
	return key->id;
}

static enum pe_code
public_from(struct pe_p11_key *key, CK_OBJECT_HANDLE obj, unsigned char **der, size_t *len,
	    struct pe_err *err)
{
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG a_len = 0, b_len = 0;
	enum pe_code rc;

	if (key->key_type == CKK_RSA) {
		rc = pe_p11_attr_get(key->tok, obj, CKA_MODULUS, &a, &a_len, err);
		if (rc == PE_OK)
			rc = pe_p11_attr_get(key->tok, obj, CKA_PUBLIC_EXPONENT, &b, &b_len, err);
		if (rc == PE_OK)
			rc = pe_p11_evp_rsa_spki(a, a_len, b, b_len, der, len, err);
	} else if (key->key_type == CKK_EC || key->key_type == CKK_EC_EDWARDS) {
		rc = pe_p11_attr_get(key->tok, obj, CKA_EC_PARAMS, &a, &a_len, err);
		if (rc == PE_OK)
			rc = pe_p11_attr_get(key->tok, obj, CKA_EC_POINT, &b, &b_len, err);
		if (rc == PE_OK)
			rc = pe_p11_evp_ec_spki(a, a_len, b, b_len, der, len, err);
	} else {
		rc = pe_err_set(err, PE_E_USAGE, "key type 0x%lx is not one p11enroll can use",
				(unsigned long)key->key_type);
	}
	free(a);
	free(b);
	return rc;
}

/* The public key is read from the token once per struct pe_p11_key and kept. */
enum pe_code
pe_p11_key_public_der(struct pe_p11_key *key, unsigned char **der, size_t *len, struct pe_err *err)
{
	enum pe_code rc = PE_E_NOTFOUND;

	if (key->spki == NULL) {
		if (key->pub != CK_INVALID_HANDLE)
			rc = public_from(key, key->pub, &key->spki, &key->spki_len, err);
		if (rc == PE_E_NOTFOUND)
			rc = public_from(key, key->priv, &key->spki, &key->spki_len, err);
		if (rc == PE_E_NOTFOUND)
			pe_err_set(err, PE_E_NOTFOUND, "token %s keeps no public key for '%s'",
				   key->tok->name, pe_p11_key_label(key));
		if (rc != PE_OK)
			return rc;
	}
	*der = malloc(key->spki_len);
	if (*der == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	memcpy(*der, key->spki, key->spki_len);
	*len = key->spki_len;
	return PE_OK;
}

/* The six protection attributes in one C_GetAttributeValue. */
enum pe_code
pe_p11_key_attrs(struct pe_p11_key *key, struct pe_p11_key_attrs *attrs, struct pe_err *err)
{
	CK_BBOOL b[6] = { CK_FALSE, CK_FALSE, CK_FALSE, CK_FALSE, CK_FALSE, CK_FALSE };
	CK_ATTRIBUTE read[6] = {
		{ CKA_TOKEN, &b[0], sizeof(b[0]) },
		{ CKA_PRIVATE, &b[1], sizeof(b[1]) },
		{ CKA_SENSITIVE, &b[2], sizeof(b[2]) },
		{ CKA_EXTRACTABLE, &b[3], sizeof(b[3]) },
		{ CKA_ALWAYS_SENSITIVE, &b[4], sizeof(b[4]) },
		{ CKA_NEVER_EXTRACTABLE, &b[5], sizeof(b[5]) },
	};
	CK_RV rv;

	rv = key->tok->mod->fn->C_GetAttributeValue(key->tok->session, key->priv, read, 6);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_GetAttributeValue", rv);
	attrs->token = b[0] == CK_TRUE;
	attrs->private_ = b[1] == CK_TRUE;
	attrs->sensitive = b[2] == CK_TRUE;
	attrs->extractable = b[3] == CK_TRUE;
	attrs->always_sensitive = b[4] == CK_TRUE;
	attrs->never_extractable = b[5] == CK_TRUE;
	return PE_OK;
}

/*
 * The one public key labelled like @key with no CKA_ID (empty): the public
 * half when generation was cut short before it got the private key's id.
 * Returns: PE_OK, *pub unchanged when there is not exactly one.
 */
static enum pe_code
public_without_id(struct pe_p11_key *key, CK_OBJECT_HANDLE *pub, struct pe_err *err)
{
	CK_OBJECT_CLASS klass = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE find[2] = {
		{ CKA_CLASS, &klass, sizeof(klass) },
		{ CKA_LABEL, key->label, strlen(key->label) },
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG count = 0, len = 0;
	unsigned char *id = NULL;
	enum pe_code rc;

	rc = pe_p11_objects_find(key->tok, find, 2, found, 2, &count, err);
	if (rc != PE_OK || count != 1)
		return rc;
	rc = pe_p11_attr_get(key->tok, found[0], CKA_ID, &id, &len, err);
	free(id);
	if (rc == PE_E_NOTFOUND || (rc == PE_OK && len == 0)) {
		*pub = found[0];
		rc = PE_OK;
	}
	return rc;
}

/* Reads label, id and key type of key->priv, and finds its public half if key->pub is unset. */
static enum pe_code
key_load(struct pe_p11_key *key, struct pe_err *err)
{
	struct pe_p11_token *tok = key->tok;
	CK_OBJECT_CLASS klass = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE find[2];
	CK_OBJECT_HANDLE pub[2];
	CK_ULONG count = 0, len = 0;
	unsigned char *value = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	enum pe_code rc;
	CK_RV rv;
	CK_ATTRIBUTE kt = { CKA_KEY_TYPE, &key->key_type, sizeof(key->key_type) };

	rv = tok->mod->fn->C_GetAttributeValue(tok->session, key->priv, &kt, 1);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_GetAttributeValue(CKA_KEY_TYPE)", rv);
	rc = pe_p11_attr_get(tok, key->priv, CKA_LABEL, &value, &len, err);
	if (rc == PE_OK) {
		key->label = malloc(len + 1);
		if (key->label == NULL) {
			free(value);
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		}
		memcpy(key->label, value, len);
		key->label[len] = '\0';
		free(value);
	} else if (rc != PE_E_NOTFOUND) {
		return rc;
	}
	rc = pe_p11_attr_get(tok, key->priv, CKA_ID, &value, &len, err);
	if (rc == PE_OK) {
		key->id_len = len < sizeof(key->id) ? len : sizeof(key->id);
		memcpy(key->id, value, key->id_len);
		free(value);
	} else if (rc != PE_E_NOTFOUND) {
		return rc;
	}

	/*
	 * the public half, unless the caller knows it: same CKA_ID, or same
	 * label when the key has no id
	 */
	find[0].type = CKA_CLASS;
	find[0].pValue = &klass;
	find[0].ulValueLen = sizeof(klass);
	if (key->id_len > 0) {
		find[1].type = CKA_ID;
		find[1].pValue = key->id;
		find[1].ulValueLen = key->id_len;
	} else {
		find[1].type = CKA_LABEL;
		find[1].pValue = key->label ? key->label : "";
		find[1].ulValueLen = key->label ? strlen(key->label) : 0;
	}
	if (key->pub == CK_INVALID_HANDLE) {
		rc = pe_p11_objects_find(tok, find, 2, pub, 2, &count, err);
		if (rc != PE_OK)
			return rc;
		if (count == 1)
			key->pub = pub[0];
	}
	/* a generation cut short between giving the private and the public key their CKA_ID */
	if (key->pub == CK_INVALID_HANDLE && count == 0 && key->id_len > 0 && key->label != NULL) {
		rc = public_without_id(key, &key->pub, err);
		if (rc != PE_OK)
			return rc;
	}

	rc = pe_p11_key_public_der(key, &der, &der_len, err);
	if (rc != PE_OK)
		return rc;
	key->type = pe_p11_evp_spki_type(der, der_len);
	free(der);
	key->uri = pe_p11_object_uri(tok, CKO_PRIVATE_KEY, key->label, key->id, key->id_len);
	if (key->uri == NULL)
		return pe_err_set(err, PE_E_FAIL, "cannot format the key's URI");
	return PE_OK;
}

enum pe_code
pe_p11_key_from_handle(struct pe_p11_token *tok, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
		       struct pe_p11_key **out, struct pe_err *err)
{
	struct pe_p11_key *key;
	enum pe_code rc;

	key = calloc(1, sizeof(*key));
	if (key == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	key->tok = tok;
	key->priv = priv;
	key->pub = pub;
	rc = key_load(key, err);
	if (rc != PE_OK) {
		pe_p11_key_free(key);
		return rc;
	}
	*out = key;
	return PE_OK;
}

/* The one private key matching @tmpl (CKA_CLASS first, filled in here); @what names it. */
static enum pe_code
key_find(struct pe_p11_token *tok, CK_ATTRIBUTE *tmpl, CK_ULONG n, const char *what,
	 struct pe_p11_key **out, struct pe_err *err)
{
	CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
	CK_OBJECT_HANDLE found[2];
	CK_ULONG count = 0;
	enum pe_code rc;

	tmpl[0].type = CKA_CLASS;
	tmpl[0].pValue = &klass;
	tmpl[0].ulValueLen = sizeof(klass);
	rc = pe_p11_objects_find(tok, tmpl, n, found, 2, &count, err);
	if (rc != PE_OK)
		return rc;
	if (count == 0)
		return pe_err_set(err, PE_E_NOTFOUND, "token %s has no private key matching '%s'",
				  tok->name, what);
	if (count > 1)
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' matches %lu private keys on token %s: add object= or id=",
				  what, (unsigned long)count, tok->name);
	return pe_p11_key_from_handle(tok, found[0], CK_INVALID_HANDLE, out, err);
}

enum pe_code
pe_p11_key_open(struct pe_p11_token *tok, const char *uri_string, struct pe_p11_key **out,
		struct pe_err *err)
{
	CK_ATTRIBUTE tmpl[8];
	CK_ATTRIBUTE *attrs;
	CK_ULONG n_attrs = 0, n = 1, i;
	P11KitUri *uri = NULL;
	enum pe_code rc;

	rc = pe_p11_uri_parse(uri_string, &uri, err);
	if (rc != PE_OK)
		return rc;
	attrs = p11_kit_uri_get_attributes(uri, &n_attrs);
	for (i = 0; i < n_attrs && n < 8; i++) {
		if (attrs[i].type == CKA_LABEL || attrs[i].type == CKA_ID)
			tmpl[n++] = attrs[i];
	}
	rc = key_find(tok, tmpl, n, uri_string, out, err);
	p11_kit_uri_free(uri);
	return rc;
}

enum pe_code
pe_p11_key_open_label(struct pe_p11_token *tok, const char *label, struct pe_p11_key **out,
		      struct pe_err *err)
{
	CK_ATTRIBUTE tmpl[2];

	tmpl[1].type = CKA_LABEL;
	tmpl[1].pValue = (void *)label;
	tmpl[1].ulValueLen = strlen(label);
	return key_find(tok, tmpl, 2, label, out, err);
}

/* What an object is, for messages. */
static const char *
class_name(CK_OBJECT_CLASS klass)
{
	switch (klass) {
	case CKO_PRIVATE_KEY:
		return "private key";
	case CKO_PUBLIC_KEY:
		return "public key";
	case CKO_CERTIFICATE:
		return "certificate";
	case CKO_SECRET_KEY:
		return "secret key";
	case CKO_DATA:
		return "data object";
	default:
		return "object";
	}
}

/* The most objects sharing a new key's label that are looked at. */
#define LABELLED_MAX 8

/*
 * Whether the public key @pub, labelled @label where no private key is, still
 * has a partner on the token: a private key or a certificate with its CKA_ID
 * (a non-empty one), or a private key with its modulus (RSA: that finds a
 * private key that lost its label and id too). Returns: PE_OK when it has
 * none; PE_E_USAGE naming what holds on to it; PE_E_P11.
 */
static enum pe_code
orphan_check(struct pe_p11_token *tok, CK_OBJECT_HANDLE pub, const char *label, struct pe_err *err)
{
	CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, cert_class = CKO_CERTIFICATE;
	CK_ATTRIBUTE find[2];
	CK_OBJECT_HANDLE found[1];
	unsigned char *id = NULL, *modulus = NULL;
	CK_ULONG id_len = 0, modulus_len = 0, n_priv = 0, n_cert = 0;
	char *id_hex = NULL;
	enum pe_code rc;

	rc = pe_p11_attr_get(tok, pub, CKA_ID, &id, &id_len, err);
	if (rc == PE_E_NOTFOUND) {
		rc = PE_OK;
		id_len = 0;
	}
	if (rc == PE_OK && id_len > 0) {
		find[0].type = CKA_CLASS;
		find[0].pValue = &priv_class;
		find[0].ulValueLen = sizeof(priv_class);
		find[1].type = CKA_ID;
		find[1].pValue = id;
		find[1].ulValueLen = id_len;
		rc = pe_p11_objects_find(tok, find, 2, found, 1, &n_priv, err);
		if (rc == PE_OK) {
			find[0].pValue = &cert_class;
			rc = pe_p11_objects_find(tok, find, 2, found, 1, &n_cert, err);
		}
		if (rc == PE_OK && (n_priv > 0 || n_cert > 0)) {
			id_hex = pe_hex_encode(id, id_len);
			rc = pe_err_set(
				err, PE_E_USAGE,
				"token %s already has an object labelled '%s': a public key "
				"whose CKA_ID %s is also a %s's",
				tok->name, label, id_hex ? id_hex : "",
				n_priv > 0 ? "private key" : "certificate");
		}
	}
	if (rc == PE_OK) {
		rc = pe_p11_attr_get(tok, pub, CKA_MODULUS, &modulus, &modulus_len, err);
		if (rc == PE_E_NOTFOUND) {
			rc = PE_OK;
			modulus_len = 0;
		}
	}
	if (rc == PE_OK && modulus_len > 0) {
		find[0].type = CKA_CLASS;
		find[0].pValue = &priv_class;
		find[0].ulValueLen = sizeof(priv_class);
		find[1].type = CKA_MODULUS;
		find[1].pValue = modulus;
		find[1].ulValueLen = modulus_len;
		rc = pe_p11_objects_find(tok, find, 2, found, 1, &n_priv, err);
		if (rc == PE_OK && n_priv > 0)
			rc = pe_err_set(
				err, PE_E_USAGE,
				"token %s already has an object labelled '%s': a public key "
				"whose private key is on the token under another label or "
				"none (the same RSA modulus)",
				tok->name, label);
	}
	free(id_hex);
	free(id);
	free(modulus);
	return rc;
}

enum pe_code
pe_p11_key_orphans_remove(struct pe_p11_token *tok, const char *label, size_t *removed,
			  struct pe_err *err)
{
	CK_ATTRIBUTE find = { CKA_LABEL, (void *)label, strlen(label) };
	CK_OBJECT_HANDLE found[LABELLED_MAX];
	CK_OBJECT_CLASS klass;
	CK_ATTRIBUTE get = { CKA_CLASS, &klass, sizeof(klass) };
	CK_ULONG count = 0, i, id_len;
	unsigned char *id;
	char *id_hex;
	struct pe_err skip;
	enum pe_code rc;
	CK_RV rv;

	*removed = 0;
	rc = pe_p11_objects_find(tok, &find, 1, found, LABELLED_MAX, &count, err);
	if (rc != PE_OK)
		return rc;
	if (count > LABELLED_MAX)
		return pe_err_set(err, PE_E_USAGE, "token %s already has %lu objects labelled '%s'",
				  tok->name, (unsigned long)count, label);
	/* everything is looked at before anything is removed */
	for (i = 0; i < count; i++) {
		get.ulValueLen = sizeof(klass);
		rv = tok->mod->fn->C_GetAttributeValue(tok->session, found[i], &get, 1);
		if (rv != CKR_OK)
			return pe_p11_err(err, "C_GetAttributeValue(CKA_CLASS)", rv);
		if (klass != CKO_PUBLIC_KEY)
			return pe_err_set(err, PE_E_USAGE,
					  "token %s already has an object labelled '%s' (a %s)",
					  tok->name, label, class_name(klass));
	}
	for (i = 0; i < count; i++) {
		rc = orphan_check(tok, found[i], label, err);
		if (rc != PE_OK)
			return rc;
	}
	for (i = 0; i < count; i++) {
		id = NULL;
		id_len = 0;
		id_hex = NULL;
		if (pe_p11_attr_get(tok, found[i], CKA_ID, &id, &id_len, &skip) == PE_OK &&
		    id_len > 0)
			id_hex = pe_hex_encode(id, id_len);
		free(id);
		rv = tok->mod->fn->C_DestroyObject(tok->session, found[i]);
		if (rv != CKR_OK) {
			free(id_hex);
			rc = pe_p11_err(err, "C_DestroyObject", rv);
			pe_err_prefix(err, "token %s: removing the public key labelled '%s'",
				      tok->name, label);
			return rc;
		}
		pe_msg_info("token %s: removed the public key labelled '%s' (CKA_ID %s) that an "
			    "interrupted key generation left without its private key",
			    tok->name, label, id_hex != NULL ? id_hex : "none");
		free(id_hex);
		(*removed)++;
	}
	return PE_OK;
}

enum pe_code
pe_p11_label_count(struct pe_p11_token *tok, const char *label, size_t *count, struct pe_err *err)
{
	CK_ULONG n = 0;
	enum pe_code rc;

	rc = count_objects(tok, CKA_LABEL, label, strlen(label), &n, err);
	if (rc == PE_OK)
		*count = n;
	return rc;
}

static enum pe_code
refuse_type(struct pe_p11_token *tok, enum pe_key_type type, struct pe_err *err)
{
	char can[128];

	pe_key_types_format(tok->info.key_types, can, sizeof(can));
	return pe_err_set(err, PE_E_USAGE, "token %s cannot make %s keys; it can make: %s",
			  tok->name, pe_key_type_name(type), can);
}

enum pe_code
pe_p11_key_generate(struct pe_p11_token *tok, const struct pe_p11_keygen *gen,
		    struct pe_p11_key **out, struct pe_err *err)
{
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };
	CK_FUNCTION_LIST *fn = tok->mod->fn;
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	struct pe_tmpl pt, kt;
	struct pe_p11_key_attrs attrs;
	struct pe_p11_key *key = NULL;
	unsigned char *params = NULL, *der = NULL;
	unsigned char id[20];
	size_t params_len = 0, der_len = 0, label_len = strlen(gen->label);
	CK_ULONG count = 0;
	enum pe_code rc;
	CK_RV rv;

	pe_tmpl_init(&pt);
	pe_tmpl_init(&kt);
	if (!(tok->info.key_types & (1u << gen->type)))
		return refuse_type(tok, gen->type, err);
	if (pe_key_type_family(gen->type) == PE_FAMILY_GOST)
		return pe_err_set(err, PE_E_USAGE,
				  "GOST key generation on tokens is not supported yet");
	if (label_len == 0)
		return pe_err_set(err, PE_E_USAGE, "a key needs a label");
	rc = count_objects(tok, CKA_LABEL, gen->label, label_len, &count, err);
	if (rc != PE_OK)
		return rc;
	if (count > 0)
		return pe_err_set(err, PE_E_USAGE, "token %s already has an object labelled '%s'",
				  tok->name, gen->label);
	if (gen->id != NULL) {
		rc = count_objects(tok, CKA_ID, gen->id, gen->id_len, &count, err);
		if (rc != PE_OK)
			return rc;
		if (count > 0)
			return pe_err_set(err, PE_E_USAGE,
					  "token %s already has an object with that CKA_ID",
					  tok->name);
	}

	pe_tmpl_add_ulong(&pt, CKA_CLASS, CKO_PUBLIC_KEY);
	pe_tmpl_add_bool(&pt, CKA_TOKEN, true);
	pe_tmpl_add_bool(&pt, CKA_PRIVATE, false);
	pe_tmpl_add_bool(&pt, CKA_VERIFY, true);
	pe_tmpl_add(&pt, CKA_LABEL, gen->label, label_len);
	pe_tmpl_add_ulong(&kt, CKA_CLASS, CKO_PRIVATE_KEY);
	pe_tmpl_add_bool(&kt, CKA_TOKEN, true);
	pe_tmpl_add_bool(&kt, CKA_PRIVATE, true);
	pe_tmpl_add_bool(&kt, CKA_SENSITIVE, true);
	pe_tmpl_add_bool(&kt, CKA_EXTRACTABLE, false);
	pe_tmpl_add_bool(&kt, CKA_SIGN, true);
	pe_tmpl_add(&kt, CKA_LABEL, gen->label, label_len);
	if (gen->id != NULL) {
		pe_tmpl_add(&pt, CKA_ID, gen->id, gen->id_len);
		pe_tmpl_add(&kt, CKA_ID, gen->id, gen->id_len);
	}
	switch (pe_key_type_family(gen->type)) {
	case PE_FAMILY_RSA:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pe_tmpl_add_ulong(&pt, CKA_MODULUS_BITS, pe_key_type_bits(gen->type));
		pe_tmpl_add(&pt, CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
		pe_tmpl_add_bool(&pt, CKA_ENCRYPT, true);
		pe_tmpl_add_bool(&kt, CKA_DECRYPT, true);
		break;
	case PE_FAMILY_EC:
	case PE_FAMILY_EDDSA:
		mech.mechanism = pe_key_type_family(gen->type) == PE_FAMILY_EC
					 ? CKM_EC_KEY_PAIR_GEN
					 : CKM_EC_EDWARDS_KEY_PAIR_GEN;
		rc = pe_p11_evp_curve_params(gen->type, &params, &params_len, err);
		if (rc != PE_OK)
			goto out;
		pe_tmpl_add(&pt, CKA_EC_PARAMS, params, params_len);
		break;
	default:
		rc = refuse_type(tok, gen->type, err);
		goto out;
	}

	rv = fn->C_GenerateKeyPair(tok->session, &mech, pt.attrs, pt.n, kt.attrs, kt.n, &pub,
				   &priv);
	if (rv != CKR_OK) {
		rc = pe_p11_err(err, "C_GenerateKeyPair", rv);
		pe_err_prefix(err, "token %s: %s", tok->name, pe_key_type_name(gen->type));
		goto out;
	}

	key = calloc(1, sizeof(*key));
	if (key == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	key->tok = tok;
	key->priv = priv;
	key->pub = pub;
	rc = pe_p11_key_attrs(key, &attrs, err);
	if (rc != PE_OK)
		goto out;
	if (!attrs.token || !attrs.private_ || !attrs.sensitive || attrs.extractable) {
		rc = pe_err_set(err, PE_E_P11,
				"token %s made a key that is not token/private/sensitive/"
				"non-extractable as asked; the key was destroyed",
				tok->name);
		goto out;
	}

	if (gen->id == NULL && gen->scheme == PE_P11_ID_SHA1_PUBKEY) {
		CK_ATTRIBUTE set = { CKA_ID, id, sizeof(id) };

		key->key_type = mech.mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN ? CKK_RSA
				: mech.mechanism == CKM_EC_KEY_PAIR_GEN	    ? CKK_EC
									    : CKK_EC_EDWARDS;
		rc = pe_p11_key_public_der(key, &der, &der_len, err);
		if (rc == PE_OK)
			rc = pe_p11_evp_key_id(der, der_len, id, err);
		if (rc == PE_OK)
			rc = count_objects(tok, CKA_ID, id, sizeof(id), &count, err);
		if (rc != PE_OK)
			goto out;
		if (count > 0) {
			rc = pe_err_set(err, PE_E_USAGE,
					"token %s already has an object with this key's id",
					tok->name);
			goto out;
		}
		rv = fn->C_SetAttributeValue(tok->session, priv, &set, 1);
		if (rv == CKR_OK)
			rv = fn->C_SetAttributeValue(tok->session, pub, &set, 1);
		if (rv != CKR_OK)
			pe_msg_warn("token %s did not take CKA_ID (%s): the key keeps the id the "
				    "token gave it",
				    tok->name, p11_kit_strerror(rv));
	}
	rc = key_load(key, err);
	if (rc != PE_OK)
		goto out;
	if (key->type != gen->type) {
		rc = pe_err_set(err, PE_E_P11, "token %s made a %s key when %s was asked for",
				tok->name, pe_key_type_name(key->type),
				pe_key_type_name(gen->type));
		goto out;
	}
out:
	if (rc != PE_OK) {
		destroy(tok, pub, priv);
		pe_p11_key_free(key);
	} else {
		*out = key;
	}
	free(der);
	free(params);
	pe_tmpl_cleanup(&pt);
	pe_tmpl_cleanup(&kt);
	return rc;
}

static enum pe_code
sign_with(struct pe_p11_key *key, CK_MECHANISM_TYPE type, const unsigned char *data, size_t len,
	  unsigned char **sig, size_t *siglen, struct pe_err *err)
{
	CK_FUNCTION_LIST *fn = key->tok->mod->fn;
	CK_MECHANISM mech = { type, NULL, 0 };
	CK_ULONG n = 0;
	unsigned char *out;
	CK_RV rv;

	rv = fn->C_SignInit(key->tok->session, &mech, key->priv);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_SignInit", rv);
	rv = fn->C_Sign(key->tok->session, (CK_BYTE_PTR)data, len, NULL, &n);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_Sign", rv);
	out = malloc(n ? n : 1);
	if (out == NULL) {
		/* end the operation the first call left active */
		fn->C_Sign(key->tok->session, (CK_BYTE_PTR)data, len, NULL, NULL);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	rv = fn->C_Sign(key->tok->session, (CK_BYTE_PTR)data, len, out, &n);
	if (rv != CKR_OK) {
		free(out);
		return pe_p11_err(err, "C_Sign", rv);
	}
	*sig = out;
	*siglen = n;
	return PE_OK;
}

static CK_MECHANISM_TYPE
combined_mech(CK_KEY_TYPE key_type, enum pe_hash hash)
{
	if (key_type == CKK_RSA) {
		switch (hash) {
		case PE_HASH_SHA1:
			return CKM_SHA1_RSA_PKCS;
		case PE_HASH_SHA256:
			return CKM_SHA256_RSA_PKCS;
		case PE_HASH_SHA384:
			return CKM_SHA384_RSA_PKCS;
		case PE_HASH_SHA512:
			return CKM_SHA512_RSA_PKCS;
		default:
			break;
		}
	} else if (key_type == CKK_EC) {
		switch (hash) {
		case PE_HASH_SHA1:
			return CKM_ECDSA_SHA1;
		case PE_HASH_SHA256:
			return CKM_ECDSA_SHA256;
		case PE_HASH_SHA384:
			return CKM_ECDSA_SHA384;
		case PE_HASH_SHA512:
			return CKM_ECDSA_SHA512;
		default:
			break;
		}
	}
	return CK_UNAVAILABLE_INFORMATION;
}

enum pe_code
pe_p11_key_sign(struct pe_p11_key *key, enum pe_hash hash, const unsigned char *data, size_t len,
		unsigned char **sig, size_t *siglen, struct pe_err *err)
{
	CK_MECHANISM_TYPE mech;
	unsigned char digest[64];
	unsigned char *info = NULL;
	size_t digest_len = 0, info_len = 0;
	enum pe_code rc;

	if (key->key_type == CKK_EC_EDWARDS)
		return sign_with(key, CKM_EDDSA, data, len, sig, siglen, err);
	mech = combined_mech(key->key_type, hash);
	if (mech != CK_UNAVAILABLE_INFORMATION && pe_p11_has_mech(key->tok, mech))
		return sign_with(key, mech, data, len, sig, siglen, err);

	/* the token signs only a bare hash: SoftHSM has CKM_ECDSA but no CKM_ECDSA_SHA256 */
	rc = pe_p11_evp_digest(hash, data, len, digest, &digest_len, err);
	if (rc != PE_OK)
		return rc;
	if (key->key_type == CKK_EC)
		return sign_with(key, CKM_ECDSA, digest, digest_len, sig, siglen, err);
	if (key->key_type != CKK_RSA)
		return pe_err_set(err, PE_E_USAGE, "p11enroll cannot sign with key type 0x%lx",
				  (unsigned long)key->key_type);
	rc = pe_p11_evp_digest_info(hash, digest, digest_len, &info, &info_len, err);
	if (rc == PE_OK)
		rc = sign_with(key, CKM_RSA_PKCS, info, info_len, sig, siglen, err);
	free(info);
	return rc;
}

enum pe_code
pe_p11_key_decrypt(struct pe_p11_key *key, const unsigned char *in, size_t len, unsigned char **out,
		   size_t *out_len, struct pe_err *err)
{
	CK_FUNCTION_LIST *fn = key->tok->mod->fn;
	CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
	CK_ULONG n = 0;
	unsigned char *buf;
	CK_RV rv;

	if (key->key_type != CKK_RSA)
		return pe_err_set(err, PE_E_USAGE,
				  "key '%s' on token %s is not an RSA key: it "
				  "cannot decrypt",
				  pe_p11_key_label(key), key->tok->name);
	rv = fn->C_DecryptInit(key->tok->session, &mech, key->priv);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_DecryptInit", rv);
	rv = fn->C_Decrypt(key->tok->session, (CK_BYTE_PTR)in, len, NULL, &n);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_Decrypt", rv);
	buf = malloc(n ? n : 1);
	if (buf == NULL) {
		/* end the operation the first call left active */
		fn->C_Decrypt(key->tok->session, (CK_BYTE_PTR)in, len, NULL, NULL);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	rv = fn->C_Decrypt(key->tok->session, (CK_BYTE_PTR)in, len, buf, &n);
	if (rv != CKR_OK) {
		explicit_bzero(buf, n);
		free(buf);
		return pe_p11_err(err, "C_Decrypt", rv);
	}
	*out = buf;
	*out_len = n;
	return PE_OK;
}
