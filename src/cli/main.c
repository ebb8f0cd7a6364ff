/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p11enroll: global options, then one command. Only main() exits, with the
 * command's enum pe_code as the status.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <curl/curl.h>

#include "cli.h"
#include "store/store.h"

#define SYNOPSIS                                                                                   \
	"usage: p11enroll [--module PATH] [--home DIR] [--json] [-v|-q] COMMAND [options]\n"

static void
help_print(void)
{
	printf(SYNOPSIS "\n"
			"Enrolls PKCS#11 tokens for X.509 certificates: keys made on the token,\n"
			"requests signed by the token, certificates written back next to the key.\n"
			"\n"
			"global options:\n"
			"  --module=PATH    load this PKCS#11 module only (default: every module\n"
			"                   registered with p11-kit)\n"
			"  --home=DIR       state directory (default: $P11ENROLL_HOME, else\n"
			"                   $XDG_DATA_HOME/p11enroll)\n"
			"  --json           print one JSON document on stdout\n"
			"  -v, --verbose    debug messages on stderr\n"
			"  -q, --quiet      warnings and errors only\n"
			"  --version        print the version\n"
			"\n"
			"commands:\n");
	pe_commands_print();
	printf("\n'p11enroll COMMAND --help' or 'p11enroll help COMMAND' describes one command.\n"
	       "Secrets come from --pin-source and the like (file:PATH, env:NAME, fd:N)\n"
	       "or a no-echo prompt, never from the command line.\n");
}

enum { OPT_MODULE = 256, OPT_HOME, OPT_JSON, OPT_VERSION };

static const struct option global_options[] = {
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "home", required_argument, NULL, OPT_HOME },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int
run(int argc, char **argv)
{
	struct pe_cli cli;
	const struct pe_command *cmd = NULL;
	const char *name = NULL;
	struct pe_err err;
	bool bad_option = false, help = false;
	int c, rc;

	memset(&cli, 0, sizeof(cli));
	cli.home = getenv("P11ENROLL_HOME");
	pe_msg_init("p11enroll", PE_NORMAL);
	while ((c = getopt_long(argc, argv, "+vqh", global_options, NULL)) != -1) {
		switch (c) {
		case OPT_MODULE:
			cli.module_path = optarg;
			break;
		case OPT_HOME:
			cli.home = optarg;
			break;
		case OPT_JSON:
			cli.json = true;
			break;
		case 'v':
			cli.verbosity = PE_VERBOSE;
			break;
		case 'q':
			cli.verbosity = PE_QUIET;
			break;
		case 'h':
			help_print();
			return 0;
		case OPT_VERSION:
			printf("p11enroll %s\n", PACKAGE_VERSION);
			return 0;
		default:
			/* getopt has named the option; read on, a --json may follow */
			bad_option = true;
			break;
		}
	}
	pe_msg_init(NULL, cli.verbosity);
	cli.out = pe_out_new(cli.json);
	if (cli.out == NULL) {
		fprintf(stderr, "p11enroll: (1) out of memory\n");
		return PE_E_FAIL;
	}
	if (!bad_option && optind < argc) {
		help = strcmp(argv[optind], "help") == 0;
		name = help ? argv[optind + 1] : argv[optind]; /* argv[argc] is NULL */
	}
	if (name != NULL)
		cmd = pe_command_find(name);
	/* usage errors go through pe_cli_fail(), so that --json still gets its document */
	if (bad_option || optind >= argc) {
		pe_err_set(&err, PE_E_USAGE, "%s: see 'p11enroll --help'",
			   bad_option ? "bad global option" : "no command");
		rc = pe_cli_fail(&cli, &err);
		fputs(SYNOPSIS, stderr);
	} else if (help && name == NULL) {
		help_print();
		cli.helped = true;
		rc = 0;
	} else if (cmd == NULL) {
		pe_err_set(&err, PE_E_USAGE, "unknown command '%s': see 'p11enroll --help'", name);
		rc = pe_cli_fail(&cli, &err);
	} else if (help) {
		rc = pe_cli_help(&cli, cmd);
	} else {
		argv += optind;
		argc -= optind;
		optind = 0; /* GNU getopt starts again for the command's options */
		rc = cmd->exec(&cli, argc, argv);
	}
	if (!cli.helped)
		pe_out_finish(cli.out, cli.failed ? &cli.err : NULL);
	pe_out_free(cli.out);
	pe_store_close(cli.store);
	pe_p11_ctx_free(cli.p11);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "p11enroll: (1) libcurl cannot be initialised\n");
		return PE_E_FAIL;
	}
	rc = run(argc, argv);
	curl_global_cleanup();
	return rc;
}
