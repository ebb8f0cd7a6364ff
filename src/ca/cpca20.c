/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CryptoPro CA 2.0 user API connector (shared/protocols/cpca20.md):
 * registration with operator approval, Basic login, templates, requests that
 * wait for an operator, rejection and acknowledgement. The wire format is
 * reconstructed, so the parsers ignore what they do not know.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

/* The URL shape */

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* Returns: whether @c may appear in a folder name or request id without escaping. */
static bool
segment_char(char c)
{
	return host_char(c) || c == '~' || c == '{' || c == '}';
}

bool
pe_ca_cpca20_id_ok(const char *id)
{
	const char *p;

	if (id == NULL || id[0] == '\0' || strlen(id) > 256)
		return false;
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (p = id; *p != '\0'; p++) {
		if (!segment_char(*p))
			return false;
	}
	return true;
}

/* Checks "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT" (@len bytes); returns a reason or NULL. */
static const char *
authority_problem(const char *a, size_t len)
{
	const char *end = a + len, *port = NULL, *p, *q;
	unsigned long value = 0;

	if (len == 0)
		return "it names no host";
	if (memchr(a, '@', len) != NULL)
		return "credentials do not belong in the URL (use the login)";
	if (a[0] == '[') {
		p = memchr(a, ']', len);
		if (p == NULL || p == a + 1)
			return "the IPv6 address is not closed by ']'";
		for (q = a + 1; q < p; q++) {
			if (!(host_char(*q) || *q == ':'))
				return "the host is not a name or an address";
		}
		p++;
		if (p < end && *p != ':')
			return "the host is not a name or an address";
		if (p < end)
			port = p + 1;
	} else {
		for (p = a; p < end && *p != ':'; p++) {
			if (!host_char(*p))
				return "the host is not a name or an address";
		}
		if (p == a)
			return "it names no host";
		if (p < end)
			port = p + 1;
	}
	if (port != NULL) {
		if (port == end)
			return "the port is empty";
		for (p = port; p < end; p++) {
			if (*p < '0' || *p > '9' || p - port >= 5)
				return "the port is not a number from 1 to 65535";
			value = value * 10 + (unsigned long)(*p - '0');
		}
		if (value == 0 || value > 65535)
			return "the port is not a number from 1 to 65535";
	}
	return NULL;
}

