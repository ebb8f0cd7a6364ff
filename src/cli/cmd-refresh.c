/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * refresh: continue requests from their recorded state: ask the CA, download
 * what it issued, check it, install it next to the key, acknowledge it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "enroll/enroll.h"

enum { OPT_ALL = 'a', OPT_PIN = 256, OPT_TOKEN, OPT_PASSWORD };

static const struct pe_cli_opt options[] = {
	{ "all", no_argument, OPT_ALL, NULL, "every request that is not finished" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "the token's user PIN (else asked)" },
	{ "token", required_argument, OPT_TOKEN, "URI",
	  "the token, where its serial does not find it" },
	{ "password-source", required_argument, OPT_PASSWORD, "SRC",
	  "a registry or disk container's password (else asked when its key is used)" },
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_refresh_entry;
	struct pe_request **list = NULL, *one = NULL;
	struct pe_enroll_env env;
	struct pe_secret *pin = NULL, *password = NULL;
	struct pe_err err;
	size_t n = 0, i;
	char title[512];
	bool all = false;
	long long id = 0;
	enum pe_code rc;
	int c, status = 0;
	char *end;

	memset(&env, 0, sizeof(env));
	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_ALL:
			all = true;
			break;
		case OPT_PIN:
			env.carrier.pin_source = optarg;
			break;
		case OPT_TOKEN:
			env.carrier.token_uri = optarg;
			break;
		case OPT_PASSWORD:
			env.carrier.password_source = optarg;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (all == (optind < argc) || optind + 1 < argc)
		return pe_cli_usage(cli, cmd, "give one request ID or --all");
	if (!all) {
		id = strtoll(argv[optind], &end, 10);
		if (*end != '\0' || id <= 0)
			return pe_cli_usage(cli, cmd, "'%s' is not a request ID", argv[optind]);
	}
	env.sign_tool = "p11enroll " PACKAGE_VERSION;
	rc = pe_cli_store(cli, &env.store, &err);
	/* a descriptor gives its PIN once: read it now for every request that logs in */
	if (rc == PE_OK && env.carrier.pin_source != NULL &&
	    strncmp(env.carrier.pin_source, "fd:", 3) == 0) {
		rc = pe_secret_read(env.carrier.pin_source, "--pin-source", "PIN", false, &pin,
				    &err);
		env.carrier.pin = pin;
	}
	if (rc == PE_OK && env.carrier.password_source != NULL &&
	    strncmp(env.carrier.password_source, "fd:", 3) == 0) {
		rc = pe_secret_read(env.carrier.password_source, "--password-source",
				    "container password", false, &password, &err);
		env.carrier.password = password;
	}
	if (rc == PE_OK)
		env.carrier.home = pe_store_home(env.store);
	if (rc == PE_OK)
		rc = pe_cli_p11(cli, &env.carrier.p11, &err);
	if (rc == PE_OK && all)
		rc = pe_store_request_list(env.store, &list, &n, &err);
	if (rc == PE_OK && !all) {
		rc = pe_store_request_get(env.store, id, &one, &err);
		list = &one;
		n = rc == PE_OK ? 1 : 0;
	}
	if (rc != PE_OK) {
		pe_secret_free(pin);
		pe_secret_free(password);
		return pe_cli_fail(cli, &err);
	}

	pe_out_list(cli->out, "requests");
	for (i = 0; i < n; i++) {
		if (all && pe_enroll_request_done(list[i]))
			continue;
		rc = pe_enroll_refresh(&env, list[i], &err);
		if (rc != PE_OK) {
			/* one request's trouble does not stop the others; the first is the status */
			pe_cli_fail(cli, &err);
			if (status == 0)
				status = rc;
		} else if (!all && pe_cli_request_status(list[i]) != 0) {
			status = pe_cli_request_status(list[i]);
			pe_err_set(&err, (enum pe_code)status, "request %lld: %s%s%s",
				   (long long)list[i]->id, pe_request_user_state(list[i]->state),
				   list[i]->reason ? ": " : "",
				   list[i]->reason ? list[i]->reason : "");
			pe_cli_fail(cli, &err);
		}
		snprintf(title, sizeof(title), "request %lld: %s", (long long)list[i]->id,
			 pe_request_user_state(list[i]->state));
		pe_out_item(cli->out, title);
		pe_cli_request_describe(cli->out, list[i]);
		pe_out_end(cli->out);
	}
	pe_out_end(cli->out);
	if (all)
		pe_request_list_free(list, n);
	else
		pe_request_free(one);
	pe_secret_free(pin);
	pe_secret_free(password);
	return status;
}

const struct pe_command pe_cmd_refresh_entry = {
	.name = "refresh",
	.usage = "ID | --all [--pin-source SRC] [--password-source SRC]",
	.summary = "Continue requests: poll the CA, install what it issued, acknowledge it.",
	.options = options,
	.exec = exec,
};
