/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Russian subject attributes (protocols/ru-subject.md): the check digits of
 * INN, INNLE, OGRN, OGRNIP and SNILS.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "profile.h"

#define OID_OGRN   "1.2.643.100.1"
#define OID_SNILS  "1.2.643.100.3"
#define OID_INNLE  "1.2.643.100.4"
#define OID_OGRNIP "1.2.643.100.5"
#define OID_INN	   "1.2.643.3.131.1.1"

static bool
digits(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static unsigned
weighted(const char *s, const unsigned *weights, size_t n)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (unsigned)(s[i] - '0') * weights[i];
	return sum % 11 % 10;
}

bool
pe_ru_inn_valid(const char *s)
{
	static const unsigned w10[] = { 2, 4, 10, 3, 5, 9, 4, 6, 8 };
	static const unsigned w11[] = { 7, 2, 4, 10, 3, 5, 9, 4, 6, 8 };
	static const unsigned w12[] = { 3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8 };

	if (digits(s, 10))
		return weighted(s, w10, 9) == (unsigned)(s[9] - '0');
	if (digits(s, 12))
		return weighted(s, w11, 10) == (unsigned)(s[10] - '0') &&
		       weighted(s, w12, 11) == (unsigned)(s[11] - '0');
	return false;
}

static uint64_t
number(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

bool
pe_ru_ogrn_valid(const char *s)
{
	return digits(s, 13) && number(s, 12) % 11 % 10 == (uint64_t)(s[12] - '0');
}

bool
pe_ru_ogrnip_valid(const char *s)
{
	/* every remainder 10, 11 and 12 ends in its last digit: not only 10 becomes 0 */
	return digits(s, 15) && number(s, 14) % 13 % 10 == (uint64_t)(s[14] - '0');
}

bool
pe_ru_snils_valid(const char *s)
{
	unsigned sum = 0, check;
	size_t i;

	if (!digits(s, 11))
		return false;
	if (number(s, 9) <= 1001998)
		return true; /* the check number is defined only above 001-001-998 */
	for (i = 0; i < 9; i++)
		sum += (unsigned)(s[i] - '0') * (unsigned)(9 - i);
	if (sum < 100)
		check = sum;
	else if (sum == 100 || sum == 101)
		check = 0;
	else
		check = sum % 101 == 100 ? 0 : sum % 101;
	return check == number(s + 9, 2);
}

enum pe_code
pe_ru_field_check(const char *oid, const char *name, const char *value, struct pe_err *err)
{
	bool ok = true;
	const char *what = NULL;

	if (strcmp(oid, OID_INN) == 0) {
		what = "INN";
		/* a legal entity's INN written as 12 digits with "00" in front: accepted */
		ok = digits(value, 12) &&
		     (pe_ru_inn_valid(value) ||
		      (value[0] == '0' && value[1] == '0' && pe_ru_inn_valid(value + 2)));
	} else if (strcmp(oid, OID_INNLE) == 0) {
		what = "INNLE";
		ok = digits(value, 10) && pe_ru_inn_valid(value);
	} else if (strcmp(oid, OID_OGRN) == 0) {
		what = "OGRN";
		ok = pe_ru_ogrn_valid(value);
	} else if (strcmp(oid, OID_OGRNIP) == 0) {
		what = "OGRNIP";
		ok = pe_ru_ogrnip_valid(value);
	} else if (strcmp(oid, OID_SNILS) == 0) {
		what = "SNILS";
		ok = pe_ru_snils_valid(value);
	}
	if (!ok)
		return pe_err_set(err, PE_E_USAGE, "%s '%s': the check digits do not match",
				  name ? name : what, value);
	return PE_OK;
}
