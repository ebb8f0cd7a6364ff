/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.json: the registration form served by /userattr, the owner types
 * (protocols/ru-subject.md) and the certificate templates, written once by
 * init and edited by the operator; and the check of a registration against
 * the form.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "csr/csr.h"
#include "profile/profile.h"
#include "refca.h"

#define CONFIG_VERSION 1
#define CONFIG_MAX     (1024 * 1024)
#define VALUE_MAX      256

/*
 * The default configuration; init puts the folder GUID in. RDN entries are
 * what /userattr serves, member for member (protocols/cpca20.md).
 */
static const char default_config[] =
	"{\n"
	"\"version\": 1,\n"
	"\"folder\": \"\",\n"
	"\"default_template\": \"1.2.643.2.2.46.0.8\",\n"
	"\"RDN\": [\n"
	" {\"Oid\": \"2.5.4.3\", \"Name\": \"CN\","
	" \"LocalizedName\": \"Фамилия, имя, отчество\", \"DefaultValue\": \"\","
	" \"SettingsValues\": [], \"ProhibitAnyValue\": false, \"ProhibitChange\": false,"
	" \"ProhibitEmpty\": true},\n"
	" {\"Oid\": \"2.5.4.4\", \"Name\": \"SN\", \"LocalizedName\": \"Фамилия\","
	" \"DefaultValue\": \"\", \"SettingsValues\": [], \"ProhibitAnyValue\": false,"
	" \"ProhibitChange\": false, \"ProhibitEmpty\": true},\n"
	" {\"Oid\": \"2.5.4.42\", \"Name\": \"GN\", \"LocalizedName\": \"Имя и отчество\","
	" \"DefaultValue\": \"\", \"SettingsValues\": [], \"ProhibitAnyValue\": false,"
	" \"ProhibitChange\": false, \"ProhibitEmpty\": true},\n"
	" {\"Oid\": \"2.5.4.6\", \"Name\": \"C\", \"LocalizedName\": \"Страна\","
	" \"DefaultValue\": \"RU\", \"SettingsValues\": [\"RU\"], \"ProhibitAnyValue\": true,"
	" \"ProhibitChange\": true, \"ProhibitEmpty\": true},\n"
	" {\"Oid\": \"2.5.4.8\", \"Name\": \"ST\","
	" \"LocalizedName\": \"Субъект Российской Федерации\","
	" \"DefaultValue\": \"\", \"SettingsValues\": [\"77 г. Москва\", \"78 г. Санкт-Петербург\","
	" \"50 Московская область\"], \"ProhibitAnyValue\": true, \"ProhibitChange\": false,"
	" \"ProhibitEmpty\": false},\n"
	" {\"Oid\": \"2.5.4.7\", \"Name\": \"L\", \"LocalizedName\": \"Населённый пункт\","
	" \"DefaultValue\": \"\", \"SettingsValues\": [], \"ProhibitAnyValue\": false,"
	" \"ProhibitChange\": false, \"ProhibitEmpty\": false},\n"
	" {\"Oid\": \"2.5.4.10\", \"Name\": \"O\", \"LocalizedName\": \"Организация\","
	" \"DefaultValue\": \"\", \"SettingsValues\": [], \"ProhibitAnyValue\": false,"
	" \"ProhibitChange\": false, \"ProhibitEmpty\": false},\n"
	" {\"Oid\": \"1.2.840.113549.1.9.1\", \"Name\": \"E\","
	" \"LocalizedName\": \"Адрес электронной почты\", \"DefaultValue\": \"\","
	" \"SettingsValues\": [], \"ProhibitAnyValue\": false, \"ProhibitChange\": false,"
	" \"ProhibitEmpty\": false},\n"
	" {\"Oid\": \"1.2.643.100.3\", \"Name\": \"SNILS\", \"LocalizedName\": \"СНИЛС\","
	" \"DefaultValue\": \"\", \"SettingsValues\": [], \"ProhibitAnyValue\": false,"
	" \"ProhibitChange\": false, \"ProhibitEmpty\": false},\n"
	" {\"Oid\": \"1.2.643.3.131.1.1\", \"Name\": \"INN\", \"LocalizedName\": \"ИНН\","
	" \"DefaultValue\": \"\", \"SettingsValues\": [], \"ProhibitAnyValue\": false,"
	" \"ProhibitChange\": false, \"ProhibitEmpty\": false}\n"
	"],\n"
	"\"owner_types\": [\n"
	" {\"name\": \"individual\", \"localized_name\": \"Физическое лицо\","
	" \"required\": [\"2.5.4.3\", \"2.5.4.4\", \"2.5.4.42\", \"2.5.4.6\", \"1.2.643.100.3\","
	" \"1.2.643.3.131.1.1\"]},\n"
	" {\"name\": \"sole-proprietor\", \"localized_name\": \"Индивидуальный предприниматель\","
	" \"required\": [\"2.5.4.3\", \"2.5.4.4\", \"2.5.4.42\", \"2.5.4.6\", \"1.2.643.100.3\","
	" \"1.2.643.3.131.1.1\", \"1.2.643.100.5\"]},\n"
	" {\"name\": \"legal-entity\", \"localized_name\": \"Юридическое лицо\","
	" \"required\": [\"2.5.4.3\", \"2.5.4.10\", \"2.5.4.6\", \"2.5.4.8\", \"2.5.4.7\","
	" \"2.5.4.9\", \"1.2.643.100.1\", \"1.2.643.100.4\", \"2.5.4.4\", \"2.5.4.42\","
	" \"2.5.4.12\", \"1.2.643.100.3\", \"1.2.643.3.131.1.1\"]},\n"
	" {\"name\": \"employee\", \"localized_name\": \"Сотрудник юридического лица\","
	" \"required\": [\"2.5.4.3\", \"2.5.4.4\", \"2.5.4.42\", \"2.5.4.6\", \"1.2.643.100.3\","
	" \"1.2.643.3.131.1.1\"]}\n"
	"],\n"
	"\"templates\": [\n"
	" {\"oid\": \"1.2.643.2.2.46.0.8\", \"localized_name\": \"User\", \"days\": 365,"
	" \"key_usage\": \"digitalSignature,keyEncipherment\","
	" \"ext_key_usage\": \"clientAuth,emailProtection\", \"required\": [\"2.5.4.3\"],"
	" \"owner_types\": []},\n"
	" {\"oid\": \"1.2.643.2.2.46.0.9\", \"localized_name\": \"Signature\", \"days\": 730,"
	" \"key_usage\": \"digitalSignature,nonRepudiation\","
	" \"ext_key_usage\": \"emailProtection\", \"required\": [\"2.5.4.3\"],"
	" \"owner_types\": [\"individual\", \"sole-proprietor\", \"legal-entity\", \"employee\"]}\n"
	"]\n"
	"}\n";

