/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Station profiles: the JSON file a kiosk and a batch run share (doc/profile.md)
 * saying which service, template, owner type, key and carrier to use, where
 * PINs come from, and how the kiosk finds a person's subject (a roster CSV
 * keyed by token serial, or asked on its page). Everything is checked when the
 * file is loaded, so that a typo shows before the first token does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "profile.h"

#define STATION_FILE_MAX   (64 * 1024)
#define ROSTER_FILE_MAX	   (16 * 1024 * 1024)
#define STATION_FIELDS_MAX 48

static const char *const known_keys[] = {
	"version",    "service",	 "template",	     "owner_type",  "key_type", "carrier",
	"pin_source", "init_token",	 "so_pin_source",    "token_label", "fields",	"subject",
	"pin",	      "ca_wait_seconds", "poll_interval_ms", "description", NULL,
};

static const char *const carriers[] = { "token", "registry", "disk", NULL };

void
pe_station_fields_free(struct pe_station_field *fields, size_t n)
{
	size_t i;

	if (fields == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(fields[i].attr);
		free(fields[i].value);
	}
	free(fields);
}

void
pe_station_profile_free(struct pe_station_profile *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->file);
	free(p->service);
	free(p->template_oid);
	free(p->owner_type);
	free(p->key_type);
	free(p->carrier);
	free(p->pin_source);
	free(p->so_pin_source);
	free(p->token_label);
	pe_station_fields_free(p->fields, p->n_fields);
	free(p->roster);
	for (i = 0; i < p->n_ask; i++)
		free(p->ask[i]);
	free(p->ask);
	free(p);
}

static bool
in_list(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], s) == 0)
			return true;
	}
	return false;
}

