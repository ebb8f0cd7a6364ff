/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Slots and tokens as list-slots shows them: information, flags, URIs, and
 * the key types a token can both generate and sign with, read from its
 * mechanism list.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11-int.h"

static const struct {
	unsigned flag;
	CK_FLAGS ck;
	const char *name;
} token_flags[PE_P11_F_COUNT] = {
	{ PE_P11_F_INITIALIZED, CKF_TOKEN_INITIALIZED, "initialized" },
	{ PE_P11_F_LOGIN_REQUIRED, CKF_LOGIN_REQUIRED, "login_required" },
	{ PE_P11_F_PROTECTED_AUTH_PATH, CKF_PROTECTED_AUTHENTICATION_PATH,
	  "protected_authentication_path" },
	{ PE_P11_F_USER_PIN_INITIALIZED, CKF_USER_PIN_INITIALIZED, "user_pin_initialized" },
	{ PE_P11_F_USER_PIN_COUNT_LOW, CKF_USER_PIN_COUNT_LOW, "user_pin_count_low" },
	{ PE_P11_F_USER_PIN_FINAL_TRY, CKF_USER_PIN_FINAL_TRY, "user_pin_final_try" },
	{ PE_P11_F_USER_PIN_LOCKED, CKF_USER_PIN_LOCKED, "user_pin_locked" },
	{ PE_P11_F_USER_PIN_TO_BE_CHANGED, CKF_USER_PIN_TO_BE_CHANGED, "user_pin_to_be_changed" },
	{ PE_P11_F_SO_PIN_COUNT_LOW, CKF_SO_PIN_COUNT_LOW, "so_pin_count_low" },
	{ PE_P11_F_SO_PIN_FINAL_TRY, CKF_SO_PIN_FINAL_TRY, "so_pin_final_try" },
	{ PE_P11_F_SO_PIN_LOCKED, CKF_SO_PIN_LOCKED, "so_pin_locked" },
	{ PE_P11_F_SO_PIN_TO_BE_CHANGED, CKF_SO_PIN_TO_BE_CHANGED, "so_pin_to_be_changed" },
	{ PE_P11_F_WRITE_PROTECTED, CKF_WRITE_PROTECTED, "write_protected" },
	{ PE_P11_F_RNG, CKF_RNG, "rng" },
};

const char *
pe_p11_flag_name(unsigned flag)
{
	size_t i;

	for (i = 0; i < PE_P11_F_COUNT; i++) {
		if (token_flags[i].flag == flag)
			return token_flags[i].name;
	}
	return "unknown";
}

static unsigned
flags_from_ck(CK_FLAGS ck)
{
	unsigned flags = 0;
	size_t i;

	for (i = 0; i < PE_P11_F_COUNT; i++) {
		if (ck & token_flags[i].ck)
			flags |= token_flags[i].flag;
	}
	return flags;
}

static bool
mech_in(const CK_MECHANISM_TYPE *mechs, CK_ULONG n, CK_MECHANISM_TYPE mech)
{
	CK_ULONG i;

	for (i = 0; i < n; i++) {
		if (mechs[i] == mech)
			return true;
	}
	return false;
}

static bool
size_fits(struct pe_p11_module *mod, CK_SLOT_ID slot, CK_MECHANISM_TYPE mech, unsigned bits)
{
	CK_MECHANISM_INFO info;

	if (mod->fn->C_GetMechanismInfo(slot, mech, &info) != CKR_OK)
		return true; /* no sizes given: let the generation say */
	if (info.ulMinKeySize == 0 && info.ulMaxKeySize == 0)
		return true;
	return bits >= info.ulMinKeySize && bits <= info.ulMaxKeySize;
}

