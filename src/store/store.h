/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store: the user's state in one SQLite database (WAL, mode 0600) under the
 * state directory: CA services, requests and their state machine, the
 * personal certificate index and the trusted roots. Service passwords live
 * in 0600 files beside it, never in the database. Every change is committed
 * before the function returns, so that a crash after it loses nothing.
 */
#ifndef PE_STORE_STORE_H
#define PE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct pe_store;

/*
 * Opens (creating when needed) the state in @home: the directory with mode
 * 0700, "p11enroll.db" with mode 0600 in WAL mode, the schema at its current
 * version. A directory or database that others can write is refused.
 * Returns: PE_OK and a newly allocated *out (pe_store_close()); PE_E_STORE.
 */
enum pe_code pe_store_open(const char *home, struct pe_store **out, struct pe_err *err);
void pe_store_close(struct pe_store *store);

/* Returns: the state directory: @home if given, else $P11ENROLL_HOME, else
 * $XDG_DATA_HOME/p11enroll, else ~/.local/share/p11enroll; newly allocated (free()).
 * An empty value counts as unset, and so does a relative $XDG_DATA_HOME (XDG spec).
 * NULL when out of memory, or when no home directory is known. */
char *pe_store_default_home(const char *home);

/* Returns: the state directory of an open store (borrowed). */
const char *pe_store_home(const struct pe_store *store);

/* Services */

enum pe_service_status {
	PE_SERVICE_UNKNOWN = 0,
	PE_SERVICE_READY,	      /* connected and authenticated */
	PE_SERVICE_AWAITING_APPROVAL, /* registered, the operator has not approved yet */
	PE_SERVICE_NOT_AUTHENTICATED, /* reachable, but the login is refused or absent */
	PE_SERVICE_REJECTED,	      /* the operator rejected the registration */
	PE_SERVICE_UNREACHABLE,	      /* transport, TLS, 5xx, timeout */
};
/* Returns: "ready", "awaiting-approval", "not-authenticated", "rejected", "unreachable", "unknown". */
const char *pe_service_status_name(enum pe_service_status status);

struct pe_service {
	int64_t id;
	char *name;	      /* unique, chosen by the user */
	char *url;	      /* the service URL as given */
	char *protocol;	      /* "cpca20", ... */
	char *login;	      /* NULL until known */
	bool has_password;    /* a password file exists (pe_store_secret_*) */
	char *ca_file;	      /* PEM file of roots trusted for TLS to this service, or NULL */
	char *reg_request_id; /* the CA's registration id, when registered through us */
	enum pe_service_status status; /* last known */
	char *status_detail;	       /* why, for people */
	char *checked_at;	       /* RFC 3339 UTC of the last status, or NULL */
	char *created_at;
};

void pe_service_free(struct pe_service *svc);

/*
 * Adds @svc (id, created_at and has_password are set by the store). The name
 * becomes a file name: one that is empty, longer than 64, has characters other
 * than [A-Za-z0-9._-] or starts with '.' is PE_E_USAGE, and so is a name in use.
 */
enum pe_code pe_store_service_add(struct pe_store *store, struct pe_service *svc,
				  struct pe_err *err);
/* Returns: newly allocated *out; PE_E_NOTFOUND naming @name. */
enum pe_code pe_store_service_get(struct pe_store *store, const char *name, struct pe_service **out,
				  struct pe_err *err);
/* Returns: a newly allocated array of newly allocated services, by name (pe_service_list_free()).
 * The array also ends in a NULL element. */
enum pe_code pe_store_service_list(struct pe_store *store, struct pe_service ***out, size_t *n,
				   struct pe_err *err);
void pe_service_list_free(struct pe_service **list, size_t n);
/* Writes every field of @svc back (found by svc->name) but id, created_at and has_password.
 * Returns: PE_E_NOTFOUND when there is no such service. */
enum pe_code pe_store_service_update(struct pe_store *store, const struct pe_service *svc,
				     struct pe_err *err);
/* Removes the service, its password file and its trusted roots; requests keep their history.
 * Returns: PE_E_NOTFOUND when there is no such service. */
enum pe_code pe_store_service_remove(struct pe_store *store, const char *name, struct pe_err *err);

/*
 * Service passwords: one 0600 file per service under the state directory
 * ("secrets/<service>"), written atomically. A name that is not a valid
 * service name (see pe_store_service_add()) is PE_E_USAGE.
 */
