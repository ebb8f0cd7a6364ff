/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ca: CA connectors, one file per protocol behind one ops table, and the one
 * HTTP client (http.c, the only libcurl user). A connector answers each call
 * with a code: PE_OK (done), PE_E_PENDING (retry later), PE_E_CA (rejected,
 * reason in the message), PE_E_NET (unreachable: transport, TLS, 5xx,
 * timeout), PE_E_USAGE (unsupported by the protocol, or bad configuration).
 * Malformed answers are PE_E_NET too ("the CA answered garbage"), with the
 * message saying what was wrong, so that a later refresh can recover.
 */
#ifndef PE_CA_CA_H
#define PE_CA_CA_H

#include <stdbool.h>
#include <stddef.h>

#include "csr/csr.h"
#include "util/util.h"

/* http.c */
struct pe_http;

struct pe_http_options {
	const char *ca_file;	 /* PEM roots for TLS; NULL: the system's */
	bool insecure;		 /* no TLS verification: only for install-roots' first fetch,
				   whose result is pinned by fingerprint and fetched again verified */
	bool allow_http;	 /* plain http too, but to a loopback host only (test servers) */
	bool http_any_host;	 /* with allow_http: to any host (protocols whose messages are
				   signed and encrypted or MACed themselves: SCEP, CMP) */
	long connect_timeout_ms; /* default 5000 */
	long timeout_ms;	 /* whole transfer; default 30000 */
	size_t max_body;	 /* answers larger than this are refused; default 1 MiB */
};

struct pe_http_response {
	long status;
	char *content_type;  /* newly allocated, or NULL */
	unsigned char *body; /* newly allocated, NUL-terminated, body_len bytes */
	size_t body_len;
};

/* Returns: PE_OK and a newly allocated *out (one persistent connection), free with pe_http_free(). */
enum pe_code pe_http_new(const struct pe_http_options *options, struct pe_http **out,
			 struct pe_err *err);
void pe_http_free(struct pe_http *http);

/*
 * One request on the persistent connection. @login/@password: HTTP Basic when
 * @login is not NULL. @body may be NULL. 4xx and 5xx answers are PE_OK with
 * their status: the connector decides. Transport failures are PE_E_NET with
 * curl's error text.
 * Returns: PE_OK and @res filled (pe_http_response_cleanup()).
 */
enum pe_code pe_http_request(struct pe_http *http, const char *method, const char *url,
			     const char *login, const struct pe_secret *password,
			     const char *content_type, const void *body, size_t body_len,
			     struct pe_http_response *res, struct pe_err *err);
void pe_http_response_cleanup(struct pe_http_response *res);
/* Returns: the last answer's Retry-After in seconds (an HTTP-date from now; at most a day), or 0. */
long pe_http_retry_after(const struct pe_http *http);

/*
 * The connection a connector works on: borrowed settings and the HTTP client.
 * @priv is the connector's own for the life of the connection (a protocol
 * context kept between calls); the ops' release() frees it.
 */
struct pe_ca_conn {
	const char *url;   /* the service URL, as the user gave it */
	const char *login; /* NULL when not logged in */
	const struct pe_secret *password;
	struct pe_http *http;
	void *priv;
	const char *roots_file; /* PEM of the roots trusted for the service, or NULL */
};

/* A field of the CA's registration form (cpca20 /userattr). */
struct pe_ca_field {
	char *oid;
	char *name;	      /* short name, as the CA gives it */
	char *localized_name; /* what to show to people */
	char *default_value;  /* or NULL */
	char **choices;	      /* SettingsValues, or NULL */
	size_t n_choices;
	bool mandatory;	   /* ProhibitEmpty */
	bool fixed;	   /* ProhibitChange: the default is the value */
	bool choices_only; /* ProhibitAnyValue: one of the choices */
};

struct pe_ca_form {
	struct pe_ca_field *fields;
	size_t n;
};
void pe_ca_form_free(struct pe_ca_form *form);

/* An attribute value: registration answers, the registered profile. */
struct pe_ca_value {
	char *oid;
	char *value;
};
void pe_ca_values_free(struct pe_ca_value *values, size_t n);

struct pe_ca_template {
	char *oid;
	char *name; /* LocalizedName */
};
void pe_ca_templates_free(struct pe_ca_template *templates, size_t n);

struct pe_ca_registration {
	char *id;
	char *login; /* the Token the CA issued */
	struct pe_secret *password;
	char *status; /* raw */
};
void pe_ca_registration_free(struct pe_ca_registration *reg);

/* What a service says of our login. */
enum pe_ca_login_state {
	PE_CA_LOGIN_READY,
	PE_CA_LOGIN_AWAITING_APPROVAL,
	PE_CA_LOGIN_REJECTED,
	PE_CA_LOGIN_REFUSED, /* 401: not authenticated */
};

/*
 * A request as the CA sees it. Start it zeroed: submit and poll replace what
 * it holds (freeing it), and fill it for PE_OK, PE_E_PENDING and PE_E_CA.
 */
struct pe_ca_status {
	char *id;     /* the CA's request id */
	char *raw;    /* the CA's own status (a letter for cpca20) */
	char *reason; /* for a rejection, or NULL */
	char *state;  /* what the connector wants kept for the next call, or NULL: unchanged */
	unsigned char *cert; /* the issued certificate (DER) when the answer carried it, or NULL */
	size_t cert_len;
	long retry_after; /* seconds the CA asked us to wait, or 0 */
};

