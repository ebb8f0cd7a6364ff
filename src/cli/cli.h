/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli: the p11enroll command line. One file per command (cmd-<name>.c), each
 * exporting a struct pe_command that commands.c lists; output.c writes the
 * results as text or as one JSON document.
 */
#ifndef PE_CLI_CLI_H
#define PE_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "p11/p11.h"
#include "profile/profile.h"
#include "util/util.h"

struct pe_out;
struct pe_store;
struct pe_request;

struct pe_cli {
	const char *module_path; /* --module, else the p11-kit registry */
	const char *home;	 /* --home */
	bool json;
	enum pe_verbosity verbosity;
	struct pe_p11_ctx *p11; /* loaded on first use: pe_cli_p11() */
	struct pe_store *store; /* opened on first use: pe_cli_store() */
	struct pe_out *out;
	struct pe_err err; /* the failure reported, if any */
	bool failed;
	bool helped; /* --help was answered: no JSON document */
};

/* An option with its help right beside it (p11-kit usages[]). */
struct pe_cli_opt {
	const char *name;
	int has_arg;
	int val;
	const char *arg; /* "URI", or NULL for a flag */
	const char *help;
};

struct pe_command {
	const char *name;
	const char *usage; /* the synopsis after the command name */
	const char *summary;
	const struct pe_cli_opt *options; /* ends with { NULL } */
	int (*exec)(struct pe_cli *cli, int argc, char **argv);
};

/* commands.c */
const struct pe_command *pe_command_find(const char *name);
void pe_commands_print(void);

/* Prints the help of @cmd on stdout (and no JSON document). Returns: 0. */
int pe_cli_help(struct pe_cli *cli, const struct pe_command *cmd);

/* Prints @fmt and the usage of @cmd on stderr. Returns: PE_E_USAGE. */
int pe_cli_usage(struct pe_cli *cli, const struct pe_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define PE_CLI_OPT_HELP 'h'

/*
 * getopt_long over @cmd's options, with -h/--help added. Returns: the option's
 * val, PE_CLI_OPT_HELP, '?' for an error getopt has reported, -1 at the end.
 */
int pe_cli_getopt(const struct pe_command *cmd, int argc, char **argv);

/* Reports @err (stderr, and the JSON document). Returns: err->code, the exit status. */
int pe_cli_fail(struct pe_cli *cli, const struct pe_err *err);

/* common.c: what several commands share */

/* Returns: the loaded modules, loading them on first use. */
enum pe_code pe_cli_p11(struct pe_cli *cli, struct pe_p11_ctx **out, struct pe_err *err);

/* Returns: the user's state, opened on first use (in --home, else the default). */
enum pe_code pe_cli_store(struct pe_cli *cli, struct pe_store **out, struct pe_err *err);

/*
 * Reads one line of text (not a secret: it is echoed) from the terminal after
 * showing @prompt. Returns: newly allocated *out (free()); PE_E_USAGE naming
 * @what when there is no terminal.
 */
enum pe_code pe_cli_ask(const char *prompt, const char *what, char **out, struct pe_err *err);

/* Opens the one token @uri names, with its vendor profile. */
enum pe_code pe_cli_token_open(struct pe_cli *cli, const char *uri, unsigned flags,
			       struct pe_p11_token **tok, struct pe_token_profile **profile,
			       struct pe_err *err);

/* Describes a token (label, serial, URI, flags, key types) in the current output object. */
void pe_cli_token_describe(struct pe_out *out, const struct pe_p11_slot *token,
			   const struct pe_token_profile *profile);

/* Describes a request (state, the seed's state, CA id, key, reason) in the current object. */
void pe_cli_request_describe(struct pe_out *out, const struct pe_request *req);

/* Returns: the exit status a request's state stands for (0, 7 connection problem, 8 rejected,
 * 6 a certificate that failed its checks). */
int pe_cli_request_status(const struct pe_request *req);

/* Writes @data to @path atomically (temporary file, fsync, rename) with @mode. */
enum pe_code pe_cli_write_file(const char *path, const void *data, size_t len, unsigned mode,
			       struct pe_err *err);

/* output.c: results as text or one JSON document */
struct pe_out *pe_out_new(bool json);
void pe_out_free(struct pe_out *out);
void pe_out_str(struct pe_out *out, const char *key, const char *value);
void pe_out_uint(struct pe_out *out, const char *key, unsigned long value);
void pe_out_bool(struct pe_out *out, const char *key, bool value);
/* A number with one decimal (rates, seconds). */
void pe_out_real(struct pe_out *out, const char *key, double value);
void pe_out_strs(struct pe_out *out, const char *key, const char *const *values, size_t n);
/* A list of objects under @key; each pe_out_item() starts an object titled @title in text. */
void pe_out_list(struct pe_out *out, const char *key);
void pe_out_object(struct pe_out *out, const char *key, const char *title);
void pe_out_item(struct pe_out *out, const char *title);
void pe_out_end(struct pe_out *out);
/* A line for people only (text mode). */
void pe_out_text(struct pe_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * JSON lines (batch --json): an object {"event": @event} filled with the
 * pe_out_* calls, printed on one line of stdout (and flushed) by
 * pe_out_event_print(), freed with pe_out_free().
 */
struct pe_out *pe_out_event_new(const char *event);
void pe_out_event_print(struct pe_out *out);
/* Prints the JSON document (ok, or the error) in JSON mode. */
void pe_out_finish(struct pe_out *out, const struct pe_err *err);

/* The commands */
extern const struct pe_command pe_cmd_list_slots_entry;
extern const struct pe_command pe_cmd_init_token_entry;
extern const struct pe_command pe_cmd_set_pin_entry;
extern const struct pe_command pe_cmd_generate_key_entry;
extern const struct pe_command pe_cmd_make_csr_entry;
extern const struct pe_command pe_cmd_import_cert_entry;
extern const struct pe_command pe_cmd_add_service_entry;
extern const struct pe_command pe_cmd_list_services_entry;
extern const struct pe_command pe_cmd_remove_service_entry;
extern const struct pe_command pe_cmd_install_roots_entry;
extern const struct pe_command pe_cmd_list_templates_entry;
extern const struct pe_command pe_cmd_request_entry;
extern const struct pe_command pe_cmd_list_requests_entry;
extern const struct pe_command pe_cmd_show_request_entry;
extern const struct pe_command pe_cmd_refresh_entry;
extern const struct pe_command pe_cmd_list_certs_entry;
extern const struct pe_command pe_cmd_kiosk_entry;
extern const struct pe_command pe_cmd_audit_verify_entry;
extern const struct pe_command pe_cmd_batch_entry;

#endif /* PE_CLI_CLI_H */
