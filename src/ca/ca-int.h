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

/* cfssl.c: the URL of a call, the auth key, sign requests and the answers */

#define PE_CA_CFSSL_KEY_MAX  256  /* bytes of an auth key */
#define PE_CA_CFSSL_MAX_TEXT 1024 /* bytes of a CA's message kept for people */

/*
 * The URL of API call @call ("info", "sign", "authsign") of the service at
 * @url: http(s)://HOST[:PORT][/PATH], where PATH may end in /api/v1/cfssl
 * (no credentials, query or fragment; trailing '/' ignored). http.c decides
 * whether plain http may be used.
 * Returns: PE_OK and newly allocated *out (free()); PE_E_USAGE naming what is
 * wrong with @url.
 */
enum pe_code pe_ca_cfssl_url(const char *url, const char *call, char **out, struct pe_err *err);

/*
 * The HMAC key in the service's password: the hex text of the key as the
 * CFSSL configuration's auth_keys hold it. An absent or empty password is
 * no key (*key NULL: requests go to /sign unauthenticated).
 * Returns: PE_OK and a newly allocated *key (pe_secret_free()) or NULL;
 * PE_E_USAGE when the password is not hex.
 */
enum pe_code pe_ca_cfssl_key(const struct pe_secret *password, struct pe_secret **key,
			     struct pe_err *err);

/*
 * The body of a sign request for DER request @csr (NULL: the key check's
 * empty CSR block) and @profile (NULL: the CA's default profile). With @key,
 * wrapped for /authsign: {"token":base64(HMAC-SHA256(key, inner)),
 * "request":base64(inner)}.
 * Returns: PE_OK and newly allocated JSON text (cJSON_free()).
 */
enum pe_code pe_ca_cfssl_sign_body(const unsigned char *csr, size_t csr_len, const char *profile,
				   const struct pe_secret *key, char **out, struct pe_err *err);

/* An answer: {"success":bool,"result":{...},"errors":[{"code","message"}],"messages":[]} */
struct pe_ca_cfssl_answer {
	bool success;
	long code;	   /* the first error's code, or 0 */
	char *message;	   /* the first error's message for people, or NULL */
	int more_errors;   /* how many errors follow the first */
	char *certificate; /* result.certificate (PEM), or NULL */
};

/*
 * Parses an answer of @len bytes (no NUL needed); @call names the call in
 * messages. Unknown members are ignored.
 * Returns: PE_OK and @out filled (pe_ca_cfssl_answer_cleanup()); PE_E_NET
 * "the CA answered garbage to @call: ..." when it is not JSON, not an
 * object, has no boolean success, or a member has the wrong type.
 */
enum pe_code pe_ca_cfssl_answer_parse(const char *body, size_t len, const char *call,
				      struct pe_ca_cfssl_answer *out, struct pe_err *err);
void pe_ca_cfssl_answer_cleanup(struct pe_ca_cfssl_answer *answer);

/*
 * What the answer to a sign request (HTTP @http_status, @body of @len bytes)
 * means: PE_OK with the certificate (DER) in @status->cert, its serial (hex)
 * as @status->id; PE_E_CA "the CA refused the request: MESSAGE (CFSSL error
 * CODE)" for a refusal; PE_E_USAGE when the auth key or the profile does not
 * fit (invalid token, authentication required, no authentication provider)
 * or there is no such call (404, 405); PE_E_NET for a 5xx answer, garbage,
 * a success without a certificate or with something that is not one.
 * @status is replaced only on PE_OK.
 */
enum pe_code pe_ca_cfssl_sign_result(long http_status, const char *body, size_t len,
				     struct pe_ca_status *status, struct pe_err *err);

/* The answer to /info: PE_OK and the certificates of result.certificate (pe_ca_certs_free()). */
enum pe_code pe_ca_cfssl_info_result(long http_status, const char *body, size_t len,
				     unsigned char ***certs, size_t **lens, size_t *n,
				     struct pe_err *err);

/*
 * The answer to the key check (a sign request with an empty CSR block):
 * READY when CFSSL refused only the CSR (a CSR error, code 9000 to 9999, or
 * the missing certificate_request), REFUSED with the reason in err->msg
 * (err->code PE_OK) for anything else it refused; PE_E_NET for 5xx and
 * garbage, PE_E_USAGE for 404 and 405.
 */
enum pe_code pe_ca_cfssl_probe_result(long http_status, const char *body, size_t len,
				      enum pe_ca_login_state *state, struct pe_err *err);

#endif /* PE_CA_CA_INT_H */
