/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the token commands share: loading the modules once, opening the one
 * token a URI names with its vendor profile, logging in by the PIN safety
 * rules, reading a new PIN twice, and writing files atomically.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "store/store.h"

enum pe_code
pe_cli_p11(struct pe_cli *cli, struct pe_p11_ctx **out, struct pe_err *err)
{
	enum pe_code rc;

	if (cli->p11 == NULL) {
		rc = pe_p11_ctx_new(cli->module_path, &cli->p11, err);
		if (rc != PE_OK)
			return rc;
	}
	*out = cli->p11;
	return PE_OK;
}

enum pe_code
pe_cli_token_open(struct pe_cli *cli, const char *uri, unsigned flags,
		  struct pe_p11_token **tok_out, struct pe_token_profile **profile_out,
		  struct pe_err *err)
{
	struct pe_p11_ctx *ctx;
	struct pe_p11_token *tok = NULL;
	const struct pe_p11_slot *info;
	enum pe_code rc;

	rc = pe_cli_p11(cli, &ctx, err);
	if (rc == PE_OK)
		rc = pe_p11_token_open(ctx, uri, flags, &tok, err);
	if (rc != PE_OK)
		return rc;
	info = pe_p11_token_info(tok);
	rc = pe_token_profile_find(NULL, info->manufacturer, info->model, profile_out, err);
	if (rc != PE_OK) {
		pe_p11_token_free(tok);
		return rc;
	}
	*tok_out = tok;
	return PE_OK;
}

enum pe_code
pe_cli_write_file(const char *path, const void *data, size_t len, unsigned mode, struct pe_err *err)
{
	char tmp[4096];
	const unsigned char *p = data;
	ssize_t n;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return pe_err_set(err, PE_E_USAGE, "path '%s' is too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return pe_err_set(err, PE_E_STORE, "cannot create '%s': %s", tmp, strerror(errno));
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	if (len > 0 || fsync(fd) != 0) {
		pe_err_set(err, PE_E_STORE, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return PE_E_STORE;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		pe_err_set(err, PE_E_STORE, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		return PE_E_STORE;
	}
	return PE_OK;
}

void
pe_cli_token_describe(struct pe_out *out, const struct pe_p11_slot *t,
		      const struct pe_token_profile *profile)
{
	const char *flags[PE_P11_F_COUNT];
	const char *types[PE_KEY_TYPE_MAX];
	unsigned usable = t->key_types;
	size_t n = 0;
	int i;

	pe_out_str(out, "label", t->label);
	pe_out_str(out, "manufacturer", t->manufacturer);
	pe_out_str(out, "model", t->model);
	pe_out_str(out, "serial", t->serial);
	pe_out_str(out, "uri", t->uri);
	for (i = 0; i < PE_P11_F_COUNT; i++) {
		if (t->flags & (1u << i))
			flags[n++] = pe_p11_flag_name(1u << i);
	}
	pe_out_strs(out, "flags", flags, n);
	pe_out_uint(out, "min_pin_len", t->min_pin);
	pe_out_uint(out, "max_pin_len", t->max_pin);
	pe_out_str(out, "hardware_version", t->hw_version);
	pe_out_str(out, "firmware_version", t->fw_version);
	if (profile != NULL && profile->key_types != 0)
		usable &= profile->key_types;
	n = 0;
	for (i = PE_KEY_NONE + 1; i < PE_KEY_TYPE_MAX; i++) {
		if (usable & (1u << i))
			types[n++] = pe_key_type_name((enum pe_key_type)i);
	}
	pe_out_strs(out, "key_types", types, n);
	if (profile != NULL)
		pe_out_str(out, "profile", profile->name);
}

enum pe_code
pe_cli_store(struct pe_cli *cli, struct pe_store **out, struct pe_err *err)
{
	char *home;
	enum pe_code rc;

	if (cli->store == NULL) {
		home = pe_store_default_home(cli->home);
		if (home == NULL)
			return pe_err_set(err, PE_E_USAGE, "no state directory: give --home");
		rc = pe_store_open(home, &cli->store, err);
		free(home);
		if (rc != PE_OK)
			return rc;
	}
	*out = cli->store;
	return PE_OK;
}

enum pe_code
pe_cli_ask(const char *prompt, const char *what, char **out, struct pe_err *err)
{
	char line[1024];
	size_t len;
	FILE *tty;

	tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return pe_err_set(err, PE_E_USAGE, "no terminal to ask for %s", what);
	fputs(prompt, tty);
	fflush(tty);
	if (fgets(line, sizeof(line), tty) == NULL) {
		fclose(tty);
		return pe_err_set(err, PE_E_USAGE, "nothing was entered for %s", what);
	}
	fclose(tty);
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	*out = strdup(line);
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

void
pe_cli_request_describe(struct pe_out *out, const struct pe_request *req)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld", (long long)req->id);
	pe_out_str(out, "id", text);
	pe_out_str(out, "status", pe_request_user_state(req->state));
	pe_out_str(out, "state", pe_request_state_name(req->state));
	if (req->state == PE_REQ_CONNECTION_PROBLEM)
		pe_out_str(out, "resume_state", pe_request_state_name(req->resume_state));
	pe_out_str(out, "service", req->service);
	pe_out_str(out, "template", req->template_oid);
	pe_out_str(out, "owner_type", req->owner_type);
	pe_out_str(out, "subject", req->subject);
	pe_out_str(out, "carrier", req->carrier);
	pe_out_str(out, "container", req->container);
	pe_out_str(out, "token_serial", req->token_serial);
	pe_out_str(out, "key_type", req->key_type);
	pe_out_str(out, "key_label", req->key_label);
	pe_out_str(out, "key_id", req->key_id);
	pe_out_str(out, "key_uri", req->key_uri);
	pe_out_str(out, "ca_request_id", req->ca_request_id);
	pe_out_str(out, "ca_status", req->ca_status);
	pe_out_str(out, "cert_serial", req->cert_serial);
	pe_out_str(out, "cert_sha256", req->cert_sha256);
	pe_out_str(out, "reason", req->reason);
	pe_out_str(out, "created_at", req->created_at);
	pe_out_str(out, "updated_at", req->updated_at);
}

int
pe_cli_request_status(const struct pe_request *req)
{
	switch (req->state) {
	case PE_REQ_REJECTED:
		return PE_E_CA;
	case PE_REQ_CONNECTION_PROBLEM:
		return PE_E_NET;
	case PE_REQ_FAILED:
		return PE_E_CRYPTO;
	default:
		return PE_OK;
	}
}