/* A string member into *out: absent keeps @dflt (NULL: none), another type is an error. */
static enum pe_code
get_str(const cJSON *obj, const char *key, const char *dflt, bool required, const char *path,
	char **out, struct pe_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *value = dflt;

	if (item != NULL && !cJSON_IsNull(item)) {
		if (!cJSON_IsString(item) || item->valuestring[0] == '\0')
			return pe_err_set(err, PE_E_USAGE,
					  "station profile '%s': \"%s\" is not a non-empty string",
					  path, key);
		value = item->valuestring;
	}
	if (value == NULL) {
		if (required)
			return pe_err_set(err, PE_E_USAGE, "station profile '%s' has no \"%s\"",
					  path, key);
		*out = NULL;
		return PE_OK;
	}
	*out = strdup(value);
	if (*out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

static enum pe_code
get_bool(const cJSON *obj, const char *key, bool dflt, const char *path, bool *out,
	 struct pe_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = dflt;
	if (item == NULL)
		return PE_OK;
	if (!cJSON_IsBool(item))
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': \"%s\" is not true or false", path, key);
	*out = cJSON_IsTrue(item);
	return PE_OK;
}

static enum pe_code
get_num(const cJSON *obj, const char *key, unsigned long dflt, unsigned long max, const char *path,
	unsigned long *out, struct pe_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = dflt;
	if (item == NULL)
		return PE_OK;
	if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > (double)max ||
	    item->valuedouble != (double)(unsigned long)item->valuedouble)
		return pe_err_set(
			err, PE_E_USAGE,
			"station profile '%s': \"%s\" is not a whole number from 0 to %lu", path,
			key, max);
	*out = (unsigned long)item->valuedouble;
	return PE_OK;
}

/* "file:", "env:" or "fd:" as on the command line (the secret itself is read later). */
static enum pe_code
check_source(const char *source, const char *key, const char *path, struct pe_err *err)
{
	struct pe_secret_source parsed;

	if (source == NULL || pe_secret_source_parse(source, &parsed, err) == PE_OK)
		return PE_OK;
	pe_err_prefix(err, "station profile '%s': \"%s\"", path, key);
	return PE_E_USAGE;
}

static enum pe_code
load_fields(const cJSON *root, struct pe_station_profile *p, struct pe_err *err)
{
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(root, "fields"), *item;
	size_t n;

	if (fields == NULL)
		return PE_OK;
	if (!cJSON_IsObject(fields))
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': \"fields\" is not an object of "
				  "attribute names and values",
				  p->file);
	n = (size_t)cJSON_GetArraySize(fields);
	if (n > STATION_FIELDS_MAX)
		return pe_err_set(err, PE_E_USAGE, "station profile '%s': more than %d \"fields\"",
				  p->file, STATION_FIELDS_MAX);
	p->fields = calloc(n ? n : 1, sizeof(*p->fields));
	if (p->fields == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	cJSON_ArrayForEach(item, fields)
	{
		if (!cJSON_IsString(item) || item->string[0] == '\0')
			return pe_err_set(err, PE_E_USAGE,
					  "station profile '%s': field \"%s\" is not a string",
					  p->file, item->string);
		p->fields[p->n_fields].attr = strdup(item->string);
		p->fields[p->n_fields].value = strdup(item->valuestring);
		p->n_fields++;
		if (p->fields[p->n_fields - 1].attr == NULL ||
		    p->fields[p->n_fields - 1].value == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

/* @rel relative to the directory of @base, unless it is absolute. */
static char *
path_beside(const char *base, const char *rel)
{
	const char *slash = strrchr(base, '/');
	size_t dir_len;
	char *out;

	if (rel[0] == '/' || slash == NULL)
		return strdup(rel);
	dir_len = (size_t)(slash - base);
	out = malloc(dir_len + 1 + strlen(rel) + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, base, dir_len);
	out[dir_len] = '/';
	strcpy(out + dir_len + 1, rel);
	return out;
}

/* The column named "serial" (any case), or -1. */
static long
serial_column(const struct pe_csv *csv)
{
	size_t i;

	for (i = 0; i < pe_csv_cols(csv); i++) {
		if (strcasecmp(pe_csv_cell(csv, 0, i), "serial") == 0)
			return (long)i;
	}
	return -1;
}

/* Reads and checks the roster: a "serial" column, each serial once. */
static enum pe_code
roster_read(const char *path, struct pe_csv **out, long *serial_col, struct pe_err *err)
{
	struct pe_csv *csv = NULL;
	size_t len = 0, i, j;
	char *text = NULL;
	long col;
	enum pe_code rc;

	rc = pe_file_read(path, ROSTER_FILE_MAX, &text, &len, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "roster");
		err->code = PE_E_USAGE;
		return PE_E_USAGE;
	}
	rc = pe_csv_parse(text, len, path, &csv, err);
	free(text);
	if (rc != PE_OK) {
		pe_err_prefix(err, "roster");
		return rc;
	}
	col = serial_column(csv);
	if (col < 0) {
		pe_csv_free(csv);
		return pe_err_set(err, PE_E_USAGE, "roster '%s' has no \"serial\" column", path);
	}
	for (i = 1; i < pe_csv_rows(csv); i++) {
		for (j = 1; j < i; j++) {
			if (strcmp(pe_csv_cell(csv, i, (size_t)col),
				   pe_csv_cell(csv, j, (size_t)col)) == 0) {
				rc = pe_err_set(err, PE_E_USAGE,
						"roster '%s': serial '%s' is on lines %zu and %zu",
						path, pe_csv_cell(csv, i, (size_t)col),
						pe_csv_line(csv, j), pe_csv_line(csv, i));
				pe_csv_free(csv);
				return rc;
			}
		}
	}
	*out = csv;
	*serial_col = col;
	return PE_OK;
}

static enum pe_code
load_subject(const cJSON *root, struct pe_station_profile *p, struct pe_err *err)
{
	const cJSON *subject = cJSON_GetObjectItemCaseSensitive(root, "subject"), *item, *ask;
	struct pe_csv *csv = NULL;
	char *source = NULL, *roster = NULL;
	long col;
	enum pe_code rc;

	p->subject_source = PE_STATION_SUBJECT_NONE;
	if (subject == NULL)
		return PE_OK;
	if (!cJSON_IsObject(subject))
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': \"subject\" is not an object", p->file);
	cJSON_ArrayForEach(item, subject)
	{
		if (strcmp(item->string, "source") != 0 && strcmp(item->string, "roster") != 0 &&
		    strcmp(item->string, "ask") != 0)
			return pe_err_set(err, PE_E_USAGE,
					  "station profile '%s': \"subject\" has an unknown key "
					  "\"%s\" (source, roster, ask)",
					  p->file, item->string);
	}
	rc = get_str(subject, "source", "none", false, p->file, &source, err);
	if (rc == PE_OK)
		rc = get_str(subject, "roster", NULL, false, p->file, &roster, err);
	if (rc != PE_OK)
		goto out;
	if (strcmp(source, "none") == 0) {
		p->subject_source = PE_STATION_SUBJECT_NONE;
	} else if (strcmp(source, "roster") == 0) {
		p->subject_source = PE_STATION_SUBJECT_ROSTER;
	} else if (strcmp(source, "ask") == 0) {
		p->subject_source = PE_STATION_SUBJECT_ASK;
	} else {
		rc = pe_err_set(err, PE_E_USAGE,
				"station profile '%s': subject source '%s' is not roster, ask "
				"or none",
				p->file, source);
		goto out;
	}
	if (p->subject_source == PE_STATION_SUBJECT_ROSTER) {
		if (roster == NULL) {
			rc = pe_err_set(err, PE_E_USAGE,
					"station profile '%s': subject source roster needs "
					"\"roster\": the CSV file",
					p->file);
			goto out;
		}
		p->roster = path_beside(p->file, roster);
		if (p->roster == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		rc = roster_read(p->roster, &csv, &col, err);
		pe_csv_free(csv);
		if (rc != PE_OK) {
			pe_err_prefix(err, "station profile '%s'", p->file);
			goto out;
		}
	}
	ask = cJSON_GetObjectItemCaseSensitive(subject, "ask");
	if (ask != NULL && !cJSON_IsArray(ask)) {
		rc = pe_err_set(err, PE_E_USAGE,
				"station profile '%s': \"subject.ask\" is not an array of names",
				p->file);
		goto out;
	}
	if (ask != NULL) {
		p->ask = calloc((size_t)cJSON_GetArraySize(ask) + 1, sizeof(*p->ask));
		if (p->ask == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		cJSON_ArrayForEach(item, ask)
		{
			if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
				rc = pe_err_set(err, PE_E_USAGE,
						"station profile '%s': \"subject.ask\" has an "
						"entry that is not a name",
						p->file);
				goto out;
			}
			p->ask[p->n_ask] = strdup(item->valuestring);
			if (p->ask[p->n_ask] == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto out;
			}
			p->n_ask++;
		}
	}
	if (p->subject_source == PE_STATION_SUBJECT_ASK && p->n_ask == 0)
		rc = pe_err_set(err, PE_E_USAGE,
				"station profile '%s': subject source ask needs \"ask\": the "
				"attributes to ask for",
				p->file);
out:
	free(source);
	free(roster);
	return rc;
}

static enum pe_code
load_pin(const cJSON *root, struct pe_station_profile *p, struct pe_err *err)
{
	const cJSON *pin = cJSON_GetObjectItemCaseSensitive(root, "pin"), *item;
	enum pe_code rc;

	p->pin_min = 6;
	p->pin_max = 32;
	if (pin == NULL)
		return PE_OK;
	if (!cJSON_IsObject(pin))
		return pe_err_set(err, PE_E_USAGE, "station profile '%s': \"pin\" is not an object",
				  p->file);
	cJSON_ArrayForEach(item, pin)
	{
		if (strcmp(item->string, "min_length") != 0 &&
		    strcmp(item->string, "max_length") != 0 &&
		    strcmp(item->string, "digits_only") != 0)
			return pe_err_set(err, PE_E_USAGE,
					  "station profile '%s': \"pin\" has an unknown key \"%s\" "
					  "(min_length, max_length, digits_only)",
					  p->file, item->string);
	}
	rc = get_num(pin, "min_length", 6, 255, p->file, &p->pin_min, err);
	if (rc == PE_OK)
		rc = get_num(pin, "max_length", 32, 255, p->file, &p->pin_max, err);
	if (rc == PE_OK)
		rc = get_bool(pin, "digits_only", false, p->file, &p->pin_digits_only, err);
	if (rc == PE_OK && (p->pin_min == 0 || p->pin_max < p->pin_min))
		rc = pe_err_set(err, PE_E_USAGE,
				"station profile '%s': \"pin\" lengths %lu to %lu are not a range",
				p->file, p->pin_min, p->pin_max);
	return rc;
}

static enum pe_code
load(const cJSON *root, struct pe_station_profile *p, struct pe_err *err)
{
	const cJSON *item;
	unsigned long version = 1;
	enum pe_code rc;

	cJSON_ArrayForEach(item, root)
	{
		if (!in_list(known_keys, item->string))
			return pe_err_set(err, PE_E_USAGE,
					  "station profile '%s' has an unknown key \"%s\"", p->file,
					  item->string);
	}
	rc = get_num(root, "version", 1, 1000, p->file, &version, err);
	if (rc == PE_OK && version != 1)
		rc = pe_err_set(err, PE_E_USAGE, "station profile '%s' is version %lu; this is 1",
				p->file, version);
	if (rc == PE_OK)
		rc = get_str(root, "service", NULL, true, p->file, &p->service, err);
	if (rc == PE_OK)
		rc = get_str(root, "template", NULL, true, p->file, &p->template_oid, err);
	if (rc == PE_OK)
		rc = get_str(root, "owner_type", NULL, true, p->file, &p->owner_type, err);
	if (rc == PE_OK)
		rc = get_str(root, "key_type", "ec-p256", false, p->file, &p->key_type, err);
	if (rc == PE_OK)
		rc = get_str(root, "carrier", "token", false, p->file, &p->carrier, err);
	if (rc == PE_OK)
		rc = get_str(root, "pin_source", NULL, false, p->file, &p->pin_source, err);
	if (rc == PE_OK)
		rc = get_bool(root, "init_token", false, p->file, &p->init_token, err);
	if (rc == PE_OK)
		rc = get_str(root, "so_pin_source", NULL, false, p->file, &p->so_pin_source, err);
	if (rc == PE_OK)
		rc = get_str(root, "token_label", "p11enroll", false, p->file, &p->token_label,
			     err);
	if (rc == PE_OK)
		rc = get_num(root, "ca_wait_seconds", 120, 86400, p->file, &p->ca_wait_sec, err);
	if (rc == PE_OK)
		rc = get_num(root, "poll_interval_ms", 1000, 3600000, p->file, &p->poll_ms, err);
	if (rc != PE_OK)
		return rc;

	if (pe_owner_type_find(p->owner_type) == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': owner_type '%s' is not individual, "
				  "sole-proprietor, legal-entity or employee",
				  p->file, p->owner_type);
	if (pe_key_type_from_name(p->key_type) == PE_KEY_NONE)
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': key_type '%s' is not one p11enroll makes",
				  p->file, p->key_type);
	if (!in_list(carriers, p->carrier))
		return pe_err_set(
			err, PE_E_USAGE,
			"station profile '%s': carrier '%s' is not token, registry or disk",
			p->file, p->carrier);
	if (p->poll_ms == 0)
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': \"poll_interval_ms\" is 0", p->file);
	rc = check_source(p->pin_source, "pin_source", p->file, err);
	if (rc == PE_OK)
		rc = check_source(p->so_pin_source, "so_pin_source", p->file, err);
	if (rc != PE_OK)
		return rc;
	if (p->init_token && p->so_pin_source == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "station profile '%s': \"init_token\" needs \"so_pin_source\"",
				  p->file);
	rc = load_fields(root, p, err);
	if (rc == PE_OK)
		rc = load_subject(root, p, err);
	if (rc == PE_OK)
		rc = load_pin(root, p, err);
	return rc;
}

enum pe_code
pe_station_profile_load(const char *path, struct pe_station_profile **out, struct pe_err *err)
{
	struct pe_station_profile *p = NULL;
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	enum pe_code rc;

	rc = pe_file_read(path, STATION_FILE_MAX, &text, &len, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "station profile");
		err->code = PE_E_USAGE; /* a missing profile is a configuration error */
		return PE_E_USAGE;
	}
	root = cJSON_ParseWithLength(text, len);
	free(text);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return pe_err_set(err, PE_E_USAGE, "station profile '%s' is not a JSON object",
				  path);
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->file = strdup(path)) == NULL)
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	else
		rc = load(root, p, err);
	cJSON_Delete(root);
	if (rc != PE_OK) {
		pe_station_profile_free(p);
		return rc;
	}
	*out = p;
	return PE_OK;
}

