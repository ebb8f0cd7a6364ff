/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for RFC 7512 token selection in src/p11/uri.c: which slots a URI
 * matches, given token and slot information built by hand. No module is loaded.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>

#include <cmocka.h>

#include "p11/p11-int.h"

/* Copies @s into a space-padded PKCS#11 field of @size bytes. */
static void
pad(unsigned char *field, size_t size, const char *s)
{
	size_t len = strlen(s);

	memset(field, ' ', size);
	memcpy(field, s, len < size ? len : size);
}

static void
token_fill(CK_TOKEN_INFO *ti, const char *label, const char *manufacturer, const char *model,
	   const char *serial)
{
	memset(ti, 0, sizeof(*ti));
	pad(ti->label, sizeof(ti->label), label);
	pad(ti->manufacturerID, sizeof(ti->manufacturerID), manufacturer);
	pad(ti->model, sizeof(ti->model), model);
	pad(ti->serialNumber, sizeof(ti->serialNumber), serial);
	ti->flags = CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
}

static void
slot_fill(CK_SLOT_INFO *si, const char *description, const char *manufacturer)
{
	memset(si, 0, sizeof(*si));
	pad(si->slotDescription, sizeof(si->slotDescription), description);
	pad(si->manufacturerID, sizeof(si->manufacturerID), manufacturer);
	si->flags = CKF_TOKEN_PRESENT;
}

/* The two tokens every case looks at: a SoftHSM token and a YubiKey. */
struct fixture {
	CK_TOKEN_INFO soft;
	CK_TOKEN_INFO yubi;
	CK_SLOT_INFO soft_slot;
	CK_SLOT_INFO yubi_slot;
};

static int
setup(void **state)
{
	static struct fixture fx;

	token_fill(&fx.soft, "alpha", "SoftHSM project", "SoftHSM v2", "1f2e3d4c5b6a7980");
	token_fill(&fx.yubi, "YubiKey PIV #123", "Yubico (www.yubico.com)", "YubiKey YK5", "123");
	slot_fill(&fx.soft_slot, "SoftHSM slot ID 0x1f2e3d4c", "SoftHSM project");
	slot_fill(&fx.yubi_slot, "Yubico YubiKey OTP+FIDO+CCID", "Yubico");
	*state = &fx;
	return 0;
}

/* Parses @string, which must succeed, and matches it against one token. */
static bool
matches(const char *string, CK_SLOT_ID id, const CK_SLOT_INFO *slot, const CK_TOKEN_INFO *token)
{
	P11KitUri *uri = NULL;
	struct pe_err err;
	bool hit;

	pe_err_clear(&err);
	assert_int_equal(pe_p11_uri_parse(string, &uri, &err), PE_OK);
	assert_non_null(uri);
	hit = pe_p11_uri_match_slot(uri, NULL, id, slot, token);
	p11_kit_uri_free(uri);
	return hit;
}

static void
test_pe_p11_uri_parse_empty_matches_all(void **state)
{
	struct fixture *fx = *state;
	P11KitUri *uri = NULL;
	struct pe_err err;

	assert_true(matches("pkcs11:", 1, &fx->soft_slot, &fx->soft));
	assert_true(matches("pkcs11:", 2, &fx->yubi_slot, &fx->yubi));
	assert_true(matches("pkcs11:", 3, NULL, &fx->yubi));

	/* NULL means "pkcs11:" */
	assert_int_equal(pe_p11_uri_parse(NULL, &uri, &err), PE_OK);
	assert_non_null(uri);
	assert_true(pe_p11_uri_match_slot(uri, NULL, 7, &fx->soft_slot, &fx->soft));
	assert_true(pe_p11_uri_match_slot(uri, NULL, 8, &fx->yubi_slot, &fx->yubi));
	p11_kit_uri_free(uri);
}

