/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CA key on a PKCS#11 token, reached through libp11's pkcs11 engine: the
 * one way Debian 12's OpenSSL 3.0 has to sign with a token key (no PKCS#11
 * provider is packaged). The ENGINE API is deprecated in OpenSSL 3, so its
 * deprecation warnings are switched off for this file alone. The key never
 * leaves the token; OpenSSL signs through it.
 */
#include "config.h"

#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/engine.h>
#include <openssl/err.h>

#include "refca.h"

enum pe_code
pe_refca_token_key_load(const char *uri, const char *module, const struct pe_secret *pin,
			EVP_PKEY **out, struct pe_err *err)
{
	EVP_PKEY *key = NULL;
	ENGINE *e;
	enum pe_code rc = PE_OK;
	bool initialised = false;

	ERR_clear_error();
	ENGINE_load_builtin_engines();
	e = ENGINE_by_id("pkcs11");
	if (e == NULL)
		return pe_refca_ossl_err(err, PE_E_USAGE,
					 "the pkcs11 engine (install libengine-pkcs11-openssl)");
	if (module != NULL && ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) != 1) {
		rc = pe_refca_ossl_err(err, PE_E_USAGE, "the pkcs11 engine's MODULE_PATH");
		goto out;
	}
	if (ENGINE_init(e) != 1) {
		rc = pe_refca_ossl_err(err, PE_E_USAGE, "the pkcs11 engine");
		goto out;
	}
	initialised = true;
	if (pin != NULL && ENGINE_ctrl_cmd_string(e, "PIN", (const char *)pin->data, 0) != 1) {
		rc = pe_refca_ossl_err(err, PE_E_USAGE, "the pkcs11 engine's PIN");
		goto out;
	}
	key = ENGINE_load_private_key(e, uri, NULL, NULL);
	if (key == NULL) {
		rc = pe_refca_ossl_err(err, PE_E_USAGE, "the CA key on the token");
		pe_err_prefix(err, "'%s'", uri);
		goto out;
	}
	*out = key;
out:
	/* the key keeps its own reference to the engine */
	if (initialised)
		ENGINE_finish(e);
	ENGINE_free(e);
	return rc;
}
