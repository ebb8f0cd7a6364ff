/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ca-int: what the connectors share inside src/ca/ (certificate parsing, the
 * answer-size limit) and the cpca20 URL splitter and answer parsers, exposed
 * so that the unit tests can feed them files.
 */
#ifndef PE_CA_CA_INT_H
#define PE_CA_CA_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/cmp.h>

#include "ca/ca.h"
#include "util/util.h"

/* http.c defaults (struct pe_http_options with 0 fields) */
#define PE_HTTP_CONNECT_TIMEOUT_MS 5000L
#define PE_HTTP_TIMEOUT_MS	   30000L
#define PE_HTTP_MAX_BODY	   ((size_t)1 << 20)

/* The most certificates a published chain may hold. */
#define PE_CA_CHAIN_MAX 32

/*
 * Reads every PEM "CERTIFICATE" in @pem (@len bytes; other PEM blocks and text
 * around them are skipped) into DER.
 * Returns: PE_OK and newly allocated arrays (free with pe_ca_certs_free());
 * PE_E_NET "no certificate in the answer" when there is none, or naming the
 * certificate that cannot be read.
 */
enum pe_code pe_ca_pem_chain_parse(const char *pem, size_t len, unsigned char ***certs,
				   size_t **lens, size_t *n, struct pe_err *err);

/*
 * Reads one certificate sent as DER, PEM or bare base64 (@len bytes), and
 * checks that it parses as an X.509 certificate with nothing after it.
 * Returns: PE_OK and a newly allocated DER copy in *der (free()); PE_E_NET
 * "the CA sent something that is not a certificate" otherwise.
 */
enum pe_code pe_ca_cert_parse(const unsigned char *data, size_t len, unsigned char **der,
			      size_t *der_len, struct pe_err *err);

/* cpca20.c: a service URL, https://HOST[:PORT]/ui/api/FOLDER, split into its bases */
struct pe_ca_cpca20_url {
	char *origin; /* "https://HOST[:PORT]", for /ca/chain.pem */
	char *folder; /* origin + "/ui/api/FOLDER": registration calls */
	char *api;    /* origin + "/ui/api": every later call */
};

/*
 * Splits @url (scheme http or https, any case; no user name, query or
 * fragment; one trailing '/' allowed). http.c decides whether plain http may
 * be used.
 * Returns: PE_OK and @out filled (pe_ca_cpca20_url_cleanup()); PE_E_USAGE
 * naming the URL and what is wrong with it.
 */
enum pe_code pe_ca_cpca20_url_parse(const char *url, struct pe_ca_cpca20_url *out,
				    struct pe_err *err);
void pe_ca_cpca20_url_cleanup(struct pe_ca_cpca20_url *url);

/* Returns: whether @id (a CA request id) can go into a URL path as it is. */
bool pe_ca_cpca20_id_ok(const char *id);

/*
 * Builds the body of POST regrequest: {"Comment":"","Description":"",
 * "Email":@email,"KeyPhrase":"","OidArray":[{"OID":"value"},...]}.
 * Returns: PE_OK and newly allocated JSON text (cJSON_free()); PE_E_USAGE for
 * a value without an OID.
 */
enum pe_code pe_ca_cpca20_registration_body(const struct pe_ca_value *values, size_t n,
					    const char *email, char **out, struct pe_err *err);

/*
 * The answer parsers. Each takes the body of a 2xx answer, @len bytes (it
 * needs no NUL), and fails with PE_E_NET "the CA's answer to <call> is
 * malformed: <what>" when it is not JSON, a member has the wrong type, a
 * mandatory member is missing, a string is longer than PE_CA_CPCA20_MAX_STRING
 * or not UTF-8, or an id cannot go in a URL. Unknown members are ignored.
 * Control characters in text meant for people become spaces.
 */
#define PE_CA_CPCA20_MAX_STRING 16384

/* userattr: {"RDN":[{...},...]}. Out: @out filled (pe_ca_form_free()). */
enum pe_code pe_ca_cpca20_parse_form(const char *body, size_t len, struct pe_ca_form *out,
				     struct pe_err *err);