enum pe_code
pe_station_roster_lookup(const struct pe_station_profile *profile, const char *serial,
			 struct pe_station_field **fields, size_t *n, struct pe_err *err)
{
	struct pe_station_field *f = NULL;
	struct pe_csv *csv = NULL;
	const char *value;
	size_t row, col, count = 0;
	long serial_col;
	enum pe_code rc;

	if (profile->subject_source != PE_STATION_SUBJECT_ROSTER || profile->roster == NULL)
		return pe_err_set(err, PE_E_USAGE, "station profile '%s' has no roster",
				  profile->file);
	/* read again each time: the roster may be edited while a kiosk runs */
	rc = roster_read(profile->roster, &csv, &serial_col, err);
	if (rc != PE_OK)
		return rc;
	for (row = 1; row < pe_csv_rows(csv); row++) {
		if (strcmp(pe_csv_cell(csv, row, (size_t)serial_col), serial) == 0)
			break;
	}
	if (row == pe_csv_rows(csv)) {
		rc = pe_err_set(err, PE_E_NOTFOUND, "roster '%s' has no row for token serial '%s'",
				profile->roster, serial);
		goto out;
	}
	f = calloc(pe_csv_cols(csv), sizeof(*f));
	if (f == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	for (col = 0; col < pe_csv_cols(csv); col++) {
		value = pe_csv_cell(csv, row, col);
		/* an empty cell gives nothing: the registered profile or the page may fill it */
		if ((long)col == serial_col || value[0] == '\0')
			continue;
		f[count].attr = pe_strdup_trim(pe_csv_cell(csv, 0, col));
		f[count].value = strdup(value);
		count++;
		if (f[count - 1].attr == NULL || f[count - 1].value == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	*fields = f;
	*n = count;
	f = NULL;
out:
	pe_station_fields_free(f, count);
	pe_csv_free(csv);
	return rc;
}
