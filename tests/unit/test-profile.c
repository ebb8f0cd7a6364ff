/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/profile: vendor token profiles found in the real tokens/
 * directory and in malformed files written to a temporary directory, and the
 * PIN and label rules a profile imposes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>

#include <cmocka.h>

#include "profile/profile.h"

static char tmpdir[PATH_MAX];
static char profile_path[PATH_MAX + 32];

static int
group_setup(void **state)
{
	const char *base = getenv("TEST_TMP");

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	/* make check names $TEST_TMP but leaves making it to the first test that runs */
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir '%s': %s\n", base, strerror(errno));
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-profile.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp '%s': %s\n", tmpdir, strerror(errno));
		return -1;
	}
	snprintf(profile_path, sizeof(profile_path), "%s/test-vendor.json", tmpdir);
	return 0;
}

static int
group_teardown(void **state)
{
	return rmdir(tmpdir);
}

static int
profile_remove(void **state)
{
	unlink(profile_path);
	return 0;
}

/* Writes @text as the one profile in the temporary directory. */
static void
profile_write(const char *text)
{
	FILE *f;

	f = fopen(profile_path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Returns: the real tokens/ directory; fails the test when the harness did not set it. */
static const char *
tokens_dir(void)
{
	const char *dir = getenv("P11ENROLL_TOKENS_DIR");

	if (dir == NULL || dir[0] == '\0')
		fail_msg("P11ENROLL_TOKENS_DIR is not set: run through 'make check'");
	return dir;
}

/* Finds the profile for a malformed file, which must fail naming that file. */
static void
expect_malformed(const char *text, const char *manufacturer, const char *model, const char *why)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;

	profile_write(text);
	pe_err_clear(&err);
	assert_int_equal(pe_token_profile_find(tmpdir, manufacturer, model, &profile, &err),
			 PE_E_USAGE);
	assert_null(profile);
	assert_int_equal(err.code, PE_E_USAGE);
	assert_non_null(strstr(err.msg, profile_path));
	if (why != NULL && strstr(err.msg, why) == NULL)
		fail_msg("message '%s' does not say '%s'", err.msg, why);
}

static void
test_pe_token_profile_find_softhsm(void **state)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;

	assert_int_equal(pe_token_profile_find(tokens_dir(), "SoftHSM project", "SoftHSM v2",
					       &profile, &err),
			 PE_OK);
	assert_non_null(profile);
	assert_string_equal(profile->name, "SoftHSM 2");
	assert_non_null(profile->file);
	assert_non_null(strstr(profile->file, "softhsm-softhsm2.json"));
	assert_true(profile->tested);
	assert_int_equal(profile->id_scheme, PE_P11_ID_SHA1_PUBKEY);
	assert_int_equal(profile->label_max, 32);
	assert_int_equal(profile->pin_min, 4);
	assert_int_equal(profile->pin_max, 255);
	assert_false(profile->pin_digits_only);
	assert_false(profile->cert_private);
	assert_true(profile->key_types & (1u << PE_KEY_EC_P256));
	assert_true(profile->key_types & (1u << PE_KEY_ED25519));
	assert_false(profile->key_types & (1u << PE_KEY_GOST2012_256));
	pe_token_profile_free(profile);
}

static void
test_pe_token_profile_find_yubikey(void **state)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;

	assert_int_equal(pe_token_profile_find(tokens_dir(), "Yubico (www.yubico.com)",
					       "YubiKey YK5", &profile, &err),
			 PE_OK);
	assert_non_null(profile);
	assert_non_null(strstr(profile->name, "YubiKey"));
	assert_non_null(strstr(profile->file, "yubico-yubikey-piv.json"));
	assert_false(profile->tested);
	assert_int_equal(profile->id_scheme, PE_P11_ID_TOKEN);
	assert_int_equal(profile->pin_min, 6);
	assert_int_equal(profile->pin_max, 8);
	assert_false(profile->key_types & (1u << PE_KEY_ED25519));
	pe_token_profile_free(profile);
}

