/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list-services: every CA service with its live status (ready,
 * awaiting-approval, not-authenticated, rejected, unreachable), asked with
 * short timeouts so that a dead service never hangs the list.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "enroll/enroll.h"

static const struct pe_cli_opt options[] = {
	{ "offline", no_argument, 'o', NULL, "show the last known status, ask no service" },
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_list_services_entry;
	struct pe_service **list = NULL;
	struct pe_store *store;
	struct pe_err err;
	size_t n = 0, i;
	bool offline = false;
	char title[512];
	enum pe_code rc;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == 'o')
			offline = true;
		else if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		else
			return pe_cli_usage(cli, cmd, "invalid option");
	}
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);
	rc = pe_cli_store(cli, &store, &err);
	if (rc == PE_OK)
		rc = pe_store_service_list(store, &list, &n, &err);
	for (i = 0; rc == PE_OK && !offline && i < n; i++)
		rc = pe_enroll_service_check(store, list[i], &err);
	if (rc != PE_OK)
		goto out;
	pe_out_list(cli->out, "services");
	for (i = 0; i < n; i++) {
		snprintf(title, sizeof(title), "%s: %s", list[i]->name,
			 pe_service_status_name(list[i]->status));
		pe_out_item(cli->out, title);
		pe_out_str(cli->out, "name", list[i]->name);
		pe_out_str(cli->out, "url", list[i]->url);
		pe_out_str(cli->out, "protocol", list[i]->protocol);
		pe_out_str(cli->out, "login", list[i]->login);
		pe_out_str(cli->out, "status", pe_service_status_name(list[i]->status));
		pe_out_str(cli->out, "detail", list[i]->status_detail);
		pe_out_str(cli->out, "checked_at", list[i]->checked_at);
		pe_out_end(cli->out);
	}
	pe_out_end(cli->out);
	if (n == 0)
		pe_out_text(cli->out, "no services: add one with 'p11enroll add-service'");
out:
	pe_service_list_free(list, n);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_list_services_entry = {
	.name = "list-services",
	.usage = "[--offline]",
	.summary = "List the CA services with their live status.",
	.options = options,
	.exec = exec,
};
