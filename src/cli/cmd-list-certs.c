/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list-certs: the personal certificates: every one p11enroll installed (the
 * personal store), and every one its carriers hold now: the tokens present
 * (what they show without a PIN), the registry containers under the state
 * directory, and the disk containers the requests know of. Each with the
 * carrier and container it sits in, and whether that carrier is there now.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "containers/containers.h"
#include "store/store.h"

/* A certificate a carrier holds now. */
struct found {
	const char *carrier;
	struct pe_container_info *info; /* borrowed from its carrier's list */
	struct pe_cert *cert;
	bool shown;
};

struct carriers {
	struct pe_container_info *lists[64];
	size_t counts[64];
	size_t n_lists;
	struct found *found;
	size_t n_found;
};

static const struct pe_cli_opt options[] = {
	{ NULL, 0, 0, NULL, NULL },
};

static void
carriers_free(struct carriers *cs)
{
	size_t i;

	for (i = 0; i < cs->n_found; i++)
		pe_cert_free(cs->found[i].cert);
	free(cs->found);
	for (i = 0; i < cs->n_lists; i++)
		pe_container_info_list_free(cs->lists[i], cs->counts[i]);
}

/* Adds what one carrier's list gives; a carrier that cannot be read is only warned about. */
static enum pe_code
carriers_add(struct carriers *cs, const struct pe_container_ops *ops,
	     const struct pe_carrier_env *env, struct pe_err *err)
{
	struct pe_container_info *list = NULL;
	struct found *grown;
	struct pe_err why;
	size_t n = 0, i;
	enum pe_code rc;

	if (cs->n_lists == sizeof(cs->lists) / sizeof(cs->lists[0]))
		return PE_OK;
	rc = ops->list(env, &list, &n, &why);
	if (rc == PE_E_NOTFOUND) {
		pe_msg_info("%s: %s", ops->name, why.msg); /* a medium that is not there now */
		return PE_OK;
	}
	if (rc != PE_OK) {
		pe_msg_warn("%s: %s", ops->name, why.msg);
		return PE_OK;
	}
	cs->lists[cs->n_lists] = list;
	cs->counts[cs->n_lists++] = n;
	if (n == 0)
		return PE_OK;
	grown = realloc(cs->found, (cs->n_found + n) * sizeof(*grown));
	if (grown == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	cs->found = grown;
	for (i = 0; i < n; i++) {
		if (list[i].cert == NULL ||
		    pe_cert_from_der(list[i].cert, list[i].cert_len, &cs->found[cs->n_found].cert,
				     &why) != PE_OK)
			continue;
		cs->found[cs->n_found].carrier = ops->name;
		cs->found[cs->n_found].info = &list[i];
		cs->found[cs->n_found++].shown = false;
	}
	return PE_OK;
}

/* Every carrier's certificates: tokens present, registry containers, the requests' disks. */
static enum pe_code
carriers_read(struct pe_cli *cli, struct pe_store *store, struct pe_request **reqs, size_t n_reqs,
	      struct carriers *cs, struct pe_err *err)
{
	struct pe_carrier_env env;
	struct pe_err none;
	enum pe_code rc;
	size_t i, j;

	memset(&env, 0, sizeof(env));
	if (pe_cli_p11(cli, &env.p11, &none) != PE_OK)
		env.p11 = NULL;
	rc = carriers_add(cs, &pe_container_token_ops, &env, err);
	env.home = pe_store_home(store);
	if (rc == PE_OK)
		rc = carriers_add(cs, &pe_container_registry_ops, &env, err);
	for (i = 0; rc == PE_OK && i < n_reqs; i++) {
		if (reqs[i]->carrier == NULL || strcmp(reqs[i]->carrier, "disk") != 0 ||
		    reqs[i]->container == NULL)
			continue;
		for (j = 0; j < i; j++) {
			if (reqs[j]->carrier != NULL && strcmp(reqs[j]->carrier, "disk") == 0 &&
			    reqs[j]->container != NULL &&
			    strcmp(reqs[j]->container, reqs[i]->container) == 0)
				break;
		}
		if (j < i)
			continue; /* that directory is read already */
		env.container = reqs[i]->container;
		rc = carriers_add(cs, &pe_container_disk_ops, &env, err);
	}
	return rc;
}

/* Returns: the first place that holds the certificate @sha256, all of them marked shown. */
static struct found *
found_by_sha256(struct carriers *cs, const char *sha256)
{
	struct found *first = NULL;
	size_t i;

	for (i = 0; i < cs->n_found; i++) {
		if (strcmp(pe_cert_sha256_hex(cs->found[i].cert), sha256) == 0) {
			cs->found[i].shown = true;
			if (first == NULL)
				first = &cs->found[i];
		}
	}
	return first;
}

static const struct pe_request *
request_by_id(struct pe_request **reqs, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (reqs[i]->id == id)
			return reqs[i];
	}
	return NULL;
}

