/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A token resolved from a URI to exactly one slot, its session, and its PINs:
 * login with the safety rules (exactly one token before C_Login, lock flags
 * read first, no automatic retry, PIN pad with a NULL PIN), init-token and
 * PIN changes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11-int.h"

#define MATCH_MAX 8

struct match {
	struct pe_p11_module *mod;
	CK_SLOT_ID slot;
	char label[33];
	char serial[17];
};

static void
copy_padded(char *dst, const CK_UTF8CHAR *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = '\0';
	while (len > 0 && dst[len - 1] == ' ')
		dst[--len] = '\0';
}

static enum pe_code
find_matches(struct pe_p11_ctx *ctx, P11KitUri *uri, struct match *found, size_t *count,
	     struct pe_err *err)
{
	CK_SLOT_ID *ids = NULL;
	CK_ULONG n_ids, i;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	size_t m, n = 0;
	CK_RV rv;

	for (m = 0; m < ctx->n_mods; m++) {
		struct pe_p11_module *mod = &ctx->mods[m];

		n_ids = 0;
		rv = mod->fn->C_GetSlotList(CK_TRUE, NULL, &n_ids);
		if (rv != CKR_OK) {
			pe_p11_err(err, "C_GetSlotList", rv);
			pe_err_prefix(err, "module '%s'", mod->name);
			return err->code;
		}
		ids = calloc(n_ids ? n_ids : 1, sizeof(*ids));
		if (ids == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		rv = mod->fn->C_GetSlotList(CK_TRUE, ids, &n_ids);
		if (rv != CKR_OK) {
			free(ids);
			pe_p11_err(err, "C_GetSlotList", rv);
			pe_err_prefix(err, "module '%s'", mod->name);
			return err->code;
		}
		for (i = 0; i < n_ids; i++) {
			if (mod->fn->C_GetSlotInfo(ids[i], &si) != CKR_OK ||
			    mod->fn->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
				continue; /* pulled while we looked */
			if (!pe_p11_uri_match_slot(uri, &mod->info, ids[i], &si, &ti))
				continue;
			if (n < MATCH_MAX) {
				found[n].mod = mod;
				found[n].slot = ids[i];
				copy_padded(found[n].label, ti.label, sizeof(ti.label));
				copy_padded(found[n].serial, ti.serialNumber,
					    sizeof(ti.serialNumber));
			}
			n++;
		}
		free(ids);
	}
	*count = n;
	return PE_OK;
}

static enum pe_code
ambiguous(const char *uri, const struct match *found, size_t n, struct pe_err *err)
{
	char list[PE_ERR_MSG_MAX] = "";
	size_t used = 0, i;
	int w;

	for (i = 0; i < n && i < MATCH_MAX; i++) {
		if (found[i].serial[0] == '\0')
			w = snprintf(list + used, sizeof(list) - used,
				     "%san uninitialised token in slot %lu", i ? ", " : "",
				     (unsigned long)found[i].slot);
		else
			w = snprintf(list + used, sizeof(list) - used, "%s'%s' (serial %s)",
				     i ? ", " : "", found[i].label, found[i].serial);
		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	return pe_err_set(err, PE_E_USAGE,
			  "'%s' matches %zu tokens: %s%s; name one (add serial= to the URI)",
			  uri ? uri : "pkcs11:", n, list, n > MATCH_MAX ? ", ..." : "");
}

static void
token_set_name(struct pe_p11_token *tok)
{
	snprintf(tok->name, sizeof(tok->name), "'%s' (serial %s)",
		 tok->info.label ? tok->info.label : "", tok->info.serial ? tok->info.serial : "");
}

static enum pe_code
session_open(struct pe_p11_token *tok, struct pe_err *err)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION;
	CK_RV rv;

	if (tok->rw)
		flags |= CKF_RW_SESSION;
	rv = tok->mod->fn->C_OpenSession(tok->slot, flags, NULL, NULL, &tok->session);
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_OpenSession", rv);
	tok->has_session = true;
	tok->logged_in = false;
	return PE_OK;
}

enum pe_code
pe_p11_token_open(struct pe_p11_ctx *ctx, const char *uri_string, unsigned flags,
		  struct pe_p11_token **out, struct pe_err *err)
{
	struct match found[MATCH_MAX];
	struct pe_p11_token *tok = NULL;
	P11KitUri *uri = NULL;
	size_t n = 0;
	enum pe_code rc;

	rc = pe_p11_uri_parse(uri_string, &uri, err);
	if (rc != PE_OK)
		return rc;
	rc = find_matches(ctx, uri, found, &n, err);
	p11_kit_uri_free(uri);
	if (rc != PE_OK)
		return rc;
	if (n == 0)
		return pe_err_set(err, PE_E_NOTFOUND, "no token matches '%s'",
				  uri_string ? uri_string : "pkcs11:");
	if (n > 1)
		return ambiguous(uri_string, found, n, err);

	tok = calloc(1, sizeof(*tok));
	if (tok == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	tok->ctx = ctx;
	tok->mod = found[0].mod;
	tok->slot = found[0].slot;
	tok->rw = (flags & PE_P11_OPEN_RW) != 0;
	rc = pe_p11_slot_fill(tok->mod, tok->slot, &tok->info, &tok->mechs, &tok->n_mechs, err);
	if (rc != PE_OK)
		goto out;
	token_set_name(tok);
	if (!(tok->info.flags & PE_P11_F_INITIALIZED) && !(flags & PE_P11_OPEN_UNINITIALIZED)) {
		rc = pe_err_set(err, PE_E_USAGE,
				"token in slot %lu is not initialized: "
				"run 'p11enroll init-token' first",
				(unsigned long)tok->slot);
		goto out;
	}
	if (!(flags & PE_P11_OPEN_NO_SESSION))
		rc = session_open(tok, err);
out:
	if (rc != PE_OK) {
		pe_p11_token_free(tok);
		return rc;
	}
	pe_msg_debug("token %s in slot %lu of module '%s'", tok->name, (unsigned long)tok->slot,
		     tok->mod->name);
	*out = tok;
	return PE_OK;
}

void
pe_p11_token_free(struct pe_p11_token *tok)
{
	if (tok == NULL)
		return;
	if (tok->has_session) {
		if (tok->logged_in)
			tok->mod->fn->C_Logout(tok->session);
		tok->mod->fn->C_CloseSession(tok->session);
	}
	pe_p11_slot_cleanup(&tok->info);
	free(tok->mechs);
	free(tok);
}

const struct pe_p11_slot *
pe_p11_token_info(const struct pe_p11_token *tok)
{
	return &tok->info;
}

const char *
pe_p11_token_name(const struct pe_p11_token *tok)
{
	return tok->name;
}

enum pe_code
pe_p11_token_refresh(struct pe_p11_token *tok, struct pe_err *err)
{
	struct pe_p11_slot fresh;
	enum pe_code rc;

	rc = pe_p11_slot_fill(tok->mod, tok->slot, &fresh, NULL, NULL, err);
	if (rc != PE_OK)
		return rc;
	if (!fresh.token_present) {
		pe_p11_slot_cleanup(&fresh);
		return pe_err_set(err, PE_E_NOTFOUND, "token %s was removed", tok->name);
	}
	pe_p11_slot_cleanup(&tok->info);
	tok->info = fresh;
	token_set_name(tok);
	return PE_OK;
}

bool
pe_p11_token_has_pin_pad(const struct pe_p11_token *tok)
{
	return (tok->info.flags & PE_P11_F_PROTECTED_AUTH_PATH) != 0;
}

/* What the token says of a PIN after a failure, for the message. */
static const char *
pin_report(unsigned flags, enum pe_p11_user who)
{
	bool so = who == PE_P11_SO;

	if (flags & (so ? PE_P11_F_SO_PIN_LOCKED : PE_P11_F_USER_PIN_LOCKED))
		return "the PIN is now locked";
	if (flags & (so ? PE_P11_F_SO_PIN_FINAL_TRY : PE_P11_F_USER_PIN_FINAL_TRY))
		return "one try is left before the PIN locks";
	if (flags & (so ? PE_P11_F_SO_PIN_COUNT_LOW : PE_P11_F_USER_PIN_COUNT_LOW))
		return "the token reports few tries left (count low)";
	return "the token reports no retry counter flags";
}

static const char *
who_name(enum pe_p11_user who)
{
	return who == PE_P11_SO ? "SO PIN" : "user PIN";
}

enum pe_code
pe_p11_token_login_check(struct pe_p11_token *tok, enum pe_p11_user who, struct pe_err *err)
{
	unsigned flags;
	enum pe_code rc;
	bool so = who == PE_P11_SO;

	rc = pe_p11_token_refresh(tok, err);
	if (rc != PE_OK)
		return rc;
	flags = tok->info.flags;
	if (flags & (so ? PE_P11_F_SO_PIN_LOCKED : PE_P11_F_USER_PIN_LOCKED))
		return pe_err_set(err, PE_E_PIN, "token %s: the %s is locked%s", tok->name,
				  who_name(who),
				  so ? ": only the vendor's tool can reset the token"
				     : ": set a new one with 'p11enroll set-pin --unblock'");
	if (!so && !(flags & PE_P11_F_USER_PIN_INITIALIZED))
		return pe_err_set(err, PE_E_PIN,
				  "token %s has no user PIN: set one with 'p11enroll set-pin "
				  "--unblock'",
				  tok->name);
	if (flags & (so ? PE_P11_F_SO_PIN_FINAL_TRY : PE_P11_F_USER_PIN_FINAL_TRY))
		pe_msg_warn("token %s: one wrong %s more locks it", tok->name, who_name(who));
	else if (flags & (so ? PE_P11_F_SO_PIN_COUNT_LOW : PE_P11_F_USER_PIN_COUNT_LOW))
		pe_msg_warn("token %s: a wrong %s was entered before (count low)", tok->name,
			    who_name(who));
	return PE_OK;
}

enum pe_code
pe_p11_token_login(struct pe_p11_token *tok, enum pe_p11_user who, const struct pe_secret *pin,
		   struct pe_err *err)
{
	CK_USER_TYPE user = who == PE_P11_SO ? CKU_SO : CKU_USER;
	struct pe_err later;
	CK_RV rv;

	pe_return_val_if_fail(tok->has_session, PE_E_FAIL);
	if (pin == NULL && !pe_p11_token_has_pin_pad(tok))
		return pe_err_set(err, PE_E_PIN, "token %s has no PIN pad: a PIN is needed",
				  tok->name);
	if (pin == NULL)
		pe_msg_info("enter the %s on the PIN pad of token %s", who_name(who), tok->name);
	rv = tok->mod->fn->C_Login(tok->session, user, pin ? pin->data : NULL, pin ? pin->len : 0);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv == CKR_OK) {
		tok->logged_in = true;
		return PE_OK;
	}
	pe_p11_err(err, "C_Login", rv);
	if (err->code == PE_E_PIN && pe_p11_token_refresh(tok, &later) == PE_OK)
		pe_err_append(err, "; %s; not retried", pin_report(tok->info.flags, who));
	pe_err_prefix(err, "token %s: %s", tok->name, who_name(who));
	return err->code;
}

enum pe_code
pe_p11_token_init(struct pe_p11_token *tok, const char *label, const struct pe_secret *so_pin,
		  const struct pe_secret *user_pin, struct pe_err *err)
{
	CK_UTF8CHAR padded[32];
	CK_FUNCTION_LIST *fn = tok->mod->fn;
	struct pe_err later;
	size_t len = strlen(label);
	enum pe_code rc;
	CK_RV rv;

	pe_return_val_if_fail(!tok->has_session, PE_E_FAIL);
	if (len == 0 || len > sizeof(padded))
		return pe_err_set(err, PE_E_USAGE, "a token label has 1 to 32 bytes, '%s' has %zu",
				  label, len);
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, len);
	rv = fn->C_InitToken(tok->slot, so_pin->data, so_pin->len, padded);
	if (rv != CKR_OK) {
		pe_p11_err(err, "C_InitToken", rv);
		if (err->code == PE_E_PIN && pe_p11_token_refresh(tok, &later) == PE_OK)
			pe_err_append(err, "; %s; not retried",
				      pin_report(tok->info.flags, PE_P11_SO));
		pe_err_prefix(err, "slot %lu: SO PIN", (unsigned long)tok->slot);
		return err->code;
	}
	tok->rw = true;
	rc = session_open(tok, err);
	if (rc == PE_OK)
		rc = pe_p11_token_refresh(tok, err);
	if (rc == PE_OK)
		rc = pe_p11_token_login(tok, PE_P11_SO, so_pin, err);
	if (rc == PE_OK)
		rc = pe_p11_token_init_pin(tok, user_pin, err);
	if (rc != PE_OK)
		return rc;
	rv = fn->C_Logout(tok->session);
	tok->logged_in = false;
	if (rv != CKR_OK)
		return pe_p11_err(err, "C_Logout", rv);
	return pe_p11_token_refresh(tok, err);
}

enum pe_code
pe_p11_token_init_pin(struct pe_p11_token *tok, const struct pe_secret *user_pin,
		      struct pe_err *err)
{
	CK_RV rv;

