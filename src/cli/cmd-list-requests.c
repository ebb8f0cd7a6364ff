/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list-requests: every request with the seed's four states (processing,
 * rejected with the CA's reason, installed, connection-problem with the last
 * known server state), from the record; 'refresh' asks the CAs.
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
	const struct pe_command *cmd = &pe_cmd_list_requests_entry;
	struct pe_request **list = NULL;
	struct pe_store *store;
	struct pe_err err;
	size_t n = 0, i;
	char title[512];
	enum pe_code rc;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		return pe_cli_usage(cli, cmd, "invalid option");
	}
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);
	rc = pe_cli_store(cli, &store, &err);
	if (rc == PE_OK)
		rc = pe_store_request_list(store, &list, &n, &err);
	if (rc != PE_OK)
		return pe_cli_fail(cli, &err);
	pe_out_list(cli->out, "requests");
	for (i = 0; i < n; i++) {
		snprintf(title, sizeof(title), "request %lld: %s (%s)%s%s", (long long)list[i]->id,
			 pe_request_user_state(list[i]->state),
			 pe_request_state_name(list[i]->state), list[i]->reason ? ": " : "",
			 list[i]->reason ? list[i]->reason : "");
		pe_out_item(cli->out, title);
		pe_cli_request_describe(cli->out, list[i]);
		pe_out_end(cli->out);
	}
	pe_out_end(cli->out);
	if (n == 0)
		pe_out_text(cli->out, "no requests");
	pe_request_list_free(list, n);
	return 0;
}

const struct pe_command pe_cmd_list_requests_entry = {
	.name = "list-requests",
	.usage = "",
	.summary = "List the requests: processing, rejected, installed, connection problem.",
	.options = options,
	.exec = exec,
};
