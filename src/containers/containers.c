/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of key carriers, and what the carriers share.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"

static const struct pe_container_ops *const carriers[] = {
	&pe_container_token_ops,
	&pe_container_registry_ops,
	&pe_container_disk_ops,
	NULL,
};

const struct pe_container_ops *
pe_container_find(const char *name)
{
	size_t i;

	for (i = 0; carriers[i] != NULL; i++) {
		if (strcmp(carriers[i]->name, name) == 0)
			return carriers[i];
	}
	return NULL;
}

void
pe_key_ref_cleanup(struct pe_key_ref *ref)
{
	free(ref->label);
	free(ref->id_hex);
	free(ref->uri);
	free(ref->serial);
	free(ref->model);
	memset(ref, 0, sizeof(*ref));
}

void
pe_container_info_list_free(struct pe_container_info *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++) {
		free(list[i].name);
		free(list[i].location);
		free(list[i].serial);
		free(list[i].key_type);
		free(list[i].created_at);
		free(list[i].cert);
	}
	free(list);
}

enum pe_code
pe_container_key_type_check(const struct pe_container_ops *ops, struct pe_container *c,
			    enum pe_key_type type, struct pe_err *err)
{
	unsigned types = ops->key_types(c);
	char names[256];

	if (type <= PE_KEY_NONE || type >= PE_KEY_TYPE_MAX || !(types & (1u << type))) {
		pe_key_types_format(types, names, sizeof(names));
		return pe_err_set(err, PE_E_USAGE, "the %s cannot make %s keys (it makes: %s)",
				  ops->name, pe_key_type_name(type), names);
	}
	/* the token makes GOST keys itself; software needs OpenSSL's gost engine */
	if (pe_key_type_family(type) == PE_FAMILY_GOST && ops != &pe_container_token_ops)
		return pe_csr_gost_load(err);
	return PE_OK;
}

enum pe_code
pe_container_password_check(const struct pe_secret *password, struct pe_err *err)
{
	if (password->len < PE_CONTAINER_PASSWORD_MIN)
		return pe_err_set(err, PE_E_PIN,
				  "a container password needs at least %d characters",
				  PE_CONTAINER_PASSWORD_MIN);
	return PE_OK;
}

bool
pe_container_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			   name[i]) == NULL)
			return false;
	}
	return true;
}

const char *
pe_container_auto(struct pe_p11_ctx *p11, char **token_uri, char *why, size_t size)
{
	const struct pe_p11_slot *ready = NULL, *fresh = NULL;
	struct pe_p11_slot *slots = NULL;
	size_t n = 0, i, n_ready = 0, n_fresh = 0;
	struct pe_err err;
	const char *carrier = "registry";

	*token_uri = NULL;
	if (p11 == NULL) {
		snprintf(why, size, "no PKCS#11 module is loaded");
		return carrier;
	}
	if (pe_p11_slot_list(p11, &slots, &n, &err) != PE_OK) {
		snprintf(why, size, "the tokens cannot be listed: %s", err.msg);
		return carrier;
	}
	for (i = 0; i < n; i++) {
		if (!slots[i].token_present || (slots[i].flags & PE_P11_F_WRITE_PROTECTED) ||
		    (slots[i].flags & PE_P11_F_USER_PIN_LOCKED))
			continue;
		if (slots[i].flags & PE_P11_F_INITIALIZED) {
			ready = &slots[i];
			n_ready++;
		} else {
			fresh = &slots[i];
			n_fresh++;
		}
	}
	if (n_ready == 1 || (n_ready == 0 && n_fresh == 1)) {
		const struct pe_p11_slot *t = n_ready == 1 ? ready : fresh;
		char slot_uri[48];

		snprintf(slot_uri, sizeof(slot_uri), "pkcs11:slot-id=%lu", t->slot_id);
		*token_uri = strdup(n_ready == 1 ? t->uri : slot_uri);
		if (*token_uri != NULL) {
			carrier = "token";
			if (n_ready == 1)
				snprintf(why, size,
					 "token '%s' (serial %s) is the one usable token", t->label,
					 t->serial);
			else
				snprintf(why, size,
					 "the new token in slot %lu is the one usable token",
					 t->slot_id);
		} else {
			snprintf(why, size, "out of memory");
		}
	} else if (n_ready + n_fresh == 0) {
		snprintf(why, size, "no usable token is present");
	} else {
		snprintf(why, size, "%zu usable tokens are present", n_ready ? n_ready : n_fresh);
	}
	pe_p11_slot_list_free(slots, n);
	return carrier;
}
