/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificate objects: an issued certificate is written next to the private
 * key it belongs to, with the key's CKA_ID and CKA_LABEL, so that every
 * PKCS#11 consumer pairs them. A certificate for a key the token does not
 * hold is refused and nothing is written.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "p11-int.h"

#define KEYS_MAX  256
#define BY_ID_MAX 8

/*
 * Loads @keys in turn, with @pub as their public half (CK_INVALID_HANDLE: look
 * it up). Returns: PE_OK and the first whose public key is @spki; PE_E_NOTFOUND.
 */
static enum pe_code
first_match(struct pe_p11_token *tok, const CK_OBJECT_HANDLE *keys, CK_ULONG count,
	    CK_OBJECT_HANDLE pub, const unsigned char *spki, size_t spki_len,
	    struct pe_p11_key **out)
{
	struct pe_p11_key *key;
	struct pe_err skip;
	unsigned char *der;
	size_t der_len;
	enum pe_code rc = PE_E_NOTFOUND;
	CK_ULONG i;

	for (i = 0; i < count && rc == PE_E_NOTFOUND; i++) {
		key = NULL;
		der = NULL;
		if (pe_p11_key_from_handle(tok, keys[i], pub, &key, &skip) == PE_OK &&
		    pe_p11_key_public_der(key, &der, &der_len, &skip) == PE_OK &&
		    der_len == spki_len && memcmp(der, spki, spki_len) == 0) {
			*out = key;
			key = NULL;
			rc = PE_OK;
		}
		free(der);
		pe_p11_key_free(key);
	}
	return rc;
}

/*
 * The private key whose CKA_ID is the SHA-1 of @spki (the id generate-key
 * gives), from one search for the objects with that id, which also yields
 * the public half that key_load() would otherwise search for: the one public
 * key with the same CKA_ID. Returns: PE_E_NOTFOUND when none matches.
 */
static enum pe_code
key_by_id(struct pe_p11_token *tok, const unsigned char *spki, size_t spki_len,
	  struct pe_p11_key **out)
{
	unsigned char id[20];
	CK_ATTRIBUTE find = { CKA_ID, id, sizeof(id) };
	CK_OBJECT_CLASS klass;
	CK_ATTRIBUTE get = { CKA_CLASS, &klass, sizeof(klass) };
	CK_OBJECT_HANDLE found[BY_ID_MAX], keys[BY_ID_MAX], pub = CK_INVALID_HANDLE;
	CK_ULONG count = 0, n_keys = 0, n_pub = 0, i;
	struct pe_err skip;

	if (pe_p11_evp_key_id(spki, spki_len, id, &skip) != PE_OK ||
	    pe_p11_objects_find(tok, &find, 1, found, BY_ID_MAX, &count, &skip) != PE_OK ||
	    count > BY_ID_MAX)
		return PE_E_NOTFOUND;
	for (i = 0; i < count; i++) {
		get.ulValueLen = sizeof(klass);
		if (tok->mod->fn->C_GetAttributeValue(tok->session, found[i], &get, 1) != CKR_OK)
			continue;
		if (klass == CKO_PRIVATE_KEY) {
			keys[n_keys++] = found[i];
		} else if (klass == CKO_PUBLIC_KEY) {
			pub = found[i];
			n_pub++;
		}
	}
	return first_match(tok, keys, n_keys, n_pub == 1 ? pub : CK_INVALID_HANDLE, spki, spki_len,
			   out);
}

/*
 * Finds the private key whose public key is @spki: by its CKA_ID first, one
 * search; only then by loading every private key on the token in turn.
 * Returns: PE_E_NOTFOUND when none.
 */
static enum pe_code
key_for_spki(struct pe_p11_token *tok, const unsigned char *spki, size_t spki_len,
	     struct pe_p11_key **out, struct pe_err *err)
{
	CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE find = { CKA_CLASS, &klass, sizeof(klass) };
	CK_OBJECT_HANDLE *keys;
	CK_ULONG count = 0;
	enum pe_code rc;

	if (key_by_id(tok, spki, spki_len, out) == PE_OK)
		return PE_OK;

	keys = calloc(KEYS_MAX, sizeof(*keys));
	if (keys == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = pe_p11_objects_find(tok, &find, 1, keys, KEYS_MAX, &count, err);
	if (rc != PE_OK)
		goto out;
	if (count > KEYS_MAX)
		pe_msg_warn("token %s holds %lu private keys: only the first %d are compared",
			    tok->name, (unsigned long)count, KEYS_MAX);
	rc = first_match(tok, keys, count < KEYS_MAX ? count : KEYS_MAX, CK_INVALID_HANDLE, spki,
			 spki_len, out);
	if (rc == PE_E_NOTFOUND)
		pe_err_set(err, PE_E_NOTFOUND,
			   "the certificate's public key matches no private key on token %s; "
			   "nothing was written",
			   tok->name);
out:
	free(keys);
	return rc;
}

void
pe_p11_cert_result_cleanup(struct pe_p11_cert_result *res)
{
	free(res->label);
	free(res->id_hex);
	free(res->key_uri);
	free(res->cert_uri);
	memset(res, 0, sizeof(*res));
}

enum pe_code
pe_p11_cert_import(struct pe_p11_token *tok, const struct pe_p11_cert *cert, bool private_object,
		   struct pe_p11_cert_result *res, struct pe_err *err)
{
	CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	CK_OBJECT_HANDLE obj, existing[1];
	CK_ATTRIBUTE same[2] = {
		{ CKA_CLASS, &klass, sizeof(klass) },
		{ CKA_VALUE, (void *)cert->value, cert->value_len },
	};
	struct pe_p11_key *key = NULL;
	struct pe_tmpl t;
	CK_ULONG count = 0;
	const char *label;
	enum pe_code rc;
	CK_RV rv;

