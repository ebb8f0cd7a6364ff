/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * import-cert: write a certificate onto the token next to the private key
 * it belongs to. A certificate for a key the token does not hold is refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "csr/csr.h"

enum { OPT_TOKEN = 't', OPT_CERT = 'c', OPT_PIN = 256 };

static const struct pe_cli_opt options[] = {
	{ "token", required_argument, OPT_TOKEN, "URI", "the token" },
	{ "cert", required_argument, OPT_CERT, "FILE", "the certificate, PEM or DER" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "user PIN (else asked)" },
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_import_cert_entry;
	const char *uri = NULL, *path = NULL, *pin_source = NULL;
	struct pe_token_profile *profile = NULL;
	struct pe_p11_cert_result res = { NULL, NULL, NULL, NULL, false };
	struct pe_p11_token *tok = NULL;
	struct pe_cert *cert = NULL;
	struct pe_err err;
	enum pe_code rc;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_TOKEN:
			uri = optarg;
			break;
		case OPT_CERT:
			path = optarg;
			break;
		case OPT_PIN:
			pin_source = optarg;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (uri == NULL || path == NULL)
		return pe_cli_usage(cli, cmd, "--token and --cert are required");
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);

	rc = pe_cert_load(path, &cert, &err);
	if (rc == PE_OK)
		rc = pe_cli_token_open(cli, uri, PE_P11_OPEN_RW, &tok, &profile, &err);
	if (rc == PE_OK)
		rc = pe_p11_token_login_source(tok, PE_P11_USER, pin_source, "--pin-source", &err);
	if (rc == PE_OK)
		rc = pe_p11_cert_import(tok, pe_cert_p11(cert), profile->cert_private, &res, &err);
	if (rc != PE_OK)
		goto out;
	if (res.already_present)
		pe_out_text(cli->out, "the certificate is already on token %s next to key '%s'",
			    pe_p11_token_name(tok), res.label);
	else
		pe_out_text(cli->out, "certificate written to token %s next to key '%s'",
			    pe_p11_token_name(tok), res.label);
	pe_out_bool(cli->out, "written", !res.already_present);
	pe_out_str(cli->out, "label", res.label);
	pe_out_str(cli->out, "id", res.id_hex);
	pe_out_str(cli->out, "key_uri", res.key_uri);
	pe_out_str(cli->out, "cert_uri", res.cert_uri);
	pe_out_str(cli->out, "subject", pe_cert_subject(cert));
	pe_out_str(cli->out, "serial", pe_cert_serial_hex(cert));
	pe_out_str(cli->out, "sha256", pe_cert_sha256_hex(cert));
out:
	pe_p11_cert_result_cleanup(&res);
	pe_cert_free(cert);
	pe_p11_token_free(tok);
	pe_token_profile_free(profile);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_import_cert_entry = {
	.name = "import-cert",
	.usage = "--token URI --cert FILE [--pin-source SRC]",
	.summary = "Write a certificate onto the token next to its private key.",
	.options = options,
	.exec = exec,
};
