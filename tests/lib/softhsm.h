/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Throw-away SoftHSM tokens for the cmocka suites in tests/softhsm/: a token
 * directory of the test's own, made by softhsm-fixtures/make-tokens.sh, and
 * the module loaded by path, never through the p11-kit registry.
 */
#ifndef PE_TESTS_LIB_SOFTHSM_H
#define PE_TESTS_LIB_SOFTHSM_H

#define PE_TEST_SO_PIN	 "12345678"
#define PE_TEST_USER_PIN "1234"

/*
 * Makes $TEST_TMP/@name with one token per label (NULL-terminated) and
 * points SOFTHSM2_CONF at it. Returns: the module path, or NULL after
 * printing why; the caller then exits with pe_test_skip_status().
 */
const char *pe_test_softhsm_setup(const char *name, const char *const *labels);

/* Adds a token to the directory of the last setup. Returns: 0 or -1. */
int pe_test_softhsm_add(const char *label);

/* Returns: 77 (skip) on a developer's machine, 1 under CI=true, where every part is installed. */
int pe_test_skip_status(void);

#endif /* PE_TESTS_LIB_SOFTHSM_H */