enum pe_code
pe_refca_config_write_default(const char *path, const char *folder, struct pe_err *err)
{
	cJSON *root = cJSON_Parse(default_config);
	char *text = NULL;
	enum pe_code rc = PE_OK;
	FILE *f = NULL;
	int fd;

	if (root == NULL ||
	    !cJSON_ReplaceItemInObjectCaseSensitive(root, "folder", cJSON_CreateString(folder))) {
		rc = pe_err_set(err, PE_E_FAIL, "the default configuration: out of memory");
		goto out;
	}
	text = cJSON_Print(root);
	if (text == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = pe_err_set(err, PE_E_FAIL, "'%s': %s", path, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		rc = pe_err_set(err, PE_E_FAIL, "'%s': %s", path, strerror(errno));
		goto out;
	}
	if (fputs(text, f) < 0 || fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fd) != 0)
		rc = pe_err_set(err, PE_E_FAIL, "'%s': %s", path, strerror(errno));
	if (fclose(f) != 0 && rc == PE_OK)
		rc = pe_err_set(err, PE_E_FAIL, "'%s': %s", path, strerror(errno));
out:
	cJSON_free(text);
	cJSON_Delete(root);
	return rc;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pe_refca_config_free(struct pe_refca_config *config)
{
	size_t i;

	if (config == NULL)
		return;
	free(config->folder);
	cJSON_Delete(config->rdn);
	for (i = 0; i < config->n_owner_types; i++) {
		free(config->owner_types[i].name);
		free(config->owner_types[i].localized_name);
		strv_free(config->owner_types[i].required, config->owner_types[i].n_required);
	}
	free(config->owner_types);
	for (i = 0; i < config->n_templates; i++) {
		struct pe_refca_template *t = &config->templates[i];

		free(t->oid);
		free(t->localized_name);
		free(t->key_usage);
		free(t->ext_key_usage);
		strv_free(t->required, t->n_required);
		strv_free(t->owner_types, t->n_owner_types);
	}
	free(config->templates);
	free(config);
}

static const char *
str_member(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool
bool_member(const cJSON *obj, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* A member that is absent, or of @type (cJSON_String, ...). */
static enum pe_code
member_type(const cJSON *obj, const char *name, int type, const char *where, struct pe_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	static const struct {
		int type;
		const char *name;
	} names[] = {
		{ cJSON_String, "a string" },
		{ cJSON_Number, "a number" },
		{ cJSON_Array, "an array" },
		{ cJSON_True | cJSON_False, "true or false" },
	};
	const char *want = "of another type";
	size_t i;

	if (item == NULL)
		return PE_OK;
	if ((item->type & 0xff & type) != 0)
		return PE_OK;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].type == type)
			want = names[i].name;
	}
	return pe_err_set(err, PE_E_USAGE, "%s: '%s' must be %s", where, name, want);
}