	memset(res, 0, sizeof(*res));
	pe_tmpl_init(&t);
	rc = key_for_spki(tok, cert->spki, cert->spki_len, &key, err);
	if (rc != PE_OK)
		return rc;
	label = pe_p11_key_label(key);
	res->label = strdup(label);
	res->id_hex = pe_hex_encode(key->id, key->id_len);
	res->key_uri = strdup(pe_p11_key_uri(key));
	res->cert_uri = pe_p11_object_uri(tok, CKO_CERTIFICATE, label, key->id, key->id_len);
	if (res->label == NULL || res->id_hex == NULL || res->key_uri == NULL ||
	    res->cert_uri == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}

	rc = pe_p11_objects_find(tok, same, 2, existing, 1, &count, err);
	if (rc != PE_OK)
		goto out;
	if (count > 0) {
		res->already_present = true;
		goto out;
	}

	pe_tmpl_add(&t, CKA_CLASS, &klass, sizeof(klass));
	pe_tmpl_add(&t, CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype));
	pe_tmpl_add_bool(&t, CKA_TOKEN, true);
	pe_tmpl_add_bool(&t, CKA_PRIVATE, private_object);
	pe_tmpl_add_bool(&t, CKA_MODIFIABLE, true);
	pe_tmpl_add(&t, CKA_LABEL, label, strlen(label));
	pe_tmpl_add(&t, CKA_ID, key->id, key->id_len);
	pe_tmpl_add(&t, CKA_SUBJECT, cert->subject, cert->subject_len);
	pe_tmpl_add(&t, CKA_ISSUER, cert->issuer, cert->issuer_len);
	pe_tmpl_add(&t, CKA_SERIAL_NUMBER, cert->serial, cert->serial_len);
	pe_tmpl_add(&t, CKA_VALUE, cert->value, cert->value_len);
	rv = tok->mod->fn->C_CreateObject(tok->session, t.attrs, t.n, &obj);
	if (rv != CKR_OK) {
		rc = pe_p11_err(err, "C_CreateObject", rv);
		pe_err_prefix(err, "token %s: certificate for '%s'", tok->name, label);
	}
out:
	pe_tmpl_cleanup(&t);
	pe_p11_key_free(key);
	if (rc != PE_OK)
		pe_p11_cert_result_cleanup(res);
	return rc;
}

void
pe_p11_cert_objects_free(struct pe_p11_cert_object *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++) {
		free(list[i].label);
		free(list[i].id_hex);
		free(list[i].der);
	}
	free(list);
}

enum pe_code
pe_p11_cert_list(struct pe_p11_token *tok, struct pe_p11_cert_object **out, size_t *n,
		 struct pe_err *err)
{
	CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_CLASS, &klass, sizeof(klass) },
		{ CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype) },
	};
	CK_OBJECT_HANDLE found[KEYS_MAX];
	struct pe_p11_cert_object *list;
	unsigned char *value = NULL;
	CK_ULONG count = 0, len = 0, i;
	struct pe_err skip;
	size_t used = 0;
	enum pe_code rc;

	rc = pe_p11_objects_find(tok, tmpl, 2, found, KEYS_MAX, &count, err);
	if (rc != PE_OK)
		return rc;
	if (count > KEYS_MAX)
		count = KEYS_MAX;
	list = calloc(count + 1, sizeof(*list));
	if (list == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	for (i = 0; i < count; i++) {
		if (pe_p11_attr_get(tok, found[i], CKA_VALUE, &list[used].der, &len, &skip) !=
			    PE_OK ||
		    len == 0) {
			free(list[used].der);
			list[used].der = NULL;
			continue;
		}
		list[used].der_len = len;
		if (pe_p11_attr_get(tok, found[i], CKA_LABEL, &value, &len, &skip) == PE_OK) {
			list[used].label = strndup((const char *)value, len);
			free(value);
		}
		if (pe_p11_attr_get(tok, found[i], CKA_ID, &value, &len, &skip) == PE_OK) {
			list[used].id_hex = pe_hex_encode(value, len);
			free(value);
		}
		used++;
	}
	*out = list;
	*n = used;
	return PE_OK;
}
