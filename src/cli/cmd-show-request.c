/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * show-request: one request in detail. Its exit status follows certmonger's
 * 'getcert status' so that scripts written for it read it the same way:
 * 0 installed, 2 rejected, 3 unreachable, 4 configuration problem, 5 processing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "store/store.h"

enum {
	STATUS_INSTALLED = 0,
	STATUS_REJECTED = 2,
	STATUS_UNREACHABLE = 3,
	STATUS_CONFIG = 4,
	STATUS_PROCESSING = 5
};

static const struct pe_cli_opt options[] = {
	{ NULL, 0, 0, NULL, NULL },
};

static int
certmonger_status(const struct pe_request *req)
{
	switch (req->state) {
	case PE_REQ_INSTALLED:
	case PE_REQ_ACKNOWLEDGED:
		return STATUS_INSTALLED;
	case PE_REQ_REJECTED:
		return STATUS_REJECTED;
	case PE_REQ_CONNECTION_PROBLEM:
		return STATUS_UNREACHABLE;
	case PE_REQ_FAILED:
		return STATUS_CONFIG;
	default:
		return STATUS_PROCESSING;
	}
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_show_request_entry;
	struct pe_request *req = NULL;
	struct pe_store *store;
	struct pe_err err;
	enum pe_code rc;
	long long id;
	char *end;
	int c, status;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		pe_cli_usage(cli, cmd, "invalid option");
		return STATUS_CONFIG;
	}
	if (optind + 1 != argc) {
		pe_cli_usage(cli, cmd, "give the request ID");
		return STATUS_CONFIG;
	}
	id = strtoll(argv[optind], &end, 10);
	if (*end != '\0' || id <= 0) {
		pe_cli_usage(cli, cmd, "'%s' is not a request ID", argv[optind]);
		return STATUS_CONFIG;
	}
	rc = pe_cli_store(cli, &store, &err);
	if (rc == PE_OK)
		rc = pe_store_request_get(store, id, &req, &err);
	if (rc != PE_OK) {
		pe_cli_fail(cli, &err);
		return STATUS_CONFIG;
	}
	pe_out_text(cli->out, "request %lld: %s", id, pe_request_user_state(req->state));
	pe_out_object(cli->out, "request", "request");
	pe_cli_request_describe(cli->out, req);
	pe_out_end(cli->out);
	status = certmonger_status(req);
	pe_request_free(req);
	return status;
}

const struct pe_command pe_cmd_show_request_entry = {
	.name = "show-request",
	.usage = "ID",
	.summary = "Show a request. Exit status: 0 installed, 2 rejected, 3 unreachable, "
		   "4 configuration, 5 processing.",
	.options = options,
	.exec = exec,
};