static bool
is_dotted_oid(const char *s)
{
	ASN1_OBJECT *obj;
	const char *p;

	if (s == NULL || *s == '\0')
		return false;
	for (p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
	}
	obj = OBJ_txt2obj(s, 1);
	if (obj == NULL)
		return false;
	ASN1_OBJECT_free(obj);
	return true;
}

/* Reads an array of attribute names or OIDs into dotted OIDs. */
static enum pe_code
oid_list(const cJSON *obj, const char *name, const char *where, char ***out, size_t *n_out,
	 struct pe_err *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name), *item;
	char oid[128], **v = NULL;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (arr == NULL)
		return PE_OK;
	if (!cJSON_IsArray(arr))
		return pe_err_set(err, PE_E_USAGE, "%s: '%s' must be an array", where, name);
	v = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*v));
	if (v == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	cJSON_ArrayForEach(item, arr)
	{
		if (!cJSON_IsString(item) ||
		    pe_csr_attr_lookup(item->valuestring, oid, sizeof(oid)) == 0) {
			strv_free(v, n);
			return pe_err_set(err, PE_E_USAGE,
					  "%s: '%s' holds '%s', not an attribute "
					  "name or OID",
					  where, name,
					  cJSON_IsString(item) ? item->valuestring : "?");
		}
		v[n] = strdup(oid);
		if (v[n] == NULL) {
			strv_free(v, n);
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		}
		n++;
	}
	*out = v;
	*n_out = n;
	return PE_OK;
}

