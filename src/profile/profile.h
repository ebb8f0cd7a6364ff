/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * profile: what differs between token families (one JSON file each in tokens/): how CKA_ID is
 * chosen, label length, PIN rules, key types, whether certificates must be
 * private. Matched on the manufacturer and model the token reports, never by
 * comparing names in code.
 */
#ifndef PE_PROFILE_PROFILE_H
#define PE_PROFILE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "p11/p11.h"
#include "util/util.h"

struct pe_token_profile {
	char *name;  /* "SoftHSM 2" */
	char *file;  /* the file it came from, NULL for the built-in default */
	bool tested; /* false: written from vendor documentation only */
	enum pe_p11_id_scheme id_scheme;
	size_t label_max;
	unsigned long pin_min; /* 0: what the token reports */
	unsigned long pin_max;
	bool pin_digits_only;
	unsigned key_types; /* bits 1 << enum pe_key_type the vendor supports; 0: all */
	bool cert_private;  /* certificate objects must be CKA_PRIVATE */
};

/* Returns: the directory of token profiles: $P11ENROLL_TOKENS_DIR, else the installed one. */
const char *pe_profile_tokens_dir(void);

/*
 * Loads the first profile in @dir (NULL: pe_profile_tokens_dir()) whose match
 * globs fit @manufacturer and @model, or the built-in default when none does.
 * Every file is checked, matching or not: a malformed one is an error that
 * names it.
 * Returns: PE_OK and a newly allocated *out, free with pe_token_profile_free();
 * PE_E_USAGE for a malformed profile.
 */
enum pe_code pe_token_profile_find(const char *dir, const char *manufacturer, const char *model,
				   struct pe_token_profile **out, struct pe_err *err);
void pe_token_profile_free(struct pe_token_profile *profile);

/*
 * Checks a new PIN against the profile (and the token's own min/max).
 * Returns: PE_OK, or PE_E_PIN saying why.
 */
enum pe_code pe_token_profile_pin_check(const struct pe_token_profile *profile,
					const struct pe_p11_slot *token,
					const struct pe_secret *pin, struct pe_err *err);

/*
 * Reads a new PIN from @source or a prompt (asked twice, compared) and checks
 * it with pe_token_profile_pin_check(). @option and @what name it in messages.
 * Returns: PE_OK and a newly allocated *out (pe_secret_free()); PE_E_PIN.
 */
enum pe_code pe_token_profile_new_pin(const struct pe_token_profile *profile,
				      const struct pe_p11_slot *token, const char *source,
				      const char *option, const char *what, struct pe_secret **out,
				      struct pe_err *err);

/* Checks a key or token label's length. Returns: PE_OK or PE_E_USAGE. */
enum pe_code pe_token_profile_label_check(const struct pe_token_profile *profile, const char *label,
					  struct pe_err *err);

/* ru.c: Russian registry numbers (protocols/ru-subject.md) */

/* Returns: true when @s is a 10- or 12-digit INN whose check digits match. */
bool pe_ru_inn_valid(const char *s);
/* Returns: true for a 13-digit OGRN whose check digit matches. */
bool pe_ru_ogrn_valid(const char *s);
/* Returns: true for a 15-digit OGRNIP whose check digit matches. */
bool pe_ru_ogrnip_valid(const char *s);
/* Returns: true for an 11-digit SNILS whose check number matches (or is not defined). */
bool pe_ru_snils_valid(const char *s);

/*
 * Checks the check digits of the attribute @oid (INN, INNLE, OGRN, OGRNIP,
 * SNILS; any other attribute passes), naming it @name in the message.
 * Returns: PE_OK, or PE_E_USAGE saying which attribute and why.
 */
enum pe_code pe_ru_field_check(const char *oid, const char *name, const char *value,
			       struct pe_err *err);

/* owner.c: owner types and the subject attributes they require */
struct pe_owner_type {
	const char *name; /* individual, sole-proprietor, legal-entity, employee */
	const char *description;
	const char *const *required; /* dotted OIDs, NULL-terminated */
	const char *const *optional; /* dotted OIDs, NULL-terminated */
};

/* Returns: the owner type called @name (static), or NULL. */
const struct pe_owner_type *pe_owner_type_find(const char *name);
/* Returns: the @i-th owner type, NULL past the last. */
const struct pe_owner_type *pe_owner_type_at(size_t i);
/* Returns: the first required OID that is not among @oids, or NULL when all are there. */
const char *pe_owner_type_missing(const struct pe_owner_type *type, const char *const *oids,
				  size_t n);

