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
pe_cli_login(struct pe_p11_token *tok, enum pe_p11_user who, const char *source,
	     const char *option, struct pe_err *err)
{
	struct pe_secret *pin = NULL;
	char prompt[128];
	enum pe_code rc;

	rc = pe_p11_token_login_check(tok, who, err);
	if (rc != PE_OK)
		return rc;
	if (pe_p11_token_has_pin_pad(tok) && source == NULL)
		return pe_p11_token_login(tok, who, NULL, err);
	snprintf(prompt, sizeof(prompt), "%s of token %s", who == PE_P11_SO ? "SO PIN" : "PIN",
		 pe_p11_token_name(tok));
	rc = pe_secret_read(source, option, prompt, false, &pin, err);
	if (rc == PE_OK)
		rc = pe_p11_token_login(tok, who, pin, err);
	pe_secret_free(pin);
	return rc;
}

enum pe_code
pe_cli_new_pin(const struct pe_p11_token *tok, const struct pe_token_profile *profile,
	       const char *source, const char *option, const char *what, struct pe_secret **out,
	       struct pe_err *err)
{
	struct pe_secret *pin = NULL;
	char prompt[128];
	enum pe_code rc;

	snprintf(prompt, sizeof(prompt), "new %s", what);
	rc = pe_secret_read(source, option, prompt, true, &pin, err);
	if (rc == PE_OK)
		rc = pe_token_profile_pin_check(profile, pe_p11_token_info(tok), pin, err);
	if (rc != PE_OK) {
		pe_secret_free(pin);
		pe_err_prefix(err, "new %s", what);
		return rc;
	}
	*out = pin;
	return PE_OK;
}

enum pe_code
pe_cli_write_file(const char *path, const void *data, size_t len, unsigned mode,
		  struct pe_err *err)
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
