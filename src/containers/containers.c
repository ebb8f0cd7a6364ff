/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of key carriers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "containers.h"

static const struct pe_container_ops *const carriers[] = {
	&pe_container_token_ops,
	NULL,
};

const struct pe_container_ops *
pe_container_find(const char *name)
{
	size_t i;

	for (i = 0; carriers[i] != NULL; i++) {
		if (strcmp(carriers[i]->name, name) == 0)
			return carriers[i];
	}
	return NULL;
}

void
pe_key_ref_cleanup(struct pe_key_ref *ref)
{
	free(ref->label);
	free(ref->id_hex);
	free(ref->uri);
	free(ref->serial);
	free(ref->model);
	memset(ref, 0, sizeof(*ref));
}
