/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of CA connectors, the lifecycles of what they return, and the
 * certificate parsing they share: a published PEM chain, an issued
 * certificate sent as DER, PEM or base64.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/ca-int.h"

static const struct pe_ca_ops *const connectors[] = {
	&pe_ca_cpca20_ops, &pe_ca_cfssl_ops, &pe_ca_cmp_ops, &pe_ca_est_ops, &pe_ca_scep_ops,
};

const struct pe_ca_ops *
pe_ca_find(const char *protocol)
{
	size_t i;

	if (protocol == NULL)
		return NULL;
	for (i = 0; i < sizeof(connectors) / sizeof(connectors[0]); i++) {
		if (strcmp(connectors[i]->name, protocol) == 0)
			return connectors[i];
	}
	return NULL;
}

const char *
pe_ca_protocols(void)
{
	/* keep in the order of connectors[] */
	return "cpca20, cfssl, cmp, est, scep";
}

void
pe_ca_form_free(struct pe_ca_form *form)
{
	struct pe_ca_field *f;
	size_t i, j;

	if (form == NULL)
		return;
	for (i = 0; i < form->n; i++) {
		f = &form->fields[i];
		free(f->oid);
		free(f->name);
		free(f->localized_name);
		free(f->default_value);
		for (j = 0; j < f->n_choices; j++)
			free(f->choices[j]);
		free(f->choices);
	}
	free(form->fields);
	/* the form itself is the caller's storage (form() fills it): leave it empty */
	form->fields = NULL;
	form->n = 0;
}

void
pe_ca_values_free(struct pe_ca_value *values, size_t n)
{
	size_t i;

	if (values == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(values[i].oid);
		free(values[i].value);
	}
	free(values);
}

void
pe_ca_templates_free(struct pe_ca_template *templates, size_t n)
{
	size_t i;

	if (templates == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(templates[i].oid);
		free(templates[i].name);
	}
	free(templates);
}

void
pe_ca_registration_free(struct pe_ca_registration *reg)
{
	if (reg == NULL)
		return;
	free(reg->id);
	free(reg->login);
	pe_secret_free(reg->password);
	free(reg->status);
	free(reg);
}

void
pe_ca_status_cleanup(struct pe_ca_status *status)
{
	if (status == NULL)
		return;
	free(status->id);
	free(status->raw);
	free(status->reason);
	free(status->state);
	free(status->cert);
	memset(status, 0, sizeof(*status));
}

void
pe_ca_certs_free(unsigned char **certs, size_t *lens, size_t n)
{
	size_t i;

	if (certs != NULL) {
		for (i = 0; i < n; i++)
			free(certs[i]);
	}
	free(certs);
	free(lens);
}

/* Returns: the reason of the last OpenSSL error (static), and empties the queue. */
static const char *
ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown error";
}

/* Never asks for a PEM pass phrase: a hostile answer must not reach the terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Returns: PE_OK and newly allocated DER of @x in *der. */
static enum pe_code
x509_der(X509 *x, unsigned char **der, size_t *len, struct pe_err *err)
{
	unsigned char *p = NULL;
	int n;

	n = i2d_X509(x, &p);
	if (n <= 0) {
		ERR_clear_error();
		return pe_err_set(err, PE_E_FAIL, "cannot encode a certificate");
	}
	/* OPENSSL_free and free() may differ: hand out malloc()ed memory */
	*der = malloc((size_t)n);
	if (*der == NULL) {
		OPENSSL_free(p);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	memcpy(*der, p, (size_t)n);
	OPENSSL_free(p);
	*len = (size_t)n;
	return PE_OK;
}

enum pe_code
pe_ca_pem_chain_parse(const char *pem, size_t len, unsigned char ***certs, size_t **lens, size_t *n,
		      struct pe_err *err)
{
	unsigned char **c = NULL;
	size_t *l = NULL, count = 0;
	unsigned long e;
	enum pe_code rc = PE_OK;
	BIO *bio = NULL;
	X509 *x = NULL;

	if (len > INT_MAX)
		return pe_err_set(err, PE_E_NET, "the chain is too large");
	c = calloc(PE_CA_CHAIN_MAX, sizeof(*c));
	l = calloc(PE_CA_CHAIN_MAX, sizeof(*l));
	bio = BIO_new_mem_buf(pem, (int)len);
	if (c == NULL || l == NULL || bio == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	for (;;) {
		ERR_clear_error();
		x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		if (x == NULL) {
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				break;
			}
			rc = pe_err_set(err, PE_E_NET,
					"certificate %zu in the answer cannot be read: %s",
					count + 1, ossl_reason());
			goto out;
		}
		if (count == PE_CA_CHAIN_MAX) {
			rc = pe_err_set(err, PE_E_NET, "the chain holds more than %d certificates",
					PE_CA_CHAIN_MAX);
			goto out;
		}
		rc = x509_der(x, &c[count], &l[count], err);
		if (rc != PE_OK)
			goto out;
		count++;
		X509_free(x);
		x = NULL;
	}
	if (count == 0) {
		rc = pe_err_set(err, PE_E_NET, "no certificate in the answer");
		goto out;
	}
	*certs = c;
	*lens = l;
	*n = count;
	c = NULL;
	l = NULL;
out:
	X509_free(x);
	BIO_free(bio);
	pe_ca_certs_free(c, l, count);
	return rc;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

enum pe_code
pe_ca_cert_parse(const unsigned char *data, size_t len, unsigned char **der, size_t *der_len,
		 struct pe_err *err)
{
	static const char not_cert[] = "the CA sent something that is not a certificate";
	unsigned char *decoded = NULL;
	const unsigned char *p;
	size_t dlen = 0;
	enum pe_code rc;
	BIO *bio = NULL;
	X509 *x = NULL;
	struct pe_err ignored;

	/* DER may end in any byte: only text forms lose their trailing blanks */
	if (len == 0 || data[0] != 0x30) {
		while (len > 0 && is_space(data[len - 1]))
			len--;
	}
	if (len == 0)
		return pe_err_set(err, PE_E_NET, "%s: the answer is empty", not_cert);
	if (len > INT_MAX)
		return pe_err_set(err, PE_E_NET, "%s: it is too large", not_cert);
	ERR_clear_error();
	if (data[0] == 0x30) {
		p = data;
		x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p != data + len) {
			rc = pe_err_set(err, PE_E_NET, "%s: %zu bytes follow the DER", not_cert,
					(size_t)(data + len - p));
			goto out;
		}
	} else if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		bio = BIO_new_mem_buf(data, (int)len);
		if (bio == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	} else {
		/* bare base64, as some CA 2.0 front ends send it */
		if (pe_base64_decode((const char *)data, len, &decoded, &dlen, &ignored) != PE_OK) {
			rc = pe_err_set(err, PE_E_NET, "%s: neither DER, PEM nor base64", not_cert);
			goto out;
		}
		p = decoded;
		x = dlen > 0 ? d2i_X509(NULL, &p, (long)dlen) : NULL;
		if (x != NULL && p != decoded + dlen) {
			rc = pe_err_set(err, PE_E_NET, "%s: %zu bytes follow the DER", not_cert,
					(size_t)(decoded + dlen - p));
			goto out;
		}
	}
	if (x == NULL) {
		rc = pe_err_set(err, PE_E_NET, "%s: %s", not_cert, ossl_reason());
		goto out;
	}
	rc = x509_der(x, der, der_len, err);
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	free(decoded);
	return rc;
}