static enum pe_code
load_rdn(struct pe_refca_config *config, cJSON *root, struct pe_err *err)
{
	const cJSON *field, *other, *value, *values;
	static const char *const strings[] = { "Oid", "Name", "LocalizedName", "DefaultValue" };
	static const char *const bools[] = { "ProhibitAnyValue", "ProhibitChange",
					     "ProhibitEmpty" };
	char where[160];
	const char *oid;
	enum pe_code rc;
	size_t i;
	int n = 0;

	config->rdn = cJSON_DetachItemFromObjectCaseSensitive(root, "RDN");
	if (!cJSON_IsArray(config->rdn))
		return pe_err_set(err, PE_E_USAGE, "'RDN' must be the array of form fields");
	cJSON_ArrayForEach(field, config->rdn)
	{
		n++;
		snprintf(where, sizeof(where), "RDN field %d", n);
		if (!cJSON_IsObject(field))
			return pe_err_set(err, PE_E_USAGE, "%s is not an object", where);
		for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
			rc = member_type(field, strings[i], cJSON_String, where, err);
			if (rc != PE_OK)
				return rc;
		}
		for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
			rc = member_type(field, bools[i], cJSON_True | cJSON_False, where, err);
			if (rc != PE_OK)
				return rc;
		}
		rc = member_type(field, "SettingsValues", cJSON_Array, where, err);
		if (rc != PE_OK)
			return rc;
		values = cJSON_GetObjectItemCaseSensitive(field, "SettingsValues");
		cJSON_ArrayForEach(value, values)
		{
			if (!cJSON_IsString(value))
				return pe_err_set(err, PE_E_USAGE,
						  "%s: 'SettingsValues' must hold "
						  "strings",
						  where);
		}
		oid = str_member(field, "Oid");
		if (!is_dotted_oid(oid))
			return pe_err_set(err, PE_E_USAGE, "%s: 'Oid' must be a dotted OID", where);
		cJSON_ArrayForEach(other, config->rdn)
		{
			if (other == field)
				break;
			if (strcmp(str_member(other, "Oid"), oid) == 0)
				return pe_err_set(err, PE_E_USAGE, "RDN: field %s is there twice",
						  oid);
		}
	}
	return PE_OK;
}

