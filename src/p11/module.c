/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Module loading. The context is the one owner of every module's lifecycle:
 * either each module registered with p11-kit (p11_kit_modules_load_and_
 * initialize) or the one --module names (p11_kit_module_load and _initialize).
 * Nothing else calls C_Initialize or C_Finalize.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "p11-int.h"

/* clang-format off */
#define RV(name) { name, #name }
/* clang-format on */
static const struct {
	CK_RV rv;
	const char *name;
} rv_names[] = {
	RV(CKR_OK),
	RV(CKR_CANCEL),
	RV(CKR_HOST_MEMORY),
	RV(CKR_SLOT_ID_INVALID),
	RV(CKR_GENERAL_ERROR),
	RV(CKR_FUNCTION_FAILED),
	RV(CKR_ARGUMENTS_BAD),
	RV(CKR_ATTRIBUTE_READ_ONLY),
	RV(CKR_ATTRIBUTE_SENSITIVE),
	RV(CKR_ATTRIBUTE_TYPE_INVALID),
	RV(CKR_ATTRIBUTE_VALUE_INVALID),
	RV(CKR_DATA_INVALID),
	RV(CKR_DATA_LEN_RANGE),
	RV(CKR_DEVICE_ERROR),
	RV(CKR_DEVICE_MEMORY),
	RV(CKR_DEVICE_REMOVED),
	RV(CKR_FUNCTION_CANCELED),
	RV(CKR_FUNCTION_NOT_SUPPORTED),
	RV(CKR_KEY_HANDLE_INVALID),
	RV(CKR_KEY_SIZE_RANGE),
	RV(CKR_KEY_TYPE_INCONSISTENT),
	RV(CKR_MECHANISM_INVALID),
	RV(CKR_MECHANISM_PARAM_INVALID),
	RV(CKR_OBJECT_HANDLE_INVALID),
	RV(CKR_OPERATION_ACTIVE),
	RV(CKR_OPERATION_NOT_INITIALIZED),
	RV(CKR_PIN_INCORRECT),
	RV(CKR_PIN_INVALID),
	RV(CKR_PIN_LEN_RANGE),
	RV(CKR_PIN_EXPIRED),
	RV(CKR_PIN_LOCKED),
	RV(CKR_SESSION_CLOSED),
	RV(CKR_SESSION_COUNT),
	RV(CKR_SESSION_HANDLE_INVALID),
	RV(CKR_SESSION_READ_ONLY),
	RV(CKR_SESSION_EXISTS),
	RV(CKR_SESSION_READ_ONLY_EXISTS),
	RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
	RV(CKR_SIGNATURE_INVALID),
	RV(CKR_TEMPLATE_INCOMPLETE),
	RV(CKR_TEMPLATE_INCONSISTENT),
	RV(CKR_TOKEN_NOT_PRESENT),
	RV(CKR_TOKEN_NOT_RECOGNIZED),
	RV(CKR_TOKEN_WRITE_PROTECTED),
	RV(CKR_USER_ALREADY_LOGGED_IN),
	RV(CKR_USER_NOT_LOGGED_IN),
	RV(CKR_USER_PIN_NOT_INITIALIZED),
	RV(CKR_USER_TYPE_INVALID),
	RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	RV(CKR_USER_TOO_MANY_TYPES),
	RV(CKR_RANDOM_NO_RNG),
	RV(CKR_BUFFER_TOO_SMALL),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	RV(CKR_FUNCTION_REJECTED),
};
#undef RV

/* Returns: "CKR_PIN_INCORRECT" and so on, or NULL for a value not in the table. */
static const char *
rv_name(CK_RV rv)
{
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++) {
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	}
	return NULL;
}

enum pe_code
pe_p11_err(struct pe_err *err, const char *call, CK_RV rv)
{
	const char *name = rv_name(rv);

	enum pe_code code;

	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_EXPIRED:
	case CKR_PIN_LOCKED:
	case CKR_USER_PIN_NOT_INITIALIZED:
		code = PE_E_PIN;
		break;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_SLOT_ID_INVALID:
		code = PE_E_NOTFOUND;
		break;
	default:
		code = PE_E_P11;
		break;
	}
	if (name != NULL)
		pe_err_set(err, code, "%s: %s (%s)", call, name, p11_kit_strerror(rv));
	else
		pe_err_set(err, code, "%s: CKR 0x%lx (%s)", call, (unsigned long)rv,
			   p11_kit_strerror(rv));
	if (err != NULL)
		err->ck_rv = rv;
	return code;
}

static void
modules_cleanup(struct pe_p11_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_mods; i++)
		free(ctx->mods[i].name);
	free(ctx->mods);
	ctx->mods = NULL;
	ctx->n_mods = 0;
}

