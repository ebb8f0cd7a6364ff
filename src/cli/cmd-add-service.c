/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * add-service: connect a CA service, either by registering a new user (the
 * CA's form filled from --field and prompts; the operator approves later) or
 * by logging in with a login the CA already issued. The password is kept in
 * a 0600 file, never in the database or on the command line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csr/csr.h"
#include "enroll/enroll.h"

#define FIELDS_MAX 48

enum {
	OPT_URL = 256,
	OPT_PROTOCOL,
	OPT_REGISTER,
	OPT_FIELD,
	OPT_EMAIL,
	OPT_LOGIN,
	OPT_PASSWORD,
	OPT_CA_FILE,
};

static const struct pe_cli_opt options[] = {
	{ "url", required_argument, OPT_URL, "URL",
	  "the service URL (https; plain http only to a loopback host, or for scep and cmp)" },
	{ "protocol", required_argument, OPT_PROTOCOL, "NAME",
	  "the CA protocol: cpca20 (default), cfssl, cmp, est, scep" },
	{ "register", no_argument, OPT_REGISTER, NULL,
	  "register a new user with the CA's form; the operator approves" },
	{ "field", required_argument, OPT_FIELD, "OID=VALUE",
	  "a registration field by OID or name; repeatable (others are asked)" },
	{ "email", required_argument, OPT_EMAIL, "ADDR", "the e-mail of the registration" },
	{ "login", required_argument, OPT_LOGIN, "LOGIN",
	  "log in with a login the CA issued (cfssl: the profile; optional)" },
	{ "password-source", required_argument, OPT_PASSWORD, "SRC",
	  "its password (cfssl: the auth key, hex; scep: the challenge password): file:PATH, "
	  "env:NAME or fd:N (else asked)" },
	{ "ca-file", required_argument, OPT_CA_FILE, "PEM",
	  "trust these roots for the service (else install-roots, or the system's)" },
	{ NULL, 0, 0, NULL, NULL },
};

/* The roots of --ca-file go into the trusted roots of the service. */
static enum pe_code
roots_from_file(struct pe_store *store, const char *name, const char *path, struct pe_err *err)
{
	struct pe_cert **certs = NULL;
	char *pem = NULL;
	size_t n = 0, i, len = 0;
	enum pe_code rc;

	rc = pe_file_read(path, 1024 * 1024, &pem, &len, err);
	if (rc == PE_OK)
		rc = pe_cert_list_from_pem(pem, len, &certs, &n, err);
	for (i = 0; rc == PE_OK && i < n; i++) {
		const struct pe_p11_cert *der = pe_cert_p11(certs[i]);

		rc = pe_store_root_add(store, name, der->value, der->value_len,
				       pe_cert_sha256_hex(certs[i]), pe_cert_subject(certs[i]),
				       err);
	}
	pe_cert_list_free(certs, n);
	free(pem);
	if (rc != PE_OK)
		pe_err_prefix(err, "--ca-file '%s'", path);
	return rc;
}

/* One form field: the user's value, the default, or a prompt; checked by the form's rules. */
static enum pe_code
field_value(const struct pe_ca_field *f, const struct pe_csr_field *given, size_t n_given,
	    bool *used, char **out, struct pe_err *err)
{
	char oid[64], prompt[512];
	const char *value = NULL, *label;
	char *asked = NULL;
	size_t i;
	enum pe_code rc = PE_OK;

	for (i = 0; i < n_given; i++) {
		if (pe_csr_attr_lookup(given[i].attr, oid, sizeof(oid)) == 0)
			snprintf(oid, sizeof(oid), "%s", given[i].attr);
		if (strcmp(oid, f->oid) == 0 || (f->name && strcmp(given[i].attr, f->name) == 0)) {
			value = given[i].value;
			used[i] = true;
		}
	}
	label = f->localized_name ? f->localized_name : f->name ? f->name : f->oid;
	if (f->fixed && f->default_value != NULL) {
		if (value != NULL && strcmp(value, f->default_value) != 0)
			return pe_err_set(err, PE_E_USAGE, "%s (%s) is fixed by the CA to '%s'",
					  label, f->oid, f->default_value);
		value = f->default_value;
	}
	if (value == NULL && f->default_value != NULL && f->default_value[0] != '\0')
		value = f->default_value;
	if (value == NULL && f->mandatory) {
		snprintf(prompt, sizeof(prompt), "%s (%s): ", label, f->oid);
		rc = pe_cli_ask(prompt, label, &asked, err);
		if (rc != PE_OK) {
			pe_err_append(err, " (%s, a mandatory field: give --field %s=VALUE)",
				      f->oid, f->oid);
			return rc;
		}
		value = asked;
	}
	if (value == NULL || value[0] == '\0') {
		free(asked);
		if (f->mandatory)
			return pe_err_set(err, PE_E_USAGE, "%s (%s) is mandatory", label, f->oid);
		*out = NULL;
		return PE_OK;
	}
	if (f->choices_only) {
		for (i = 0; i < f->n_choices; i++) {
			if (strcmp(f->choices[i], value) == 0)
				break;
		}
		if (i == f->n_choices)
			rc = pe_err_set(err, PE_E_USAGE, "%s (%s) must be one of the CA's choices",
					label, f->oid);
	}
	if (rc == PE_OK && pe_csr_attr_lookup(f->oid, oid, sizeof(oid)) != 0) {
		rc = pe_csr_attr_check(f->oid, value, err);
		if (rc == PE_OK)
			rc = pe_ru_field_check(f->oid, label, value, err);
		if (rc != PE_OK)
			pe_err_prefix(err, "%s", label);
	}
	if (rc == PE_OK) {
		*out = asked ? asked : strdup(value);
		if (*out == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		asked = NULL;
	}
	free(asked);
	return rc;
}

static enum pe_code
do_register(struct pe_store *store, struct pe_service *svc, const struct pe_csr_field *given,
	    size_t n_given, const char *email, struct pe_err *err)
{
	struct pe_enroll_conn c;
	struct pe_ca_form form = { NULL, 0 };
	struct pe_ca_value values[FIELDS_MAX];
	struct pe_ca_registration *reg = NULL;
	bool used[FIELDS_MAX] = { false };
	size_t n = 0, i;
	char *value;
	enum pe_code rc;

	rc = pe_enroll_conn_open(store, svc, 0, &c, err);
	if (rc != PE_OK)
		return rc;
	if (c.ops->form == NULL || c.ops->enroll_user == NULL)
		rc = pe_err_set(err, PE_E_USAGE,
				"the %s protocol has no registration: use --login "
				"with the credentials the CA gave you",
				c.ops->name);
	else
		rc = c.ops->form(&c.conn, &form, err);
	for (i = 0; rc == PE_OK && i < form.n && n < FIELDS_MAX; i++) {
		value = NULL;
		rc = field_value(&form.fields[i], given, n_given, used, &value, err);
		if (rc == PE_OK && value != NULL) {
			values[n].oid = strdup(form.fields[i].oid);
			values[n].value = value;
			if (values[n].oid == NULL)
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			n++;
		}
	}
	for (i = 0; rc == PE_OK && i < n_given; i++) {
		if (!used[i])
			rc = pe_err_set(err, PE_E_USAGE, "the CA's form has no field '%s'",
					given[i].attr);
	}
	if (rc == PE_OK)
		rc = c.ops->enroll_user(&c.conn, values, n, email, &reg, err);
	if (rc == PE_OK)
		rc = pe_store_secret_write(store, svc->name, reg->password, err);
	if (rc == PE_OK) {
		free(svc->login);
		free(svc->reg_request_id);
		svc->login = strdup(reg->login);
		svc->reg_request_id = reg->id ? strdup(reg->id) : NULL;
		svc->has_password = true;
		if (svc->login == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	for (i = 0; i < n; i++) {
		free(values[i].oid);
		free(values[i].value);
	}
	pe_ca_registration_free(reg);
	pe_ca_form_free(&form);
	pe_enroll_conn_close(&c);
	return rc;
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_add_service_entry;
	struct pe_csr_field fields[FIELDS_MAX];
	const char *url = NULL, *protocol = "cpca20", *email = NULL, *login = NULL;
	const char *password_source = NULL, *ca_file = NULL, *name;
	const struct pe_ca_ops *ops;
	struct pe_service svc, *existing = NULL;
	struct pe_secret *password = NULL;
	struct pe_store *store;
	struct pe_err err, none;
	size_t n_fields = 0;
	bool do_reg = false, added = false;
	char prompt[256], *eq;
	enum pe_code rc;
	int c;

	memset(&svc, 0, sizeof(svc));
	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_URL:
			url = optarg;
			break;
		case OPT_PROTOCOL:
			protocol = optarg;
			break;
		case OPT_REGISTER:
			do_reg = true;
			break;
		case OPT_FIELD:
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg || n_fields >= FIELDS_MAX)
				return pe_cli_usage(cli, cmd, "--field takes OID=VALUE");
			*eq = '\0';
			fields[n_fields].attr = optarg;
			fields[n_fields++].value = eq + 1;
			break;
		case OPT_EMAIL:
			email = optarg;
			break;
		case OPT_LOGIN:
			login = optarg;
			break;
		case OPT_PASSWORD:
			password_source = optarg;
			break;
		case OPT_CA_FILE:
			ca_file = optarg;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (optind + 1 != argc)
		return pe_cli_usage(cli, cmd, "give the service a NAME");
	name = argv[optind];
	ops = pe_ca_find(protocol);
	if (ops == NULL)
		return pe_cli_usage(cli, cmd, "protocol '%s' is not one of: %s", protocol,
				    pe_ca_protocols());
	/* a protocol without logins (cfssl, scep) may go with neither */
	if (url == NULL || (do_reg && login != NULL) ||
	    (!do_reg && login == NULL && ops->login_required))
		return pe_cli_usage(cli, cmd,
				    "--url and one of --register or --login are required");
	if (!do_reg && n_fields > 0)
		return pe_cli_usage(cli, cmd, "--field goes with --register");
	if (do_reg && password_source != NULL)
		return pe_cli_usage(cli, cmd, "--password-source goes with --login");

	rc = pe_cli_store(cli, &store, &err);
	if (rc != PE_OK)
		goto out;
	if (pe_store_service_get(store, name, &existing, &none) == PE_OK) {
		rc = pe_err_set(&err, PE_E_USAGE, "a service named '%s' already exists", name);
		goto out;
	}
	if (login != NULL || password_source != NULL) {
		/* the password before anything is recorded */
		if (login != NULL)
			snprintf(prompt, sizeof(prompt), "password of '%s' at %s", login, name);
		else
			snprintf(prompt, sizeof(prompt), "password at %s", name);
		rc = pe_secret_read(password_source, "--password-source", prompt, false, &password,
				    &err);
		if (rc != PE_OK)
			goto out;
	}
	svc.name = (char *)name;
	svc.url = (char *)url;
	svc.protocol = (char *)protocol;
	svc.login = login ? strdup(login) : NULL;
	rc = pe_store_service_add(store, &svc, &err);
	if (rc != PE_OK)
		goto out;
	added = true;
	if (ca_file != NULL)
		rc = roots_from_file(store, name, ca_file, &err);
	if (rc == PE_OK && do_reg)
		rc = do_register(store, &svc, fields, n_fields, email, &err);
	if (rc == PE_OK && password != NULL) {
		rc = pe_store_secret_write(store, name, password, &err);
		svc.has_password = rc == PE_OK;
	}
	if (rc == PE_OK)
		rc = pe_store_service_update(store, &svc, &err);
	if (rc == PE_OK)
		rc = pe_enroll_service_check(store, &svc, &err);
	if (rc == PE_OK && svc.status == PE_SERVICE_UNREACHABLE)
		rc = pe_err_set(&err, PE_E_NET, "service '%s' cannot be reached: %s", name,
				svc.status_detail ? svc.status_detail : "");
	if (rc == PE_OK && login != NULL && svc.status == PE_SERVICE_NOT_AUTHENTICATED)
		rc = pe_err_set(&err, PE_E_PIN, "service '%s' refuses the login '%s': %s", name,
				login, svc.status_detail ? svc.status_detail : "");
	else if (rc == PE_OK && !do_reg && svc.status == PE_SERVICE_NOT_AUTHENTICATED)
		rc = pe_err_set(&err, PE_E_PIN, "service '%s' refuses the credentials: %s", name,
				svc.status_detail ? svc.status_detail : "");
	if (rc != PE_OK)
		goto out;
	pe_out_text(cli->out, "service '%s' added: %s", name, pe_service_status_name(svc.status));
	pe_out_str(cli->out, "name", name);
	pe_out_str(cli->out, "url", url);
	pe_out_str(cli->out, "protocol", protocol);
	pe_out_str(cli->out, "login", svc.login);
	pe_out_str(cli->out, "status", pe_service_status_name(svc.status));
	if (svc.status_detail != NULL)
		pe_out_str(cli->out, "detail", svc.status_detail);
out:
	/*
	 * a service that could not be set up is not kept half-made; one the CA
	 * has registered is kept with its credentials, whatever failed after
	 */
	if (rc != PE_OK && added && !(do_reg && svc.has_password))
		pe_store_service_remove(store, name, &none);
	pe_secret_free(password);
	pe_service_free(existing);
	free(svc.login);
	free(svc.reg_request_id);
	free(svc.status_detail);
	free(svc.checked_at);
	free(svc.created_at);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_add_service_entry = {
	.name = "add-service",
	.usage = "NAME --url URL [--protocol P] (--register [--field OID=VALUE]... [--email E] | "
		 "[--login LOGIN] [--password-source SRC]) [--ca-file PEM]",
	.summary = "Connect a CA service: register a new user, or log in with an issued login.",
	.options = options,
	.exec = exec,
};