/*
 * station.c: the enrollment profile a kiosk and a batch run share (one JSON
 * file, documented in doc/profile.md). Everything a person at a desk would
 * give on the command line: the service, template, owner type, key type and
 * carrier, where PINs come from when nobody types them, whether new tokens
 * are initialised, fixed subject attributes, how the kiosk finds the rest of
 * the subject (a roster keyed by token serial, or asked on its page), its PIN
 * rules and how long it waits for the CA.
 */
enum pe_station_subject_source {
	PE_STATION_SUBJECT_NONE = 0, /* only the fixed fields and the registered profile */
	PE_STATION_SUBJECT_ROSTER,   /* roster file: CSV keyed by token serial */
	PE_STATION_SUBJECT_ASK,	     /* asked on the kiosk page (the fields in ask[]) */
};

struct pe_station_field {
	char *attr; /* short name or dotted OID */
	char *value;
};

struct pe_station_profile {
	char *file;	     /* where it was loaded from */
	char *service;	     /* "service": a service added with add-service (required) */
	char *template_oid;  /* "template" (required) */
	char *owner_type;    /* "owner_type" (required) */
	char *key_type;	     /* "key_type": default "ec-p256" */
	char *carrier;	     /* "carrier": default "token" */
	char *pin_source;    /* "pin_source": file:, env:, fd:, or NULL (typed by a person) */
	bool init_token;     /* "init_token": initialise tokens that are not yet */
	char *so_pin_source; /* "so_pin_source": for init_token */
	char *token_label;   /* "token_label": the label a new token gets (default "p11enroll") */
	struct pe_station_field *fields; /* "fields": {"O": "Example", ...} fixed attributes */
	size_t n_fields;
	enum pe_station_subject_source
		subject_source; /* "subject": {"source": "roster"|"ask"|"none"} */
	char *roster; /* "subject.roster": CSV path, relative to the profile's directory */
	char **ask;   /* "subject.ask": ["CN", "E", ...] attributes asked on the page */
	size_t n_ask;
	unsigned long pin_min; /* "pin.min_length": default 6 */
	unsigned long pin_max; /* "pin.max_length": default 32 */
	bool pin_digits_only;  /* "pin.digits_only": default false */
	unsigned long
		ca_wait_sec; /* "ca_wait_seconds": how long the kiosk waits for the CA (default 120) */
	unsigned long poll_ms; /* "poll_interval_ms": token and CA polling (default 1000) */
};

/*
 * Loads and checks the profile at @path: unknown keys, wrong types, a missing
 * required key, an unknown key type or carrier, a roster that cannot be read
 * are PE_E_USAGE naming the file and the key.
 * Returns: PE_OK and a newly allocated *out (pe_station_profile_free()).
 */
enum pe_code pe_station_profile_load(const char *path, struct pe_station_profile **out,
				     struct pe_err *err);
void pe_station_profile_free(struct pe_station_profile *profile);

/*
 * The roster row for the token @serial: its subject attributes (the header
 * row names them; the "serial" column is the key).
 * Returns: PE_OK and newly allocated *fields (pe_station_fields_free());
 * PE_E_NOTFOUND when the roster has no row for @serial.
 */
enum pe_code pe_station_roster_lookup(const struct pe_station_profile *profile, const char *serial,
				      struct pe_station_field **fields, size_t *n,
				      struct pe_err *err);
void pe_station_fields_free(struct pe_station_field *fields, size_t n);

/*
 * csv.c: CSV as RFC 4180 writes it (quotes, "" inside quotes, line breaks
 * inside quotes, CRLF or LF, a UTF-8 byte order mark skipped, blank lines
 * skipped). Row 0 is the header; every row has as many fields as it.
 */
struct pe_csv;

/*
 * Parses @len bytes of @text; @name (the file) names it in messages.
 * Returns: PE_OK and a newly allocated *out (pe_csv_free()); PE_E_USAGE naming
 * the line for malformed text or a row with another number of fields.
 */
enum pe_code pe_csv_parse(const char *text, size_t len, const char *name, struct pe_csv **out,
			  struct pe_err *err);
void pe_csv_free(struct pe_csv *csv);
/* Returns: the number of rows, the header included. */
size_t pe_csv_rows(const struct pe_csv *csv);
size_t pe_csv_cols(const struct pe_csv *csv);
/* Returns: the field (borrowed, NUL-terminated), NULL outside the table. */
const char *pe_csv_cell(const struct pe_csv *csv, size_t row, size_t col);
/* Returns: the line of the file on which @row starts (1-based). */
size_t pe_csv_line(const struct pe_csv *csv, size_t row);

#endif /* PE_PROFILE_PROFILE_H */
