/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list-certs: the personal store: every certificate p11enroll installed, with
 * the carrier and key it sits next to.
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
	const struct pe_command *cmd = &pe_cmd_list_certs_entry;
	struct pe_cert_entry **list = NULL;
	struct pe_store *store;
	struct pe_err err;
	size_t n = 0, i;
	char text[64];
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
		rc = pe_store_cert_list(store, &list, &n, &err);
	if (rc != PE_OK)
		return pe_cli_fail(cli, &err);
	pe_out_list(cli->out, "certificates");
	for (i = 0; i < n; i++) {
		pe_out_item(cli->out, list[i]->subject);
		pe_out_str(cli->out, "subject", list[i]->subject);
		pe_out_str(cli->out, "issuer", list[i]->issuer);
		pe_out_str(cli->out, "serial", list[i]->serial);
		pe_out_str(cli->out, "sha256", list[i]->sha256);
		pe_out_str(cli->out, "not_after", list[i]->not_after);
		pe_out_str(cli->out, "carrier", list[i]->carrier);
		pe_out_str(cli->out, "token_serial", list[i]->token_serial);
		pe_out_str(cli->out, "key_id", list[i]->key_id);
		snprintf(text, sizeof(text), "%lld", (long long)list[i]->request_id);
		pe_out_str(cli->out, "request_id", text);
		pe_out_str(cli->out, "installed_at", list[i]->installed_at);
		pe_out_end(cli->out);
	}
	pe_out_end(cli->out);
	if (n == 0)
		pe_out_text(cli->out, "no certificates");
	pe_cert_entry_list_free(list, n);
	return 0;
}

const struct pe_command pe_cmd_list_certs_entry = {
	.name = "list-certs",
	.usage = "",
	.summary = "List the personal certificates and the carriers they are on.",
	.options = options,
	.exec = exec,
};
