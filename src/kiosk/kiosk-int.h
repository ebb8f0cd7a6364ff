/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kiosk internals: the state the enrollment loop (kiosk.c) and the page's
 * HTTP thread (http.c) share under one lock, and the JSON writer both use.
 */
#ifndef PE_KIOSK_KIOSK_INT_H
#define PE_KIOSK_KIOSK_INT_H

#include <pthread.h>

#include "kiosk.h"

#define PE_KIOSK_ASK_MAX 16
#define PE_KIOSK_TEXT	 512
#define PE_KIOSK_PIN_MAX 256

/* What the page shows and what the person sent: guarded by @lock. */
struct pe_kiosk_shared {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled when a PIN is posted */
	unsigned long seq;   /* grows with every change the page should show */
	enum pe_kiosk_step step;
	char message[PE_KIOSK_TEXT];
	char reason[PE_KIOSK_TEXT];
	char serial[64];
	char model[64];
	char label[64];
	long long request_id;
	char status[32];
	bool timed_out;
	/* PE_KIOSK_PIN: what the form asks for and the rules the PIN must follow */
	bool pin_wanted; /* false: pin_source gives it, the form asks for attributes only */
	bool pin_new;
	unsigned long pin_min;
	unsigned long pin_max;
	bool pin_digits_only;
	const char *const *ask; /* attribute names, borrowed from the profile */
	size_t n_ask;
	/* what was posted, taken by the loop */
	bool posted;
	struct pe_secret *pin;
	char *answers[PE_KIOSK_ASK_MAX];
};

/* http.c: the page */
struct pe_kiosk_http;

/*
 * Serves the page and its status on @listen (loopback only; port 0 picks a
 * free one) from a thread of its own.
 * Returns: PE_OK, a newly allocated *out (pe_kiosk_http_stop()) and the page's
 * URL in @url; PE_E_USAGE for an address that is not loopback; PE_E_NET.
 */
enum pe_code pe_kiosk_http_start(const char *listen, struct pe_kiosk_shared *shared,
				 struct pe_kiosk_http **out, char *url, size_t url_size,
				 struct pe_err *err);
void pe_kiosk_http_stop(struct pe_kiosk_http *http);

/*
 * Checks a PIN a person chose against the rules in @shared (locked by the
 * caller). Returns: PE_OK, or PE_E_PIN with a message for that person.
 */
enum pe_code pe_kiosk_pin_rules(const struct pe_kiosk_shared *shared, const struct pe_secret *pin,
				struct pe_err *err);

/* json: a string value, escaped, quotes included */
enum pe_code pe_kiosk_json_str(struct pe_buf *b, const char *s, struct pe_err *err);

/* page.c: the page itself, HTML with its CSS, script and icons inline */
extern const char pe_kiosk_page_html[];

#endif /* PE_KIOSK_KIOSK_INT_H */
