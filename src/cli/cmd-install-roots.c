/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * install-roots: fetch a CA service's chain, show each certificate's SHA-256
 * fingerprint, and trust it for the service only once the user has checked
 * the fingerprint (asked, or --accept-fingerprint). The chain is fetched
 * without TLS verification, since it is what TLS will be verified with; the
 * fingerprint check is what makes it safe, and every later connection to the
 * service is verified against what was accepted here.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "cli.h"
#include "csr/csr.h"
#include "store/store.h"

enum { OPT_SERVICE = 256, OPT_URL, OPT_PROTOCOL, OPT_ACCEPT, OPT_FILE };

static const struct pe_cli_opt options[] = {
	{ "service", required_argument, OPT_SERVICE, "NAME", "the service the roots are for" },
	{ "url", required_argument, OPT_URL, "URL",
	  "the service URL, for a service not added yet" },
	{ "protocol", required_argument, OPT_PROTOCOL, "NAME",
	  "with --url: the service's protocol (default cpca20)" },
	{ "accept-fingerprint", required_argument, OPT_ACCEPT, "SHA256",
	  "trust the chain if it holds this certificate (hex, ':' allowed)" },
	{ "file", required_argument, OPT_FILE, "PEM",
	  "the chain from this file, for a protocol that publishes none (cmp)" },
	{ NULL, 0, 0, NULL, NULL },
};