static void
test_pe_token_profile_find_other_vendors(void **state)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;

	assert_int_equal(
		pe_token_profile_find(tokens_dir(), "Aktiv Co.", "Rutoken ECP 3.0", &profile, &err),
		PE_OK);
	assert_string_equal(profile->name, "Rutoken ECP");
	assert_true(profile->key_types & (1u << PE_KEY_GOST2012_512));
	pe_token_profile_free(profile);
	profile = NULL;

	assert_int_equal(pe_token_profile_find(tokens_dir(), "Aladdin R.D.", "JaCarta GOST 2.0",
					       &profile, &err),
			 PE_OK);
	assert_string_equal(profile->name, "JaCarta");
	assert_true(profile->cert_private);
	pe_token_profile_free(profile);
}

static void
test_pe_token_profile_find_default(void **state)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;

	assert_int_equal(pe_token_profile_find(tokens_dir(), "Nobody Ltd", "Unknown Token 9",
					       &profile, &err),
			 PE_OK);
	assert_non_null(profile);
	assert_string_equal(profile->name, "generic PKCS#11 token");
	assert_null(profile->file);
	assert_false(profile->tested);
	assert_int_equal(profile->id_scheme, PE_P11_ID_SHA1_PUBKEY);
	assert_int_equal(profile->label_max, 32);
	assert_int_equal(profile->key_types, 0);
	pe_token_profile_free(profile);
	profile = NULL;

	/* a token that reports no manufacturer or model at all */
	assert_int_equal(pe_token_profile_find(tokens_dir(), NULL, NULL, &profile, &err), PE_OK);
	assert_string_equal(profile->name, "generic PKCS#11 token");
	pe_token_profile_free(profile);
	pe_token_profile_free(NULL);
}

static void
test_pe_token_profile_find_env_dir(void **state)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;

	/* NULL means $P11ENROLL_TOKENS_DIR */
	tokens_dir();
	assert_string_equal(pe_profile_tokens_dir(), getenv("P11ENROLL_TOKENS_DIR"));
	assert_int_equal(
		pe_token_profile_find(NULL, "SoftHSM project", "SoftHSM v2", &profile, &err),
		PE_OK);
	assert_string_equal(profile->name, "SoftHSM 2");
	pe_token_profile_free(profile);
}

static void
test_pe_token_profile_find_missing_dir(void **state)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;
	char dir[PATH_MAX + 32];

	/* no profiles at all is not an error: every token gets the default */
	snprintf(dir, sizeof(dir), "%s/no-such-dir", tmpdir);
	assert_int_equal(
		pe_token_profile_find(dir, "SoftHSM project", "SoftHSM v2", &profile, &err), PE_OK);
	assert_null(profile->file);
	pe_token_profile_free(profile);
}

static void
test_pe_token_profile_find_custom(void **state)
{
	struct pe_token_profile *profile = NULL;
	struct pe_err err;

	profile_write("{ \"version\": 1, \"name\": \"Test Token\",\n"
		      "  \"match\": { \"manufacturer\": \"Test*\", \"model\": \"T?\" },\n"
		      "  \"key_id\": \"token-assigned\", \"label_max\": 16, \"tested\": true,\n"
		      "  \"pin\": { \"min\": 6, \"max\": 10, \"digits_only\": true },\n"
		      "  \"key_types\": [\"rsa-2048\", \"ec-p384\"],\n"
		      "  \"certificate_private\": true }\n");
	assert_int_equal(pe_token_profile_find(tmpdir, "Test maker", "T1", &profile, &err), PE_OK);
	assert_string_equal(profile->name, "Test Token");
	assert_string_equal(profile->file, profile_path);
	assert_true(profile->tested);
	assert_int_equal(profile->id_scheme, PE_P11_ID_TOKEN);
	assert_int_equal(profile->label_max, 16);
	assert_int_equal(profile->pin_min, 6);
	assert_int_equal(profile->pin_max, 10);
	assert_true(profile->pin_digits_only);
	assert_true(profile->cert_private);
	assert_int_equal(profile->key_types, 1u << PE_KEY_RSA_2048 | 1u << PE_KEY_EC_P384);
	pe_token_profile_free(profile);
	profile = NULL;

	/* the globs must both fit */
	assert_int_equal(pe_token_profile_find(tmpdir, "Test maker", "T12", &profile, &err), PE_OK);
	assert_null(profile->file);
	pe_token_profile_free(profile);
}