static void
test_pe_p11_uri_match_slot_token_label(void **state)
{
	struct fixture *fx = *state;

	assert_true(matches("pkcs11:token=alpha", 1, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:token=alpha", 2, &fx->yubi_slot, &fx->yubi));
	assert_false(matches("pkcs11:token=alph", 1, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:token=beta", 1, &fx->soft_slot, &fx->soft));
	/* percent-encoded space and '#' */
	assert_true(matches("pkcs11:token=YubiKey%20PIV%20%23123", 2, &fx->yubi_slot, &fx->yubi));
	assert_false(matches("pkcs11:token=YubiKey%20PIV%20%23123", 1, &fx->soft_slot, &fx->soft));
}

static void
test_pe_p11_uri_match_slot_serial(void **state)
{
	struct fixture *fx = *state;

	assert_true(matches("pkcs11:serial=1f2e3d4c5b6a7980", 1, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:serial=1f2e3d4c5b6a7981", 1, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:serial=1f2e3d4c5b6a7980", 2, &fx->yubi_slot, &fx->yubi));
	assert_true(matches("pkcs11:serial=123", 2, &fx->yubi_slot, &fx->yubi));
}

static void
test_pe_p11_uri_match_slot_model_manufacturer(void **state)
{
	struct fixture *fx = *state;

	assert_true(matches("pkcs11:model=SoftHSM%20v2", 1, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:model=SoftHSM%20v2", 2, &fx->yubi_slot, &fx->yubi));
	assert_true(matches("pkcs11:manufacturer=Yubico%20%28www.yubico.com%29", 2, &fx->yubi_slot,
			    &fx->yubi));
	assert_false(matches("pkcs11:manufacturer=Yubico", 2, &fx->yubi_slot, &fx->yubi));
	/* every attribute given must fit */
	assert_true(matches("pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;token=alpha",
			    1, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:model=SoftHSM%20v2;token=beta", 1, &fx->soft_slot, &fx->soft));
}

static void
test_pe_p11_uri_match_slot_slot_id(void **state)
{
	struct fixture *fx = *state;

	assert_true(matches("pkcs11:slot-id=5", 5, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:slot-id=5", 6, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:slot-id=5", 0, &fx->soft_slot, &fx->soft));
	assert_true(matches("pkcs11:slot-id=0", 0, &fx->soft_slot, &fx->soft));
	/* a slot id and a token label must both fit */
	assert_true(matches("pkcs11:slot-id=5;token=alpha", 5, &fx->soft_slot, &fx->soft));
	assert_false(matches("pkcs11:slot-id=5;token=alpha", 5, &fx->yubi_slot, &fx->yubi));
	/* without a slot-id any slot does */
	assert_true(matches("pkcs11:token=alpha", 123456, &fx->soft_slot, &fx->soft));
}

static void
test_pe_p11_uri_match_slot_slot_info(void **state)
{
	struct fixture *fx = *state;

	assert_true(matches("pkcs11:slot-manufacturer=SoftHSM%20project", 1, &fx->soft_slot,
			    &fx->soft));
	assert_false(matches("pkcs11:slot-manufacturer=SoftHSM%20project", 2, &fx->yubi_slot,
			     &fx->yubi));
	/* with no slot information the slot attributes are not looked at */
	assert_true(matches("pkcs11:slot-manufacturer=SoftHSM%20project", 2, NULL, &fx->yubi));
}

static void
test_pe_p11_uri_match_slot_object_ignored(void **state)
{
	struct fixture *fx = *state;

	/* a key URI opens its token: the object part does not take part in the match */
	assert_true(matches("pkcs11:token=alpha;object=my-key;id=%01%02;type=private", 1,
			    &fx->soft_slot, &fx->soft));
	assert_true(
		matches("pkcs11:object=nothing-like-this;type=cert", 2, &fx->yubi_slot, &fx->yubi));
	assert_false(matches("pkcs11:token=alpha;object=my-key;type=private", 2, &fx->yubi_slot,
			     &fx->yubi));
}

static void
test_pe_p11_uri_match_slot_module(void **state)
{
	struct fixture *fx = *state;
	CK_INFO module;
	P11KitUri *uri = NULL;
	struct pe_err err;

	memset(&module, 0, sizeof(module));
	pad(module.manufacturerID, sizeof(module.manufacturerID), "SoftHSM");
	pad(module.libraryDescription, sizeof(module.libraryDescription),
	    "Implementation of PKCS11");
	module.cryptokiVersion.major = 2;
	module.cryptokiVersion.minor = 40;

	assert_int_equal(pe_p11_uri_parse("pkcs11:library-manufacturer=SoftHSM", &uri, &err),
			 PE_OK);
	assert_true(pe_p11_uri_match_slot(uri, &module, 1, &fx->soft_slot, &fx->soft));
	/* NULL skips the module check */
	assert_true(pe_p11_uri_match_slot(uri, NULL, 1, &fx->soft_slot, &fx->soft));
	p11_kit_uri_free(uri);
	uri = NULL;

	assert_int_equal(pe_p11_uri_parse("pkcs11:library-manufacturer=OpenSC", &uri, &err), PE_OK);
	assert_false(pe_p11_uri_match_slot(uri, &module, 1, &fx->soft_slot, &fx->soft));
	p11_kit_uri_free(uri);
}

static void
test_pe_p11_uri_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"http://x", "pkcs11:token=%zz", "pkcs11:token=%4", "token=alpha", "",
	};
	P11KitUri *uri;
	struct pe_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uri = NULL;
		pe_err_clear(&err);
		assert_int_equal(pe_p11_uri_parse(bad[i], &uri, &err), PE_E_USAGE);
		assert_null(uri);
		assert_int_equal(err.code, PE_E_USAGE);
		/* the message quotes the URI */
		assert_non_null(strstr(err.msg, bad[i]));
	}
}

static void
test_pe_p11_uri_parse_unknown_attribute(void **state)
{
	P11KitUri *uri = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(pe_p11_uri_parse("pkcs11:foo=bar", &uri, &err), PE_E_USAGE);
	assert_null(uri);
	assert_non_null(strstr(err.msg, "pkcs11:foo=bar"));

	uri = NULL;
	assert_int_equal(pe_p11_uri_parse("pkcs11:token=alpha;colour=blue", &uri, &err),
			 PE_E_USAGE);
	assert_null(uri);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pe_p11_uri_parse_empty_matches_all, setup),
		cmocka_unit_test_setup(test_pe_p11_uri_match_slot_token_label, setup),
		cmocka_unit_test_setup(test_pe_p11_uri_match_slot_serial, setup),
		cmocka_unit_test_setup(test_pe_p11_uri_match_slot_model_manufacturer, setup),
		cmocka_unit_test_setup(test_pe_p11_uri_match_slot_slot_id, setup),
		cmocka_unit_test_setup(test_pe_p11_uri_match_slot_slot_info, setup),
		cmocka_unit_test_setup(test_pe_p11_uri_match_slot_object_ignored, setup),
		cmocka_unit_test_setup(test_pe_p11_uri_match_slot_module, setup),
		cmocka_unit_test(test_pe_p11_uri_parse_malformed),
		cmocka_unit_test(test_pe_p11_uri_parse_unknown_attribute),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