static enum pe_code
load_owner_types(struct pe_refca_config *config, const cJSON *root, struct pe_err *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "owner_types"), *item;
	struct pe_refca_owner_type *ot;
	char where[160];
	enum pe_code rc;
	size_t i;

	if (arr == NULL)
		return PE_OK;
	if (!cJSON_IsArray(arr))
		return pe_err_set(err, PE_E_USAGE, "'owner_types' must be an array");
	config->owner_types =
		calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*config->owner_types));
	if (config->owner_types == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	cJSON_ArrayForEach(item, arr)
	{
		const char *name = str_member(item, "name");
		const char *lname = str_member(item, "localized_name");

		snprintf(where, sizeof(where), "owner type %zu", config->n_owner_types + 1);
		if (name == NULL || *name == '\0')
			return pe_err_set(err, PE_E_USAGE, "%s has no 'name'", where);
		for (i = 0; i < config->n_owner_types; i++) {
			if (strcmp(config->owner_types[i].name, name) == 0)
				return pe_err_set(err, PE_E_USAGE, "owner type '%s' is there twice",
						  name);
		}
		ot = &config->owner_types[config->n_owner_types++];
		ot->name = strdup(name);
		ot->localized_name = strdup(lname ? lname : name);
		if (ot->name == NULL || ot->localized_name == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		snprintf(where, sizeof(where), "owner type '%s'", name);
		rc = oid_list(item, "required", where, &ot->required, &ot->n_required, err);
		if (rc != PE_OK)
			return rc;
	}
	return PE_OK;
}

static enum pe_code
load_template(struct pe_refca_config *config, const cJSON *item, struct pe_refca_template *t,
	      struct pe_err *err)
{
	const cJSON *days = cJSON_GetObjectItemCaseSensitive(item, "days"), *types, *name;
	const char *oid = str_member(item, "oid"), *lname = str_member(item, "localized_name");
	const char *ku = str_member(item, "key_usage"), *eku = str_member(item, "ext_key_usage");
	char where[160];
	enum pe_code rc;
	size_t j;

	if (!is_dotted_oid(oid))
		return pe_err_set(err, PE_E_USAGE, "template %zu: 'oid' must be a dotted OID",
				  config->n_templates + 1);
	snprintf(where, sizeof(where), "template %s", oid);
	if (pe_refca_config_template(config, oid) != NULL)
		return pe_err_set(err, PE_E_USAGE, "%s is there twice", where);
	if (!cJSON_IsNumber(days) || days->valuedouble < 1 || days->valuedouble > 36500 ||
	    days->valuedouble != (double)days->valueint)
		return pe_err_set(err, PE_E_USAGE,
				  "%s: 'days' must be a whole number of days, "
				  "1 to 36500",
				  where);
	if (ku == NULL)
		return pe_err_set(err, PE_E_USAGE, "%s: 'key_usage' is missing", where);
	rc = pe_refca_issue_ext_check("keyUsage", ku, err);
	if (rc == PE_OK && eku != NULL)
		rc = pe_refca_issue_ext_check("extendedKeyUsage", eku, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "%s", where);
		return rc;
	}
	t->oid = strdup(oid);
	t->localized_name = strdup(lname ? lname : oid);
	t->key_usage = strdup(ku);
	t->ext_key_usage = eku ? strdup(eku) : NULL;
	t->days = (unsigned)days->valueint;
	if (t->oid == NULL || t->localized_name == NULL || t->key_usage == NULL ||
	    (eku != NULL && t->ext_key_usage == NULL))
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = oid_list(item, "required", where, &t->required, &t->n_required, err);
	if (rc != PE_OK)
		return rc;
	rc = member_type(item, "owner_types", cJSON_Array, where, err);
	if (rc != PE_OK)
		return rc;
	types = cJSON_GetObjectItemCaseSensitive(item, "owner_types");
	t->owner_types = calloc((size_t)cJSON_GetArraySize(types) + 1, sizeof(*t->owner_types));
	if (t->owner_types == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	cJSON_ArrayForEach(name, types)
	{
		for (j = 0; cJSON_IsString(name) && j < config->n_owner_types; j++) {
			if (strcmp(config->owner_types[j].name, name->valuestring) == 0)
				break;
		}
		if (!cJSON_IsString(name) || j == config->n_owner_types)
			return pe_err_set(err, PE_E_USAGE,
					  "%s: owner type '%s' is not in "
					  "'owner_types'",
					  where, cJSON_IsString(name) ? name->valuestring : "?");
		t->owner_types[t->n_owner_types] = strdup(name->valuestring);
		if (t->owner_types[t->n_owner_types] == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		t->n_owner_types++;
	}
	return PE_OK;
}

static enum pe_code
load_templates(struct pe_refca_config *config, const cJSON *root, struct pe_err *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "templates"), *item;
	const char *dflt = str_member(root, "default_template");
	enum pe_code rc;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return pe_err_set(err, PE_E_USAGE, "'templates' must be an array of templates");
	config->templates = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*config->templates));
	if (config->templates == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	cJSON_ArrayForEach(item, arr)
	{
		if (!cJSON_IsObject(item))
			return pe_err_set(err, PE_E_USAGE, "template %zu is not an object",
					  config->n_templates + 1);
		rc = load_template(config, item, &config->templates[config->n_templates], err);
		/* counted even when it failed half-way, so that it is freed */
		config->n_templates++;
		if (rc != PE_OK)
			return rc;
	}
	if (dflt == NULL) {
		config->default_template = &config->templates[0];
	} else {
		config->default_template = pe_refca_config_template(config, dflt);
		if (config->default_template == NULL)
			return pe_err_set(err, PE_E_USAGE,
					  "'default_template' %s is not a "
					  "template",
					  dflt);
	}
	return PE_OK;
}

static bool
folder_valid(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return false;
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
	}
	return true;
}

enum pe_code
pe_refca_file_read(const char *path, size_t max, char **out, size_t *len, struct pe_err *err)
{
	size_t n = 0;
	enum pe_code rc;

	rc = pe_file_read(path, max, out, &n, err);
	if (rc == PE_E_NOTFOUND)
		return pe_err_set(err, PE_E_USAGE, "'%s': %s", path, strerror(ENOENT));
	if (rc != PE_OK)
		return rc;
	if (n == 0) {
		free(*out);
		*out = NULL;
		return pe_err_set(err, PE_E_USAGE, "'%s' is empty", path);
	}
	if (len != NULL)
		*len = n;
	return PE_OK;
}

