/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit-verify: checks the hash chain of the audit log and names the first
 * line that was altered, removed or inserted. Exit status: 0 intact,
 * 6 broken, 3 no audit log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/store.h"

static const struct pe_cli_opt options[] = {
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_audit_verify_entry;
	struct pe_audit_check check;
	struct pe_store *store;
	struct pe_err err;
	char *path = NULL;
	enum pe_code rc = PE_OK;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		return pe_cli_usage(cli, cmd, "invalid option");
	}
	if (optind + 1 < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc) {
		path = strdup(argv[optind]);
	} else {
		rc = pe_cli_store(cli, &store, &err);
		if (rc == PE_OK)
			path = pe_store_audit_path(store);
	}
	if (rc == PE_OK && path == NULL)
		rc = pe_err_set(&err, PE_E_FAIL, "out of memory");
	if (rc == PE_OK)
		rc = pe_store_audit_verify(path, &check, &err);
	if (rc != PE_OK) {
		free(path);
		return pe_cli_fail(cli, &err);
	}
	pe_out_str(cli->out, "file", path);
	pe_out_bool(cli->out, "intact", check.broken_line == 0);
	pe_out_uint(cli->out, "lines", check.lines);
	if (check.broken_line != 0) {
		pe_out_uint(cli->out, "broken_line", check.broken_line);
		pe_out_str(cli->out, "reason", check.reason);
		pe_err_set(&err, PE_E_CRYPTO, "audit log '%s': %s", path, check.reason);
		pe_msg_error(&err);
		rc = PE_E_CRYPTO;
	} else {
		pe_out_str(cli->out, "last_hash", check.last_hash);
		pe_out_text(cli->out, "audit log '%s': %zu lines, the chain is intact", path,
			    check.lines);
	}
	free(path);
	return rc;
}

const struct pe_command pe_cmd_audit_verify_entry = {
	.name = "audit-verify",
	.usage = "[FILE]",
	.summary = "Check the audit log's hash chain. Exit status: 0 intact, 6 broken (the first "
		   "broken line is named), 3 no audit log.",
	.options = options,
	.exec = exec,
};
