/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kiosk: the unattended enrollment station. Enrolls every token inserted by
 * a station profile, with a local page for a touch screen (--http) or status
 * lines on stdout (JSON lines with --json).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kiosk/kiosk.h"

enum { OPT_PROFILE = 256, OPT_HTTP, OPT_ONCE, OPT_MAX };

static const struct pe_cli_opt options[] = {
	{ "profile", required_argument, OPT_PROFILE, "FILE",
	  "the station profile (JSON, see doc/profile.md)" },
	{ "http", required_argument, OPT_HTTP, "ADDR:PORT",
	  "serve the kiosk page on this loopback address (port 0: any free one)" },
	{ "once", no_argument, OPT_ONCE, NULL, "stop after one token (--max-tokens 1)" },
	{ "max-tokens", required_argument, OPT_MAX, "N", "stop after N tokens" },
	{ NULL, 0, 0, NULL, NULL },
};

/* A status line for people, or one JSON line per event with --json. */
static void
on_event(void *data, const struct pe_kiosk_event *ev)
{
	struct pe_cli *cli = data;
	struct pe_buf b;
	struct pe_err err;

	if (cli->json) {
		pe_buf_init(&b, 65536);
		if (pe_kiosk_event_json(ev, &b, &err) == PE_OK)
			printf("%.*s\n", (int)b.len, (const char *)b.data);
		pe_buf_cleanup(&b);
	} else if (cli->verbosity != PE_QUIET) {
		printf("kiosk: %s", pe_kiosk_step_name(ev->step));
		if (ev->serial != NULL)
			printf(" [token %s]", ev->serial);
		if (ev->request_id > 0)
			printf(" [request %lld]", ev->request_id);
		printf(": %s", ev->message != NULL ? ev->message : "");
		if (ev->url != NULL)
			printf(" at %s", ev->url);
		if (ev->step == PE_KIOSK_REJECTED && ev->reason != NULL)
			printf(": %s", ev->reason);
		printf("\n");
	}
	fflush(stdout);
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_kiosk_entry;
	struct pe_station_profile *profile = NULL;
	const char *profile_path = NULL;
	struct pe_kiosk_opts opts;
	struct pe_err err;
	unsigned long max;
	enum pe_code rc;
	char *end;
	int c;

	memset(&opts, 0, sizeof(opts));
	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_PROFILE:
			profile_path = optarg;
			break;
		case OPT_HTTP:
			opts.http = optarg;
			break;
		case OPT_ONCE:
			opts.max_tokens = 1;
			break;
		case OPT_MAX:
			max = strtoul(optarg, &end, 10);
			if (*end != '\0' || optarg[0] == '-' || max == 0 || max > 1000000)
				return pe_cli_usage(cli, cmd, "--max-tokens '%s' is not a count",
						    optarg);
			opts.max_tokens = (unsigned)max;
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);
	if (profile_path == NULL)
		return pe_cli_usage(cli, cmd, "give the station profile with --profile");

	rc = pe_station_profile_load(profile_path, &profile, &err);
	if (rc == PE_OK)
		rc = pe_cli_store(cli, &opts.store, &err);
	if (rc == PE_OK)
		rc = pe_cli_p11(cli, &opts.p11, &err);
	if (rc == PE_OK) {
		opts.profile = profile;
		opts.sign_tool = "p11enroll " PACKAGE_VERSION;
		opts.event = on_event;
		opts.event_data = cli;
		rc = pe_kiosk_run(&opts, &err);
	}
	pe_station_profile_free(profile);
	if (rc != PE_OK)
		return pe_cli_fail(cli, &err);
	return 0;
}

const struct pe_command pe_cmd_kiosk_entry = {
	.name = "kiosk",
	.usage = "--profile FILE [--http 127.0.0.1:PORT] [--once | --max-tokens N]",
	.summary = "Run an enrollment station: enroll every token inserted, by a station profile.",
	.options = options,
	.exec = exec,
};