enum pe_code pe_store_secret_write(struct pe_store *store, const char *service,
				   const struct pe_secret *secret, struct pe_err *err);
/* Returns: newly allocated *out (pe_secret_free()); PE_E_NOTFOUND when there is none. */
enum pe_code pe_store_secret_read(struct pe_store *store, const char *service,
				  struct pe_secret **out, struct pe_err *err);
/* A password that is not there is not an error. */
enum pe_code pe_store_secret_remove(struct pe_store *store, const char *service,
				    struct pe_err *err);

/* Requests: a persistent state machine (DESIGN.md section 6) */

enum pe_request_state {
	PE_REQ_NEW = 0,
	PE_REQ_KEY_READY,	   /* the key exists on its carrier */
	PE_REQ_CSR_READY,	   /* the request is built and signed */
	PE_REQ_SUBMITTED,	   /* sent; the CA gave an id */
	PE_REQ_PENDING,		   /* the CA is processing it */
	PE_REQ_ISSUED,		   /* the certificate is downloaded and checked */
	PE_REQ_INSTALLED,	   /* written next to the key and indexed */
	PE_REQ_ACKNOWLEDGED,	   /* the CA was told (K) */
	PE_REQ_REJECTED,	   /* the CA said no; reason kept */
	PE_REQ_CONNECTION_PROBLEM, /* the last attempt could not reach the CA; resume_state kept */
	PE_REQ_FAILED,		   /* something on our side failed; reason kept */
	PE_REQ_STATE_MAX
};
/* Returns: "new", "key-ready", "csr-ready", "submitted", "pending", "issued", "installed",
 * "acknowledged", "rejected", "connection-problem", "failed". */
const char *pe_request_state_name(enum pe_request_state state);
/* Returns: the state named @name, or PE_REQ_STATE_MAX. */
enum pe_request_state pe_request_state_from_name(const char *name);
/* The seed's four states: "processing", "rejected", "installed", "connection-problem"
 * ("failed" for a failure on our side). */
const char *pe_request_user_state(enum pe_request_state state);

struct pe_request {
	int64_t id;
	char *service; /* service name */
	char *owner_type;
	char *template_oid;
	char *carrier;	    /* "token", "registry", "disk" */
	char *key_type;	    /* "ec-p256", ... */
	char *token_serial; /* carrier token: serial and model, for finding it again */
	char *token_model;
	char *key_label;
	char *key_id; /* CKA_ID, lowercase hex */
	char *key_uri;
	char *subject;	    /* the requested subject, one line */
	unsigned char *csr; /* DER, once built */
	size_t csr_len;
	char *ca_request_id; /* once submitted */
	char *ca_status;     /* the CA's last raw status (a letter for cpca20) */
	unsigned char *cert; /* DER, once downloaded */
	size_t cert_len;
	char *cert_serial; /* hex */
	char *cert_sha256; /* hex */
	enum pe_request_state state;
	enum pe_request_state resume_state; /* where to continue after connection-problem */
	char *reason;			    /* the CA's rejection reason, or the last error */
	char *created_at;
	char *updated_at;
	char *container; /* registry: the container's name; disk: its directory; NULL for a token */
	char *ca_state;	 /* what the connector keeps between calls (opaque to all else), or NULL */
	char *origin;	 /* who made it: NULL (command line), "kiosk", "batch:<file>:<row>" */
};

void pe_request_free(struct pe_request *req);

/* Adds @req; sets req->id, created_at and updated_at. */
enum pe_code pe_store_request_add(struct pe_store *store, struct pe_request *req,
				  struct pe_err *err);
/* Returns: newly allocated *out; PE_E_NOTFOUND. */
enum pe_code pe_store_request_get(struct pe_store *store, int64_t id, struct pe_request **out,
				  struct pe_err *err);
/* Returns: the newest request whose origin is @origin (newly allocated); PE_E_NOTFOUND. */
enum pe_code pe_store_request_find_origin(struct pe_store *store, const char *origin,
					  struct pe_request **out, struct pe_err *err);
/* Returns: every request, oldest first (pe_request_list_free()); the array also ends in NULL. */
enum pe_code pe_store_request_list(struct pe_store *store, struct pe_request ***out, size_t *n,
				   struct pe_err *err);