enum pe_code
pe_refca_config_load(const char *path, struct pe_refca_config **out, struct pe_err *err)
{
	struct pe_refca_config *config = NULL;
	const cJSON *version;
	cJSON *root = NULL;
	char *text = NULL;
	enum pe_code rc;
	size_t len = 0;

	rc = pe_refca_file_read(path, CONFIG_MAX, &text, &len, err);
	if (rc != PE_OK)
		return rc;
	root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root)) {
		rc = pe_err_set(err, PE_E_USAGE, "not a JSON object");
		goto out;
	}
	version = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(version) || version->valueint != CONFIG_VERSION) {
		rc = pe_err_set(err, PE_E_USAGE, "'version' must be %d", CONFIG_VERSION);
		goto out;
	}
	config = calloc(1, sizeof(*config));
	if (config == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (!folder_valid(str_member(root, "folder"))) {
		rc = pe_err_set(err, PE_E_USAGE,
				"'folder' must be the registration folder GUID "
				"(letters, digits and '-')");
		goto out;
	}
	config->folder = strdup(str_member(root, "folder"));
	if (config->folder == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = load_rdn(config, root, err);
	if (rc == PE_OK)
		rc = load_owner_types(config, root, err);
	if (rc == PE_OK)
		rc = load_templates(config, root, err);
	if (rc != PE_OK)
		goto out;
	*out = config;
	config = NULL;
out:
	if (rc != PE_OK)
		pe_err_prefix(err, "'%s'", path);
	free(text);
	cJSON_Delete(root);
	pe_refca_config_free(config);
	return rc;
}

const struct pe_refca_template *
pe_refca_config_template(const struct pe_refca_config *config, const char *oid)
{
	size_t i;

	for (i = 0; i < config->n_templates; i++) {
		if (config->templates[i].oid != NULL && strcmp(config->templates[i].oid, oid) == 0)
			return &config->templates[i];
	}
	return NULL;
}

static const cJSON *
form_field(const struct pe_refca_config *config, const char *oid)
{
	const cJSON *field;

	cJSON_ArrayForEach(field, config->rdn)
	{
		if (strcmp(str_member(field, "Oid"), oid) == 0)
			return field;
	}
	return NULL;
}

const char *
pe_refca_config_attr_name(const struct pe_refca_config *config, const char *oid, char *buf,
			  size_t size)
{
	const cJSON *field = form_field(config, oid);
	const char *name = field ? str_member(field, "Name") : NULL;
	ASN1_OBJECT *obj;
	int nid = NID_undef;

	if (name == NULL || *name == '\0') {
		obj = OBJ_txt2obj(oid, 1);
		if (obj != NULL)
			nid = OBJ_obj2nid(obj);
		ASN1_OBJECT_free(obj);
		name = nid != NID_undef ? OBJ_nid2sn(nid) : oid;
	}
	snprintf(buf, size, "%s", name);
	return buf;
}

/* Returns: true when @s is UTF-8 without control characters. */
static bool
text_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	int more;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			more = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			more = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			more = 3;
		} else {
			return false;
		}
		for (p++; more > 0; more--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*p & 0x3f);
		}
		if (cp < 0x80 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
	}
	return true;
}

enum pe_code
pe_refca_config_value_check(const char *oid, const char *name, const char *value,
			    struct pe_err *err)
{
	char name_oid[128];
	enum pe_code rc;

	if (!text_valid(value))
		return pe_err_set(err, PE_E_USAGE, "%s is not UTF-8 text", name);
	if (strlen(value) > VALUE_MAX)
		return pe_err_set(err, PE_E_USAGE, "%s is longer than %d bytes", name, VALUE_MAX);
	/* checked under its name when that names the same attribute, for the message */
	if (pe_csr_attr_lookup(name, name_oid, sizeof(name_oid)) != 0 && strcmp(name_oid, oid) == 0)
		rc = pe_csr_attr_check(name, value, err);
	else
		rc = pe_csr_attr_check(oid, value, err);
	if (rc == PE_OK)
		rc = pe_ru_field_check(oid, name, value, err);
	return rc;
}

/* Returns: the value given for @oid in the OidArray, or NULL. */
static const char *
given_value(const cJSON *oid_array, const char *oid)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, oid_array)
	{
		if (item->child != NULL && strcmp(item->child->string, oid) == 0)
			return item->child->valuestring;
	}
	return NULL;
}

