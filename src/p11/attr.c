/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Attribute templates freed in one call, the two-call idiom for variable
 * length attributes, and object search.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "p11-int.h"

#define FIND_BATCH 64

void
pe_tmpl_init(struct pe_tmpl *t)
{
	memset(t, 0, sizeof(*t));
	t->yes = CK_TRUE;
	t->no = CK_FALSE;
}

void
pe_tmpl_add(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len)
{
	if (t->n >= PE_TMPL_MAX) {
		pe_msg_bug(__func__, "template full");
		return;
	}
	t->attrs[t->n].type = type;
	t->attrs[t->n].pValue = (void *)value;
	t->attrs[t->n].ulValueLen = len;
	t->n++;
}

void
pe_tmpl_add_bool(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, bool value)
{
	pe_tmpl_add(t, type, value ? &t->yes : &t->no, sizeof(CK_BBOOL));
}

bool
pe_tmpl_add_copy(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len)
{
	void *copy;

	if (t->n_owned >= PE_TMPL_MAX)
		return false;
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return false;
	if (len > 0)
		memcpy(copy, value, len);
	t->owned[t->n_owned++] = copy;
	pe_tmpl_add(t, type, copy, len);
	return true;
}

bool
pe_tmpl_add_ulong(struct pe_tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG value)
{
	return pe_tmpl_add_copy(t, type, &value, sizeof(value));
}

void
pe_tmpl_cleanup(struct pe_tmpl *t)
{
	size_t i;

	for (i = 0; i < t->n_owned; i++)
		free(t->owned[i]);
	pe_tmpl_init(t);
}

enum pe_code
pe_p11_attr_get(struct pe_p11_token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
		unsigned char **value, CK_ULONG *len, struct pe_err *err)
{
	CK_FUNCTION_LIST *fn = tok->mod->fn;
	CK_ATTRIBUTE attr = { type, NULL, 0 };
	unsigned char *data;
	CK_RV rv;

	rv = fn->C_GetAttributeValue(tok->session, obj, &attr, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
	    attr.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return pe_err_set(err, PE_E_NOTFOUND, "attribute 0x%lx not available",
				  (unsigned long)type);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_GetAttributeValue", rv);
	data = malloc(attr.ulValueLen ? attr.ulValueLen : 1);
	if (data == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	attr.pValue = data;
	rv = fn->C_GetAttributeValue(tok->session, obj, &attr, 1);
	if (rv != CKR_OK) {
		free(data);
		return pe_p11_err(err, "C_GetAttributeValue", rv);
	}
	*value = data;
	*len = attr.ulValueLen;
	return PE_OK;
}

enum pe_code
pe_p11_objects_find(struct pe_p11_token *tok, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		    CK_OBJECT_HANDLE *found, CK_ULONG max, CK_ULONG *count, struct pe_err *err)
{
	CK_FUNCTION_LIST *fn = tok->mod->fn;
	CK_OBJECT_HANDLE batch[FIND_BATCH];
	CK_ULONG got, i, total = 0;
	CK_RV rv, frv;

	rv = fn->C_FindObjectsInit(tok->session, tmpl, n);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_FindObjectsInit", rv);
	for (;;) {
		rv = fn->C_FindObjects(tok->session, batch, FIND_BATCH, &got);
		if (rv != CKR_OK || got == 0)
			break;
		for (i = 0; i < got; i++, total++) {
			if (total < max)
				found[total] = batch[i];
		}
	}
	frv = fn->C_FindObjectsFinal(tok->session);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_FindObjects", rv);
	if (frv != CKR_OK)
		return pe_p11_err(err, "C_FindObjectsFinal", frv);
	*count = total;
	return PE_OK;
}

bool
pe_p11_has_mech(const struct pe_p11_token *tok, CK_MECHANISM_TYPE mech)
{
	CK_ULONG i;

	for (i = 0; i < tok->n_mechs; i++) {
		if (tok->mechs[i] == mech)
			return true;
	}
	return false;
}
