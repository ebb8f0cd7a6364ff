/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * refca: p11enroll-ca, the reference CA service. A home directory holds the CA
 * and TLS keys and certificates, config.json (registration form, owner types,
 * templates) and state.db; serve answers the cpca20 user API and EST over
 * HTTPS, and the operator commands approve and reject in the same database.
 */
#ifndef PE_REFCA_REFCA_H
#define PE_REFCA_REFCA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/util.h"

#define PE_REFCA_NAME "p11enroll-ca"

/* the files of a home directory */
#define PE_REFCA_CA_KEY "ca-key.pem"
/* with the CA key on a token: its URI and the module, a line each, instead of ca-key.pem */
#define PE_REFCA_CA_KEY_URI "ca-key.uri"
#define PE_REFCA_CA_CERT    "ca-cert.pem"
#define PE_REFCA_TLS_KEY    "tls-key.pem"
#define PE_REFCA_TLS_CERT   "tls-cert.pem"
#define PE_REFCA_CONFIG	    "config.json"
#define PE_REFCA_DB	    "state.db"

#define PE_REFCA_CA_CN "p11enroll reference CA"

/* the largest request body taken (a CSR in base64, a registration) */
#define PE_REFCA_BODY_MAX (64 * 1024)

/* Status letters of registrations and certificate requests (protocols/cpca20.md). */
#define PE_REFCA_ST_QUEUED     'Q'
#define PE_REFCA_ST_ACCEPTED   'A'
#define PE_REFCA_ST_PROCESSING 'P'
#define PE_REFCA_ST_REJECTED   'R'
#define PE_REFCA_ST_DENIED     'D'
#define PE_REFCA_ST_ERROR      'E'
#define PE_REFCA_ST_COMPLETE   'C'
#define PE_REFCA_ST_INSTALLED  'K'

/* Returns: "queued", "accepted", ... for a status letter, static. */
const char *pe_refca_status_name(char status);

/* config.c: config.json, and the files of the home directory */

/*
 * Reads the file @path, at most @max bytes, into a newly allocated,
 * NUL-terminated *out (free(); clear it first when it holds a key).
 * Returns: PE_OK and its length in *len (when @len is not NULL); PE_E_USAGE
 * when it cannot be read, is empty or is too big.
 */
enum pe_code pe_refca_file_read(const char *path, size_t max, char **out, size_t *len,
				struct pe_err *err);

struct pe_refca_owner_type {
	char *name; /* "individual" */
	char *localized_name;
	char **required; /* dotted OIDs the subject must have */
	size_t n_required;
};

struct pe_refca_template {
	char *oid;
	char *localized_name;
	unsigned days;
	char *key_usage;     /* "digitalSignature,keyEncipherment" */
	char *ext_key_usage; /* "clientAuth,emailProtection", or NULL */
	char **required;     /* dotted OIDs the subject must have */
	size_t n_required;
	char **owner_types; /* the subject must fit one of these; none: any */
	size_t n_owner_types;
};

struct pe_refca_config {
	char *folder; /* the registration folder GUID */
	cJSON *rdn;   /* the registration form: the "RDN" array, owned */
	struct pe_refca_owner_type *owner_types;
	size_t n_owner_types;
	struct pe_refca_template *templates;
	size_t n_templates;
	const struct pe_refca_template *default_template; /* a CSR without the extension */
};

/*
 * Writes the default config.json for registration folder @folder to @path,
 * which must not exist (mode 0600).
 * Returns: PE_OK; PE_E_FAIL when the file cannot be written.
 */
enum pe_code pe_refca_config_write_default(const char *path, const char *folder,
					   struct pe_err *err);

/*
 * Reads and checks config.json.
 * Returns: PE_OK and a newly allocated *out (free with pe_refca_config_free());
 * PE_E_USAGE naming what is wrong with the file.
 */
enum pe_code pe_refca_config_load(const char *path, struct pe_refca_config **out,
				  struct pe_err *err);
void pe_refca_config_free(struct pe_refca_config *config);

/* Returns: the template with @oid, borrowed; NULL when there is none. */
const struct pe_refca_template *pe_refca_config_template(const struct pe_refca_config *config,
							 const char *oid);

/*
 * Writes a name for the subject attribute @oid into @buf: the form's Name,
 * else OpenSSL's short name, else the OID itself. Returns: @buf.
 */