static void
test_pe_token_profile_find_not_json(void **state)
{
	expect_malformed("this is not { json", "SoftHSM project", "SoftHSM v2", "JSON");
	expect_malformed("[1, 2, 3]", "SoftHSM project", "SoftHSM v2", "JSON");
	expect_malformed("", "SoftHSM project", "SoftHSM v2", "JSON");
}

static void
test_pe_token_profile_find_missing_version(void **state)
{
	expect_malformed("{ \"name\": \"x\", \"match\": { \"model\": \"*\" } }", "a", "b",
			 "version");
	/* a version this program does not know */
	expect_malformed("{ \"version\": 2, \"name\": \"x\", \"match\": { \"model\": \"*\" } }",
			 "a", "b", "version");
	expect_malformed("{ \"version\": \"1\", \"name\": \"x\", \"match\": {} }", "a", "b",
			 "version");
}

static void
test_pe_token_profile_find_missing_match(void **state)
{
	expect_malformed("{ \"version\": 1, \"name\": \"x\" }", "a", "b", "match");
	expect_malformed("{ \"version\": 1, \"name\": \"x\", \"match\": \"*\" }", "a", "b",
			 "match");
}

static void
test_pe_token_profile_find_missing_name(void **state)
{
	expect_malformed("{ \"version\": 1, \"match\": { \"model\": \"*\" } }", "a", "b", "name");
	expect_malformed("{ \"version\": 1, \"name\": 7, \"match\": {} }", "a", "b", "name");
}

static void
test_pe_token_profile_find_bad_key_id(void **state)
{
	expect_malformed("{ \"version\": 1, \"name\": \"x\", \"match\": { \"model\": \"*\" },\n"
			 "  \"key_id\": \"random\" }",
			 "a", "b", "random");
}

static void
test_pe_token_profile_find_bad_key_type(void **state)
{
	expect_malformed("{ \"version\": 1, \"name\": \"x\", \"match\": { \"model\": \"*\" },\n"
			 "  \"key_types\": [\"rsa-2048\", \"rsa-1024\"] }",
			 "a", "b", "rsa-1024");
	expect_malformed("{ \"version\": 1, \"name\": \"x\", \"match\": { \"model\": \"*\" },\n"
			 "  \"key_types\": [\"ec-p256\", 5] }",
			 "a", "b", "key type");
}

/* A broken profile of another family is named even when the token is not of that family. */
static void
test_pe_token_profile_find_malformed_not_matching(void **state)
{
	expect_malformed(
		"{ \"version\": 1, \"name\": \"x\", \"match\": { \"model\": \"Other*\" },\n"
		"  \"key_id\": \"random\" }",
		"SoftHSM project", "SoftHSM v2", "random");
}

/* pin and label rules */

static void
test_pe_token_profile_pin_check_length(void **state)
{
	struct pe_token_profile profile;
	struct pe_p11_slot token;
	struct pe_secret *pin;
	struct pe_err err;

	memset(&profile, 0, sizeof(profile));
	memset(&token, 0, sizeof(token));
	profile.name = "Test Token";
	profile.pin_min = 6;
	profile.pin_max = 8;
	token.min_pin = 4;
	token.max_pin = 255;

	/* the stricter of the two: 6 to 8 */
	pin = pe_secret_new("12345", 5);
	pe_err_clear(&err);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "6 to 8"));
	pe_secret_free(pin);
	pin = pe_secret_new("123456", 6);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_OK);
	pe_secret_free(pin);
	pin = pe_secret_new("12345678", 8);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_OK);
	pe_secret_free(pin);
	pin = pe_secret_new("123456789", 9);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	pe_secret_free(pin);

	/* the token is stricter than the profile: 7 to 7 */
	token.min_pin = 7;
	token.max_pin = 7;
	pin = pe_secret_new("123456", 6);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	pe_secret_free(pin);
	pin = pe_secret_new("12345678", 8);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	pe_secret_free(pin);
	pin = pe_secret_new("1234567", 7);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_OK);
	pe_secret_free(pin);
}

