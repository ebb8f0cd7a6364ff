/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list-templates: the certificate templates a CA service offers.
 */
#include "config.h"

#include <stdio.h>

#include "cli.h"
#include "enroll/enroll.h"

enum { OPT_SERVICE = 256 };

static const struct pe_cli_opt options[] = {
	{ "service", required_argument, OPT_SERVICE, "NAME", "the service" },
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_list_templates_entry;
	const char *name = NULL;
	struct pe_service *svc = NULL;
	struct pe_ca_template *list = NULL;
	struct pe_enroll_conn conn;
	struct pe_store *store;
	struct pe_err err;
	size_t n = 0, i;
	char title[512];
	enum pe_code rc;
	bool open = false;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == OPT_SERVICE)
			name = optarg;
		else if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		else
			return pe_cli_usage(cli, cmd, "invalid option");
	}
	if (name == NULL || optind < argc)
		return pe_cli_usage(cli, cmd, "--service NAME is required");
	rc = pe_cli_store(cli, &store, &err);
	if (rc == PE_OK)
		rc = pe_store_service_get(store, name, &svc, &err);
	if (rc == PE_OK)
		rc = pe_enroll_conn_open(store, svc, 0, &conn, &err);
	open = rc == PE_OK;
	if (rc == PE_OK && conn.ops->templates == NULL)
		rc = pe_err_set(&err, PE_E_USAGE,
				"the %s protocol has no template list: give the template "
				"the CA's operator names to 'request --template'",
				conn.ops->name);
	else if (rc == PE_OK)
		rc = conn.ops->templates(&conn.conn, &list, &n, &err);
	if (rc != PE_OK)
		goto out;
	pe_out_list(cli->out, "templates");
	for (i = 0; i < n; i++) {
		snprintf(title, sizeof(title), "%s  %s", list[i].oid,
			 list[i].name ? list[i].name : "");
		pe_out_text(cli->out, "%s", title);
		if (cli->json) {
			pe_out_item(cli->out, NULL);
			pe_out_str(cli->out, "oid", list[i].oid);
			pe_out_str(cli->out, "name", list[i].name);
			pe_out_end(cli->out);
		}
	}
	pe_out_end(cli->out);
out:
	pe_ca_templates_free(list, n);
	if (open)
		pe_enroll_conn_close(&conn);
	pe_service_free(svc);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_list_templates_entry = {
	.name = "list-templates",
	.usage = "--service NAME",
	.summary = "List the certificate templates a CA service offers.",
	.options = options,
	.exec = exec,
};