void pe_request_list_free(struct pe_request **list, size_t n);
/* Writes every mutable field of @req (all but id and created_at) back and sets updated_at,
 * in one transaction. Returns: PE_E_NOTFOUND when there is no request req->id. */
enum pe_code pe_store_request_update(struct pe_store *store, struct pe_request *req,
				     struct pe_err *err);

/*
 * The audit log: "<home>/audit.log", mode 0600, one JSON object per line for
 * every state a request is committed in (time, operator, request, service,
 * template, token serial and model, certificate serial and SHA-256, state,
 * result, reason). Each line begins with "prev", the hash of the line before
 * (of a fixed genesis text for the first), and ends with "hash", the SHA-256
 * of its own text up to that key. No secret is ever written to it.
 */

/* Returns: newly allocated "<home>/audit.log" (free()); NULL on OOM. */
char *pe_store_audit_path(const struct pe_store *store);

/*
 * Appends the line for @req in its current state: under an exclusive flock(),
 * with O_APPEND, one write(), then fsync(); safe between processes and threads.
 * Returns: PE_OK; PE_E_STORE when the log cannot be written.
 */
enum pe_code pe_store_audit_append(struct pe_store *store, const struct pe_request *req,
				   struct pe_err *err);

struct pe_audit_check {
	size_t lines;	    /* lines read, up to and including the first broken one */
	size_t broken_line; /* the first broken line (1-based); 0 when the chain is intact */
	char reason[256];   /* why it is broken */
	char last_hash[65]; /* the hash of the last good line (the genesis hash if none) */
};

/*
 * Checks the chain of the audit log at @path (under a shared flock()) and
 * names the first line whose own hash or link to the line before is wrong.
 * Removing lines at the end cannot be seen from the file alone.
 * Returns: PE_OK and *out filled (broken or not); PE_E_NOTFOUND when there is
 * no log; PE_E_STORE when it cannot be read.
 */
enum pe_code pe_store_audit_verify(const char *path, struct pe_audit_check *out,
				   struct pe_err *err);

/* The personal certificate index */

struct pe_cert_entry {
	int64_t id;
	int64_t request_id; /* 0 when not from a request */
	char *carrier;
	char *token_serial;
	char *key_id; /* hex */
	char *subject;
	char *issuer;
	char *serial;	 /* hex */
	char *sha256;	 /* hex, unique */
	char *not_after; /* RFC 3339 */
	unsigned char *der;
	size_t der_len;
	char *installed_at;
};

void pe_cert_entry_free(struct pe_cert_entry *entry);
/*
 * Adds @entry and sets its id and installed_at; the same sha256 again is not
 * an error and changes nothing (@entry gets the id and installed_at of the row
 * there). Returns: PE_E_NOTFOUND when request_id names no request.
 */
enum pe_code pe_store_cert_add(struct pe_store *store, struct pe_cert_entry *entry,
			       struct pe_err *err);
/* Returns: every entry, oldest first (pe_cert_entry_list_free()); the array also ends in NULL. */
enum pe_code pe_store_cert_list(struct pe_store *store, struct pe_cert_entry ***out, size_t *n,
				struct pe_err *err);
void pe_cert_entry_list_free(struct pe_cert_entry **list, size_t n);

/* Trusted roots */

/*
 * Trusts @der (a CA certificate) for @service; the same sha256 again changes
 * nothing. The service need not be added yet (install-roots may come first);
 * pe_store_service_remove() removes its roots. A bad service name is PE_E_USAGE.
 */
enum pe_code pe_store_root_add(struct pe_store *store, const char *service,
			       const unsigned char *der, size_t len, const char *sha256_hex,
			       const char *subject, struct pe_err *err);
/*
 * Returns: the roots trusted for @service as one PEM text in a newly
 * allocated *pem (free()), and *count of them (0 with an empty text).
 */
enum pe_code pe_store_roots_pem(struct pe_store *store, const char *service, char **pem,
				size_t *count, struct pe_err *err);
/*
 * Writes the roots of @service to "<home>/roots/<service>.pem" (0600, atomic)
 * for libcurl's CAINFO. Returns: newly allocated *path (free()); PE_E_NOTFOUND
 * when the service trusts no root.
 */
enum pe_code pe_store_roots_file(struct pe_store *store, const char *service, char **path,
				 struct pe_err *err);

#endif /* PE_STORE_STORE_H */
