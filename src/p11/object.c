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

#define KEYS_MAX 256

/* Finds the private key whose public key is @spki. Returns: PE_E_NOTFOUND when none. */
static enum pe_code
key_for_spki(struct pe_p11_token *tok, const unsigned char *spki, size_t spki_len,
	     struct pe_p11_key **out, struct pe_err *err)
{
	CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE find = { CKA_CLASS, &klass, sizeof(klass) };
	CK_OBJECT_HANDLE *keys;
	CK_ULONG count = 0, i;
	struct pe_p11_key *key;
	struct pe_err skip;
	unsigned char *der;
	size_t der_len;
	enum pe_code rc;

	keys = calloc(KEYS_MAX, sizeof(*keys));
	if (keys == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = pe_p11_objects_find(tok, &find, 1, keys, KEYS_MAX, &count, err);
	if (rc != PE_OK)
		goto out;
	if (count > KEYS_MAX)
		pe_msg_warn("token %s holds %lu private keys: only the first %d are compared",
			    tok->name, (unsigned long)count, KEYS_MAX);
	rc = PE_E_NOTFOUND;
	for (i = 0; i < count && i < KEYS_MAX && rc == PE_E_NOTFOUND; i++) {
		key = NULL;
		der = NULL;
		if (pe_p11_key_from_handle(tok, keys[i], &key, &skip) == PE_OK &&
		    pe_p11_key_public_der(key, &der, &der_len, &skip) == PE_OK &&
		    der_len == spki_len && memcmp(der, spki, spki_len) == 0) {
			*out = key;
			key = NULL;
			rc = PE_OK;
		}
		free(der);
		pe_p11_key_free(key);
	}
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
