/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Vendor token profiles: JSON files in tokens/, one per token family, read
 * when a token is opened. Every difference between families lives there;
 * this file only reads them and applies their rules.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "profile.h"

#define PROFILE_FILE_MAX (64 * 1024)

const char *
pe_profile_tokens_dir(void)
{
	const char *dir = getenv("P11ENROLL_TOKENS_DIR");

	return dir != NULL && dir[0] != '\0' ? dir : PE_TOKENS_DIR;
}

void
pe_token_profile_free(struct pe_token_profile *profile)
{
	if (profile == NULL)
		return;
	free(profile->name);
	free(profile->file);
	free(profile);
}

static struct pe_token_profile *
profile_default(void)
{
	struct pe_token_profile *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->name = strdup("generic PKCS#11 token");
	if (p->name == NULL) {
		free(p);
		return NULL;
	}
	p->id_scheme = PE_P11_ID_SHA1_PUBKEY;
	p->label_max = 32;
	return p;
}

static const char *
str_member(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool
bool_member(const cJSON *obj, const char *name, bool dflt)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsBool(item) ? cJSON_IsTrue(item) : dflt;
}

static unsigned long
num_member(const cJSON *obj, const char *name, unsigned long dflt)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(item) || item->valuedouble < 0)
		return dflt;
	return (unsigned long)item->valuedouble;
}

static bool
glob_fits(const cJSON *match, const char *name, const char *value)
{
	const char *pattern = str_member(match, name);

	if (pattern == NULL)
		return true;
	return fnmatch(pattern, value ? value : "", 0) == 0;
}

/* Parses and checks one file; *out stays NULL when it is well formed but does not match. */
static enum pe_code
profile_parse(const char *path, const char *manufacturer, const char *model,
	      struct pe_token_profile **out, struct pe_err *err)
{
	struct pe_token_profile *p = NULL;
	const cJSON *match, *pin, *types, *type;
	const char *scheme, *name;
	enum pe_key_type kt;
	char *text;
	cJSON *root;
	enum pe_code rc = PE_OK;

	*out = NULL;
	if (pe_file_read(path, PROFILE_FILE_MAX, &text, NULL, err) != PE_OK)
		return PE_E_USAGE;
	root = cJSON_ParseWithLength(text, strlen(text));
	free(text);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return pe_err_set(err, PE_E_USAGE, "token profile '%s' is not a JSON object", path);
	}
	match = cJSON_GetObjectItemCaseSensitive(root, "match");
	name = str_member(root, "name");
	if (num_member(root, "version", 0) != 1 || !cJSON_IsObject(match) || name == NULL) {
		rc = pe_err_set(err, PE_E_USAGE,
				"token profile '%s' needs \"version\": 1, \"name\" and \"match\"",
				path);
		goto out;
	}
	p = profile_default();
	if (p == NULL || (p->file = strdup(path)) == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	free(p->name);
	p->name = strdup(name);
	if (p->name == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	p->tested = bool_member(root, "tested", false);
	p->cert_private = bool_member(root, "certificate_private", false);
	p->label_max = num_member(root, "label_max", 32);
	scheme = str_member(root, "key_id");
	if (scheme == NULL || strcmp(scheme, "sha1-pubkey") == 0) {
		p->id_scheme = PE_P11_ID_SHA1_PUBKEY;
	} else if (strcmp(scheme, "token-assigned") == 0) {
		p->id_scheme = PE_P11_ID_TOKEN;
	} else {
		rc = pe_err_set(err, PE_E_USAGE,
				"token profile '%s': key_id '%s' is not "
				"sha1-pubkey or token-assigned",
				path, scheme);
		goto out;
	}
	pin = cJSON_GetObjectItemCaseSensitive(root, "pin");
	if (cJSON_IsObject(pin)) {
		p->pin_min = num_member(pin, "min", 0);
		p->pin_max = num_member(pin, "max", 0);
		p->pin_digits_only = bool_member(pin, "digits_only", false);
	}
	types = cJSON_GetObjectItemCaseSensitive(root, "key_types");
	cJSON_ArrayForEach(type, types)
	{
		kt = cJSON_IsString(type) ? pe_key_type_from_name(type->valuestring) : PE_KEY_NONE;
		if (kt == PE_KEY_NONE) {
			rc = pe_err_set(
				err, PE_E_USAGE, "token profile '%s': unknown key type %s", path,
				cJSON_IsString(type) ? type->valuestring : "(not a string)");
			goto out;
		}
		p->key_types |= 1u << kt;
	}
	/* the whole file is checked first, so that a typo shows before its token does */
	if (!glob_fits(match, "manufacturer", manufacturer) || !glob_fits(match, "model", model)) {
		pe_token_profile_free(p);
		p = NULL;
	}
out:
	cJSON_Delete(root);
	if (rc != PE_OK) {
		pe_token_profile_free(p);
		return rc;
	}
	*out = p;
	return PE_OK;
}

static int
json_file(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".json") == 0;
}

