/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Owner types (protocols/ru-subject.md): the subject attributes each kind of
 * certificate owner must give. A CA's form and templates may ask for more;
 * the request command checks both before any key is made.
 */
#include "config.h"

#include <string.h>

#include "profile.h"

#define CN     "2.5.4.3"
#define SN     "2.5.4.4"
#define GN     "2.5.4.42"
#define C      "2.5.4.6"
#define L      "2.5.4.7"
#define ST     "2.5.4.8"
#define STREET "2.5.4.9"
#define O      "2.5.4.10"
#define OU     "2.5.4.11"
#define T      "2.5.4.12"
#define E      "1.2.840.113549.1.9.1"
#define OGRN   "1.2.643.100.1"
#define SNILS  "1.2.643.100.3"
#define INNLE  "1.2.643.100.4"
#define OGRNIP "1.2.643.100.5"
#define INN    "1.2.643.3.131.1.1"

static const char *const individual_required[] = { CN, SN, GN, C, SNILS, INN, NULL };
static const char *const individual_optional[] = { ST, L, STREET, E, NULL };
static const char *const proprietor_required[] = { CN, SN, GN, C, SNILS, INN, OGRNIP, NULL };
static const char *const legal_required[] = { CN,    O,	 C,  ST, L,	STREET, OGRN,
					      INNLE, SN, GN, T,	 SNILS, INN,	NULL };
static const char *const legal_optional[] = { OU, E, NULL };
/* since 2022 the employer link is a power of attorney; older templates add O, OU, T, OGRN */
static const char *const employee_optional[] = { ST, L, STREET, E, O, OU, T, OGRN, NULL };

static const struct pe_owner_type owner_types[] = {
	{ "individual", "an individual", individual_required, individual_optional },
	{ "sole-proprietor", "an individual entrepreneur", proprietor_required,
	  individual_optional },
	{ "legal-entity", "a legal entity, with the person who signs for it", legal_required,
	  legal_optional },
	{ "employee", "an employee of a legal entity (an individual's certificate)",
	  individual_required, employee_optional },
};

const struct pe_owner_type *
pe_owner_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(owner_types) / sizeof(owner_types[0]); i++) {
		if (strcmp(owner_types[i].name, name) == 0)
			return &owner_types[i];
	}
	return NULL;
}

const struct pe_owner_type *
pe_owner_type_at(size_t i)
{
	return i < sizeof(owner_types) / sizeof(owner_types[0]) ? &owner_types[i] : NULL;
}

const char *
pe_owner_type_missing(const struct pe_owner_type *type, const char *const *oids, size_t n)
{
	size_t i, j;

	for (i = 0; type->required[i] != NULL; i++) {
		for (j = 0; j < n; j++) {
			if (strcmp(type->required[i], oids[j]) == 0)
				break;
		}
		if (j == n)
			return type->required[i];
	}
	return NULL;
}