/* A key type counts only when the token can both generate it and sign with it. */
static unsigned
key_types_from_mechs(struct pe_p11_module *mod, CK_SLOT_ID slot, const CK_MECHANISM_TYPE *m,
		     CK_ULONG n)
{
	unsigned types = 0;
	bool rsa_sign, ec_sign;

	rsa_sign = mech_in(m, n, CKM_RSA_PKCS) || mech_in(m, n, CKM_SHA256_RSA_PKCS);
	if (mech_in(m, n, CKM_RSA_PKCS_KEY_PAIR_GEN) && rsa_sign) {
		if (size_fits(mod, slot, CKM_RSA_PKCS_KEY_PAIR_GEN, 2048))
			types |= 1u << PE_KEY_RSA_2048;
		if (size_fits(mod, slot, CKM_RSA_PKCS_KEY_PAIR_GEN, 3072))
			types |= 1u << PE_KEY_RSA_3072;
		if (size_fits(mod, slot, CKM_RSA_PKCS_KEY_PAIR_GEN, 4096))
			types |= 1u << PE_KEY_RSA_4096;
	}
	ec_sign = mech_in(m, n, CKM_ECDSA) || mech_in(m, n, CKM_ECDSA_SHA256);
	if (mech_in(m, n, CKM_EC_KEY_PAIR_GEN) && ec_sign) {
		if (size_fits(mod, slot, CKM_EC_KEY_PAIR_GEN, 256))
			types |= 1u << PE_KEY_EC_P256;
		if (size_fits(mod, slot, CKM_EC_KEY_PAIR_GEN, 384))
			types |= 1u << PE_KEY_EC_P384;
	}
	if (mech_in(m, n, CKM_EC_EDWARDS_KEY_PAIR_GEN) && mech_in(m, n, CKM_EDDSA))
		types |= 1u << PE_KEY_ED25519;
	if (mech_in(m, n, CKM_GOSTR3410_KEY_PAIR_GEN) && mech_in(m, n, CKM_GOSTR3410))
		types |= 1u << PE_KEY_GOST2012_256;
	if (mech_in(m, n, PE_CKM_GOSTR3410_512_KEY_PAIR_GEN) && mech_in(m, n, PE_CKM_GOSTR3410_512))
		types |= 1u << PE_KEY_GOST2012_512;
	return types;
}

static enum pe_code
mechanisms_get(struct pe_p11_module *mod, CK_SLOT_ID id, CK_MECHANISM_TYPE **out, CK_ULONG *n,
	       struct pe_err *err)
{
	CK_MECHANISM_TYPE *mechs;
	CK_ULONG count = 0;
	CK_RV rv;