/*
 * The request's key, for protocols that use it beyond the CSR (SCEP signs its
 * messages with it and gets the certificate back encrypted to it). Borrowed.
 */
struct pe_ca_key {
	struct pe_csr_signer signer; /* signs with the key; signer.spki is its public key */
	/* RSA PKCS#1 v1.5 decryption with the key; NULL when the carrier cannot. */
	enum pe_code (*decrypt)(void *ctx, const unsigned char *in, size_t len, unsigned char **out,
				size_t *out_len, struct pe_err *err);
	void *decrypt_ctx;
};

/* One request, as a connector sees it: borrowed from the request record. */
struct pe_ca_req {
	const unsigned char *csr; /* DER PKCS#10 */
	size_t csr_len;
	const char *template_oid;    /* the template (certificate profile) asked for, or NULL */
	const char *id;		     /* the CA's request id, once submitted */
	const char *state;	     /* what the connector kept (pe_ca_status.state), or NULL */
	const struct pe_ca_key *key; /* only for connectors with needs_key, else NULL */
	const unsigned char *cert;   /* ack(): the installed certificate, DER */
	size_t cert_len;
	/*
	 * The key already holds a certificate from this service and the request
	 * renews it (same subject): protocols with a renewal call use it (EST
	 * /simplereenroll); the others ignore it.
	 */
	bool renewal;
};
void pe_ca_status_cleanup(struct pe_ca_status *status);

/* Frees what roots() returns: @n certificates, then both arrays. NULL arrays are a no-op. */
void pe_ca_certs_free(unsigned char **certs, size_t *lens, size_t n);

/*
 * A connector. roots, login_status, submit and poll are always there; an op
 * the protocol does not have is NULL (form, enroll_user, profile, templates;
 * fetch when every answer carries the certificate; ack when the protocol has
 * no confirmation; release when the connector keeps no @priv).
 */
struct pe_ca_ops {
	const char *name;    /* the --protocol name */
	bool needs_key;	     /* submit and poll need pe_ca_req.key */
	bool needs_rsa;	     /* the key must be RSA (SCEP encrypts its answers to it) */
	bool login_required; /* add-service needs --login (else a password alone may do) */
	bool plain_http;     /* the protocol protects its messages itself (SCEP): http:// is fine */
	/* The CA's chain: DER certificates, newly allocated arrays. */
	enum pe_code (*roots)(struct pe_ca_conn *conn, unsigned char ***certs, size_t **lens,
			      size_t *n, struct pe_err *err);
	/* The registration form. */
	enum pe_code (*form)(struct pe_ca_conn *conn, struct pe_ca_form *out, struct pe_err *err);
	/* Registers a new user; the CA's operator approves later. */
	enum pe_code (*enroll_user)(struct pe_ca_conn *conn, const struct pe_ca_value *values,
				    size_t n, const char *email, struct pe_ca_registration **out,
				    struct pe_err *err);
	/*
	 * The state of our login: PE_OK with *state, or PE_E_NET (PE_E_USAGE for
	 * a bad URL). For PE_CA_LOGIN_REJECTED, err->msg holds the CA's reason
	 * while err->code stays PE_OK.
	 */
	enum pe_code (*login_status)(struct pe_ca_conn *conn, enum pe_ca_login_state *state,
				     struct pe_err *err);
	/* The registered profile, to pre-fill request forms. */
	enum pe_code (*profile)(struct pe_ca_conn *conn, struct pe_ca_value **values, size_t *n,
				struct pe_err *err);
	enum pe_code (*templates)(struct pe_ca_conn *conn, struct pe_ca_template **out, size_t *n,
				  struct pe_err *err);
	/*
	 * Sends req->csr: PE_OK with status->id set (and raw; the certificate too
	 * when the CA issued at once), PE_E_PENDING with status->id when the CA
	 * holds it, PE_E_CA when it refused at once, else PE_E_NET / PE_E_USAGE.
	 */
	enum pe_code (*submit)(struct pe_ca_conn *conn, const struct pe_ca_req *req,
			       struct pe_ca_status *status, struct pe_err *err);
	/*
	 * Asks for the state of request req->id: PE_OK when issued (the
	 * certificate in status->cert, or from fetch()), PE_E_PENDING while the CA
	 * works, PE_E_CA when rejected (status->reason), PE_E_NET.
	 */
	enum pe_code (*poll)(struct pe_ca_conn *conn, const struct pe_ca_req *req,
			     struct pe_ca_status *status, struct pe_err *err);
	/* Downloads the issued certificate, DER. */
	enum pe_code (*fetch)(struct pe_ca_conn *conn, const struct pe_ca_req *req,
			      unsigned char **der, size_t *len, struct pe_err *err);
	/* Tells the CA the certificate (req->cert) is installed. */
	enum pe_code (*ack)(struct pe_ca_conn *conn, const struct pe_ca_req *req,
			    struct pe_err *err);
	/* Frees conn->priv. */
	void (*release)(struct pe_ca_conn *conn);
};

/* Returns: the connector for @protocol, or NULL. */
const struct pe_ca_ops *pe_ca_find(const char *protocol);
/* Returns: "cpca20, ..." for messages (static). */
const char *pe_ca_protocols(void);

extern const struct pe_ca_ops pe_ca_cpca20_ops;
extern const struct pe_ca_ops pe_ca_cfssl_ops;
extern const struct pe_ca_ops pe_ca_cmp_ops;
extern const struct pe_ca_ops pe_ca_est_ops;
extern const struct pe_ca_ops pe_ca_scep_ops;

#endif /* PE_CA_CA_H */
