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

/*
 * est.c: the EST (RFC 7030) URL and answer parsers. Every parser failure is
 * PE_E_NET "the CA answered garbage to @call: <what>", so that a later
 * refresh asks again.
 */

/*
 * The URL of EST operation @op ("cacerts", "simpleenroll", ...) under the
 * service URL @url: https://HOST[:PORT] (the path /.well-known/est is
 * added), https://HOST[:PORT]/.well-known/est or .../.well-known/est/LABEL;
 * one trailing '/' allowed, no user name, query or fragment.
 * Returns: PE_OK and a newly allocated *out (free()); PE_E_USAGE naming
 * what is wrong with @url.
 */
enum pe_code pe_ca_est_url(const char *url, const char *op, char **out, struct pe_err *err);

/*
 * A certs-only PKCS#7 answer (/cacerts, /simpleenroll): @content_type must
 * be application/pkcs7-mime (smime-type certs-only when given), the body
 * base64 (DER tolerated) of a SignedData holding 1 to PE_CA_CHAIN_MAX
 * certificates and nothing after it.
 * Returns: PE_OK and newly allocated arrays of DER certificates, in the
 * order sent (pe_ca_certs_free()); PE_E_NET; PE_E_FAIL.
 */
enum pe_code pe_ca_est_parse_certs(const char *content_type, const unsigned char *body, size_t len,
				   const char *call, unsigned char ***certs, size_t **lens,
				   size_t *n, struct pe_err *err);

/*
 * Returns: the index of the certificate among @certs whose public key is the
 * one of the DER PKCS#10 @csr; 0 when none is (enroll then refuses it as a
 * certificate for another key).
 */
size_t pe_ca_est_cert_for_csr(unsigned char *const *certs, const size_t *lens, size_t n,
			      const unsigned char *csr, size_t csr_len);

/*
 * A /csrattrs answer: base64 of CsrAttrs (SEQUENCE OF OID or Attribute); an
 * empty body is an empty list. @content_type, when given, must be
 * application/csrattrs.
 * Returns: PE_OK and the dotted OIDs (an Attribute gives its type) as a
 * newly allocated "a, b, c" in *oids ("" for none; free()); PE_E_NET.
 */
enum pe_code pe_ca_est_parse_csrattrs(const char *content_type, const unsigned char *body,
				      size_t len, char **oids, struct pe_err *err);

/*
 * The text of an error answer for people: the body when it is text (or has
 * no content type), control characters as spaces, blanks trimmed, at most
 * 400 bytes. Returns: newly allocated text (free()), or NULL.
 */
char *pe_ca_est_error_text(const char *content_type, const unsigned char *body, size_t len);
/* scep.c: the parsers and the message builder, for the unit tests */

/* GetCACaps capabilities */
#define PE_CA_SCEP_CAP_AES	(1u << 0)
#define PE_CA_SCEP_CAP_DES3	(1u << 1)
#define PE_CA_SCEP_CAP_SHA256	(1u << 2)
#define PE_CA_SCEP_CAP_POST	(1u << 3) /* POSTPKIOperation */
#define PE_CA_SCEP_CAP_STANDARD (1u << 4) /* SCEPStandard */
#define PE_CA_SCEP_CAP_RENEWAL	(1u << 5)

#define PE_CA_SCEP_NONCE_LEN 16

/* Returns: the PE_CA_SCEP_CAP_ bits of a GetCACaps answer (one keyword a line, any case). */
unsigned pe_ca_scep_caps_parse(const char *body, size_t len);

/* What GetCACert answered: the CA's certificates and the RA's. */
struct pe_ca_scep_ca;
void pe_ca_scep_ca_free(struct pe_ca_scep_ca *ca);

/*
 * Reads a GetCACert answer: one certificate (application/x-x509-ca-cert) or a
 * degenerate PKCS#7 of the CA's and RA's certificates
 * (application/x-x509-ca-ra-cert), and chooses the certificate requests are
 * encrypted to: an RA's (one for key encipherment first), else the issuing
 * CA's. It must hold an RSA key.
 * Returns: PE_OK and a newly allocated *out (pe_ca_scep_ca_free()); PE_E_NET
 * "the SCEP server answered garbage: ..." for a wrong content type,
 * truncated or malformed data.
 */
enum pe_code pe_ca_scep_ca_parse(const char *content_type, const unsigned char *body, size_t len,
				 struct pe_ca_scep_ca **out, struct pe_err *err);

/*
 * The certificates that go into the service's trusted roots: the CA's (a
 * lone certificate is the CA's), never an RA's.
 * Returns: PE_OK and newly allocated arrays (pe_ca_certs_free()).
 */
enum pe_code pe_ca_scep_ca_roots(const struct pe_ca_scep_ca *ca, unsigned char ***certs,
				 size_t **lens, size_t *n, struct pe_err *err);

/*
 * Builds a pkiMessage: @content (a PKCS#10 request, or IssuerAndSubject)
 * enveloped to the CA's certificate (AES-256-CBC with the AES capability,
 * else DES-EDE3-CBC), in a SignedData signed by @key through its signer with
 * SHA-256 (signed attributes: contentType, messageDigest, messageType
 * @message_type, transactionID, senderNonce @nonce of PE_CA_SCEP_NONCE_LEN
 * bytes), carrying a self-signed certificate for the key with the subject
 * @subject_der (a DER Name), signed by the key too.
 * Returns: PE_OK and the DER message in a newly allocated *der (free());
 * PE_E_USAGE for a key that is not RSA; whatever the signer returns.
 */
enum pe_code pe_ca_scep_message_build(const struct pe_ca_scep_ca *ca, unsigned caps,
				      const struct pe_ca_key *key, const char *message_type,
				      const char *transaction_id, const unsigned char *nonce,
				      const unsigned char *content, size_t content_len,
				      const unsigned char *subject_der, size_t subject_len,
				      unsigned char **der, size_t *len, struct pe_err *err);

/*
 * The content of a CertPoll (GetCertInitial): IssuerAndSubject ::= SEQUENCE
 * { issuer Name (the issuing CA's), subject Name (@subject_der, DER) }.
 * Returns: PE_OK and a newly allocated *der (free()).
 */
enum pe_code pe_ca_scep_issuer_and_subject(const struct pe_ca_scep_ca *ca,
					   const unsigned char *subject_der, size_t subject_len,
					   unsigned char **der, size_t *len, struct pe_err *err);

/*
 * Reads a CertRep answering the message of @transaction_id sent with @nonce:
 * the content type (when given) is application/x-pki-message, the whole
 * body one PKCS#7 SignedData with one signer, signed by a certificate of @ca
 * (never one it carries itself), messageType CertRep, the same
 * transactionID, recipientNonce = @nonce. SUCCESS: the envelope is opened
 * with @key (its decrypt: the content-encryption key is RSA-encrypted to it;
 * DES-CBC, DES-EDE3-CBC and AES-CBC content) and the certificate for the
 * key taken from the degenerate PKCS#7 inside (else the first one).
 * Returns: PE_OK and the certificate in a newly allocated *cert (DER,
 * free()); PE_E_PENDING; PE_E_CA for FAILURE, the failInfo (and
 * failInfoText) named in the message; PE_E_NET "the SCEP server answered
 * garbage: ..." for anything malformed, unsigned, or not ours.
 */
enum pe_code pe_ca_scep_certrep_parse(const struct pe_ca_scep_ca *ca, const char *content_type,
				      const unsigned char *body, size_t len,
				      const char *transaction_id, const unsigned char *nonce,
				      const struct pe_ca_key *key, unsigned char **cert,
				      size_t *cert_len, struct pe_err *err);
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
