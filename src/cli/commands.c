/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command table (tmux cmd_table, p11-kit commands[]), help and usage
 * errors, and option parsing with the help text beside each option.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct pe_command *const commands[] = {
	&pe_cmd_list_slots_entry,
	&pe_cmd_init_token_entry,
	&pe_cmd_set_pin_entry,
	&pe_cmd_generate_key_entry,
	&pe_cmd_make_csr_entry,
	&pe_cmd_import_cert_entry,
	&pe_cmd_add_service_entry,
	&pe_cmd_list_services_entry,
	&pe_cmd_remove_service_entry,
	&pe_cmd_install_roots_entry,
	&pe_cmd_list_templates_entry,
	&pe_cmd_request_entry,
	&pe_cmd_list_requests_entry,
	&pe_cmd_show_request_entry,
	&pe_cmd_refresh_entry,
	&pe_cmd_list_certs_entry,
	&pe_cmd_kiosk_entry,
	&pe_cmd_audit_verify_entry,
	&pe_cmd_batch_entry,
	NULL, /* one command a line: clang-format would fill the lines */
};

#define OPTS_MAX 32

const struct pe_command *
pe_command_find(const char *name)
{
	size_t i;

	for (i = 0; commands[i] != NULL; i++) {
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	}
	return NULL;
}

void
pe_commands_print(void)
{
	size_t i;

	for (i = 0; commands[i] != NULL; i++)
		printf("  %-16s %s\n", commands[i]->name, commands[i]->summary);
}

static void
usage_print(FILE *f, const struct pe_command *cmd)
{
	const struct pe_cli_opt *o;
	char left[64];

	fprintf(f, "usage: p11enroll %s %s\n", cmd->name, cmd->usage);
	fprintf(f, "\n%s\n\noptions:\n", cmd->summary);
	for (o = cmd->options; o->name != NULL; o++) {
		if (o->arg != NULL)
			snprintf(left, sizeof(left), "--%s=%s", o->name, o->arg);
		else
			snprintf(left, sizeof(left), "--%s", o->name);
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
	fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
}

int
pe_cli_help(struct pe_cli *cli, const struct pe_command *cmd)
{
	if (cli != NULL)
		cli->helped = true;
	usage_print(stdout, cmd);
	return 0;
}

int
pe_cli_usage(struct pe_cli *cli, const struct pe_command *cmd, const char *fmt, ...)
{
	struct pe_err err;
	char text[PE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pe_err_set(&err, PE_E_USAGE, "%s: %s", cmd->name, text);
	pe_cli_fail(cli, &err);
	usage_print(stderr, cmd);
	return PE_E_USAGE;
}

static const struct pe_cli_opt *
option_named(const struct pe_command *cmd, const char *name, size_t len)
{
	const struct pe_cli_opt *o;

	for (o = cmd->options; o->name != NULL; o++) {
		if (strlen(o->name) == len && strncmp(name, o->name, len) == 0)
			return o;
	}
	return NULL;
}

/*
 * getopt_long takes any unambiguous prefix of a long option, so "--pin 1234"
 * would be read as "--pin-source 1234" and the PIN would end up in an error
 * message. Before the first option is parsed, every long option must be
 * spelled out in full; the value is never shown.
 */
static bool
spelled_out(const struct pe_command *cmd, int argc, char **argv)
{
	const struct pe_cli_opt *o;
	size_t len;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strncmp(argv[i], "--", 2) != 0)
			continue;
		len = strcspn(argv[i] + 2, "=");
		if (len == 4 && strncmp(argv[i] + 2, "help", 4) == 0)
			continue;
		o = option_named(cmd, argv[i] + 2, len);
		if (o == NULL) {
			fprintf(stderr,
				"p11enroll: unknown option '--%.*s' (options are not "
				"abbreviated)\n",
				(int)len, argv[i] + 2);
			return false;
		}
		/* the option's value is the next word: not an option to check */
		if (o->has_arg == required_argument && argv[i][2 + len] != '=')
			i++;
	}
	return true;
}

int
pe_cli_getopt(const struct pe_command *cmd, int argc, char **argv)
{
	struct option longs[OPTS_MAX + 2];
	char shorts[OPTS_MAX * 2 + 4] = "h";
	size_t n = 0, s = 1;
	const struct pe_cli_opt *o;
	struct pe_secret_source src;
	struct pe_err err;
	int longindex, c;

	for (o = cmd->options; o->name != NULL && n < OPTS_MAX; o++, n++) {
		longs[n].name = o->name;
		longs[n].has_arg = o->has_arg;
		longs[n].flag = NULL;
		longs[n].val = o->val;
		if (o->val > 0 && o->val < 128 && s + 2 < sizeof(shorts)) {
			shorts[s++] = (char)o->val;
			if (o->has_arg == required_argument)
				shorts[s++] = ':';
		}
	}
	longs[n].name = "help";
	longs[n].has_arg = no_argument;
	longs[n].flag = NULL;
	longs[n].val = PE_CLI_OPT_HELP;
	memset(&longs[n + 1], 0, sizeof(longs[n + 1]));
	shorts[s] = '\0';
	/* optind is 0 before the first call: GNU getopt starts again from argv[1] */
	if (optind == 0 && !spelled_out(cmd, argc, argv)) {
		optind = argc;
		return '?';
	}
	longindex = -1;
	c = getopt_long(argc, argv, shorts, longs, &longindex);
	/* a secret source is checked at once, and never repeated */
	if (longindex >= 0 && (size_t)longindex < n && optarg != NULL &&
	    strlen(longs[longindex].name) > 7 &&
	    strcmp(longs[longindex].name + strlen(longs[longindex].name) - 7, "-source") == 0 &&
	    pe_secret_source_parse(optarg, &src, &err) != PE_OK) {
		fprintf(stderr, "p11enroll: --%s: %s\n", longs[longindex].name, err.msg);
		return '?';
	}
	return c;
}

int
pe_cli_fail(struct pe_cli *cli, const struct pe_err *err)
{
	if (!cli->failed) {
		cli->err = *err;
		cli->failed = true;
	}
	pe_msg_error(err);
	return err->code;
}