static enum pe_code
given_check(const struct pe_refca_config *config, const cJSON *oid_array, struct pe_err *err)
{
	const cJSON *item, *other;
	char name[64];
	int n = 0;

	if (!cJSON_IsArray(oid_array))
		return pe_err_set(err, PE_E_USAGE,
				  "OidArray must be an array of "
				  "{\"OID\":\"value\"} objects");
	cJSON_ArrayForEach(item, oid_array)
	{
		n++;
		if (!cJSON_IsObject(item) || item->child == NULL || item->child->next != NULL ||
		    !cJSON_IsString(item->child) || item->child->string == NULL)
			return pe_err_set(err, PE_E_USAGE,
					  "OidArray item %d must be one "
					  "{\"OID\":\"value\"}",
					  n);
		if (form_field(config, item->child->string) == NULL)
			return pe_err_set(err, PE_E_USAGE,
					  "OidArray item %d: '%.64s' is not a "
					  "field of the registration form",
					  n, item->child->string);
		cJSON_ArrayForEach(other, oid_array)
		{
			if (other == item)
				break;
			if (strcmp(other->child->string, item->child->string) == 0)
				return pe_err_set(err, PE_E_USAGE, "%s (%s) is given twice",
						  pe_refca_config_attr_name(config,
									    item->child->string,
									    name, sizeof(name)),
						  item->child->string);
		}
	}
	return PE_OK;
}

static enum pe_code
field_check(const cJSON *field, const char *oid, const char *name, const char *value,
	    struct pe_err *err)
{
	const char *dflt = str_member(field, "DefaultValue");
	const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(field, "SettingsValues"), *v;
	bool found = false;
	enum pe_code rc;

	rc = pe_refca_config_value_check(oid, name, value, err);
	if (rc != PE_OK)
		return rc;
	if (bool_member(field, "ProhibitChange") && dflt != NULL && *dflt != '\0' &&
	    strcmp(value, dflt) != 0)
		return pe_err_set(err, PE_E_USAGE, "%s (%s) must be '%s'", name, oid, dflt);
	if (bool_member(field, "ProhibitAnyValue") && cJSON_GetArraySize(allowed) > 0) {
		cJSON_ArrayForEach(v, allowed)
		{
			if (strcmp(v->valuestring, value) == 0)
				found = true;
		}
		if (!found)
			return pe_err_set(err, PE_E_USAGE,
					  "%s (%s) '%s' is not one of the values "
					  "the form allows",
					  name, oid, value);
	}
	return PE_OK;
}

enum pe_code
pe_refca_config_form_check(const struct pe_refca_config *config, const cJSON *oid_array,
			   cJSON **profile, struct pe_err *err)
{
	const cJSON *field;
	cJSON *out = NULL, *item;
	const char *oid, *value, *dflt;
	char name[64];
	enum pe_code rc;

	rc = given_check(config, oid_array, err);
	if (rc != PE_OK)
		return rc;
	out = cJSON_CreateArray();
	if (out == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	cJSON_ArrayForEach(field, config->rdn)
	{
		oid = str_member(field, "Oid");
		pe_refca_config_attr_name(config, oid, name, sizeof(name));
		value = given_value(oid_array, oid);
		dflt = str_member(field, "DefaultValue");
		if ((value == NULL || *value == '\0') && dflt != NULL && *dflt != '\0')
			value = dflt;
		if (value == NULL || *value == '\0') {
			if (!bool_member(field, "ProhibitEmpty"))
				continue;
			rc = pe_err_set(err, PE_E_USAGE, "%s (%s) is required", name, oid);
			goto out;
		}
		rc = field_check(field, oid, name, value, err);
		if (rc != PE_OK)
			goto out;
		item = cJSON_CreateObject();
		if (item == NULL || cJSON_AddStringToObject(item, oid, value) == NULL ||
		    !cJSON_AddItemToArray(out, item)) {
			cJSON_Delete(item);
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	*profile = out;
	out = NULL;
out:
	cJSON_Delete(out);
	return rc;
}
