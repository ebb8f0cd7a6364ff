/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * remove-service: forget a CA service, its password file and its trusted
 * roots. Requests made through it keep their history.
 */
#include "config.h"

#include <stdio.h>

#include "cli.h"
#include "store/store.h"

static const struct pe_cli_opt options[] = {
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_remove_service_entry;
	struct pe_store *store;
	struct pe_err err;
	enum pe_code rc;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		return pe_cli_usage(cli, cmd, "invalid option");
	}
	if (optind + 1 != argc)
		return pe_cli_usage(cli, cmd, "give the NAME of the service");
	rc = pe_cli_store(cli, &store, &err);
	if (rc == PE_OK)
		rc = pe_store_service_remove(store, argv[optind], &err);
	if (rc != PE_OK)
		return pe_cli_fail(cli, &err);
	pe_out_text(cli->out, "service '%s' removed", argv[optind]);
	pe_out_str(cli->out, "removed", argv[optind]);
	return 0;
}

const struct pe_command pe_cmd_remove_service_entry = {
	.name = "remove-service",
	.usage = "NAME",
	.summary = "Forget a CA service and its credentials.",
	.options = options,
	.exec = exec,
};
