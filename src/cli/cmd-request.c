/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * request: a certificate request through a CA service, in one process: the
 * subject checked against the owner type and the CA's profile, the key made
 * on the carrier, the request signed by it, submitted, recorded, and followed
 * as far as the CA allows now. 'refresh' continues it later.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "enroll/enroll.h"

#define FIELDS_MAX	 48
#define DEFAULT_TEMPLATE "1.2.643.2.2.46.0.8"

enum {
	OPT_SERVICE = 256,
	OPT_OWNER,
	OPT_TEMPLATE,
	OPT_CARRIER,
	OPT_TOKEN,
	OPT_KEY_TYPE,
	OPT_LABEL,
	OPT_FIELD,
	OPT_PIN,
	OPT_SO_PIN,
	OPT_TOKEN_LABEL,
	OPT_KEY,
};

static const struct pe_cli_opt options[] = {
	{ "service", required_argument, OPT_SERVICE, "NAME", "the CA service" },
	{ "owner-type", required_argument, OPT_OWNER, "TYPE",
	  "individual, sole-proprietor, legal-entity or employee" },
	{ "template", required_argument, OPT_TEMPLATE, "OID",
	  "the CA's template (default " DEFAULT_TEMPLATE ", \"User\")" },
	{ "carrier", required_argument, OPT_CARRIER, "NAME", "where the key lives: token" },
	{ "token", required_argument, OPT_TOKEN, "URI", "the token (when there are several)" },
	{ "key-type", required_argument, OPT_KEY_TYPE, "TYPE", "ec-p256 (default), rsa-2048, ..." },
	{ "label", required_argument, OPT_LABEL, "LABEL",
	  "the key's label (default p11enroll-ID)" },
	{ "key", required_argument, OPT_KEY, "URI",
	  "an existing key to enroll instead of making one" },
	{ "field", required_argument, OPT_FIELD, "OID=VALUE",
	  "a subject attribute; repeatable (the rest comes from the registration)" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "the token's user PIN (else asked)" },
	{ "so-pin-source", required_argument, OPT_SO_PIN, "SRC",
	  "a new token's SO PIN (else asked twice)" },
	{ "token-label", required_argument, OPT_TOKEN_LABEL, "LABEL",
	  "the label a new token is given (default p11enroll)" },
	{ NULL, 0, 0, NULL, NULL },
};

/* A missing subject attribute, asked on the terminal (where there is one). */
static enum pe_code
ask_field(const char *label, const char *oid, char **value, struct pe_err *err)
{
	char prompt[512];

	snprintf(prompt, sizeof(prompt), "%s (%s): ", label, oid);
	return pe_cli_ask(prompt, label, value, err);
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_request_entry;
	struct pe_csr_field fields[FIELDS_MAX];
	struct pe_enroll_spec spec;
	struct pe_enroll_env env;
	struct pe_request *req = NULL;
	const char *key_type = NULL;
	char *eq;
	struct pe_err err;
	enum pe_code rc;
	int c, status;

	memset(&spec, 0, sizeof(spec));
	memset(&env, 0, sizeof(env));
	spec.template_oid = DEFAULT_TEMPLATE;
	spec.carrier = "token";
	spec.fields = fields;
	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_SERVICE:
			spec.service = optarg;
			break;
		case OPT_OWNER:
			spec.owner_type = optarg;
			break;
		case OPT_TEMPLATE:
			spec.template_oid = optarg;
			break;
		case OPT_CARRIER:
			spec.carrier = optarg;
			break;
		case OPT_TOKEN:
			env.carrier.token_uri = optarg;
			break;
		case OPT_KEY_TYPE:
			key_type = optarg;
			break;
		case OPT_LABEL:
			spec.key_label = optarg;
			break;
		case OPT_KEY:
			spec.key_uri = optarg;
			break;
		case OPT_FIELD:
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg || spec.n_fields >= FIELDS_MAX)
				return pe_cli_usage(cli, cmd, "--field takes OID=VALUE");
			*eq = '\0';
			fields[spec.n_fields].attr = optarg;
			fields[spec.n_fields++].value = eq + 1;
			break;
		case OPT_PIN:
			env.carrier.pin_source = optarg;
			break;
		case OPT_SO_PIN:
			env.carrier.so_pin_source = optarg;
			break;
		case OPT_TOKEN_LABEL:
			env.carrier.init_label = optarg;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (spec.service == NULL || spec.owner_type == NULL || optind < argc)
		return pe_cli_usage(cli, cmd, "--service and --owner-type are required");
	if (spec.key_uri != NULL && (key_type != NULL || spec.key_label != NULL))
		return pe_cli_usage(cli, cmd,
				    "--key names an existing key: --key-type and --label "
				    "are for a key made by the request");
	if (spec.key_uri == NULL) {
		if (key_type == NULL)
			key_type = "ec-p256";
		spec.key_type = pe_key_type_from_name(key_type);
		if (spec.key_type == PE_KEY_NONE)
			return pe_cli_usage(cli, cmd, "unknown key type '%s'", key_type);
	}
	/* a key's URI names its token too, unless --token says which */
	if (spec.key_uri != NULL && env.carrier.token_uri == NULL)
		env.carrier.token_uri = spec.key_uri;

	env.sign_tool = "p11enroll " PACKAGE_VERSION;
	env.ask = ask_field;
	rc = pe_cli_store(cli, &env.store, &err);
	if (rc == PE_OK)
		rc = pe_cli_p11(cli, &env.carrier.p11, &err);
	if (rc == PE_OK)
		rc = pe_enroll_request(&env, &spec, &req, &err);
	if (req != NULL) {
		pe_out_text(cli->out, "request %lld: %s", (long long)req->id,
			    pe_request_user_state(req->state));
		pe_out_object(cli->out, "request", "request");
		pe_cli_request_describe(cli->out, req);
		pe_out_end(cli->out);
	}
	if (rc != PE_OK) {
		pe_request_free(req);
		return pe_cli_fail(cli, &err);
	}
	status = pe_cli_request_status(req);
	if (status != 0) {
		pe_err_set(&err, (enum pe_code)status, "request %lld: %s%s%s", (long long)req->id,
			   pe_request_user_state(req->state), req->reason ? ": " : "",
			   req->reason ? req->reason : "");
		pe_cli_fail(cli, &err);
	}
	pe_request_free(req);
	return status;
}

const struct pe_command pe_cmd_request_entry = {
	.name = "request",
	.usage = "--service NAME --owner-type TYPE [--template OID] [--carrier token] "
		 "[--token URI] [--key-type T | --key URI] [--field OID=VALUE]...",
	.summary = "Request a certificate: key on the carrier, request signed by it, submitted.",
	.options = options,
	.exec = exec,
};
