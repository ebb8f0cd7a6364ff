/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GOST R 34.10-2012 in software: Debian's OpenSSL 3.0 has no GOST of its
 * own, and the gost engine (libengine-gost-openssl) is what adds it. The
 * engine is loaded once per process and made the default for the algorithms
 * it brings, so that keys, requests, PKCS#8 and PKCS#12 with GOST keys go
 * through the ordinary EVP calls. The ENGINE API is deprecated in OpenSSL 3,
 * so its deprecation warnings are switched off for this file alone.
 */
#include "config.h"

#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <pthread.h>
#include <stdbool.h>

#include <openssl/engine.h>
#include <openssl/err.h>

#include "csr.h"

static pthread_once_t gost_once = PTHREAD_ONCE_INIT;
static bool gost_loaded;

/* Once per process (p11enroll-ca's server threads may ask at the same time). */
static void
gost_load_once(void)
{
	ENGINE *e;

	ERR_set_mark();
	ENGINE_load_builtin_engines();
	e = ENGINE_by_id("gost");
	if (e != NULL) {
		if (ENGINE_init(e) == 1) {
			gost_loaded = ENGINE_set_default(e, ENGINE_METHOD_ALL) == 1;
			ENGINE_finish(e);
		}
		ENGINE_free(e);
	}
	ERR_pop_to_mark();
}

enum pe_code
pe_csr_gost_load(struct pe_err *err)
{
	pthread_once(&gost_once, gost_load_once);
	if (gost_loaded)
		return PE_OK;
	return pe_err_set(err, PE_E_USAGE,
			  "GOST R 34.10-2012 keys in software need OpenSSL's gost engine: "
			  "install Debian's libengine-gost-openssl");
}