const char *pe_refca_config_attr_name(const struct pe_refca_config *config, const char *oid,
				      char *buf, size_t size);

/*
 * Checks one subject attribute value for @oid, named @name in the message:
 * UTF-8 text of at most 256 bytes, the attribute's string type and length
 * (pe_csr_attr_check()), check digits (pe_ru_field_check()).
 * Returns: PE_OK or PE_E_USAGE.
 */
enum pe_code pe_refca_config_value_check(const char *oid, const char *name, const char *value,
					 struct pe_err *err);

/*
 * Checks a registration's OidArray ([{"OID":"value"},...]) against the form:
 * every OID is a field, none twice; ProhibitEmpty fields are there (a missing
 * field takes its DefaultValue); ProhibitChange fields equal their default;
 * ProhibitAnyValue fields are one of SettingsValues; string types, lengths and
 * check digits. Returns: PE_OK and the profile in form order as a newly
 * allocated cJSON array in *profile (cJSON_Delete()); PE_E_USAGE naming the field.
 */
enum pe_code pe_refca_config_form_check(const struct pe_refca_config *config,
					const cJSON *oid_array, cJSON **profile,
					struct pe_err *err);

/* db.c: state.db */

struct pe_refca_db;

struct pe_refca_reg {
	long long id;
	char *token;		/* the Basic user name */
	unsigned char salt[16]; /* PBKDF2-HMAC-SHA256 of the password */
	unsigned char hash[32];
	unsigned iter;
	char status;
	char *reason; /* why it was rejected, or NULL */
	char *email;
	char *comment;
	char *description;
	char *profile;	   /* the registered OidArray, JSON text */
	long long created; /* Unix time */
	long long updated;
};

struct pe_refca_req {
	long long id;
	long long reg_id; /* the registration that submitted it */
	char *template_oid;
	char *subject;	    /* one line, CN first, for people */
	unsigned char *csr; /* DER */
	size_t csr_len;
	char status;
	char *reason;	     /* why it was rejected or failed, or NULL */
	unsigned char *cert; /* DER, NULL until issued */
	size_t cert_len;
	char *serial; /* hex, NULL until issued */
	long long created;
	long long updated;
};

/*
 * Opens @path (WAL, busy timeout); with @create, makes it (mode 0600) and its
 * tables. Returns: PE_OK and a newly allocated *out (pe_refca_db_close());
 * PE_E_STORE.
 */
enum pe_code pe_refca_db_open(const char *path, bool create, struct pe_refca_db **out,
			      struct pe_err *err);
void pe_refca_db_close(struct pe_refca_db *db);

void pe_refca_reg_free(struct pe_refca_reg *reg);
void pe_refca_req_free(struct pe_refca_req *req);

/* Stores a new registration (reg->id is ignored). Returns: PE_OK and its *id; PE_E_STORE. */
enum pe_code pe_refca_db_reg_add(struct pe_refca_db *db, const struct pe_refca_reg *reg,
				 long long *id, struct pe_err *err);

/*
 * Reads one registration by id or by token.
 * Returns: PE_OK and a newly allocated *out (pe_refca_reg_free()); PE_E_NOTFOUND; PE_E_STORE.
 */
enum pe_code pe_refca_db_reg_get(struct pe_refca_db *db, long long id, struct pe_refca_reg **out,
				 struct pe_err *err);
enum pe_code pe_refca_db_reg_by_token(struct pe_refca_db *db, const char *token,
				      struct pe_refca_reg **out, struct pe_err *err);

/* Returns: PE_OK and every registration, oldest first, in a newly allocated *out. */
enum pe_code pe_refca_db_reg_list(struct pe_refca_db *db, struct pe_refca_reg ***out, size_t *n,
				  struct pe_err *err);

/*
 * Sets a registration's status and reason (NULL clears it), but only while its
 * status is one of the letters in @from (NULL: any).
 * Returns: PE_OK; PE_E_NOTFOUND; PE_E_USAGE when its status is not in @from.
 */
enum pe_code pe_refca_db_reg_set_status(struct pe_refca_db *db, long long id, char status,
					const char *reason, const char *from, struct pe_err *err);

