/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * set-pin: change the user PIN, the SO PIN (--so), or set a new user PIN
 * with the SO PIN (--unblock), for a PIN that is locked or forgotten.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { OPT_TOKEN = 't', OPT_SO = 256, OPT_UNBLOCK, OPT_PIN, OPT_SO_PIN, OPT_NEW_PIN };

static const struct pe_cli_opt options[] = {
	{ "token", required_argument, OPT_TOKEN, "URI", "the token" },
	{ "so", no_argument, OPT_SO, NULL, "change the SO PIN" },
	{ "unblock", no_argument, OPT_UNBLOCK, NULL, "set a new user PIN with the SO PIN" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "current user PIN (else asked)" },
	{ "so-pin-source", required_argument, OPT_SO_PIN, "SRC", "current SO PIN (else asked)" },
	{ "new-pin-source", required_argument, OPT_NEW_PIN, "SRC",
	  "the new PIN (else asked twice)" },
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_set_pin_entry;
	const char *uri = NULL, *pin_source = NULL, *so_source = NULL, *new_source = NULL;
	struct pe_token_profile *profile = NULL;
	struct pe_p11_token *tok = NULL;
	struct pe_secret *old_pin = NULL, *new_pin = NULL;
	struct pe_err err;
	enum pe_code rc;
	bool so = false, unblock = false;
	enum pe_p11_user who;
	const char *what;
	char prompt[160];
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_TOKEN:
			uri = optarg;
			break;
		case OPT_SO:
			so = true;
			break;
		case OPT_UNBLOCK:
			unblock = true;
			break;
		case OPT_PIN:
			pin_source = optarg;
			break;
		case OPT_SO_PIN:
			so_source = optarg;
			break;
		case OPT_NEW_PIN:
			new_source = optarg;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (uri == NULL)
		return pe_cli_usage(cli, cmd, "--token is required");
	if (so && unblock)
		return pe_cli_usage(cli, cmd, "--so and --unblock do not go together");
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);

	who = so || unblock ? PE_P11_SO : PE_P11_USER;
	what = so ? "SO PIN" : "user PIN";
	rc = pe_cli_token_open(cli, uri, PE_P11_OPEN_RW, &tok, &profile, &err);
	if (rc != PE_OK)
		goto out;
	rc = pe_p11_token_login_check(tok, who, &err);
	if (rc != PE_OK)
		goto out;
	if (!pe_p11_token_has_pin_pad(tok) || (who == PE_P11_SO ? so_source : pin_source)) {
		snprintf(prompt, sizeof(prompt), "current %s of token %s",
			 who == PE_P11_SO ? "SO PIN" : "PIN", pe_p11_token_name(tok));
		rc = pe_secret_read(who == PE_P11_SO ? so_source : pin_source,
				    who == PE_P11_SO ? "--so-pin-source" : "--pin-source", prompt,
				    false, &old_pin, &err);
		if (rc != PE_OK)
			goto out;
	}
	rc = pe_token_profile_new_pin(profile, pe_p11_token_info(tok), new_source,
				      "--new-pin-source", what, &new_pin, &err);
	if (rc == PE_OK)
		rc = pe_p11_token_login(tok, who, old_pin, &err);
	if (rc == PE_OK && unblock)
		rc = pe_p11_token_init_pin(tok, new_pin, &err);
	else if (rc == PE_OK)
		rc = pe_p11_token_set_pin(tok, who, old_pin, new_pin, &err);
	if (rc == PE_OK)
		rc = pe_p11_token_refresh(tok, &err);
	if (rc != PE_OK)
		goto out;
	pe_out_text(cli->out, "%s of token %s %s", what, pe_p11_token_name(tok),
		    unblock ? "set by the SO" : "changed");
	pe_out_str(cli->out, "changed", so ? "so_pin" : "user_pin");
	pe_out_bool(cli->out, "unblocked", unblock);
	pe_out_object(cli->out, "token", "token");
	pe_cli_token_describe(cli->out, pe_p11_token_info(tok), profile);
	pe_out_end(cli->out);
out:
	pe_secret_free(old_pin);
	pe_secret_free(new_pin);
	pe_p11_token_free(tok);
	pe_token_profile_free(profile);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_set_pin_entry = {
	.name = "set-pin",
	.usage = "--token URI [--so | --unblock] [--pin-source SRC] [--so-pin-source SRC] "
		 "[--new-pin-source SRC]",
	.summary = "Change the user PIN, the SO PIN (--so), or unblock the user PIN with the "
		   "SO PIN.",
	.options = options,
	.exec = exec,
};
