/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * enroll: the request state machine that drives carrier, CSR, CA connector and
 * store. Every transition is committed to the store before the next external
 * step, so a killed process, a pulled token or a dead network loses nothing:
 * pe_enroll_refresh() continues from the recorded state.
 */
#ifndef PE_ENROLL_ENROLL_H
#define PE_ENROLL_ENROLL_H

#include <stdbool.h>
#include <stddef.h>

#include "ca/ca.h"
#include "containers/containers.h"
#include "csr/csr.h"
#include "store/store.h"
#include "util/util.h"

/* service.c: a connection to a stored service */
struct pe_enroll_conn {
	const struct pe_ca_ops *ops;
	struct pe_ca_conn conn;
	struct pe_http *http;
	struct pe_secret *password;
	char *roots_file;
};

/*
 * Opens a connection to @svc: TLS trust from the roots trusted for it (else
 * the system's), the login and password it keeps. @timeout_ms bounds every
 * transfer (0: the default). Returns: PE_OK and @c filled (pe_enroll_conn_close()).
 */
enum pe_code pe_enroll_conn_open(struct pe_store *store, const struct pe_service *svc,
				 long timeout_ms, struct pe_enroll_conn *c, struct pe_err *err);
void pe_enroll_conn_close(struct pe_enroll_conn *c);

/*
 * Asks the service how our login stands (short timeouts, never hangs) and
 * records it in @svc and the store. Returns: PE_OK (svc->status says the
 * rest) or a store failure.
 */
enum pe_code pe_enroll_service_check(struct pe_store *store, struct pe_service *svc,
				     struct pe_err *err);

/* request.c */

struct pe_enroll_env {
	struct pe_store *store;
	struct pe_carrier_env carrier; /* how to reach the key's carrier */
	const char *sign_tool;	       /* subjectSignTool, or NULL */
	/*
	 * Asks someone for a subject attribute the owner type requires and nobody
	 * gave (@label as the CA's form names it): a newly allocated *value, or a
	 * failure when there is no one to ask. NULL: nobody is asked.
	 */
	enum pe_code (*ask)(const char *label, const char *oid, char **value, struct pe_err *err);
	long timeout_ms; /* CA transfers; 0: the default */
};

struct pe_enroll_spec {
	const char *service;
	const char *owner_type;
	const char *template_oid;
	const char *carrier; /* "token" */
	enum pe_key_type key_type;
	const char *key_label; /* NULL: "p11enroll-<request id>" */
	const char
		*key_uri; /* an existing key to enroll (key_type and key_label unused), or NULL */
	const struct pe_csr_field *fields; /* subject attributes given by the user */
	size_t n_fields;
};

/*
 * A new request: the service must be ready, the template offered, every
 * subject attribute (the user's, pre-filled from the registered profile)
 * present for the owner type and valid, before anything is made. Then the
 * key is made on the carrier (or, with spec->key_uri, the one existing key
 * it names is taken: the request starts at key-ready), the request built,
 * signed and submitted, and followed as far as the CA allows now
 * (pe_enroll_refresh()).
 * Returns: PE_OK with *out (newly allocated, pe_request_free()) whatever state
 * the CA left it in. A failure before anything was recorded (a bad field, a
 * service not ready, a carrier that cannot be opened) leaves *out alone; a
 * failure after (a store or token error mid-way) returns its code and sets
 * *out to the recorded request, which pe_enroll_refresh() continues.
 */
enum pe_code pe_enroll_request(struct pe_enroll_env *env, const struct pe_enroll_spec *spec,
			       struct pe_request **out, struct pe_err *err);

/*
 * Drives @req from its recorded state as far as it goes now: key, request,
 * submission, polling, download, checks (the certificate carries the key and
 * chains to the service's roots), installation next to the key, indexing,
 * acknowledgement. Every step is committed before the next.
 * Returns: PE_OK when the run went as far as the CA allows (see req->state);
 * PE_E_STORE when a state could not be recorded; the failure of a step that
 * needs the user (a wrong PIN, an absent token) with the request unchanged.
 */
enum pe_code pe_enroll_refresh(struct pe_enroll_env *env, struct pe_request *req,
			       struct pe_err *err);

/* Returns: true when @req needs nothing more (acknowledged, rejected, failed). */
bool pe_enroll_request_done(const struct pe_request *req);

#endif /* PE_ENROLL_ENROLL_H */