enum pe_code
pe_ca_cpca20_url_parse(const char *url, struct pe_ca_cpca20_url *out, struct pe_err *err)
{
	static const char prefix[] = "/ui/api/";
	const char *host, *path, *folder, *problem = NULL, *p;
	size_t folder_len, origin_len;
	struct pe_ca_cpca20_url u = { NULL, NULL, NULL };
	char *name = NULL;

	if (url == NULL)
		return pe_err_set(err, PE_E_USAGE, "no service URL");
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' is not a CA 2.0 service URL "
				  "(https://HOST[:PORT]/ui/api/FOLDER): it is not https",
				  url);
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#') {
			problem = "it holds a space, a query, a fragment or a character that "
				  "needs escaping";
			break;
		}
	}
	path = host + strcspn(host, "/");
	if (problem == NULL)
		problem = authority_problem(host, (size_t)(path - host));
	if (problem == NULL && strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		problem = "its path is not /ui/api/FOLDER";
	if (problem == NULL) {
		folder = path + sizeof(prefix) - 1;
		folder_len = strcspn(folder, "/");
		if (folder[folder_len] == '/' && folder[folder_len + 1] != '\0')
			problem = "its path is not /ui/api/FOLDER";
		else if (folder_len == 0)
			problem = "it names no registration folder after /ui/api/";
		else {
			name = strndup(folder, folder_len);
			if (name == NULL)
				return pe_err_set(err, PE_E_FAIL, "out of memory");
			if (!pe_ca_cpca20_id_ok(name))
				problem = "the folder is not a name such as a GUID";
			free(name);
		}
	}
	if (problem != NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' is not a CA 2.0 service URL "
				  "(https://HOST[:PORT]/ui/api/FOLDER): %s",
				  url, problem);

	origin_len = (size_t)(path - url);
	u.origin = strndup(url, origin_len);
	u.folder = strndup(url, origin_len + sizeof(prefix) - 1 + folder_len);
	u.api = strndup(url, origin_len + sizeof(prefix) - 2);
	if (u.origin == NULL || u.folder == NULL || u.api == NULL) {
		pe_ca_cpca20_url_cleanup(&u);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	*out = u;
	return PE_OK;
}

void
pe_ca_cpca20_url_cleanup(struct pe_ca_cpca20_url *url)
{
	if (url == NULL)
		return;
	free(url->origin);
	free(url->folder);
	free(url->api);
	url->origin = NULL;
	url->folder = NULL;
	url->api = NULL;
}

/* JSON */

static enum pe_code malformed(struct pe_err *err, const char *call, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum pe_code
malformed(struct pe_err *err, const char *call, const char *fmt, ...)
{
	char what[PE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pe_err_set(err, PE_E_NET, "the CA's answer to %s is malformed: %s", call, what);
}

/* Returns: PE_OK and the parsed object in *root (cJSON_Delete()). */
static enum pe_code
parse_object(const char *body, size_t len, const char *call, cJSON **root, struct pe_err *err)
{
	const char *end = NULL;
	cJSON *json;

	if (body == NULL || len == 0)
		return malformed(err, call, "the answer is empty");
	json = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (json == NULL) {
		if (end != NULL && end >= body && end <= body + len)
			return malformed(err, call, "not JSON (error near byte %zu of %zu)",
					 (size_t)(end - body), len);
		return malformed(err, call, "not JSON");
	}
	if (!cJSON_IsObject(json)) {
		cJSON_Delete(json);
		return malformed(err, call, "not a JSON object");
	}
	*root = json;
	return PE_OK;
}

static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (n >= len - i)
			return false; /* truncated sequence */
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* What a string member may hold. */
enum {
	STR_REQUIRED = 1 << 0, /* missing or null is malformed */
	STR_NONEMPTY = 1 << 1, /* "" is malformed */
	STR_ID = 1 << 2,       /* goes into a URL: segment_char only; integral numbers allowed */
	STR_TEXT = 1 << 3,     /* shown to people: control characters become spaces */
	STR_NOCTRL = 1 << 4,   /* control characters are malformed */
	STR_NUMBER = 1 << 5,   /* an integral number is taken as its decimal text */
};

/*
 * Checks a string @item named @where and copies it into *out.
 * Returns: PE_OK, PE_E_NET (malformed) or PE_E_FAIL.
 */
static enum pe_code
take_string(const cJSON *item, const char *where, unsigned flags, const char *call, char **out,
	    struct pe_err *err)
{
	char number[32];
	const char *s;
	size_t len, i;
	char *copy;
	double d;

	*out = NULL;
	if (item == NULL || cJSON_IsNull(item)) {
		if (flags & STR_REQUIRED)
			return malformed(err, call, "no %s", where);
		return PE_OK;
	}
	if (cJSON_IsNumber(item) && (flags & (STR_ID | STR_NUMBER))) {
		d = item->valuedouble;
		if (d < 0 || d > 9007199254740992.0 || d != (double)(long long)d)
			return malformed(err, call, "%s is not a string", where);
		snprintf(number, sizeof(number), "%lld", (long long)d);
		s = number;
	} else if (cJSON_IsString(item) && item->valuestring != NULL) {
		s = item->valuestring;
	} else {
		return malformed(err, call, "%s is not a string", where);
	}
	len = strlen(s);
	if (len > PE_CA_CPCA20_MAX_STRING)
		return malformed(err, call, "%s is longer than %d bytes", where,
				 PE_CA_CPCA20_MAX_STRING);
	if (len == 0 && (flags & STR_NONEMPTY))
		return malformed(err, call, "%s is empty", where);
	if (!utf8_valid((const unsigned char *)s, len))
		return malformed(err, call, "%s is not UTF-8", where);
	if ((flags & STR_ID) && len > 0 && !pe_ca_cpca20_id_ok(s))
		return malformed(err, call, "%s '%.64s' cannot go in a URL", where, s);
	if (flags & STR_NOCTRL) {
		for (i = 0; i < len; i++) {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return malformed(err, call, "%s holds a control character", where);
		}
	}
	copy = strdup(s);
	if (copy == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (flags & STR_TEXT) {
		for (i = 0; i < len; i++) {
			if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
				copy[i] = ' ';
		}
	}
	*out = copy;
	return PE_OK;
}

/* take_string() for member @name of @obj, named "@parent.@name" in messages. */
static enum pe_code
member_string(const cJSON *obj, const char *parent, const char *name, unsigned flags,
	      const char *call, char **out, struct pe_err *err)
{
	char where[128];

	snprintf(where, sizeof(where), "%s%s%s", parent, parent[0] != '\0' ? "." : "", name);
	return take_string(cJSON_GetObjectItem(obj, name), where, flags, call, out, err);
}

/* Reads a flag: true/false, 0/1, "true"/"false"; missing or null is false. */
static enum pe_code
member_bool(const cJSON *obj, const char *parent, const char *name, const char *call, bool *out,
	    struct pe_err *err)
{
	const cJSON *item = cJSON_GetObjectItem(obj, name);

	*out = false;
	if (item == NULL || cJSON_IsNull(item))
		return PE_OK;
	if (cJSON_IsBool(item)) {
		*out = cJSON_IsTrue(item);
		return PE_OK;
	}
	if (cJSON_IsNumber(item)) {
		*out = item->valuedouble != 0;
		return PE_OK;
	}
	if (cJSON_IsString(item) && item->valuestring != NULL) {
		if (strcasecmp(item->valuestring, "true") == 0) {
			*out = true;
			return PE_OK;
		}
		if (strcasecmp(item->valuestring, "false") == 0)
			return PE_OK;
	}
	return malformed(err, call, "%s.%s is not true or false", parent, name);
}

/* Returns: PE_OK and the member @name of @obj, which must be an object (or an array). */
static enum pe_code
member_container(const cJSON *obj, const char *name, bool array, const char *call,
		 const cJSON **out, struct pe_err *err)
{
	const cJSON *item = cJSON_GetObjectItem(obj, name);

	if (item == NULL || cJSON_IsNull(item))
		return malformed(err, call, "no '%s' %s", name, array ? "array" : "object");
	if (array ? !cJSON_IsArray(item) : !cJSON_IsObject(item))
		return malformed(err, call, "'%s' is not an %s", name, array ? "array" : "object");
	*out = item;
	return PE_OK;
}

/* userattr */

static void
field_cleanup(struct pe_ca_field *f)
{
	size_t j;

	free(f->oid);
	free(f->name);
	free(f->localized_name);
	free(f->default_value);
	for (j = 0; j < f->n_choices; j++)
		free(f->choices[j]);
	free(f->choices);
	memset(f, 0, sizeof(*f));
}

static enum pe_code
parse_field(const cJSON *item, size_t index, struct pe_ca_field *f, struct pe_err *err)
{
	static const char call[] = "the registration form request";
	const cJSON *choices, *c;
	char where[64], cwhere[128];
	enum pe_code rc;
	size_t n, j;

	memset(f, 0, sizeof(*f));
	snprintf(where, sizeof(where), "RDN[%zu]", index);
	if (!cJSON_IsObject(item))
		return malformed(err, call, "%s is not an object", where);
	rc = member_string(item, where, "Oid", STR_REQUIRED | STR_NONEMPTY | STR_NOCTRL, call,
			   &f->oid, err);
	if (rc == PE_OK)
		rc = member_string(item, where, "Name", STR_TEXT, call, &f->name, err);
	if (rc == PE_OK)
		rc = member_string(item, where, "LocalizedName", STR_TEXT, call, &f->localized_name,
				   err);
	if (rc == PE_OK)
		rc = member_string(item, where, "DefaultValue", STR_TEXT | STR_NUMBER, call,
				   &f->default_value, err);
	if (rc == PE_OK)
		rc = member_bool(item, where, "ProhibitEmpty", call, &f->mandatory, err);
	if (rc == PE_OK)
		rc = member_bool(item, where, "ProhibitChange", call, &f->fixed, err);
	if (rc == PE_OK)
		rc = member_bool(item, where, "ProhibitAnyValue", call, &f->choices_only, err);
	if (rc != PE_OK)
		goto out;
	if (f->localized_name == NULL) {
		f->localized_name = strdup(f->name != NULL ? f->name : f->oid);
		if (f->localized_name == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	choices = cJSON_GetObjectItem(item, "SettingsValues");
	if (choices == NULL || cJSON_IsNull(choices))
		goto out;
	if (!cJSON_IsArray(choices)) {
		rc = malformed(err, call, "%s.SettingsValues is not an array", where);
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(choices);
	if (n == 0)
		goto out;
	f->choices = calloc(n, sizeof(*f->choices));
	if (f->choices == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	j = 0;
	cJSON_ArrayForEach(c, choices)
	{
		snprintf(cwhere, sizeof(cwhere), "%s.SettingsValues[%zu]", where, j);
		rc = take_string(c, cwhere, STR_REQUIRED | STR_TEXT | STR_NUMBER, call,
				 &f->choices[j], err);
		if (rc != PE_OK)
			goto out;
		f->n_choices = ++j;
	}
out:
	if (rc != PE_OK)
		field_cleanup(f);
	return rc;
}

enum pe_code
pe_ca_cpca20_parse_form(const char *body, size_t len, struct pe_ca_form *out, struct pe_err *err)
{
	static const char call[] = "the registration form request";
	struct pe_ca_form form = { NULL, 0 };
	const cJSON *rdn, *item;
	cJSON *root = NULL;
	enum pe_code rc;
	size_t n;

	rc = parse_object(body, len, call, &root, err);
	if (rc != PE_OK)
		return rc;
	rc = member_container(root, "RDN", true, call, &rdn, err);
	if (rc != PE_OK)
		goto out;
	n = (size_t)cJSON_GetArraySize(rdn);
	if (n > 0) {
		form.fields = calloc(n, sizeof(*form.fields));
		if (form.fields == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	cJSON_ArrayForEach(item, rdn)
	{
		rc = parse_field(item, form.n, &form.fields[form.n], err);
		if (rc != PE_OK)
			goto out;
		form.n++;
	}
	*out = form;
	form.fields = NULL;
	form.n = 0;
out:
	pe_ca_form_free(&form);
	cJSON_Delete(root);
	return rc;
}

/* regrequest */

enum pe_code
pe_ca_cpca20_parse_registration(const char *body, size_t len, struct pe_ca_registration **out,
				struct pe_err *err)
{
	static const char call[] = "the registration";
	struct pe_ca_registration *reg = NULL;
	const cJSON *rr = NULL;
	cJSON *root = NULL, *pw = NULL;
	enum pe_code rc;
	size_t pw_len;

	rc = parse_object(body, len, call, &root, err);
	if (rc != PE_OK)
		return rc;
	rc = member_container(root, "RegRequest", false, call, &rr, err);
	if (rc != PE_OK)
		goto out;
	/* found first, so that whatever happens its copy is zeroised at out: */
	pw = cJSON_GetObjectItem(rr, "Password");
	reg = calloc(1, sizeof(*reg));
	if (reg == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = member_string(rr, "RegRequest", "RegRequestId", STR_ID, call, &reg->id, err);
	if (rc == PE_OK)
		rc = member_string(rr, "RegRequest", "Token",
				   STR_REQUIRED | STR_NONEMPTY | STR_NOCTRL | STR_NUMBER, call,
				   &reg->login, err);
	if (rc == PE_OK)
		rc = member_string(rr, "RegRequest", "Status", STR_TEXT, call, &reg->status, err);
	if (rc != PE_OK)
		goto out;
	if (pw == NULL || cJSON_IsNull(pw)) {
		rc = malformed(err, call, "no RegRequest.Password");
		goto out;
	}
	if (!cJSON_IsString(pw) || pw->valuestring == NULL) {
		rc = malformed(err, call, "RegRequest.Password is not a string");
		goto out;
	}
	pw_len = strlen(pw->valuestring);
	if (pw_len == 0 || pw_len > PE_CA_CPCA20_MAX_STRING) {
		rc = malformed(err, call, "RegRequest.Password is %s",
			       pw_len ? "too long" : "empty");
		goto out;
	}
	reg->password = pe_secret_new(pw->valuestring, pw_len);
	if (reg->password == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	*out = reg;
	reg = NULL;
out:
	if (pw != NULL && cJSON_IsString(pw) && pw->valuestring != NULL)
		OPENSSL_cleanse(pw->valuestring, strlen(pw->valuestring));
	pe_ca_registration_free(reg);
	cJSON_Delete(root);
	return rc;
}

enum pe_code
pe_ca_cpca20_parse_regstatus(const char *body, size_t len, char **status, char **reason,
			     struct pe_err *err)
{
	static const char call[] = "the registration status request";
	char *s = NULL, *r = NULL;
	const cJSON *rr;
	cJSON *root = NULL;
	enum pe_code rc;

	rc = parse_object(body, len, call, &root, err);
	if (rc != PE_OK)
		return rc;
	rc = member_container(root, "RegRequest", false, call, &rr, err);
	if (rc == PE_OK)
		rc = member_string(rr, "RegRequest", "Status",
				   STR_REQUIRED | STR_NONEMPTY | STR_TEXT, call, &s, err);
	if (rc == PE_OK)
		rc = member_string(rr, "RegRequest", "Comment", STR_TEXT, call, &r, err);
	if (rc == PE_OK) {
		*status = s;
		*reason = r;
		s = NULL;
		r = NULL;
	}
	free(s);
	free(r);
	cJSON_Delete(root);
	return rc;
}

/* regrequest/profile */

enum pe_code
pe_ca_cpca20_parse_profile(const char *body, size_t len, struct pe_ca_value **values, size_t *n,
			   struct pe_err *err)
{
	static const char call[] = "the profile request";
	struct pe_ca_value *v = NULL;
	const cJSON *profile, *item, *member;
	char where[128];
	size_t total = 0, count = 0, i = 0, k;
	cJSON *root = NULL;
	enum pe_code rc;
	const char *key;

	rc = parse_object(body, len, call, &root, err);
	if (rc != PE_OK)
		return rc;
	rc = member_container(root, "Profile", true, call, &profile, err);
	if (rc != PE_OK)
		goto out;
	cJSON_ArrayForEach(item, profile)
	{
		if (!cJSON_IsObject(item)) {
			rc = malformed(err, call, "Profile[%zu] is not an object", i);
			goto out;
		}
		total += (size_t)cJSON_GetArraySize(item);
		i++;
	}
	if (total > 0) {
		v = calloc(total, sizeof(*v));
		if (v == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	i = 0;
	cJSON_ArrayForEach(item, profile)
	{
		cJSON_ArrayForEach(member, item)
		{
			/* each member is "OID": "value"; the key is checked by hand */
			key = member->string;
			if (key == NULL || key[0] == '\0' || strlen(key) > 256 ||
			    !utf8_valid((const unsigned char *)key, strlen(key))) {
				rc = malformed(err, call, "a key of Profile[%zu] is not an OID", i);
				goto out;
			}
			for (k = 0; key[k] != '\0'; k++) {
				if ((unsigned char)key[k] < 0x20 || key[k] == 0x7f) {
					rc = malformed(err, call,
						       "a key of Profile[%zu] is not an OID", i);
					goto out;
				}
			}
			if (cJSON_IsNull(member))
				continue;
			snprintf(where, sizeof(where), "Profile[%zu].'%.64s'", i, key);
			rc = take_string(member, where, STR_TEXT | STR_NUMBER, call,
					 &v[count].value, err);
			if (rc != PE_OK)
				goto out;
			v[count].oid = strdup(key);
			count++;
			if (v[count - 1].oid == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto out;
			}
		}
		i++;
	}
	*values = v;
	*n = count;
	v = NULL;
out:
	pe_ca_values_free(v, total);
	cJSON_Delete(root);
	return rc;
}

/* certtemplate */

enum pe_code
pe_ca_cpca20_parse_templates(const char *body, size_t len, struct pe_ca_template **out, size_t *n,
			     struct pe_err *err)
{
	static const char call[] = "the template list request";
	struct pe_ca_template *t = NULL;
	const cJSON *list, *item;
	char where[64];
	size_t count = 0, total;
	cJSON *root = NULL;
	enum pe_code rc;

	rc = parse_object(body, len, call, &root, err);
	if (rc != PE_OK)
		return rc;
	rc = member_container(root, "Template", true, call, &list, err);
	if (rc != PE_OK)
		goto out;
	total = (size_t)cJSON_GetArraySize(list);
	if (total > 0) {
		t = calloc(total, sizeof(*t));
		if (t == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	cJSON_ArrayForEach(item, list)
	{
		snprintf(where, sizeof(where), "Template[%zu]", count);
		if (!cJSON_IsObject(item)) {
			rc = malformed(err, call, "%s is not an object", where);
			goto out;
		}
		/* counted first: whatever the two calls below set is freed on failure */
		count++;
		rc = member_string(item, where, "Oid", STR_REQUIRED | STR_NONEMPTY | STR_NOCTRL,
				   call, &t[count - 1].oid, err);
		if (rc == PE_OK)
			rc = member_string(item, where, "LocalizedName", STR_TEXT, call,
					   &t[count - 1].name, err);
		if (rc == PE_OK && t[count - 1].name == NULL)
			rc = member_string(item, where, "Name", STR_TEXT, call, &t[count - 1].name,
					   err);
		if (rc != PE_OK)
			goto out;
		if (t[count - 1].name == NULL) {
			t[count - 1].name = strdup(t[count - 1].oid);
			if (t[count - 1].name == NULL) {
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
				goto out;
			}
		}
	}
	*out = t;
	*n = count;
	t = NULL;
out:
	pe_ca_templates_free(t, count);
	cJSON_Delete(root);
	return rc;
}

/* certrequest */

enum pe_code
pe_ca_cpca20_parse_certrequest(const char *body, size_t len, const char *call, bool need_id,
			       struct pe_ca_status *status, struct pe_err *err)
{
	struct pe_ca_status s = { 0 };
	const cJSON *cr;
	cJSON *root = NULL;
	enum pe_code rc;

	rc = parse_object(body, len, call, &root, err);
	if (rc != PE_OK)
		return rc;
	rc = member_container(root, "CertRequest", false, call, &cr, err);
	if (rc == PE_OK)
		rc = member_string(cr, "CertRequest", "CertRequestId",
				   STR_ID | STR_NONEMPTY | (need_id ? STR_REQUIRED : 0), call,
				   &s.id, err);
	if (rc == PE_OK)
		rc = member_string(cr, "CertRequest", "Status",
				   STR_REQUIRED | STR_NONEMPTY | STR_TEXT, call, &s.raw, err);
	if (rc == PE_OK)
		rc = member_string(cr, "CertRequest", "Comment", STR_TEXT, call, &s.reason, err);
	if (rc == PE_OK) {
		*status = s;
		memset(&s, 0, sizeof(s));
	}
	pe_ca_status_cleanup(&s);
	cJSON_Delete(root);
	return rc;
}

char *
pe_ca_cpca20_error_text(const char *body, size_t len)
{
	static const char *const names[] = { "Error", "Message" };
	char *text = NULL;
	cJSON *root = NULL;
	size_t i, start = 0, end;
	struct pe_err ignored;

	if (body == NULL || len == 0)
		return NULL;
	root = cJSON_ParseWithLength(body, len);
	if (cJSON_IsObject(root)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]) && text == NULL; i++) {
			if (take_string(cJSON_GetObjectItem(root, names[i]), names[i],
					STR_NONEMPTY | STR_TEXT, "an error", &text,
					&ignored) != PE_OK)
				text = NULL;
		}
		cJSON_Delete(root);
		return text;
	}
	cJSON_Delete(root);
	/* a short line of plain text, but not an HTML page */
	while (start < len && (body[start] == ' ' || body[start] == '\t'))
		start++;
	end = start;
	while (end < len && body[end] != '\n' && body[end] != '\r' && body[end] != '\0')
		end++;
	if (end == start || end - start > 200 || body[start] == '<' || body[start] == '{' ||
	    !utf8_valid((const unsigned char *)body + start, end - start))
		return NULL;
	text = strndup(body + start, end - start);
	if (text != NULL) {
		for (i = 0; text[i] != '\0'; i++) {
			if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
				text[i] = ' ';
		}
	}
	return text;
}

/* Status letters */

/* Returns: the status letter, upper case, or 0 when @raw is not a single letter. */
static char
letter_of(const char *raw)
{
	if (raw == NULL || raw[0] == '\0' || raw[1] != '\0')
		return 0;
	if (raw[0] >= 'a' && raw[0] <= 'z')
		return (char)(raw[0] - 'a' + 'A');
	return raw[0];
}

bool
pe_ca_cpca20_login_state(const char *letter, enum pe_ca_login_state *state)
{
	switch (letter_of(letter)) {
	case 'Q':
	case 'P':
		*state = PE_CA_LOGIN_AWAITING_APPROVAL;
		return true;
	case 'A':
	case 'C':
	case 'K':
		*state = PE_CA_LOGIN_READY;
		return true;
	case 'R':
	case 'D':
	case 'E':
		*state = PE_CA_LOGIN_REJECTED;
		return true;
	default:
		*state = PE_CA_LOGIN_REJECTED;
		return false;
	}
}

enum pe_code
pe_ca_cpca20_request_code(struct pe_ca_status *status, struct pe_err *err)
{
	const char *raw = status->raw != NULL ? status->raw : "";
	char text[128];

	switch (letter_of(raw)) {
	case 'Q':
	case 'A':
	case 'P':
		return pe_err_set(err, PE_E_PENDING, "the CA is processing the request (status %s)",
				  raw);
	case 'C':
	case 'K':
		return PE_OK;
	case 'R':
	case 'D':
	case 'E':
		snprintf(text, sizeof(text), "the CA rejected the request (status %s)", raw);
		break;
	default:
		snprintf(text, sizeof(text), "the CA reports the unknown status '%.32s'", raw);
		break;
	}
	if (status->reason != NULL)
		return pe_err_set(err, PE_E_CA, "%s: %s", text, status->reason);
	status->reason = strdup(text);
	if (status->reason == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return pe_err_set(err, PE_E_CA, "%s", text);
}

/* The calls */

/* What each call is, for messages. */
struct call {
	const char *name; /* "the template list request": as in malformed() */
	const char *what; /* "the template list": what the CA refused */
	bool auth;	  /* Basic with the login */
};

static const struct call call_roots = { "the chain request", "the chain", false };
static const struct call call_form = { "the registration form request", "the registration form",
				       false };
static const struct call call_register = { "the registration", "the registration", false };
static const struct call call_regstatus = { "the registration status request",
					    "the registration status", true };
static const struct call call_profile = { "the profile request", "the profile", true };
static const struct call call_templates = { "the template list request", "the template list",
					    true };
static const struct call call_submit = { "the request submission", "the request", true };
static const struct call call_poll = { "the request status query", "the request status", true };
static const struct call call_fetch = { "the certificate download", "the certificate", true };
static const struct call call_ack = { "the acknowledgement", "the acknowledgement", true };

/*
 * Maps an answer that is not 2xx: 401 and 403 PE_E_USAGE (the login), 404
 * PE_E_USAGE (no CA 2.0 API there), other 4xx PE_E_CA with the CA's text, 5xx
 * and the rest PE_E_NET.
 * Returns: that code, with @res cleaned up.
 */
static enum pe_code
status_error(struct pe_ca_conn *conn, const struct call *c, const char *method, const char *url,
	     struct pe_http_response *res, struct pe_err *err)
{
	enum pe_code rc;
	char *text;
	long st = res->status;

	text = pe_ca_cpca20_error_text((const char *)res->body, res->body_len);
	if ((st == 401 || st == 403) && c->auth)
		rc = pe_err_set(err, PE_E_USAGE,
				"%s %s: the service refused the login '%s' (HTTP %ld)", method, url,
				conn->login, st);
	else if (st == 401 || st == 403)
		rc = pe_err_set(err, PE_E_USAGE, "%s %s: the service refused access (HTTP %ld)",
				method, url, st);
	else if (st == 404)
		rc = pe_err_set(err, PE_E_USAGE,
				"%s %s: not found: is this a CA 2.0 service? (HTTP 404)", method,
				url);
	else if (st >= 400 && st < 500)
		rc = pe_err_set(err, PE_E_CA, "the CA refused %s: %s (HTTP %ld)", c->what,
				text != NULL ? text : "no reason given", st);
	else
		rc = pe_err_set(err, PE_E_NET, "%s %s: the CA answered HTTP %ld%s%s", method, url,
				st, text != NULL ? ": " : "", text != NULL ? text : "");
	free(text);
	pe_http_response_cleanup(res);
	return rc;
}

/*
 * Sends one request on the connection. 2xx answers are PE_OK; others are
 * PE_OK too when @raw_status (the caller looks at them first), else mapped by
 * status_error().
 */
static enum pe_code
send_call(struct pe_ca_conn *conn, const struct call *c, const char *method, const char *url,
	  const char *content_type, const void *body, size_t body_len, bool raw_status,
	  struct pe_http_response *res, struct pe_err *err)
{
	enum pe_code rc;

	pe_return_val_if_fail(conn != NULL && conn->http != NULL, PE_E_FAIL);
	if (c->auth && conn->login == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "%s needs a login: register first, or give the login and "
				  "password the CA handed out",
				  c->what);
	rc = pe_http_request(conn->http, method, url, c->auth ? conn->login : NULL,
			     c->auth ? conn->password : NULL, content_type, body, body_len, res,
			     err);
	if (rc != PE_OK)
		return rc;
	if ((res->status >= 200 && res->status < 300) || raw_status)
		return PE_OK;
	return status_error(conn, c, method, url, res, err);
}

/* Builds "@base@path" into *out (free()). */
static enum pe_code
join(const char *base, const char *path, const char *id, const char *tail, char **out,
     struct pe_err *err)
{
	int n;

	n = asprintf(out, "%s%s%s%s", base, path, id != NULL ? id : "", tail != NULL ? tail : "");
	if (n < 0) {
		*out = NULL;
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

/* Splits conn->url and builds the URL of one call. */
static enum pe_code
call_url(struct pe_ca_conn *conn, int base, const char *path, const char *id, const char *tail,
	 char **out, struct pe_err *err)
{
	struct pe_ca_cpca20_url u;
	const char *b;
	enum pe_code rc;

	pe_return_val_if_fail(conn != NULL, PE_E_FAIL);
	if (id != NULL && !pe_ca_cpca20_id_ok(id))
		return pe_err_set(err, PE_E_USAGE, "the request id '%.64s' cannot go in a URL", id);
	if (id == NULL && path[strlen(path) - 1] == '/')
		return pe_err_set(err, PE_E_USAGE, "no request id");
	rc = pe_ca_cpca20_url_parse(conn->url, &u, err);
	if (rc != PE_OK)
		return rc;
	b = base == 0 ? u.origin : base == 1 ? u.folder : u.api;
	rc = join(b, path, id, tail, out, err);
	pe_ca_cpca20_url_cleanup(&u);
	return rc;
}

enum { BASE_ORIGIN, BASE_FOLDER, BASE_API };

/*
 * CA 2.0 services publish their chain on their web site, not in the user API:
 * the user gives it with --ca-file. The reference service (p11enroll-ca) also
 * serves it at /ca/chain.pem, which is what this fetches.
 */
static enum pe_code
cpca20_roots(struct pe_ca_conn *conn, unsigned char ***certs, size_t **lens, size_t *n,
	     struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	rc = call_url(conn, BASE_ORIGIN, "/ca/chain.pem", NULL, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_roots, "GET", url, NULL, NULL, 0, true, &res, err);
	if (rc != PE_OK)
		goto out;
	if (res.status == 404) {
		rc = pe_err_set(err, PE_E_USAGE,
				"GET %s: the service publishes no chain there (HTTP 404): give the "
				"CA's chain from its web site with --ca-file",
				url);
		goto out;
	}
	if (res.status < 200 || res.status >= 300) {
		rc = pe_err_set(err, PE_E_NET, "GET %s: the CA answered HTTP %ld", url, res.status);
		goto out;
	}
	rc = pe_ca_pem_chain_parse((const char *)res.body, res.body_len, certs, lens, n, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "GET %s", url);
out:
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

static enum pe_code
cpca20_form(struct pe_ca_conn *conn, struct pe_ca_form *out, struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	rc = call_url(conn, BASE_FOLDER, "/userattr", NULL, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_form, "GET", url, NULL, NULL, 0, false, &res, err);
	if (rc == PE_OK)
		rc = pe_ca_cpca20_parse_form((const char *)res.body, res.body_len, out, err);
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

enum pe_code
pe_ca_cpca20_registration_body(const struct pe_ca_value *values, size_t n, const char *email,
			       char **out, struct pe_err *err)
{
	static const char *const empty[] = { "Comment", "Description", "KeyPhrase" };
	cJSON *root, *array, *pair;
	enum pe_code rc = PE_OK;
	size_t i;

	root = cJSON_CreateObject();
	if (root == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		if (cJSON_AddStringToObject(root, empty[i], "") == NULL)
			goto oom;
	}
	if (cJSON_AddStringToObject(root, "Email", email != NULL ? email : "") == NULL)
		goto oom;
	array = cJSON_AddArrayToObject(root, "OidArray");
	if (array == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if (values[i].oid == NULL || values[i].oid[0] == '\0') {
			rc = pe_err_set(err, PE_E_USAGE, "registration value %zu has no OID",
					i + 1);
			goto out;
		}
		pair = cJSON_CreateObject();
		if (pair == NULL)
			goto oom;
		cJSON_AddItemToArray(array, pair);
		if (cJSON_AddStringToObject(pair, values[i].oid,
					    values[i].value != NULL ? values[i].value : "") == NULL)
			goto oom;
	}
	*out = cJSON_PrintUnformatted(root);
	if (*out == NULL)
		goto oom;
	goto out;
oom:
	rc = pe_err_set(err, PE_E_FAIL, "out of memory");
out:
	cJSON_Delete(root);
	return rc;
}

static enum pe_code
cpca20_enroll_user(struct pe_ca_conn *conn, const struct pe_ca_value *values, size_t n,
		   const char *email, struct pe_ca_registration **out, struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL, *body = NULL;
	enum pe_code rc;

	rc = call_url(conn, BASE_FOLDER, "/regrequest", NULL, NULL, &url, err);
	if (rc == PE_OK)
		rc = pe_ca_cpca20_registration_body(values, n, email, &body, err);
	if (rc != PE_OK)
		goto out;
	rc = send_call(conn, &call_register, "POST", url, "application/json", body, strlen(body),
		       false, &res, err);
	if (rc == PE_OK)
		rc = pe_ca_cpca20_parse_registration((const char *)res.body, res.body_len, out,
						     err);
out:
	/* the answer holds the password: pe_http_response_cleanup() zeroises it */
	pe_http_response_cleanup(&res);
	cJSON_free(body);
	free(url);
	return rc;
}

static enum pe_code
cpca20_login_status(struct pe_ca_conn *conn, enum pe_ca_login_state *state, struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL, *status = NULL, *reason = NULL;
	enum pe_ca_login_state s;
	enum pe_code rc;
	bool known;

	rc = call_url(conn, BASE_API, "/regrequest", NULL, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_regstatus, "GET", url, NULL, NULL, 0, true, &res, err);
	if (rc != PE_OK)
		goto out;
	if (res.status == 401 || res.status == 403) {
		*state = PE_CA_LOGIN_REFUSED;
		pe_err_set(err, PE_OK, "the service refused the login '%s' (HTTP %ld)", conn->login,
			   res.status);
		goto out;
	}
	if (res.status == 404) {
		rc = pe_err_set(err, PE_E_USAGE,
				"GET %s: not found: is this a CA 2.0 service? (HTTP 404)", url);
		goto out;
	}
	if (res.status < 200 || res.status >= 300) {
		rc = pe_err_set(err, PE_E_NET, "GET %s: the CA answered HTTP %ld", url, res.status);
		goto out;
	}
	rc = pe_ca_cpca20_parse_regstatus((const char *)res.body, res.body_len, &status, &reason,
					  err);
	if (rc != PE_OK)
		goto out;
	known = pe_ca_cpca20_login_state(status, &s);
	if (s == PE_CA_LOGIN_REJECTED) {
		/* the reason travels in the message; the code stays PE_OK (ca.h) */
		if (!known)
			pe_err_set(err, PE_OK,
				   "the CA reports the unknown registration status '%.32s'%s%s",
				   status, reason != NULL ? ": " : "",
				   reason != NULL ? reason : "");
		else
			pe_err_set(err, PE_OK, "the CA rejected the registration (status %s)%s%s",
				   status, reason != NULL ? ": " : "",
				   reason != NULL ? reason : "");
	}
	*state = s;
out:
	pe_http_response_cleanup(&res);
	free(status);
	free(reason);
	free(url);
	return rc;
}

static enum pe_code
cpca20_profile(struct pe_ca_conn *conn, struct pe_ca_value **values, size_t *n, struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	rc = call_url(conn, BASE_API, "/regrequest/profile?type=json", NULL, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_profile, "GET", url, NULL, NULL, 0, false, &res, err);
	if (rc == PE_OK)
		rc = pe_ca_cpca20_parse_profile((const char *)res.body, res.body_len, values, n,
						err);
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

static enum pe_code
cpca20_templates(struct pe_ca_conn *conn, struct pe_ca_template **out, size_t *n,
		 struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	char *url = NULL;
	enum pe_code rc;

	rc = call_url(conn, BASE_API, "/certtemplate", NULL, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_templates, "GET", url, NULL, NULL, 0, false, &res, err);
	if (rc == PE_OK)
		rc = pe_ca_cpca20_parse_templates((const char *)res.body, res.body_len, out, n,
						  err);
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

/* Replaces what @status holds with @fresh. */
static void
status_replace(struct pe_ca_status *status, struct pe_ca_status *fresh)
{
	pe_ca_status_cleanup(status);
	*status = *fresh;
	memset(fresh, 0, sizeof(*fresh));
}

static enum pe_code
cpca20_submit(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	      struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_ca_status fresh;
	char *url = NULL, *b64 = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(req != NULL && req->csr != NULL && req->csr_len > 0 && status != NULL,
			      PE_E_FAIL);
	memset(&fresh, 0, sizeof(fresh));
	rc = call_url(conn, BASE_API, "/certrequest", NULL, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	b64 = pe_base64_encode(req->csr, req->csr_len, 0);
	if (b64 == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = send_call(conn, &call_submit, "POST", url, "application/octet-stream", b64,
		       strlen(b64), false, &res, err);
	if (rc == PE_OK)
		rc = pe_ca_cpca20_parse_certrequest((const char *)res.body, res.body_len,
						    call_submit.name, true, &fresh, err);
	if (rc == PE_OK)
		status_replace(status, &fresh);
out:
	pe_http_response_cleanup(&res);
	free(b64);
	free(url);
	return rc;
}

static enum pe_code
cpca20_poll(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_ca_status *status,
	    struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_ca_status fresh;
	const char *id;
	char *url = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(req != NULL && status != NULL, PE_E_FAIL);
	memset(&fresh, 0, sizeof(fresh));
	id = req->id;
	rc = call_url(conn, BASE_API, "/certrequest/", id, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_poll, "GET", url, NULL, NULL, 0, true, &res, err);
	if (rc != PE_OK)
		goto out;
	if (res.status == 404) {
		rc = pe_err_set(err, PE_E_CA, "the CA does not know request '%s' (HTTP 404)", id);
		goto out;
	}
	if (res.status < 200 || res.status >= 300) {
		rc = status_error(conn, &call_poll, "GET", url, &res, err);
		goto out;
	}
	rc = pe_ca_cpca20_parse_certrequest((const char *)res.body, res.body_len, call_poll.name,
					    false, &fresh, err);
	if (rc != PE_OK)
		goto out;
	if (fresh.id != NULL && strcasecmp(fresh.id, id) != 0) {
		rc = malformed(err, call_poll.name, "it is about request '%.64s', not '%s'",
			       fresh.id, id);
		goto out;
	}
	if (fresh.id == NULL) {
		fresh.id = strdup(id);
		if (fresh.id == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
	}
	rc = pe_ca_cpca20_request_code(&fresh, err);
	if (rc == PE_OK || rc == PE_E_PENDING || rc == PE_E_CA)
		status_replace(status, &fresh);
out:
	pe_ca_status_cleanup(&fresh);
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

static enum pe_code
cpca20_fetch(struct pe_ca_conn *conn, const struct pe_ca_req *req, unsigned char **der, size_t *len,
	     struct pe_err *err)
{
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	const char *id;
	char *url = NULL;
	enum pe_code rc;

	pe_return_val_if_fail(req != NULL, PE_E_FAIL);
	id = req->id;
	rc = call_url(conn, BASE_API, "/certrequest/", id, "/rawcert", &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_fetch, "GET", url, NULL, NULL, 0, true, &res, err);
	if (rc != PE_OK)
		goto out;
	if (res.status == 404) {
		rc = pe_err_set(err, PE_E_CA,
				"the CA has no certificate for request '%s' (HTTP 404)", id);
		goto out;
	}
	if (res.status < 200 || res.status >= 300) {
		rc = status_error(conn, &call_fetch, "GET", url, &res, err);
		goto out;
	}
	rc = pe_ca_cert_parse(res.body, res.body_len, der, len, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "GET %s", url);
out:
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

static enum pe_code
cpca20_ack(struct pe_ca_conn *conn, const struct pe_ca_req *req, struct pe_err *err)
{
	static const char body[] = "{\"Status\":\"K\"}";
	struct pe_http_response res = { 0, NULL, NULL, 0 };
	struct pe_ca_status s;
	const char *id;
	char *url = NULL;
	enum pe_code rc;
	size_t i;

	pe_return_val_if_fail(req != NULL, PE_E_FAIL);
	memset(&s, 0, sizeof(s));
	id = req->id;
	rc = call_url(conn, BASE_API, "/certrequest/", id, NULL, &url, err);
	if (rc != PE_OK)
		return rc;
	rc = send_call(conn, &call_ack, "POST", url, "application/json", body, sizeof(body) - 1,
		       false, &res, err);
	if (rc != PE_OK)
		goto out;
	/* an empty answer confirms nothing, but denies nothing either */
	for (i = 0; i < res.body_len; i++) {
		if (res.body[i] != ' ' && res.body[i] != '\t' && res.body[i] != '\r' &&
		    res.body[i] != '\n')
			break;
	}
	if (i == res.body_len)
		goto out;
	rc = pe_ca_cpca20_parse_certrequest((const char *)res.body, res.body_len, call_ack.name,
					    false, &s, err);
	if (rc == PE_OK && letter_of(s.raw) != 'K')
		rc = pe_err_set(err, PE_E_NET,
				"the CA did not confirm the installation of request '%s' "
				"(status %.32s)",
				id, s.raw);
out:
	pe_ca_status_cleanup(&s);
	pe_http_response_cleanup(&res);
	free(url);
	return rc;
}

const struct pe_ca_ops pe_ca_cpca20_ops = {
	.name = "cpca20",
	.login_required = true,
	.roots = cpca20_roots,
	.form = cpca20_form,
	.enroll_user = cpca20_enroll_user,
	.login_status = cpca20_login_status,
	.profile = cpca20_profile,
	.templates = cpca20_templates,
	.submit = cpca20_submit,
	.poll = cpca20_poll,
	.fetch = cpca20_fetch,
	.ack = cpca20_ack,
};
