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
#include <stdint.h>

#include "ca/ca.h"
#include "containers/containers.h"
#include "csr/csr.h"
#include "profile/profile.h"
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
	/*
	 * Told of every state a request is committed in (after the store and the
	 * audit log have it), from the thread that drives the request. NULL: nobody.
	 */
	void (*notify)(void *data, const struct pe_request *req);
	void *notify_data;
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
	const char *origin; /* recorded with the request: NULL (command line), "batch:...", ... */
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

/*
 * batch.c: one CSV row per person, one token per row, tokens enrolled in
 * parallel by worker threads (each with its own store connection and its own
 * PKCS#11 sessions on one token). Each row's request records its origin,
 * "batch:<file name>:<row key>" (the row key: the first 16 hex digits of the
 * SHA-256 of the row's own "OID=value" lines, sorted, the serial column's
 * included), so a re-run skips rows already done and continues rows whose
 * request is not finished, instead of starting new ones.
 */
enum pe_batch_state {
	PE_BATCH_PENDING = 0, /* has a token, waits for a worker */
	PE_BATCH_WAITING,     /* no token left for it in this run */
	PE_BATCH_RUNNING,     /* a worker is on it */
	PE_BATCH_INSTALLED,   /* its certificate is on its token (this run) */
	PE_BATCH_PROCESSING,  /* recorded; the CA has not decided: a re-run continues */
	PE_BATCH_SKIPPED,     /* done in an earlier run */
	PE_BATCH_FAILED,      /* code and reason say why */
};

/* Returns: "pending", "waiting", "running", "installed", "processing", "skipped", "failed". */
const char *pe_batch_state_name(enum pe_batch_state state);

struct pe_batch_summary {
	size_t rows;	   /* data rows in the file */
	size_t tokens;	   /* tokens present that the batch may use */
	unsigned workers;  /* worker threads started */
	size_t pending;	   /* rows still to be run in this run (pending or running) */
	size_t installed;  /* installed in this run */
	size_t skipped;	   /* done in an earlier run */
	size_t processing; /* recorded, waiting for the CA */
	size_t failed;
	size_t waiting;		 /* no token for them */
	double seconds;		 /* since the workers started */
	enum pe_code first_code; /* the code of the first failed row (in file order), else PE_OK */
};

/* What happened to one row: given to pe_batch_opts.event. */
struct pe_batch_event {
	size_t row;			    /* 1-based among the data rows */
	size_t line;			    /* its line in the file */
	const char *key;		    /* the row key */
	const char *token_serial;	    /* the token it uses, or NULL */
	enum pe_batch_state state;	    /* the row's state now */
	int64_t request_id;		    /* 0 before a request is recorded */
	const char *request_state;	    /* "new", "key-ready", ... or NULL */
	enum pe_code code;		    /* with PE_BATCH_FAILED */
	const char *reason;		    /* why it failed, or the CA's reason, or NULL */
	const struct pe_batch_summary *sum; /* the counts now */
};

struct pe_batch_opts {
	const char *csv_path;
	const struct pe_station_profile *profile;
	struct pe_store *store; /* the caller's connection (planning); workers open their own */
	struct pe_p11_ctx *p11; /* shared: modules initialised for threads */
	const struct pe_secret *pin;	/* the user PIN for every token */
	const struct pe_secret *so_pin; /* for init_token, else NULL */
	const char *sign_tool;
	long timeout_ms;
	unsigned workers; /* 0: one per token to enrol, at most the CPUs online */
	/* Called for every change of a row, one call at a time, from any thread. */
	void (*event)(void *data, const struct pe_batch_event *ev);
	void *event_data;
};

/*
 * Plans (reads the file, checks every row's subject attributes, finds the
 * rows done or under way in the store, gives each new row a token: the one
 * its serial column names, else the next unused token in slot order) and
 * runs the rows. A failed row never stops the others.
 * Returns: PE_OK with *sum filled when the rows were run, whatever their
 * outcome (sum->failed, sum->first_code); PE_E_USAGE for a file or header
 * that cannot be used; PE_E_STORE, PE_E_P11 when nothing could be started.
 */
enum pe_code pe_batch_run(const struct pe_batch_opts *opts, struct pe_batch_summary *sum,
			  struct pe_err *err);

#endif /* PE_ENROLL_ENROLL_H */