/* Stores a new request (req->id, cert and serial are ignored). Returns: PE_OK and its *id. */
enum pe_code pe_refca_db_req_add(struct pe_refca_db *db, const struct pe_refca_req *req,
				 long long *id, struct pe_err *err);

/* Returns: PE_OK and a newly allocated *out (pe_refca_req_free()); PE_E_NOTFOUND; PE_E_STORE. */
enum pe_code pe_refca_db_req_get(struct pe_refca_db *db, long long id, struct pe_refca_req **out,
				 struct pe_err *err);

/*
 * The newest request of registration @reg_id whose CSR is exactly @csr (EST
 * clients send the same request again to ask after it, RFC 7030 4.2.3).
 * Returns: PE_OK and a newly allocated *out (pe_refca_req_free()); PE_E_NOTFOUND; PE_E_STORE.
 */
enum pe_code pe_refca_db_req_find_csr(struct pe_refca_db *db, long long reg_id,
				      const unsigned char *csr, size_t csr_len,
				      struct pe_refca_req **out, struct pe_err *err);

/* Returns: PE_OK and every request, oldest first, in a newly allocated *out. */
enum pe_code pe_refca_db_req_list(struct pe_refca_db *db, struct pe_refca_req ***out, size_t *n,
				  struct pe_err *err);

/* As pe_refca_db_reg_set_status(), for a request. */
enum pe_code pe_refca_db_req_set_status(struct pe_refca_db *db, long long id, char status,
					const char *reason, const char *from, struct pe_err *err);

/*
 * Stores the issued certificate and status C, only while the request is Q.
 * Returns: PE_OK; PE_E_NOTFOUND; PE_E_USAGE when it is no longer Q.
 */
enum pe_code pe_refca_db_req_set_cert(struct pe_refca_db *db, long long id,
				      const unsigned char *cert, size_t cert_len,
				      const char *serial, struct pe_err *err);

/* main.c: an opened home directory */

/*
 * Logins verified since the server started: PBKDF2 costs milliseconds per
 * request, so a password that already passed it is recognised by a salted
 * SHA-256 instead. Only the serving thread touches it.
 */
#define PE_REFCA_LOGIN_CACHE 64
struct pe_refca_login {
	long long reg_id;	  /* 0: an empty slot */
	unsigned char pbkdf2[32]; /* the stored hash it was verified against */
	unsigned char quick[32];  /* SHA-256(salt || password) */
};

struct pe_refca {
	char *home;
	struct pe_refca_config *config;
	struct pe_refca_db *db;
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	char *ca_pem; /* the root certificate, PEM, for /ca/chain.pem */
	bool auto_approve;
	unsigned retry_after; /* EST: what a client told to wait is told, in seconds */
	struct pe_refca_login logins[PE_REFCA_LOGIN_CACHE];
	size_t next_login; /* the slot the next verified login takes */
};

/* issue.c: keys, certificates, requests */

/* Reports OpenSSL's error queue (then cleared) as "@what: reason". Returns: @code. */
enum pe_code pe_refca_ossl_err(struct pe_err *err, enum pe_code code, const char *what);

/*
 * Makes the CA: a self-signed root certificate for @given (a key on a token),
 * or for a new EC P-256 key when @given is NULL; then a TLS server key and
 * certificate (127.0.0.1, localhost) signed by it.
 * Returns: PE_OK and four newly allocated objects (EVP_PKEY_free(), X509_free());
 * *ca_key holds a reference of its own to @given.
 */
enum pe_code pe_refca_issue_ca(EVP_PKEY *given, EVP_PKEY **ca_key, X509 **ca_cert,
			       EVP_PKEY **tls_key, X509 **tls_cert, struct pe_err *err);

/*
 * Checks that @text (with @type "keyUsage" or "extendedKeyUsage") is what
 * OpenSSL reads as such an extension. Returns: PE_OK or PE_E_USAGE.
 */
enum pe_code pe_refca_issue_ext_check(const char *type, const char *text, struct pe_err *err);

/*
 * Checks a submitted request (DER PKCS#10) for the registration whose profile
 * is @profile (the OidArray JSON): it parses, its signature verifies, its
 * template exists, its subject has what the template asks, every attribute is
 * well-formed and the attributes the profile has equal the profile's values.
 * Returns: PE_OK, the template (borrowed from @config) and the subject as one
 * line (newly allocated, free()); PE_E_USAGE saying what is wrong.
 */
