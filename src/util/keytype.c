/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key types and hashes by name: the words of the command line (--type
 * ec-p256) shared by the token, the CSR builder and the containers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct {
	const char *name;
	enum pe_key_family family;
	unsigned bits;
} key_types[PE_KEY_TYPE_MAX] = {
	[PE_KEY_NONE] = { "none", PE_FAMILY_NONE, 0 },
	[PE_KEY_RSA_2048] = { "rsa-2048", PE_FAMILY_RSA, 2048 },
	[PE_KEY_RSA_3072] = { "rsa-3072", PE_FAMILY_RSA, 3072 },
	[PE_KEY_RSA_4096] = { "rsa-4096", PE_FAMILY_RSA, 4096 },
	[PE_KEY_EC_P256] = { "ec-p256", PE_FAMILY_EC, 256 },
	[PE_KEY_EC_P384] = { "ec-p384", PE_FAMILY_EC, 384 },
	[PE_KEY_ED25519] = { "ed25519", PE_FAMILY_EDDSA, 256 },
	[PE_KEY_GOST2012_256] = { "gost2012-256", PE_FAMILY_GOST, 256 },
	[PE_KEY_GOST2012_512] = { "gost2012-512", PE_FAMILY_GOST, 512 },
};

const char *
pe_key_type_name(enum pe_key_type type)
{
	if (type <= PE_KEY_NONE || type >= PE_KEY_TYPE_MAX)
		return "none";
	return key_types[type].name;
}

enum pe_key_type
pe_key_type_from_name(const char *name)
{
	int i;

	for (i = PE_KEY_NONE + 1; i < PE_KEY_TYPE_MAX; i++) {
		if (strcmp(name, key_types[i].name) == 0)
			return (enum pe_key_type)i;
	}
	return PE_KEY_NONE;
}

enum pe_key_family
pe_key_type_family(enum pe_key_type type)
{
	if (type <= PE_KEY_NONE || type >= PE_KEY_TYPE_MAX)
		return PE_FAMILY_NONE;
	return key_types[type].family;
}

unsigned
pe_key_type_bits(enum pe_key_type type)
{
	if (type <= PE_KEY_NONE || type >= PE_KEY_TYPE_MAX)
		return 0;
	return key_types[type].bits;
}

void
pe_key_types_format(unsigned mask, char *out, size_t size)
{
	size_t used = 0;
	int i;

	if (size == 0)
		return;
	out[0] = '\0';
	for (i = PE_KEY_NONE + 1; i < PE_KEY_TYPE_MAX; i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", key_types[i].name);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(out, size, "none");
}

size_t
pe_hash_size(enum pe_hash hash)
{
	switch (hash) {
	case PE_HASH_SHA1:
		return 20;
	case PE_HASH_SHA256:
		return 32;
	case PE_HASH_SHA384:
		return 48;
	case PE_HASH_SHA512:
		return 64;
	case PE_HASH_NONE:
		break;
	}
	return 0;
}

const char *
pe_hash_name(enum pe_hash hash)
{
	switch (hash) {
	case PE_HASH_SHA1:
		return "sha1";
	case PE_HASH_SHA256:
		return "sha256";
	case PE_HASH_SHA384:
		return "sha384";
	case PE_HASH_SHA512:
		return "sha512";
	case PE_HASH_NONE:
		break;
	}
	return "none";
}