enum pe_code
pe_token_profile_find(const char *dir, const char *manufacturer, const char *model,
		      struct pe_token_profile **out, struct pe_err *err)
{
	struct dirent **names = NULL;
	struct pe_token_profile *found = NULL, *match = NULL;
	char path[4096];
	enum pe_code rc = PE_OK;
	int n, i;

	if (dir == NULL)
		dir = pe_profile_tokens_dir();
	n = scandir(dir, &names, json_file, alphasort);
	if (n < 0)
		pe_msg_debug("no token profiles in '%s': %s", dir, strerror(errno));
	/* every file is read, not only up to the first match: a broken one is named at once */
	for (i = 0; i < n; i++) {
		if (rc == PE_OK) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			rc = profile_parse(path, manufacturer, model, &match, err);
		}
		if (found == NULL)
			found = match;
		else
			pe_token_profile_free(match);
		match = NULL;
		free(names[i]);
	}
	if (rc != PE_OK) {
		pe_token_profile_free(found);
		found = NULL;
	}
	free(names);
	if (rc != PE_OK)
		return rc;
	if (found == NULL)
		found = profile_default();
	if (found == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	pe_msg_debug("token profile: %s%s", found->name,
		     found->file == NULL ? ""
		     : found->tested	 ? ""
					 : " (from documentation only)");
	*out = found;
	return PE_OK;
}

enum pe_code
pe_token_profile_pin_check(const struct pe_token_profile *profile, const struct pe_p11_slot *token,
			   const struct pe_secret *pin, struct pe_err *err)
{
	unsigned long min = token->min_pin, max = token->max_pin;
	size_t i;

	if (profile->pin_min > min)
		min = profile->pin_min;
	if (profile->pin_max != 0 && (max == 0 || profile->pin_max < max))
		max = profile->pin_max;
	if (pin->len < min || (max != 0 && pin->len > max)) {
		if (max == 0)
			return pe_err_set(err, PE_E_PIN,
					  "a PIN for this token has at least %lu characters", min);
		return pe_err_set(err, PE_E_PIN, "a PIN for this token has %lu to %lu characters",
				  min, max);
	}
	for (i = 0; profile->pin_digits_only && i < pin->len; i++) {
		if (!isdigit(pin->data[i]))
			return pe_err_set(err, PE_E_PIN, "a PIN for %s has digits only",
					  profile->name);
	}
	return PE_OK;
}

enum pe_code
pe_token_profile_label_check(const struct pe_token_profile *profile, const char *label,
			     struct pe_err *err)
{
	size_t len = strlen(label);

	if (len == 0)
		return pe_err_set(err, PE_E_USAGE, "the label is empty");
	if (profile->label_max != 0 && len > profile->label_max)
		return pe_err_set(err, PE_E_USAGE, "label '%s' is %zu bytes; %s takes at most %zu",
				  label, len, profile->name, profile->label_max);
	return PE_OK;
}

enum pe_code
pe_token_profile_new_pin(const struct pe_token_profile *profile, const struct pe_p11_slot *token,
			 const char *source, const char *option, const char *what,
			 struct pe_secret **out, struct pe_err *err)
{
	struct pe_secret *pin = NULL;
	char prompt[128];
	enum pe_code rc;

	snprintf(prompt, sizeof(prompt), "new %s", what);
	rc = pe_secret_read(source, option, prompt, true, &pin, err);
	if (rc == PE_OK)
		rc = pe_token_profile_pin_check(profile, token, pin, err);
	if (rc != PE_OK) {
		pe_secret_free(pin);
		pe_err_prefix(err, "new %s", what);
		return rc;
	}
	*out = pin;
	return PE_OK;
}
