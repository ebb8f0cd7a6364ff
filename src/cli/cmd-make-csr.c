/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * make-csr: a PKCS#10 request for a key on the token, signed by the token.
 * Every subject field is checked before the PIN is asked for.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csr/csr.h"

#define LIST_MAX 32

enum {
	OPT_KEY = 'k',
	OPT_SUBJECT = 's',
	OPT_OUT = 'o',
	OPT_FIELD = 256,
	OPT_TEMPLATE,
	OPT_SIGN_TOOL,
	OPT_KEY_USAGE,
	OPT_EKU,
	OPT_EMAIL,
	OPT_UPN,
	OPT_DER,
	OPT_PIN,
};

static const struct pe_cli_opt options[] = {
	{ "key", required_argument, OPT_KEY, "URI", "the private key on the token" },
	{ "subject", required_argument, OPT_SUBJECT, "DN", "/C=RU/CN=Name or CN=Name,C=RU" },
	{ "field", required_argument, OPT_FIELD, "OID=VALUE",
	  "a subject attribute by OID or name (INN, SNILS, ...); repeatable" },
	{ "template", required_argument, OPT_TEMPLATE, "OID[:MAJOR[:MINOR]]",
	  "certificate template extension 1.3.6.1.4.1.311.21.7" },
	{ "sign-tool", required_argument, OPT_SIGN_TOOL, "TEXT",
	  "subjectSignTool extension 1.2.643.100.111" },
	{ "key-usage", required_argument, OPT_KEY_USAGE, "LIST",
	  "e.g. critical,digitalSignature,keyEncipherment" },
	{ "ext-key-usage", required_argument, OPT_EKU, "LIST", "e.g. clientAuth,emailProtection" },
	{ "email", required_argument, OPT_EMAIL, "ADDR", "subjectAltName e-mail; repeatable" },
	{ "upn", required_argument, OPT_UPN, "UPN", "subjectAltName UPN; repeatable" },
	{ "out", required_argument, OPT_OUT, "FILE", "write the request here (default: stdout)" },
	{ "der", no_argument, OPT_DER, NULL, "write DER instead of PEM (with --out)" },
	{ "pin-source", required_argument, OPT_PIN, "SRC", "user PIN (else asked)" },
	{ NULL, 0, 0, NULL, NULL },
};

static int
split_field(char *arg, struct pe_csr_field *field)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		return -1;
	*eq = '\0';
	field->attr = arg;
	field->value = eq + 1;
	return 0;
}

static int
parse_template(char *arg, struct pe_csr_spec *spec)
{
	char *colon, *end;
	unsigned long v;

	spec->template_major = 1;
	spec->template_minor = 0;
	colon = strchr(arg, ':');
	if (colon != NULL) {
		*colon++ = '\0';
		v = strtoul(colon, &end, 10);
		if (end == colon || (*end != '\0' && *end != ':') || v > 0xffff)
			return -1;
		spec->template_major = (unsigned)v;
		if (*end == ':') {
			colon = end + 1;
			v = strtoul(colon, &end, 10);
			if (end == colon || *end != '\0' || v > 0xffff)
				return -1;
			spec->template_minor = (unsigned)v;
		}
	}
	spec->template_oid = arg;
	return 0;
}

/* One attribute: its string type and length, then the check digits of registry numbers. */
static enum pe_code
field_check(const struct pe_csr_field *field, struct pe_err *err)
{
	char oid[128];
	enum pe_code rc;

	rc = pe_csr_attr_check(field->attr, field->value, err);
	if (rc == PE_OK && pe_csr_attr_lookup(field->attr, oid, sizeof(oid)) != 0)
		rc = pe_ru_field_check(oid, field->attr, field->value, err);
	return rc;
}