/* The certificates of the personal store, with where they are now. */
static void
show_indexed(struct pe_cli *cli, struct pe_cert_entry *e, struct carriers *cs,
	     struct pe_request **reqs, size_t n_reqs)
{
	const struct pe_request *req = request_by_id(reqs, n_reqs, e->request_id);
	struct found *f = found_by_sha256(cs, e->sha256);
	char text[64];

	pe_out_item(cli->out, e->subject);
	pe_out_str(cli->out, "subject", e->subject);
	pe_out_str(cli->out, "issuer", e->issuer);
	pe_out_str(cli->out, "serial", e->serial);
	pe_out_str(cli->out, "sha256", e->sha256);
	pe_out_str(cli->out, "not_after", e->not_after);
	pe_out_str(cli->out, "carrier", e->carrier);
	if (f != NULL && f->info->name != NULL)
		pe_out_str(cli->out, "container", f->info->name);
	else if (req != NULL && req->carrier != NULL && strcmp(req->carrier, "token") != 0)
		pe_out_str(cli->out, "container", req->key_label);
	if (f != NULL)
		pe_out_str(cli->out, "location", f->info->location);
	else if (req != NULL && req->container != NULL && req->carrier != NULL &&
		 strcmp(req->carrier, "disk") == 0)
		pe_out_str(cli->out, "location", req->container);
	pe_out_str(cli->out, "token_serial", e->token_serial);
	pe_out_str(cli->out, "key_id", e->key_id);
	snprintf(text, sizeof(text), "%lld", (long long)e->request_id);
	pe_out_str(cli->out, "request_id", text);
	pe_out_str(cli->out, "installed_at", e->installed_at);
	pe_out_bool(cli->out, "present", f != NULL);
	pe_out_end(cli->out);
}

/* A certificate a carrier holds that the personal store does not list. */
static void
show_found(struct pe_cli *cli, struct found *f)
{
	char text[64];

	pe_out_item(cli->out, pe_cert_subject(f->cert));
	pe_out_str(cli->out, "subject", pe_cert_subject(f->cert));
	pe_out_str(cli->out, "issuer", pe_cert_issuer(f->cert));
	pe_out_str(cli->out, "serial", pe_cert_serial_hex(f->cert));
	pe_out_str(cli->out, "sha256", pe_cert_sha256_hex(f->cert));
	pe_out_str(cli->out, "not_after", pe_cert_not_after(f->cert));
	pe_out_str(cli->out, "carrier", f->carrier);
	pe_out_str(cli->out, "container", f->info->name);
	pe_out_str(cli->out, "location", f->info->location);
	pe_out_str(cli->out, "token_serial", f->info->serial);
	pe_out_str(cli->out, "key_type", f->info->key_type);
	if (f->info->request_id > 0) {
		snprintf(text, sizeof(text), "%lld", (long long)f->info->request_id);
		pe_out_str(cli->out, "request_id", text);
	}
	pe_out_bool(cli->out, "present", true);
	pe_out_end(cli->out);
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_list_certs_entry;
	struct pe_cert_entry **list = NULL;
	struct pe_request **reqs = NULL;
	struct pe_store *store;
	struct carriers cs;
	struct pe_err err;
	size_t n = 0, n_reqs = 0, i, shown = 0;
	enum pe_code rc;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		return pe_cli_usage(cli, cmd, "invalid option");
	}
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);
	memset(&cs, 0, sizeof(cs));
	rc = pe_cli_store(cli, &store, &err);
	if (rc == PE_OK)
		rc = pe_store_cert_list(store, &list, &n, &err);
	if (rc == PE_OK)
		rc = pe_store_request_list(store, &reqs, &n_reqs, &err);
	if (rc == PE_OK)
		rc = carriers_read(cli, store, reqs, n_reqs, &cs, &err);
	if (rc != PE_OK) {
		carriers_free(&cs);
		pe_cert_entry_list_free(list, n);
		pe_request_list_free(reqs, n_reqs);
		return pe_cli_fail(cli, &err);
	}
	pe_out_list(cli->out, "certificates");
	for (i = 0; i < n; i++, shown++)
		show_indexed(cli, list[i], &cs, reqs, n_reqs);
	/* what the carriers hold beyond the personal store, at each place it is */
	for (i = 0; i < cs.n_found; i++) {
		if (cs.found[i].shown)
			continue;
		show_found(cli, &cs.found[i]);
		shown++;
	}
	pe_out_end(cli->out);
	if (shown == 0)
		pe_out_text(cli->out, "no certificates");
	carriers_free(&cs);
	pe_cert_entry_list_free(list, n);
	pe_request_list_free(reqs, n_reqs);
	return 0;
}

const struct pe_command pe_cmd_list_certs_entry = {
	.name = "list-certs",
	.usage = "",
	.summary = "List the personal certificates: the personal store, the tokens present and "
		   "every container.",
	.options = options,
	.exec = exec,
};
