/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * init-token: give a token its label, SO PIN and user PIN. A token that is
 * already initialised is wiped only with --force and its current SO PIN.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { OPT_TOKEN = 't', OPT_LABEL = 'l', OPT_SO_PIN = 256, OPT_PIN, OPT_FORCE };

static const struct pe_cli_opt options[] = {
	{ "token", required_argument, OPT_TOKEN, "URI", "the token (or slot: pkcs11:slot-id=N)" },
	{ "label", required_argument, OPT_LABEL, "LABEL", "the token's new label" },
	{ "so-pin-source", required_argument, OPT_SO_PIN, "SRC",
	  "SO PIN: file:PATH, env:NAME or fd:N (else asked)" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "new user PIN (else asked twice)" },
	{ "force", no_argument, OPT_FORCE, NULL,
	  "initialise a token that is already initialised (destroys all its objects)" },
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_init_token_entry;
	const char *uri = NULL, *label = NULL, *so_source = NULL, *pin_source = NULL;
	struct pe_token_profile *profile = NULL;
	struct pe_p11_token *tok = NULL;
	struct pe_secret *so_pin = NULL, *user_pin = NULL;
	struct pe_err err;
	enum pe_code rc;
	bool force = false, initialized;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_TOKEN:
			uri = optarg;
			break;
		case OPT_LABEL:
			label = optarg;
			break;
		case OPT_SO_PIN:
			so_source = optarg;
			break;
		case OPT_PIN:
			pin_source = optarg;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (uri == NULL || label == NULL)
		return pe_cli_usage(cli, cmd, "--token and --label are required");
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);

	rc = pe_cli_token_open(cli, uri, PE_P11_OPEN_NO_SESSION | PE_P11_OPEN_UNINITIALIZED, &tok,
			       &profile, &err);
	if (rc != PE_OK)
		goto out;
	initialized = (pe_p11_token_info(tok)->flags & PE_P11_F_INITIALIZED) != 0;
	if (initialized && !force) {
		rc = pe_err_set(
			&err, PE_E_USAGE,
			"token %s is already initialised: --force wipes it and all its keys",
			pe_p11_token_name(tok));
		goto out;
	}
	rc = pe_token_profile_label_check(profile, label, &err);
	if (rc != PE_OK)
		goto out;
	if (initialized) {
		rc = pe_p11_token_login_check(tok, PE_P11_SO, &err);
		if (rc == PE_OK)
			rc = pe_secret_read(so_source, "--so-pin-source", "SO PIN", false, &so_pin,
					    &err);
	} else {
		rc = pe_token_profile_new_pin(profile, pe_p11_token_info(tok), so_source,
					      "--so-pin-source", "SO PIN", &so_pin, &err);
	}
	if (rc == PE_OK)
		rc = pe_token_profile_new_pin(profile, pe_p11_token_info(tok), pin_source,
					      "--pin-source", "user PIN", &user_pin, &err);
	if (rc == PE_OK)
		rc = pe_p11_token_init(tok, label, so_pin, user_pin, &err);
	if (rc != PE_OK)
		goto out;

	pe_out_text(cli->out, "initialised token %s", pe_p11_token_name(tok));
	pe_out_object(cli->out, "token", "token");
	pe_cli_token_describe(cli->out, pe_p11_token_info(tok), profile);
	pe_out_end(cli->out);
out:
	pe_secret_free(so_pin);
	pe_secret_free(user_pin);
	pe_p11_token_free(tok);
	pe_token_profile_free(profile);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_init_token_entry = {
	.name = "init-token",
	.usage = "--token URI --label LABEL [--so-pin-source SRC] [--pin-source SRC] [--force]",
	.summary = "Initialise a token: label, SO PIN, then user PIN (new PINs asked twice).",
	.options = options,
	.exec = exec,
};
