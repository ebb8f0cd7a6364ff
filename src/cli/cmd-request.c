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
	OPT_DIR,
	OPT_PASSWORD,
};

static const struct pe_cli_opt options[] = {
	{ "service", required_argument, OPT_SERVICE, "NAME", "the CA service" },
	{ "owner-type", required_argument, OPT_OWNER, "TYPE",
	  "individual, sole-proprietor, legal-entity or employee" },
	{ "template", required_argument, OPT_TEMPLATE, "OID",
	  "the CA's template (default " DEFAULT_TEMPLATE ", \"User\")" },
	{ "carrier", required_argument, OPT_CARRIER, "NAME",
	  "where the key lives: token (default), registry, disk, or auto" },
	{ "token", required_argument, OPT_TOKEN, "URI", "the token (when there are several)" },
	{ "dir", required_argument, OPT_DIR, "DIR",
	  "disk: the directory of the container (on the removable medium)" },
	{ "key-type", required_argument, OPT_KEY_TYPE, "TYPE",
	  "ec-p256 (default), ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519; "
	  "registry and disk also gost2012-256, gost2012-512" },
	{ "label", required_argument, OPT_LABEL, "LABEL",
	  "the key's label, a registry or disk container's name (default p11enroll-ID)" },
	{ "key", required_argument, OPT_KEY, "URI",
	  "an existing key to enroll instead of making one" },
	{ "field", required_argument, OPT_FIELD, "OID=VALUE",
	  "a subject attribute; repeatable (the rest comes from the registration)" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "the token's user PIN (else asked)" },
	{ "so-pin-source", required_argument, OPT_SO_PIN, "SRC",
	  "a new token's SO PIN (else asked twice)" },
	{ "token-label", required_argument, OPT_TOKEN_LABEL, "LABEL",
	  "the label a new token is given (default p11enroll)" },
	{ "password-source", required_argument, OPT_PASSWORD, "SRC",
	  "a registry or disk container's new password (else asked twice)" },
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

/*
 * "--carrier auto" made a choice (the one usable token, else the registry),
 * told on stderr and, with --json, in the document; then what a software
 * container needs: its place, and its new password (asked twice on a
 * terminal) before anything is made or recorded.
 */
static enum pe_code
carrier_prepare(struct pe_cli *cli, struct pe_enroll_spec *spec, struct pe_enroll_env *env,
		const char *dir, char **auto_uri, struct pe_secret **password, struct pe_err *err)
{
	struct pe_p11_ctx *p11 = NULL;
	struct pe_err none;
	char why[256];
	enum pe_code rc;
	bool disk;

	if (strcmp(spec->carrier, "auto") == 0) {
		if (env->carrier.token_uri != NULL) {
			spec->carrier = "token";
			snprintf(why, sizeof(why), "--token names one");
		} else {
			if (pe_cli_p11(cli, &p11, &none) != PE_OK)
				p11 = NULL;
			spec->carrier = pe_container_auto(p11, auto_uri, why, sizeof(why));
			env->carrier.token_uri = *auto_uri;
		}
		pe_msg_info("carrier: %s (%s)", spec->carrier, why);
		if (cli->json) {
			pe_out_str(cli->out, "carrier", spec->carrier);
			pe_out_str(cli->out, "carrier_reason", why);
		}
	}
	disk = strcmp(spec->carrier, "disk") == 0;
	if (!disk && strcmp(spec->carrier, "registry") != 0) {
		/* the token (or a carrier the request then says it does not have) */
		if (dir != NULL)
			return pe_err_set(err, PE_E_USAGE, "--dir is for --carrier disk");
		return PE_OK;
	}
	if (disk && dir == NULL)
		return pe_err_set(err, PE_E_USAGE, "--carrier disk needs --dir DIRECTORY");
	if (!disk && dir != NULL)
		return pe_err_set(err, PE_E_USAGE, "--dir is for --carrier disk");
	env->carrier.home = pe_store_home(env->store);
	env->carrier.dir = dir;
	rc = pe_secret_read(env->carrier.password_source, "--password-source",
			    "new container password", true, password, err);
	if (rc == PE_OK)
		rc = pe_container_password_check(*password, err);
	return rc;
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_request_entry;
	struct pe_csr_field fields[FIELDS_MAX];
	struct pe_enroll_spec spec;
	struct pe_enroll_env env;
	struct pe_request *req = NULL;
	const char *key_type = NULL, *dir = NULL;
	struct pe_secret *password = NULL;
	char *eq, *auto_uri = NULL;
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
		case OPT_DIR:
			dir = optarg;
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
		rc = carrier_prepare(cli, &spec, &env, dir, &auto_uri, &password, &err);
	env.carrier.password = password;
	/* the software containers need no PKCS#11 module */
	if (rc == PE_OK && strcmp(spec.carrier, "token") == 0)
		rc = pe_cli_p11(cli, &env.carrier.p11, &err);
	if (rc == PE_OK)
		rc = pe_enroll_request(&env, &spec, &req, &err);
	pe_secret_free(password);
	free(auto_uri);
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
	.usage = "--service NAME --owner-type TYPE [--template OID] "
		 "[--carrier token|registry|disk|auto] [--token URI | --dir DIR] "
		 "[--key-type T [--label L] | --key URI] [--field OID=VALUE]...",
	.summary = "Request a certificate: key on the carrier, request signed by it, submitted.",
	.options = options,
	.exec = exec,
};