	rv = mod->fn->C_GetMechanismList(id, NULL, &count);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_GetMechanismList", rv);
	mechs = calloc(count ? count : 1, sizeof(*mechs));
	if (mechs == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rv = mod->fn->C_GetMechanismList(id, mechs, &count);
	if (rv != CKR_OK) {
		free(mechs);
		return pe_p11_err(err, "C_GetMechanismList", rv);
	}
	*out = mechs;
	*n = count;
	return PE_OK;
}

static char *
uri_format(P11KitUri *uri, P11KitUriType type)
{
	char *string = NULL;

	if (p11_kit_uri_format(uri, type, &string) != P11_KIT_URI_OK)
		return NULL;
	return string;
}

enum pe_code
pe_p11_slot_fill(struct pe_p11_module *mod, CK_SLOT_ID id, struct pe_p11_slot *slot,
		 CK_MECHANISM_TYPE **mechs_out, CK_ULONG *n_mechs_out, struct pe_err *err)
{
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_MECHANISM_TYPE *mechs = NULL;
	CK_ULONG n_mechs = 0;
	P11KitUri *uri = NULL;
	enum pe_code rc = PE_OK;
	CK_RV rv;

	memset(slot, 0, sizeof(*slot));
	slot->slot_id = id;
	rv = mod->fn->C_GetSlotInfo(id, &si);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_GetSlotInfo", rv);
	slot->module = strdup(mod->name);
	slot->description = p11_kit_space_strdup(si.slotDescription, sizeof(si.slotDescription));
	slot->slot_manufacturer =
		p11_kit_space_strdup(si.manufacturerID, sizeof(si.manufacturerID));
	slot->token_present = (si.flags & CKF_TOKEN_PRESENT) != 0;
	slot->removable = (si.flags & CKF_REMOVABLE_DEVICE) != 0;
	slot->hardware = (si.flags & CKF_HW_SLOT) != 0;
	uri = p11_kit_uri_new();
	if (slot->module == NULL || slot->description == NULL || slot->slot_manufacturer == NULL ||
	    uri == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	memcpy(p11_kit_uri_get_slot_info(uri), &si, sizeof(si));
	p11_kit_uri_set_slot_id(uri, id);
	slot->slot_uri = uri_format(uri, P11_KIT_URI_FOR_SLOT);
	if (!slot->token_present)
		goto out;

	rv = mod->fn->C_GetTokenInfo(id, &ti);
	if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED) {
		slot->token_present = false;
		goto out;
	}
	if (rv != CKR_OK) {
		rc = pe_p11_err(err, "C_GetTokenInfo", rv);
		goto out;
	}
	slot->label = p11_kit_space_strdup(ti.label, sizeof(ti.label));
	slot->manufacturer = p11_kit_space_strdup(ti.manufacturerID, sizeof(ti.manufacturerID));
	slot->model = p11_kit_space_strdup(ti.model, sizeof(ti.model));
	slot->serial = p11_kit_space_strdup(ti.serialNumber, sizeof(ti.serialNumber));
	memcpy(p11_kit_uri_get_token_info(uri), &ti, sizeof(ti));
	slot->uri = uri_format(uri, P11_KIT_URI_FOR_TOKEN);
	if (slot->label == NULL || slot->manufacturer == NULL || slot->model == NULL ||
	    slot->serial == NULL || slot->uri == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	slot->flags = flags_from_ck(ti.flags);
	slot->min_pin = ti.ulMinPinLen;
	slot->max_pin = ti.ulMaxPinLen;
	snprintf(slot->hw_version, sizeof(slot->hw_version), "%u.%u", ti.hardwareVersion.major,
		 ti.hardwareVersion.minor);
	snprintf(slot->fw_version, sizeof(slot->fw_version), "%u.%u", ti.firmwareVersion.major,
		 ti.firmwareVersion.minor);
	rc = mechanisms_get(mod, id, &mechs, &n_mechs, err);
	if (rc != PE_OK)
		goto out;
	slot->key_types = key_types_from_mechs(mod, id, mechs, n_mechs);
	if (mechs_out != NULL) {
		*mechs_out = mechs;
		*n_mechs_out = n_mechs;
		mechs = NULL;
	}
out:
	free(mechs);
	p11_kit_uri_free(uri);
	if (rc != PE_OK)
		pe_p11_slot_cleanup(slot);
	return rc;
}

void
pe_p11_slot_cleanup(struct pe_p11_slot *slot)
{
	free(slot->module);
	free(slot->description);
	free(slot->slot_manufacturer);
	free(slot->slot_uri);
	free(slot->label);
	free(slot->manufacturer);
	free(slot->model);
	free(slot->serial);
	free(slot->uri);
	memset(slot, 0, sizeof(*slot));
}

static enum pe_code
slot_ids(struct pe_p11_module *mod, CK_SLOT_ID **out, CK_ULONG *n, struct pe_err *err)
{
	CK_SLOT_ID *ids;
	CK_ULONG count = 0;
	CK_RV rv;

	rv = mod->fn->C_GetSlotList(CK_FALSE, NULL, &count);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_GetSlotList", rv);
	ids = calloc(count ? count : 1, sizeof(*ids));
	if (ids == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rv = mod->fn->C_GetSlotList(CK_FALSE, ids, &count);
	if (rv != CKR_OK) {
		free(ids);
		return pe_p11_err(err, "C_GetSlotList", rv);
	}
	*out = ids;
	*n = count;
	return PE_OK;
}

enum pe_code
pe_p11_slot_list(struct pe_p11_ctx *ctx, struct pe_p11_slot **out, size_t *count,
		 struct pe_err *err)
{
	struct pe_p11_slot *slots = NULL, *grown;
	size_t n = 0, m;
	CK_SLOT_ID *ids = NULL;
	CK_ULONG n_ids = 0, i;
	enum pe_code rc = PE_OK;

	for (m = 0; m < ctx->n_mods; m++) {
		struct pe_p11_module *mod = &ctx->mods[m];

		rc = slot_ids(mod, &ids, &n_ids, err);
		if (rc != PE_OK) {
			pe_err_prefix(err, "module '%s'", mod->name);
			goto out;
		}
		if (n_ids > 0) {
			grown = realloc(slots, (n + n_ids) * sizeof(*slots));
			if (grown == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto out;
			}
			slots = grown;
		}
		for (i = 0; i < n_ids; i++) {
			rc = pe_p11_slot_fill(mod, ids[i], &slots[n], NULL, NULL, err);
			if (rc != PE_OK) {
				pe_err_prefix(err, "module '%s' slot %lu", mod->name,
					      (unsigned long)ids[i]);
				goto out;
			}
			n++;
		}
		free(ids);
		ids = NULL;
	}
out:
	free(ids);
	if (rc != PE_OK) {
		pe_p11_slot_list_free(slots, n);
		return rc;
	}
	*out = slots;
	*count = n;
	return PE_OK;
}

void
pe_p11_slot_list_free(struct pe_p11_slot *slots, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		pe_p11_slot_cleanup(&slots[i]);
	free(slots);
}