enum pe_code pe_refca_issue_csr_check(const struct pe_refca_config *config,
				      const unsigned char *der, size_t len, const char *profile,
				      const struct pe_refca_template **tpl, char **subject,
				      struct pe_err *err);

/*
 * Issues the certificate for request @id, which must be Q: the CSR's subject,
 * key and subjectAltName, the template's validity and key usages, signed by
 * the CA; stored with status C.
 * Returns: PE_OK and the request as now stored in *out when @out is not NULL
 * (pe_refca_req_free()); PE_E_NOTFOUND; PE_E_USAGE when it is not Q;
 * PE_E_CRYPTO; PE_E_STORE.
 */
enum pe_code pe_refca_issue_request(struct pe_refca *ca, long long id, struct pe_refca_req **out,
				    struct pe_err *err);

/* api.c: the cpca20 user API, without HTTP plumbing */

struct pe_refca_http_req {
	const char *method;
	const char *path;     /* without the query */
	const char *type_arg; /* the query's "type", or NULL */
	const char *user;     /* HTTP Basic, or NULL */
	const char *password;
	const unsigned char *body;
	size_t body_len;
	bool body_too_big; /* more than PE_REFCA_BODY_MAX came */
};

struct pe_refca_http_resp {
	unsigned status;
	const char *content_type; /* static */
	unsigned char *body;	  /* malloc()ed, or NULL */
	size_t len;
	bool challenge;	      /* 401: WWW-Authenticate: Basic */
	const char *allow;    /* 405: the Allow header, static */
	unsigned retry_after; /* 202: the Retry-After header in seconds, or 0 */
	bool base64;	      /* Content-Transfer-Encoding: base64 (EST) */
};

/*
 * HTTP Basic: the registration whose Token is @user and whose password is
 * @password (a login verified before is recognised by the cache in @ca).
 * Returns: PE_OK and a newly allocated *out (pe_refca_reg_free()); PE_E_PIN
 * for an unknown token or a wrong password; PE_E_STORE, PE_E_CRYPTO.
 */
enum pe_code pe_refca_login_check(struct pe_refca *ca, const char *user, const char *password,
				  struct pe_refca_reg **out, struct pe_err *err);

/* Answers one request into @resp; never fails (an internal error is a 500). */
void pe_refca_api_handle(struct pe_refca *ca, const struct pe_refca_http_req *req,
			 struct pe_refca_http_resp *resp);
void pe_refca_http_resp_cleanup(struct pe_refca_http_resp *resp);

/* est.c: the EST server (RFC 7030) under /.well-known/est/ */

/* The path prefix of every EST operation. */
#define PE_REFCA_EST_PREFIX "/.well-known/est/"

/*
 * Answers one EST request (req->path starts with PE_REFCA_EST_PREFIX) into
 * @resp, with the users of the cpca20 API (registrations) and the same
 * requests, so that the operator commands work on both.
 */
void pe_refca_est_handle(struct pe_refca *ca, const struct pe_refca_http_req *req,
			 struct pe_refca_http_resp *resp);

/* server.c: HTTPS */

struct pe_refca_serve_opts {
	const char *listen;    /* "127.0.0.1:PORT", "[::1]:PORT" */
	const char *port_file; /* the bound port is written there, or NULL */
	const char *pid_file;  /* or NULL */
};

/*
 * Serves the API over HTTPS on @opts->listen until SIGTERM or SIGINT.
 * Returns: PE_OK after a clean stop; PE_E_USAGE for a bad address; PE_E_NET
 * when it cannot listen; PE_E_FAIL.
 */
enum pe_code pe_refca_server_run(struct pe_refca *ca, const struct pe_refca_serve_opts *opts,
				 struct pe_err *err);

/* token-key.c */

/*
 * Loads the private key @uri (RFC 7512) from a token through the pkcs11
 * engine, with @module (NULL: p11-kit's proxy) and the user @pin.
 * Returns: PE_OK and a newly allocated *out (EVP_PKEY_free()); PE_E_USAGE.
 */
enum pe_code pe_refca_token_key_load(const char *uri, const char *module,
				     const struct pe_secret *pin, EVP_PKEY **out,
				     struct pe_err *err);

#endif /* PE_REFCA_REFCA_H */