/* Compares hex fingerprints, ignoring case and ':' separators. */
static bool
same_fingerprint(const char *a, const char *b)
{
	for (;;) {
		while (*a == ':')
			a++;
		while (*b == ':')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_install_roots_entry;
	const char *name = NULL, *url = NULL, *protocol = NULL, *accept = NULL, *file = NULL;
	struct pe_http_options options_http;
	struct pe_service *svc = NULL;
	const struct pe_ca_ops *ops;
	struct pe_ca_conn conn;
	struct pe_http *http = NULL;
	struct pe_cert **certs = NULL;
	unsigned char **ders = NULL;
	size_t *lens = NULL, n = 0, n_certs = 0, i;
	struct pe_store *store;
	struct pe_err err, none;
	char prompt[256], *answer = NULL, *pem = NULL;
	size_t pem_len = 0;
	bool matched = false;
	enum pe_code rc;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_SERVICE:
			name = optarg;
			break;
		case OPT_URL:
			url = optarg;
			break;
		case OPT_PROTOCOL:
			protocol = optarg;
			break;
		case OPT_ACCEPT:
			accept = optarg;
			break;
		case OPT_FILE:
			file = optarg;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (name == NULL || optind < argc)
		return pe_cli_usage(cli, cmd, "--service NAME is required");
	if (file != NULL && (url != NULL || protocol != NULL))
		return pe_cli_usage(cli, cmd,
				    "--file is the chain: --url and --protocol are not needed");

	rc = pe_cli_store(cli, &store, &err);
	if (rc != PE_OK)
		goto out;
	if (file != NULL) {
		/* a chain the user got from the CA's operator: checked by fingerprint all the same */
		rc = pe_file_read(file, (size_t)1 << 20, &pem, &pem_len, &err);
		if (rc == PE_OK)
			rc = pe_cert_list_from_pem(pem, pem_len, &certs, &n_certs, &err);
		if (rc != PE_OK) {
			pe_err_prefix(&err, "--file '%s'", file);
			goto out;
		}
		goto check;
	}
	if (pe_store_service_get(store, name, &svc, &none) == PE_OK) {
		url = url ? url : svc->url;
		protocol = protocol ? protocol : svc->protocol;
	}
	if (url == NULL) {
		rc = pe_err_set(&err, PE_E_USAGE, "service '%s' is not added yet: give --url",
				name);
		goto out;
	}
	ops = pe_ca_find(protocol ? protocol : "cpca20");
	if (ops == NULL) {
		rc = pe_err_set(&err, PE_E_USAGE, "protocol '%s' is not one of: %s", protocol,
				pe_ca_protocols());
		goto out;
	}
	memset(&options_http, 0, sizeof(options_http));
	options_http.insecure = true;		      /* pinned by the fingerprint below */
	options_http.allow_http = true;		      /* to a loopback host only (http.c), */
	options_http.http_any_host = ops->plain_http; /* unless messages protect themselves */
	options_http.timeout_ms = 15000;
	memset(&conn, 0, sizeof(conn));
	conn.url = url;
	rc = pe_http_new(&options_http, &http, &err);
	conn.http = http;
	if (rc == PE_OK)
		rc = ops->roots(&conn, &ders, &lens, &n, &err);
	if (rc != PE_OK)
		goto out;
	certs = calloc(n, sizeof(*certs));
	if (certs == NULL) {
		rc = pe_err_set(&err, PE_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; rc == PE_OK && i < n; i++) {
		rc = pe_cert_from_der(ders[i], lens[i], &certs[i], &err);
		if (rc == PE_OK)
			n_certs++;
	}
	if (rc != PE_OK)
		goto out;
check:
	for (i = 0; i < n_certs; i++) {
		pe_msg_info("%s", pe_cert_subject(certs[i]));
		pe_msg_info("  SHA-256 %s", pe_cert_sha256_hex(certs[i]));
		if (accept != NULL && same_fingerprint(accept, pe_cert_sha256_hex(certs[i])))
			matched = true;
	}
	if (accept != NULL && !matched) {
		rc = pe_err_set(&err, PE_E_CRYPTO,
				"service '%s' presented no certificate with the "
				"fingerprint given: nothing was trusted",
				name);
		goto out;
	}
	if (accept == NULL) {
		snprintf(prompt, sizeof(prompt),
			 "trust %s for service '%s'? "
			 "Compare the fingerprint with the CA's [y/N] ",
			 n_certs == 1 ? "this certificate" : "these certificates", name);
		rc = pe_cli_ask(prompt, "the fingerprint check (give --accept-fingerprint)",
				&answer, &err);
		if (rc != PE_OK)
			goto out;
		if (answer[0] != 'y' && answer[0] != 'Y') {
			rc = pe_err_set(&err, PE_E_USAGE, "not trusted: nothing was installed");
			goto out;
		}
	}
	for (i = 0; rc == PE_OK && i < n_certs; i++)
		rc = pe_store_root_add(
			store, name, pe_cert_p11(certs[i])->value, pe_cert_p11(certs[i])->value_len,
			pe_cert_sha256_hex(certs[i]), pe_cert_subject(certs[i]), &err);
	if (rc != PE_OK)
		goto out;
	pe_out_text(cli->out, "%zu certificate(s) trusted for service '%s'", n_certs, name);
	pe_out_list(cli->out, "roots");
	for (i = 0; i < n_certs; i++) {
		pe_out_item(cli->out, NULL);
		pe_out_str(cli->out, "subject", pe_cert_subject(certs[i]));
		pe_out_str(cli->out, "sha256", pe_cert_sha256_hex(certs[i]));
		pe_out_str(cli->out, "not_after", pe_cert_not_after(certs[i]));
		pe_out_end(cli->out);
	}
	pe_out_end(cli->out);
out:
	pe_ca_certs_free(ders, lens, n);
	pe_cert_list_free(certs, n_certs);
	free(answer);
	free(pem);
	pe_http_free(http);
	pe_service_free(svc);
	return rc == PE_OK ? 0 : pe_cli_fail(cli, &err);
}

const struct pe_command pe_cmd_install_roots_entry = {
	.name = "install-roots",
	.usage = "--service NAME [--url URL | --file PEM] [--accept-fingerprint SHA256]",
	.summary = "Fetch a CA service's chain and trust it once its fingerprint is checked.",
	.options = options,
	.exec = exec,
};
