/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Subject attributes: names and OIDs, the ASN.1 string type each takes
 * (protocols/ru-subject.md: NumericString for the Russian registry numbers,
 * PrintableString for C, IA5String for E, UTF8String for the rest), their
 * fixed lengths, and the two textual forms of a distinguished name.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "csr.h"

static const struct attr {
	const char *names[3];
	const char *oid;
	int type;
	unsigned digits; /* an exact count of digits, 0 when free */
} attrs[] = {
	{ { "CN", "commonName" }, "2.5.4.3", V_ASN1_UTF8STRING, 0 },
	{ { "SN", "surname" }, "2.5.4.4", V_ASN1_UTF8STRING, 0 },
	{ { "GN", "G", "givenName" }, "2.5.4.42", V_ASN1_UTF8STRING, 0 },
	{ { "C", "countryName" }, "2.5.4.6", V_ASN1_PRINTABLESTRING, 0 },
	{ { "L", "localityName" }, "2.5.4.7", V_ASN1_UTF8STRING, 0 },
	{ { "ST", "S", "stateOrProvinceName" }, "2.5.4.8", V_ASN1_UTF8STRING, 0 },
	{ { "street", "STREET", "streetAddress" }, "2.5.4.9", V_ASN1_UTF8STRING, 0 },
	{ { "O", "organizationName" }, "2.5.4.10", V_ASN1_UTF8STRING, 0 },
	{ { "OU", "organizationalUnitName" }, "2.5.4.11", V_ASN1_UTF8STRING, 0 },
	{ { "T", "title" }, "2.5.4.12", V_ASN1_UTF8STRING, 0 },
	{ { "serialNumber" }, "2.5.4.5", V_ASN1_PRINTABLESTRING, 0 },
	{ { "E", "emailAddress" }, "1.2.840.113549.1.9.1", V_ASN1_IA5STRING, 0 },
	{ { "OGRN" }, "1.2.643.100.1", V_ASN1_NUMERICSTRING, 13 },
	{ { "SNILS" }, "1.2.643.100.3", V_ASN1_NUMERICSTRING, 11 },
	{ { "INNLE" }, "1.2.643.100.4", V_ASN1_NUMERICSTRING, 10 },
	{ { "OGRNIP" }, "1.2.643.100.5", V_ASN1_NUMERICSTRING, 15 },
	{ { "INN" }, "1.2.643.3.131.1.1", V_ASN1_NUMERICSTRING, 12 },
};

static const struct attr *
attr_find(const char *name)
{
	size_t i, j;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (strcmp(name, attrs[i].oid) == 0)
			return &attrs[i];
		for (j = 0; j < 3 && attrs[i].names[j] != NULL; j++) {
			if (strcasecmp(name, attrs[i].names[j]) == 0)
				return &attrs[i];
		}
	}
	return NULL;
}

static bool
is_dotted_oid(const char *s)
{
	bool digit = false;

	for (; *s != '\0'; s++) {
		if (isdigit((unsigned char)*s))
			digit = true;
		else if (*s == '.' && digit)
			digit = false;
		else
			return false;
	}
	return digit;
}

int
pe_csr_attr_lookup(const char *name, char *oid, size_t size)
{
	const struct attr *a = attr_find(name);
	ASN1_OBJECT *obj;
	int nid;

	if (a != NULL) {
		snprintf(oid, size, "%s", a->oid);
		return a->type;
	}
	if (is_dotted_oid(name)) {
		obj = OBJ_txt2obj(name, 1);
		if (obj == NULL)
			return 0;
		ASN1_OBJECT_free(obj);
		snprintf(oid, size, "%s", name);
		return V_ASN1_UTF8STRING;
	}
	/*
	 * another name OpenSSL knows (UID, DC, ...); by name only, since
	 * OBJ_txt2nid() would also read a malformed OID such as "1.2." as 1.2
	 */
	nid = OBJ_sn2nid(name);
	if (nid == NID_undef)
		nid = OBJ_ln2nid(name);
	if (nid == NID_undef)
		return 0;
	obj = OBJ_nid2obj(nid);
	if (obj == NULL || OBJ_obj2txt(oid, (int)size, obj, 1) <= 0)
		return 0;
	return nid == NID_domainComponent ? V_ASN1_IA5STRING : V_ASN1_UTF8STRING;
}