/*
 * POST regrequest: {"RegRequest":{"RegRequestId","Token","Password","Status"}};
 * Token and Password are mandatory, reg->id and reg->status may be NULL. The
 * password's copy inside the parsed JSON is zeroised; the caller zeroises
 * @body. Out: newly allocated *out (pe_ca_registration_free()).
 */
enum pe_code pe_ca_cpca20_parse_registration(const char *body, size_t len,
					     struct pe_ca_registration **out, struct pe_err *err);

/*
 * GET regrequest: {"RegRequest":{"Status","Comment"?}}. Out: newly allocated
 * *status (free()) and *reason (the Comment, or NULL; free()).
 */
enum pe_code pe_ca_cpca20_parse_regstatus(const char *body, size_t len, char **status,
					  char **reason, struct pe_err *err);

/* regrequest/profile: {"Profile":[{"OID":"value",...},...]}; nulls are skipped. */
enum pe_code pe_ca_cpca20_parse_profile(const char *body, size_t len, struct pe_ca_value **values,
					size_t *n, struct pe_err *err);

/* certtemplate: {"Template":[{"Oid","LocalizedName"},...]}; the name falls back to the OID. */
enum pe_code pe_ca_cpca20_parse_templates(const char *body, size_t len, struct pe_ca_template **out,
					  size_t *n, struct pe_err *err);

/*
 * certrequest answers: {"CertRequest":{"CertRequestId","Status","Comment"?}}.
 * @call names the call in messages ("submit", "poll", "ack"); with @need_id a
 * missing CertRequestId is malformed. Status is mandatory. Out: @status
 * filled with newly allocated strings (pe_ca_status_cleanup()), id NULL when
 * absent; @status is overwritten, not freed.
 */
enum pe_code pe_ca_cpca20_parse_certrequest(const char *body, size_t len, const char *call,
					    bool need_id, struct pe_ca_status *status,
					    struct pe_err *err);

/*
 * The text of an error answer: its "Error" member (the reference service),
 * else "Message" (ASP.NET), else NULL when the body holds neither.
 * Returns: newly allocated text (free()) or NULL.
 */
char *pe_ca_cpca20_error_text(const char *body, size_t len);

/*
 * Maps a registration status letter: Q/P awaiting approval; A/C/K ready;
 * R/D/E and unknown letters rejected.
 * Returns: whether @letter is one of the known letters.
 */
bool pe_ca_cpca20_login_state(const char *letter, enum pe_ca_login_state *state);

/*
 * Maps a certificate request status letter (any case): Q/A/P PE_E_PENDING,
 * C/K PE_OK, R/D/E PE_E_CA with @status->reason (the CA's Comment) in the
 * message, anything else PE_E_CA "the CA reports the unknown status 'X'".
 * A rejection without a reason gets one ("the CA rejected the request
 * (status R)") in @status->reason.
 * Returns: that code, with @err set for everything but PE_OK.
 */
enum pe_code pe_ca_cpca20_request_code(struct pe_ca_status *status, struct pe_err *err);

/* cmp.c */

/*
 * Reads a CMP server's HTTP answer (@status, its content type, @len bytes of
 * @body): application/pkixcmp (parameters allowed; any HTTP status, since
 * error messages may come with 4xx/5xx) holding exactly one DER PKIMessage.
 * Returns: PE_OK and a newly allocated *out (OSSL_CMP_MSG_free()); PE_E_NET
 * "the CA answered garbage: ..." (wrong or missing content type, empty,
 * truncated or malformed DER, bytes after the message), or "the CMP server
 * answered HTTP N" for a non-200 answer of another type.
 */
enum pe_code pe_ca_cmp_answer_parse(long status, const char *content_type,
				    const unsigned char *body, size_t len, OSSL_CMP_MSG **out,
				    struct pe_err *err);

/*
 * The value of the certProfile generalInfo item (RFC 9483 section 4.1.1):
 * DER SEQUENCE OF UTF8String holding @name (1 to 1000 bytes).
 * Returns: PE_OK and newly allocated *der (free()); PE_E_USAGE for a bad name.
 */
enum pe_code pe_ca_cmp_profile_der(const char *name, unsigned char **der, size_t *len,
				   struct pe_err *err);

#endif /* PE_CA_CA_INT_H */
