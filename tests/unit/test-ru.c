/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Check digits of the Russian registry numbers, with the valid and invalid
 * examples of protocols/ru-subject.md and the remainders that a widely used
 * library gets wrong.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "profile/profile.h"

static void
test_pe_ru_inn_valid_examples(void **state)
{
	assert_true(pe_ru_inn_valid("7707083893"));
	assert_true(pe_ru_inn_valid("1234567894"));
	assert_false(pe_ru_inn_valid("7707083894"));
	assert_true(pe_ru_inn_valid("500100732259"));
	assert_false(pe_ru_inn_valid("500100732258"));
	assert_false(pe_ru_inn_valid("50010073225")); /* 11 digits */
	assert_false(pe_ru_inn_valid("77070838a3"));
	assert_false(pe_ru_inn_valid(""));
}

static void
test_pe_ru_ogrn_valid_examples(void **state)
{
	assert_true(pe_ru_ogrn_valid("1027700132195"));
	assert_true(pe_ru_ogrn_valid("1037739010891"));
	assert_false(pe_ru_ogrn_valid("1022500001328"));
	assert_false(pe_ru_ogrn_valid("102770013219"));
}

static void
test_pe_ru_ogrnip_valid_examples(void **state)
{
	assert_true(pe_ru_ogrnip_valid("304500116000157"));
	assert_false(pe_ru_ogrnip_valid("304500116000158"));
	assert_false(pe_ru_ogrnip_valid("30450011600015"));
}

/* Remainders 11 and 12 end in 1 and 2, not 0: the mistake ru-subject.md warns about. */
static void
test_pe_ru_ogrnip_valid_high_remainders(void **state)
{
	char number[16];
	unsigned long long head;
	int found11 = 0, found12 = 0;

	for (head = 30450011600000ULL; head < 30450011600100ULL; head++) {
		unsigned r = (unsigned)(head % 13);

		if (r != 11 && r != 12)
			continue;
		snprintf(number, sizeof(number), "%014llu%u", head, r % 10);
		assert_true(pe_ru_ogrnip_valid(number));
		snprintf(number, sizeof(number), "%014llu0", head);
		assert_false(pe_ru_ogrnip_valid(number));
		if (r == 11)
			found11++;
		else
			found12++;
	}
	assert_true(found11 > 0 && found12 > 0);
}

static void
test_pe_ru_snils_valid_examples(void **state)
{
	assert_true(pe_ru_snils_valid("11223344595"));
	assert_true(pe_ru_snils_valid("08765430300"));
	assert_false(pe_ru_snils_valid("11223344596"));
	assert_false(pe_ru_snils_valid("1122334459"));
	/* the check number is not defined at or below 001-001-998 */
	assert_true(pe_ru_snils_valid("00100199812"));
}

static void
test_pe_ru_field_check_names_the_field(void **state)
{
	struct pe_err err;

	assert_int_equal(pe_ru_field_check("1.2.643.3.131.1.1", "INN", "500100732259", &err),
			 PE_OK);
	assert_int_equal(pe_ru_field_check("1.2.643.3.131.1.1", "INN", "500100732258", &err),
			 PE_E_USAGE);
	assert_non_null(strstr(err.msg, "INN '500100732258'"));
	assert_non_null(strstr(err.msg, "check digits"));
	/* a legal entity's INN with two leading zeros is accepted on input */
	assert_int_equal(pe_ru_field_check("1.2.643.3.131.1.1", "INN", "007707083893", &err),
			 PE_OK);
	assert_int_equal(pe_ru_field_check("1.2.643.100.4", "INNLE", "7707083893", &err), PE_OK);
	assert_int_equal(pe_ru_field_check("1.2.643.100.4", "1.2.643.100.4", "7707083894", &err),
			 PE_E_USAGE);
	assert_non_null(strstr(err.msg, "1.2.643.100.4"));
	assert_int_equal(pe_ru_field_check("1.2.643.100.1", "OGRN", "1022500001328", &err),
			 PE_E_USAGE);
	assert_int_equal(pe_ru_field_check("1.2.643.100.5", "OGRNIP", "304500116000158", &err),
			 PE_E_USAGE);
	assert_int_equal(pe_ru_field_check("1.2.643.100.3", "SNILS", "11223344596", &err),
			 PE_E_USAGE);
	/* other attributes have no check digits */
	assert_int_equal(pe_ru_field_check("2.5.4.3", "CN", "anything", &err), PE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_ru_inn_valid_examples),
		cmocka_unit_test(test_pe_ru_ogrn_valid_examples),
		cmocka_unit_test(test_pe_ru_ogrnip_valid_examples),
		cmocka_unit_test(test_pe_ru_ogrnip_valid_high_remainders),
		cmocka_unit_test(test_pe_ru_snils_valid_examples),
		cmocka_unit_test(test_pe_ru_field_check_names_the_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