static bool
printable(unsigned char c)
{
	return isalnum(c) || c == ' ' || strchr("'()+,-./:=?", c) != NULL;
}

enum pe_code
pe_csr_attr_check(const char *name, const char *value, struct pe_err *err)
{
	const struct attr *a = attr_find(name);
	const unsigned char *p;
	char oid[128];
	size_t len = strlen(value);
	int type;

	type = pe_csr_attr_lookup(name, oid, sizeof(oid));
	if (type == 0)
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' is not a subject attribute p11enroll knows; "
				  "give its OID",
				  name);
	if (len == 0)
		return pe_err_set(err, PE_E_USAGE, "%s is empty", name);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (type == V_ASN1_NUMERICSTRING && !isdigit(*p))
			return pe_err_set(err, PE_E_USAGE, "%s '%s' must be digits only", name,
					  value);
		if (type == V_ASN1_PRINTABLESTRING && !printable(*p))
			return pe_err_set(err, PE_E_USAGE,
					  "%s '%s' has a character a PrintableString cannot hold",
					  name, value);
		if (type == V_ASN1_IA5STRING && *p > 0x7f)
			return pe_err_set(err, PE_E_USAGE, "%s '%s' must be ASCII", name, value);
	}
	if (a != NULL && strcmp(a->oid, "2.5.4.6") == 0 &&
	    (len != 2 || !isalpha((unsigned char)value[0]) || !isalpha((unsigned char)value[1])))
		return pe_err_set(err, PE_E_USAGE, "C '%s' must be a two-letter country code",
				  value);
	if (a != NULL && a->digits != 0 && len != a->digits)
		return pe_err_set(err, PE_E_USAGE, "%s '%s' must have %u digits, not %zu",
				  a->names[0], value, a->digits, len);
	return PE_OK;
}

/* Copies one component up to an unescaped @sep, removing the escapes. */
static const char *
take(const char *in, char sep, char **out)
{
	char *o = *out;

	while (*in != '\0' && *in != sep) {
		if (*in == '\\' && in[1] != '\0')
			in++;
		*o++ = *in++;
	}
	*o++ = '\0';
	*out = o;
	return in;
}

enum pe_code
pe_csr_dn_split(const char *dn, struct pe_csr_field **fields_out, size_t *n_out, char **storage,
		struct pe_err *err)
{
	struct pe_csr_field *fields;
	char *buf, *w, *part, *eq;
	const char *p;
	size_t n = 0, max = 1, i;
	bool slash = dn[0] == '/';
	char sep = slash ? '/' : ',';

	for (p = dn; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == sep)
			max++;
	}
	buf = malloc(strlen(dn) + 1 + max);
	fields = calloc(max, sizeof(*fields));
	if (buf == NULL || fields == NULL) {
		free(buf);
		free(fields);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	w = buf;
	p = slash ? dn + 1 : dn;
	while (*p != '\0') {
		part = w;
		p = take(p, sep, &w);
		if (*p == sep)
			p++;
		while (*part == ' ')
			part++;
		if (*part == '\0')
			continue;
		eq = strchr(part, '=');
		if (eq == NULL || eq == part) {
			/* the message first: part points into buf */
			pe_err_set(err, PE_E_USAGE, "subject '%s': '%s' is not NAME=VALUE", dn,
				   part);
			free(buf);
			free(fields);
			return PE_E_USAGE;
		}
		*eq = '\0';
		for (i = strlen(part); i > 0 && part[i - 1] == ' '; i--)
			part[i - 1] = '\0';
		fields[n].attr = part;
		fields[n].value = eq + 1;
		n++;
	}
	if (!slash) {
		/* RFC 4514 writes the last RDN first */
		for (i = 0; i < n / 2; i++) {
			struct pe_csr_field tmp = fields[i];

			fields[i] = fields[n - 1 - i];
			fields[n - 1 - i] = tmp;
		}
	}
	*fields_out = fields;
	*n_out = n;
	*storage = buf;
	return PE_OK;
}