/* Every subject attribute checked before the token is touched. */
static enum pe_code
subject_check(const struct pe_csr_spec *spec, struct pe_err *err)
{
	struct pe_csr_field *fields = NULL;
	char *storage = NULL;
	size_t n = 0, i;
	enum pe_code rc = PE_OK;

	if (spec->subject != NULL)
		rc = pe_csr_dn_split(spec->subject, &fields, &n, &storage, err);
	for (i = 0; rc == PE_OK && i < n; i++)
		rc = field_check(&fields[i], err);
	for (i = 0; rc == PE_OK && i < spec->n_fields; i++)
		rc = field_check(&spec->fields[i], err);
	if (rc == PE_OK && n + spec->n_fields == 0)
		rc = pe_err_set(err, PE_E_USAGE, "the subject is empty: give --subject or --field");
	free(fields);
	free(storage);
	return rc;
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_make_csr_entry;
	struct pe_csr_field fields[LIST_MAX];
	const char *emails[LIST_MAX], *upns[LIST_MAX];
	struct pe_csr_spec spec;
	const char *uri = NULL, *out_path = NULL, *pin_source = NULL;
	struct pe_token_profile *profile = NULL;
	struct pe_p11_token *tok = NULL;
	struct pe_p11_key *key = NULL;
	struct pe_csr_signer signer;
	unsigned char *spki = NULL, *der = NULL;
	size_t spki_len = 0, der_len = 0;
	char *pem = NULL;
	struct pe_err err;
	enum pe_code rc;
	bool want_der = false;
	int c;

	memset(&spec, 0, sizeof(spec));
	spec.fields = fields;
	spec.emails = emails;
	spec.upns = upns;
	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_KEY:
			uri = optarg;
			break;
		case OPT_SUBJECT:
			spec.subject = optarg;
			break;
		case OPT_FIELD:
			if (spec.n_fields >= LIST_MAX)
				return pe_cli_usage(cli, cmd, "more than %d --field", LIST_MAX);
			if (split_field(optarg, &fields[spec.n_fields]) != 0)
				return pe_cli_usage(cli, cmd, "--field '%s' is not OID=VALUE",
						    optarg);
			spec.n_fields++;
			break;
		case OPT_TEMPLATE:
			if (parse_template(optarg, &spec) != 0)
				return pe_cli_usage(cli, cmd,
						    "--template takes OID[:MAJOR[:MINOR]]");
			break;
		case OPT_SIGN_TOOL:
			spec.sign_tool = optarg;
			break;
		case OPT_KEY_USAGE:
			spec.key_usage = optarg;
			break;
		case OPT_EKU:
			spec.ext_key_usage = optarg;
			break;
		case OPT_EMAIL:
			if (spec.n_emails >= LIST_MAX)
				return pe_cli_usage(cli, cmd, "more than %d --email", LIST_MAX);
			emails[spec.n_emails++] = optarg;
			break;
		case OPT_UPN:
			if (spec.n_upns >= LIST_MAX)
				return pe_cli_usage(cli, cmd, "more than %d --upn", LIST_MAX);
			upns[spec.n_upns++] = optarg;
			break;
		case OPT_OUT:
			out_path = optarg;
			break;
		case OPT_DER:
			want_der = true;
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
	if (uri == NULL)
		return pe_cli_usage(cli, cmd, "--key is required");
	if (want_der && out_path == NULL)
		return pe_cli_usage(cli, cmd, "--der needs --out");
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);

	rc = subject_check(&spec, &err);
	if (rc != PE_OK)
		goto out;
	rc = pe_cli_token_open(cli, uri, 0, &tok, &profile, &err);
	if (rc == PE_OK)
		rc = pe_p11_token_login_source(tok, PE_P11_USER, pin_source, "--pin-source", &err);
	if (rc == PE_OK)
		rc = pe_p11_key_open(tok, uri, &key, &err);
	if (rc == PE_OK)
		rc = pe_p11_key_public_der(key, &spki, &spki_len, &err);
	if (rc != PE_OK)
		goto out;
	signer = pe_csr_signer_token(key, spki, spki_len);
	rc = pe_csr_build(&spec, &signer, &der, &der_len, &err);
	if (rc != PE_OK)
		goto out;
	pem = pe_csr_to_pem(der, der_len);
	if (pem == NULL) {
		rc = pe_err_set(&err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (out_path != NULL) {
		rc = want_der ? pe_cli_write_file(out_path, der, der_len, 0644, &err)
			      : pe_cli_write_file(out_path, pem, strlen(pem), 0644, &err);
		if (rc != PE_OK)
			goto out;
		pe_msg_info("request for key '%s' written to '%s'", pe_p11_key_label(key),
			    out_path);
	} else if (!cli->json) {
		fputs(pem, stdout);
	}
	pe_out_str(cli->out, "key_uri", pe_p11_key_uri(key));
	pe_out_str(cli->out, "key_type", pe_key_type_name(pe_p11_key_type(key)));
	if (out_path != NULL)
		pe_out_str(cli->out, "out", out_path);
	else if (cli->json)
		pe_out_str(cli->out, "csr_pem", pem);
out:
	free(pem);
	free(der);
	free(spki);
	pe_p11_key_free(key);
	pe_p11_token_free(tok);
	pe_token_profile_free(profile);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_make_csr_entry = {
	.name = "make-csr",
	.usage = "--key URI --subject DN [--field OID=VALUE]... [--template OID] [--out FILE]",
	.summary = "Make a PKCS#10 request for a key on the token, signed by the token.",
	.options = options,
	.exec = exec,
};