static enum pe_code
modules_describe(struct pe_p11_ctx *ctx, CK_FUNCTION_LIST **list, size_t n, struct pe_err *err)
{
	size_t i;
	CK_RV rv;

	ctx->mods = calloc(n ? n : 1, sizeof(*ctx->mods));
	if (ctx->mods == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	for (i = 0; i < n; i++) {
		struct pe_p11_module *mod = &ctx->mods[i];

		mod->fn = list[i];
		if (ctx->direct_path != NULL)
			mod->name = strdup(ctx->direct_path);
		else if (ctx->borrowed)
			mod->name = NULL;
		else
			mod->name = p11_kit_module_get_name(list[i]);
		rv = mod->fn->C_GetInfo(&mod->info);
		if (rv != CKR_OK)
			memset(&mod->info, 0, sizeof(mod->info));
		if (mod->name == NULL)
			mod->name = p11_kit_space_strdup(mod->info.libraryDescription,
							 sizeof(mod->info.libraryDescription));
		ctx->n_mods++;
		if (mod->name == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

static enum pe_code
modules_load(struct pe_p11_ctx *ctx, struct pe_err *err)
{
	size_t n = 0;
	CK_RV rv;

	if (ctx->direct_path != NULL) {
		ctx->direct = p11_kit_module_load(ctx->direct_path, 0);
		if (ctx->direct == NULL)
			return pe_err_set(err, PE_E_P11, "cannot load PKCS#11 module '%s': %s",
					  ctx->direct_path, p11_kit_message());
		/*
		 * p11-kit calls C_Initialize with CK_C_INITIALIZE_ARGS whose flags
		 * are CKF_OS_LOCKING_OK (and its own mutex callbacks), both here and
		 * for registered modules: the module may be called from several
		 * threads at once, as batch's workers do (one token each).
		 */
		rv = p11_kit_module_initialize(ctx->direct);
		if (rv != CKR_OK) {
			p11_kit_module_release(ctx->direct);
			ctx->direct = NULL;
			pe_p11_err(err, "C_Initialize", rv);
			pe_err_prefix(err, "module '%s'", ctx->direct_path);
			return err->code;
		}
		return modules_describe(ctx, &ctx->direct, 1, err);
	}
	ctx->registered = p11_kit_modules_load_and_initialize(0);
	if (ctx->registered == NULL)
		return pe_err_set(err, PE_E_P11, "cannot load the p11-kit registered modules: %s",
				  p11_kit_message());
	while (ctx->registered[n] != NULL)
		n++;
	return modules_describe(ctx, ctx->registered, n, err);
}

static void
modules_unload(struct pe_p11_ctx *ctx)
{
	modules_cleanup(ctx);
	if (ctx->direct != NULL) {
		p11_kit_module_finalize(ctx->direct);
		p11_kit_module_release(ctx->direct);
		ctx->direct = NULL;
	}
	if (ctx->registered != NULL) {
		p11_kit_modules_finalize_and_release(ctx->registered);
		ctx->registered = NULL;
	}
}

enum pe_code
pe_p11_ctx_new(const char *module_path, struct pe_p11_ctx **out, struct pe_err *err)
{
	struct pe_p11_ctx *ctx;
	enum pe_code rc;

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (module_path != NULL) {
		ctx->direct_path = strdup(module_path);
		if (ctx->direct_path == NULL) {
			free(ctx);
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		}
	}
	rc = modules_load(ctx, err);
	if (rc != PE_OK) {
		pe_p11_ctx_free(ctx);
		return rc;
	}
	pe_msg_debug("%zu PKCS#11 module(s) loaded", ctx->n_mods);
	*out = ctx;
	return PE_OK;
}

enum pe_code
pe_p11_ctx_new_borrowed(CK_FUNCTION_LIST *fn, const char *name, struct pe_p11_ctx **out,
			struct pe_err *err)
{
	struct pe_p11_ctx *ctx;
	enum pe_code rc;

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	ctx->borrowed = true;
	rc = modules_describe(ctx, &fn, 1, err);
	if (rc == PE_OK && name != NULL) {
		free(ctx->mods[0].name);
		ctx->mods[0].name = strdup(name);
		if (ctx->mods[0].name == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	if (rc != PE_OK) {
		pe_p11_ctx_free(ctx);
		return rc;
	}
	*out = ctx;
	return PE_OK;
}

void
pe_p11_ctx_free(struct pe_p11_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->borrowed)
		modules_cleanup(ctx);
	else
		modules_unload(ctx);
	free(ctx->direct_path);
	free(ctx);
}

enum pe_code
pe_p11_reload(struct pe_p11_ctx *ctx, struct pe_err *err)
{
	CK_RV rv;

	pe_return_val_if_fail(ctx != NULL, PE_E_FAIL);
	if (ctx->borrowed)
		return PE_OK; /* a test's function list: its owner initialises it */
	if (ctx->direct != NULL) {
		p11_kit_module_finalize(ctx->direct);
		rv = p11_kit_module_initialize(ctx->direct);
		if (rv != CKR_OK) {
			pe_p11_err(err, "C_Initialize", rv);
			pe_err_prefix(err, "module '%s'", ctx->direct_path);
			return err->code;
		}
		return PE_OK;
	}
	if (ctx->registered != NULL) {
		p11_kit_modules_finalize(ctx->registered);
		rv = p11_kit_modules_initialize(ctx->registered, NULL);
		if (rv != CKR_OK) {
			pe_p11_err(err, "C_Initialize", rv);
			pe_err_prefix(err, "the p11-kit registered modules");
			return err->code;
		}
	}
	return PE_OK;
}

enum pe_code
pe_p11_slot_events(struct pe_p11_ctx *ctx, bool *changed, bool *supported, struct pe_err *err)
{
	CK_SLOT_ID slot;
	size_t i;
	CK_RV rv;
	int n;

	*changed = false;
	*supported = true;
	for (i = 0; i < ctx->n_mods; i++) {
		/* drain what is queued: a module reports one slot per call */
		for (n = 0; n < 64; n++) {
			rv = ctx->mods[i].fn->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL);
			if (rv == CKR_OK) {
				*changed = true;
				continue;
			}
			if (rv == CKR_NO_EVENT)
				break;
			if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
				*supported = false;
				break;
			}
			pe_p11_err(err, "C_WaitForSlotEvent", rv);
			pe_err_prefix(err, "module '%s'", ctx->mods[i].name);
			return err->code;
		}
	}
	return PE_OK;
}
