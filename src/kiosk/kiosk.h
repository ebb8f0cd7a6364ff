/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kiosk: the unattended enrollment station. It watches the slots for tokens,
 * enrolls each newly inserted one by a station profile (PINs set up, key made
 * on the token, request submitted, the CA waited for, the certificate
 * installed), resumes a token pulled mid-way from its recorded request, and
 * shows each step on a local web page (loopback only) or as status lines.
 */
#ifndef PE_KIOSK_KIOSK_H
#define PE_KIOSK_KIOSK_H

#include <stdbool.h>
#include <stddef.h>

#include "enroll/enroll.h"
#include "p11/p11.h"
#include "profile/profile.h"
#include "store/store.h"
#include "util/util.h"

/* What the kiosk is doing, as the page and the status lines name it. */
enum pe_kiosk_step {
	PE_KIOSK_STARTED = 0,	     /* serving; "url" set with --http */
	PE_KIOSK_WAITING,	     /* waiting for a token */
	PE_KIOSK_INSERTED,	     /* a token came: serial, model, label */
	PE_KIOSK_PIN,		     /* waiting for the person's PIN (and subject fields) */
	PE_KIOSK_WORKING,	     /* PINs, key, request, submission */
	PE_KIOSK_PROCESSING,	     /* the CA is processing the request */
	PE_KIOSK_INSTALLED,	     /* issued and installed: remove the token */
	PE_KIOSK_REJECTED,	     /* the CA rejected it: reason */
	PE_KIOSK_CONNECTION_PROBLEM, /* the CA cannot be reached: the request is kept */
	PE_KIOSK_FAILED,	     /* something else went wrong: message */
	PE_KIOSK_REMOVED,	     /* the token was taken out */
	PE_KIOSK_STOPPED,	     /* the kiosk stops */
	PE_KIOSK_STEP_MAX
};

/* Returns: "started", "waiting", "inserted", "pin", ... (static). */
const char *pe_kiosk_step_name(enum pe_kiosk_step step);

/* One change the kiosk reports (everything borrowed for the call). */
struct pe_kiosk_event {
	enum pe_kiosk_step step;
	const char *message; /* for people */
	const char *url;     /* PE_KIOSK_STARTED with a page */
	const char *serial;  /* the token's, when there is one */
	const char *model;
	const char *label;
	long long request_id; /* 0: none yet */
	const char *state;    /* the request's state ("pending"), or NULL */
	const char *status;   /* the seed's state ("processing"), or NULL */
	const char *reason;   /* the CA's rejection reason, or the failure */
	bool resumed;	      /* an unfinished request of this token continues */
	bool timed_out;	      /* the CA did not decide within ca_wait_seconds */
	bool pin_new;	      /* PE_KIOSK_PIN: a new PIN, asked twice */
	enum pe_code code;    /* the outcome of a token, PE_OK while working */
};

struct pe_kiosk_opts {
	const struct pe_station_profile *profile;
	struct pe_store *store;
	struct pe_p11_ctx *p11;
	const char *http;      /* "127.0.0.1:PORT" ("[::1]:PORT"; port 0: any free one), or NULL */
	const char *sign_tool; /* subjectSignTool in the requests */
	unsigned max_tokens;   /* stop after this many tokens (0: never) */
	/* told of every change, from the kiosk's own thread */
	void (*event)(void *data, const struct pe_kiosk_event *ev);
	void *event_data;
};

/*
 * Runs the kiosk until SIGINT or SIGTERM (or max_tokens tokens). One token
 * is enrolled at a time.
 * Returns: PE_OK after a clean stop, or with max_tokens the outcome of the
 * last token: PE_OK installed, PE_E_CA rejected, PE_E_PENDING still
 * processing, PE_E_NET connection problem, or its failure; PE_E_USAGE for a
 * bad --http address or profile; PE_E_NET when the page cannot be served.
 */
enum pe_code pe_kiosk_run(const struct pe_kiosk_opts *opts, struct pe_err *err);

/*
 * Writes @ev as one JSON object (snake_case keys, no newline) into @b.
 * Returns: PE_OK; PE_E_FAIL when @b is full.
 */
enum pe_code pe_kiosk_event_json(const struct pe_kiosk_event *ev, struct pe_buf *b,
				 struct pe_err *err);

#endif /* PE_KIOSK_KIOSK_H */