	rv = tok->mod->fn->C_InitPIN(tok->session, user_pin->data, user_pin->len);
	if (rv != CKR_OK) {
		pe_p11_err(err, "C_InitPIN", rv);
		pe_err_prefix(err, "token %s", tok->name);
		return err->code;
	}
	return PE_OK;
}

enum pe_code
pe_p11_token_set_pin(struct pe_p11_token *tok, enum pe_p11_user who,
		     const struct pe_secret *old_pin, const struct pe_secret *new_pin,
		     struct pe_err *err)
{
	CK_RV rv;

	rv = tok->mod->fn->C_SetPIN(tok->session, old_pin ? old_pin->data : NULL,
				    old_pin ? old_pin->len : 0, new_pin ? new_pin->data : NULL,
				    new_pin ? new_pin->len : 0);
	if (rv != CKR_OK) {
		pe_p11_err(err, "C_SetPIN", rv);
		pe_err_prefix(err, "token %s: %s", tok->name, who_name(who));
		return err->code;
	}
	return PE_OK;
}

enum pe_code
pe_p11_token_login_source(struct pe_p11_token *tok, enum pe_p11_user who, const char *source,
			  const char *option, struct pe_err *err)
{
	struct pe_secret *pin = NULL;
	char prompt[200];
	enum pe_code rc;

	rc = pe_p11_token_login_check(tok, who, err);
	if (rc != PE_OK)
		return rc;
	if (pe_p11_token_has_pin_pad(tok) && source == NULL)
		return pe_p11_token_login(tok, who, NULL, err);
	snprintf(prompt, sizeof(prompt), "%s of token %s", who == PE_P11_SO ? "SO PIN" : "PIN",
		 tok->name);
	rc = pe_secret_read(source, option, prompt, false, &pin, err);
	if (rc == PE_OK)
		rc = pe_p11_token_login(tok, who, pin, err);
	pe_secret_free(pin);
	return rc;
}
