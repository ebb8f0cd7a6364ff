/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Throw-away SoftHSM tokens for the cmocka suites: each program gets its own
 * token directory under $TEST_TMP, so `make -j check` is safe.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softhsm.h"

static char dir[4096];

int
pe_test_skip_status(void)
{
	const char *ci = getenv("CI");

	if (ci != NULL && strcmp(ci, "true") == 0) {
		fprintf(stderr, "a skip is a failure under CI, where every part is installed\n");
		return 1;
	}
	return 77;
}

static int
run_fixture(const char *label)
{
	const char *fixtures = getenv("FIXTURES");
	char cmd[8192];

	snprintf(cmd, sizeof(cmd),
		 "FIXTURE_SO_PIN=%s FIXTURE_USER_PIN=%s sh '%s/make-tokens.sh' '%s' %s%s%s",
		 PE_TEST_SO_PIN, PE_TEST_USER_PIN, fixtures, dir, label ? "'" : "",
		 label ? label : "", label ? "'" : "");
	return system(cmd) == 0 ? 0 : -1;
}

int
pe_test_softhsm_add(const char *label)
{
	return run_fixture(label);
}

const char *
pe_test_softhsm_setup(const char *name, const char *const *labels)
{
	const char *module = getenv("SOFTHSM_MODULE");
	const char *tmp = getenv("TEST_TMP");
	char conf[4200];
	size_t i;

	if (module == NULL || module[0] == '\0' || access(module, R_OK) != 0) {
		fprintf(stderr, "no SoftHSM2 module (SOFTHSM_MODULE='%s')\n", module ? module : "");
		return NULL;
	}
	if (getenv("FIXTURES") == NULL || tmp == NULL) {
		fprintf(stderr, "FIXTURES and TEST_TMP must be set (make check sets them)\n");
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	snprintf(conf, sizeof(conf), "rm -rf '%s'", dir);
	if (system(conf) != 0 || run_fixture(NULL) != 0)
		return NULL;
	for (i = 0; labels != NULL && labels[i] != NULL; i++) {
		if (run_fixture(labels[i]) != 0)
			return NULL;
	}
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	setenv("SOFTHSM2_CONF", conf, 1);
	return module;
}