static void
test_pe_token_profile_pin_check_no_max(void **state)
{
	struct pe_token_profile profile;
	struct pe_p11_slot token;
	struct pe_secret *pin;
	struct pe_err err;
	char longpin[300];

	memset(&profile, 0, sizeof(profile));
	memset(&token, 0, sizeof(token));
	profile.name = "Test Token";
	memset(longpin, '7', sizeof(longpin));

	/* neither side sets a maximum */
	pin = pe_secret_new(longpin, sizeof(longpin));
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_OK);
	/* the token's maximum applies when the profile has none */
	token.max_pin = 255;
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	pe_secret_free(pin);
	/* and the profile's when the token reports none */
	token.max_pin = 0;
	profile.pin_max = 4;
	pin = pe_secret_new("12345", 5);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	pe_secret_free(pin);
	/* a minimum and no maximum: the message gives only the minimum */
	profile.pin_max = 0;
	token.min_pin = 4;
	pin = pe_secret_new("12", 2);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "at least 4 characters"));
	pe_secret_free(pin);
}

static void
test_pe_token_profile_pin_check_digits_only(void **state)
{
	struct pe_token_profile profile;
	struct pe_p11_slot token;
	struct pe_secret *pin;
	struct pe_err err;

	memset(&profile, 0, sizeof(profile));
	memset(&token, 0, sizeof(token));
	profile.name = "Digit Token";
	profile.pin_digits_only = true;
	token.min_pin = 4;
	token.max_pin = 8;

	pin = pe_secret_new("12a456", 6);
	pe_err_clear(&err);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "digits"));
	assert_non_null(strstr(err.msg, "Digit Token"));
	pe_secret_free(pin);
	pin = pe_secret_new("123456", 6);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_OK);
	pe_secret_free(pin);

	/* without the rule, letters are fine */
	profile.pin_digits_only = false;
	pin = pe_secret_new("12a456", 6);
	assert_int_equal(pe_token_profile_pin_check(&profile, &token, pin, &err), PE_OK);
	pe_secret_free(pin);
}

static void
test_pe_token_profile_label_check_length(void **state)
{
	struct pe_token_profile profile;
	struct pe_err err;
	char label[40];

	memset(&profile, 0, sizeof(profile));
	profile.name = "Test Token";
	profile.label_max = 32;

	pe_err_clear(&err);
	assert_int_equal(pe_token_profile_label_check(&profile, "", &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "empty"));

	memset(label, 'L', 32);
	label[32] = '\0';
	assert_int_equal(pe_token_profile_label_check(&profile, label, &err), PE_OK);
	label[32] = 'L';
	label[33] = '\0';
	pe_err_clear(&err);
	assert_int_equal(pe_token_profile_label_check(&profile, label, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "33"));
	assert_non_null(strstr(err.msg, "32"));

	/* 0: no limit */
	profile.label_max = 0;
	assert_int_equal(pe_token_profile_label_check(&profile, label, &err), PE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_token_profile_find_softhsm),
		cmocka_unit_test(test_pe_token_profile_find_yubikey),
		cmocka_unit_test(test_pe_token_profile_find_other_vendors),
		cmocka_unit_test(test_pe_token_profile_find_default),
		cmocka_unit_test(test_pe_token_profile_find_env_dir),
		cmocka_unit_test(test_pe_token_profile_find_missing_dir),
		cmocka_unit_test_teardown(test_pe_token_profile_find_custom, profile_remove),
		cmocka_unit_test_teardown(test_pe_token_profile_find_not_json, profile_remove),
		cmocka_unit_test_teardown(test_pe_token_profile_find_missing_version,
					  profile_remove),
		cmocka_unit_test_teardown(test_pe_token_profile_find_missing_match, profile_remove),
		cmocka_unit_test_teardown(test_pe_token_profile_find_missing_name, profile_remove),
		cmocka_unit_test_teardown(test_pe_token_profile_find_bad_key_id, profile_remove),
		cmocka_unit_test_teardown(test_pe_token_profile_find_bad_key_type, profile_remove),
		cmocka_unit_test_teardown(test_pe_token_profile_find_malformed_not_matching,
					  profile_remove),
		cmocka_unit_test(test_pe_token_profile_pin_check_length),
		cmocka_unit_test(test_pe_token_profile_pin_check_no_max),
		cmocka_unit_test(test_pe_token_profile_pin_check_digits_only),
		cmocka_unit_test(test_pe_token_profile_label_check_length),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
