/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * generate-key: a key pair made on the token, never outside it; prints the
 * key's URI for make-csr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_TOKEN = 't', OPT_TYPE = 256, OPT_LABEL, OPT_ID, OPT_PIN };

static const struct pe_cli_opt options[] = {
	{ "token", required_argument, OPT_TOKEN, "URI", "the token" },
	{ "type", required_argument, OPT_TYPE, "TYPE",
	  "ec-p256 (default), ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519" },
	{ "label", required_argument, OPT_LABEL, "LABEL", "the key's label (CKA_LABEL)" },
	{ "id", required_argument, OPT_ID, "HEX",
	  "CKA_ID (default: SHA-1 of the public key, or as the token profile says)" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "user PIN (else asked)" },
	{ NULL, 0, 0, NULL, NULL },
};

static void
describe_key(struct pe_out *out, struct pe_p11_key *key)
{
	struct pe_p11_key_attrs attrs;
	struct pe_err err;
	const unsigned char *id;
	size_t id_len;
	char *hex;

	id = pe_p11_key_id(key, &id_len);
	hex = pe_hex_encode(id, id_len);
	pe_out_str(out, "uri", pe_p11_key_uri(key));
	pe_out_str(out, "label", pe_p11_key_label(key));
	pe_out_str(out, "id", hex);
	pe_out_str(out, "type", pe_key_type_name(pe_p11_key_type(key)));
	free(hex);
	if (pe_p11_key_attrs(key, &attrs, &err) == PE_OK) {
		pe_out_bool(out, "sensitive", attrs.sensitive);
		pe_out_bool(out, "extractable", attrs.extractable);
		pe_out_bool(out, "never_extractable", attrs.never_extractable);
	}
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_generate_key_entry;
	const char *uri = NULL, *type_name = "ec-p256", *id_hex = NULL, *pin_source = NULL;
	struct pe_p11_keygen gen = { PE_KEY_NONE, NULL, NULL, 0, PE_P11_ID_SHA1_PUBKEY };
	struct pe_token_profile *profile = NULL;
	struct pe_p11_token *tok = NULL;
	struct pe_p11_key *key = NULL;
	unsigned char id[128];
	struct pe_err err;
	enum pe_code rc;
	char can[160];
	long id_len;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_TOKEN:
			uri = optarg;
			break;
		case OPT_TYPE:
			type_name = optarg;
			break;
		case OPT_LABEL:
			gen.label = optarg;
			break;
		case OPT_ID:
			id_hex = optarg;
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
	if (uri == NULL || gen.label == NULL)
		return pe_cli_usage(cli, cmd, "--token and --label are required");
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);
	gen.type = pe_key_type_from_name(type_name);
	if (gen.type == PE_KEY_NONE) {
		pe_key_types_format(~0u, can, sizeof(can));
		return pe_cli_usage(cli, cmd, "unknown key type '%s' (one of: %s)", type_name, can);
	}
	if (id_hex != NULL) {
		id_len = pe_hex_decode(id_hex, id, sizeof(id));
		if (id_len <= 0)
			return pe_cli_usage(cli, cmd, "--id '%s' is not hex of 1 to %zu bytes",
					    id_hex, sizeof(id));
		gen.id = id;
		gen.id_len = (size_t)id_len;
	}

	rc = pe_cli_token_open(cli, uri, PE_P11_OPEN_RW, &tok, &profile, &err);
	if (rc != PE_OK)
		goto out;
	gen.scheme = profile->id_scheme;
	rc = pe_token_profile_label_check(profile, gen.label, &err);
	if (rc != PE_OK)
		goto out;
	if (profile->key_types != 0 && !(profile->key_types & (1u << gen.type))) {
		pe_key_types_format(profile->key_types & pe_p11_token_info(tok)->key_types, can,
				    sizeof(can));
		rc = pe_err_set(&err, PE_E_USAGE, "%s tokens do not make %s keys; they make: %s",
				profile->name, pe_key_type_name(gen.type), can);
		goto out;
	}
	/* refuse what the token cannot make before asking for a PIN */
	if (!(pe_p11_token_info(tok)->key_types & (1u << gen.type))) {
		pe_key_types_format(pe_p11_token_info(tok)->key_types, can, sizeof(can));
		rc = pe_err_set(&err, PE_E_USAGE, "token %s cannot make %s keys; it can make: %s",
				pe_p11_token_name(tok), pe_key_type_name(gen.type), can);
		goto out;
	}
	rc = pe_p11_token_login_source(tok, PE_P11_USER, pin_source, "--pin-source", &err);
	if (rc == PE_OK)
		rc = pe_p11_key_generate(tok, &gen, &key, &err);
	if (rc != PE_OK)
		goto out;
	pe_out_text(cli->out, "generated %s key '%s' on token %s", pe_key_type_name(gen.type),
		    gen.label, pe_p11_token_name(tok));
	pe_out_object(cli->out, "key", "key");
	describe_key(cli->out, key);
	pe_out_end(cli->out);
out:
	pe_p11_key_free(key);
	pe_p11_token_free(tok);
	pe_token_profile_free(profile);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_generate_key_entry = {
	.name = "generate-key",
	.usage = "--token URI --label LABEL [--type TYPE] [--id HEX] [--pin-source SRC]",
	.summary = "Generate a key pair on the token (sensitive, not extractable).",
	.options = options,
	.exec = exec,
};
