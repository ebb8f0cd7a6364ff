/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RFC 7512 URIs: which slots a token URI selects, and the URIs p11enroll
 * prints for the objects it makes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "p11-int.h"

enum pe_code
pe_p11_uri_parse(const char *string, P11KitUri **out, struct pe_err *err)
{
	P11KitUri *uri;
	int ret;

	uri = p11_kit_uri_new();
	if (uri == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	ret = p11_kit_uri_parse(string ? string : "pkcs11:", P11_KIT_URI_FOR_ANY, uri);
	if (ret != P11_KIT_URI_OK) {
		p11_kit_uri_free(uri);
		return pe_err_set(err, PE_E_USAGE, "'%s' is not a PKCS#11 URI: %s", string,
				  p11_kit_uri_message(ret));
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		p11_kit_uri_free(uri);
		return pe_err_set(err, PE_E_USAGE, "'%s' has attributes this program does not know",
				  string);
	}
	*out = uri;
	return PE_OK;
}

bool
pe_p11_uri_match_slot(P11KitUri *uri, const CK_INFO *module, CK_SLOT_ID id,
		      const CK_SLOT_INFO *slot, const CK_TOKEN_INFO *token)
{
	CK_SLOT_ID want = p11_kit_uri_get_slot_id(uri);

	if (module != NULL && !p11_kit_uri_match_module_info(uri, module))
		return false;
	if (want != (CK_SLOT_ID)-1 && want != id)
		return false;
	if (slot != NULL && !p11_kit_uri_match_slot_info(uri, slot))
		return false;
	return p11_kit_uri_match_token_info(uri, token) != 0;
}

char *
pe_p11_object_uri(struct pe_p11_token *tok, CK_OBJECT_CLASS klass, const char *label,
		  const unsigned char *id, size_t id_len)
{
	P11KitUri *uri;
	CK_TOKEN_INFO ti;
	CK_ATTRIBUTE attrs[3];
	CK_ULONG n = 0;
	char *string = NULL;

	if (tok->mod->fn->C_GetTokenInfo(tok->slot, &ti) != CKR_OK)
		return NULL;
	uri = p11_kit_uri_new();
	if (uri == NULL)
		return NULL;
	memcpy(p11_kit_uri_get_token_info(uri), &ti, sizeof(ti));
	attrs[n].type = CKA_CLASS;
	attrs[n].pValue = &klass;
	attrs[n++].ulValueLen = sizeof(klass);
	if (label != NULL) {
		attrs[n].type = CKA_LABEL;
		attrs[n].pValue = (void *)label;
		attrs[n++].ulValueLen = strlen(label);
	}
	if (id != NULL) {
		attrs[n].type = CKA_ID;
		attrs[n].pValue = (void *)id;
		attrs[n++].ulValueLen = id_len;
	}
	if (p11_kit_uri_set_attributes(uri, attrs, n) != P11_KIT_URI_OK ||
	    p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &string) != P11_KIT_URI_OK)
		string = NULL;
	p11_kit_uri_free(uri);
	return string;
}
