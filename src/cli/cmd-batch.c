/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * batch: enrolls one token per CSV row with a station profile, tokens in
 * different slots in parallel. A progress bar on a terminal, JSON lines with
 * --json (one per change of a row, then the summary), a summary in text.
 * Exit status: 0 every row installed (now or before), the code of the first
 * failed row, else 10 when rows are still processing or wait for a token.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "enroll/enroll.h"

enum {
	OPT_PROFILE = 256,
	OPT_WORKERS,
};

static const struct pe_cli_opt options[] = {
	{ "profile", required_argument, OPT_PROFILE, "FILE",
	  "the station profile (doc/profile.md): service, template, PIN sources, ..." },
	{ "workers", required_argument, OPT_WORKERS, "N",
	  "tokens enrolled at once (default: one per token, at most the CPUs)" },
	{ NULL, 0, 0, NULL, NULL },
};

struct view {
	struct pe_cli *cli;
	bool bar;	/* a progress bar on stderr */
	bool bar_shown; /* the bar is on the screen now */
};

static void
bar_clear(struct view *v)
{
	if (!v->bar_shown)
		return;
	fputs("\r\033[K", stderr);
	v->bar_shown = false;
}

static void
bar_draw(struct view *v, const struct pe_batch_summary *s)
{
	size_t done = s->installed + s->skipped, total = s->rows, width = 30, fill, i;
	double rate = s->seconds > 0 ? (double)s->installed * 60.0 / s->seconds : 0;
	char bar[64];

	fill = total ? (done + s->failed) * width / total : width;
	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr,
		"\r[%s] %zu/%zu done, %zu failed, %zu pending, %zu processing, %zu waiting, "
		"%.1f tokens/min\033[K",
		bar, done, total, s->failed, s->pending, s->processing, s->waiting, rate);
	fflush(stderr);
	v->bar_shown = true;
}

static bool
final_state(enum pe_batch_state state)
{
	return state != PE_BATCH_PENDING && state != PE_BATCH_RUNNING;
}

/* One call at a time (the engine holds its lock). */
static void
event(void *data, const struct pe_batch_event *ev)
{
	struct view *v = data;
	struct pe_out *line;
	char id[32];

	snprintf(id, sizeof(id), "%lld", (long long)ev->request_id);
	if (v->cli->json) {
		line = pe_out_event_new("row");
		if (line == NULL)
			return;
		pe_out_uint(line, "row", ev->row);
		pe_out_uint(line, "line", ev->line);
		pe_out_str(line, "key", ev->key);
		pe_out_str(line, "state", pe_batch_state_name(ev->state));
		pe_out_str(line, "token_serial", ev->token_serial);
		pe_out_str(line, "request_id", ev->request_id ? id : NULL);
		pe_out_str(line, "request_state", ev->request_state);
		if (ev->state == PE_BATCH_FAILED) {
			pe_out_uint(line, "code", ev->code);
			pe_out_str(line, "error", pe_code_name(ev->code));
		}
		pe_out_str(line, "reason", ev->reason);
		pe_out_event_print(line);
		pe_out_free(line);
	} else if (final_state(ev->state) && v->cli->verbosity >= PE_NORMAL) {
		bar_clear(v);
		printf("row %zu (line %zu): %s", ev->row, ev->line, pe_batch_state_name(ev->state));
		if (ev->token_serial != NULL)
			printf(", token %s", ev->token_serial);
		if (ev->request_id != 0)
			printf(", request %s", id);
		if (ev->reason != NULL)
			printf(": %s", ev->reason);
		putchar('\n');
		fflush(stdout);
	}
	if (v->bar)
		bar_draw(v, ev->sum);
}

/* The PINs, read once for every token: from the profile's sources, else asked once. */
static enum pe_code
pins_read(const struct pe_station_profile *p, struct pe_secret **pin, struct pe_secret **so_pin,
	  struct pe_err *err)
{
	enum pe_code rc;

	rc = pe_secret_read(p->pin_source, "\"pin_source\" in the profile", "user PIN",
			    p->init_token && p->pin_source == NULL, pin, err);
	if (rc == PE_OK && p->init_token) {
		rc = pe_secret_read(p->so_pin_source, "\"so_pin_source\" in the profile", "SO PIN",
				    false, so_pin, err);
		if (rc != PE_OK) {
			pe_secret_free(*pin);
			*pin = NULL;
		}
	}
	return rc;
}

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_batch_entry;
	struct pe_station_profile *profile = NULL;
	struct pe_secret *pin = NULL, *so_pin = NULL;
	struct pe_batch_summary sum;
	struct pe_batch_opts opts;
	struct view view;
	const char *profile_path = NULL;
	unsigned long workers = 0;
	struct pe_err err;
	enum pe_code rc;
	char *end;
	int c, status;

	memset(&opts, 0, sizeof(opts));
	memset(&sum, 0, sizeof(sum));
	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_PROFILE:
			profile_path = optarg;
			break;
		case OPT_WORKERS:
			workers = strtoul(optarg, &end, 10);
			if (*end != '\0' || workers == 0 || workers > 256)
				return pe_cli_usage(cli, cmd, "--workers takes 1 to 256");
			break;
		case PE_CLI_OPT_HELP:
			return pe_cli_help(cli, cmd);
		default:
			return pe_cli_usage(cli, cmd, "invalid option");
		}
	}
	if (optind + 1 != argc || profile_path == NULL)
		return pe_cli_usage(cli, cmd, "give the CSV file and --profile");
	opts.csv_path = argv[optind];
	opts.workers = (unsigned)workers;
	rc = pe_station_profile_load(profile_path, &profile, &err);
	if (rc == PE_OK)
		rc = pe_cli_store(cli, &opts.store, &err);
	if (rc == PE_OK)
		rc = pe_cli_p11(cli, &opts.p11, &err);
	if (rc == PE_OK)
		rc = pins_read(profile, &pin, &so_pin, &err);
	if (rc != PE_OK) {
		pe_station_profile_free(profile);
		return pe_cli_fail(cli, &err);
	}
	view.cli = cli;
	view.bar = isatty(STDERR_FILENO) && cli->verbosity >= PE_NORMAL;
	view.bar_shown = false;
	opts.profile = profile;
	opts.pin = pin;
	opts.so_pin = so_pin;
	opts.sign_tool = "p11enroll " PACKAGE_VERSION;
	opts.event = event;
	opts.event_data = &view;
	rc = pe_batch_run(&opts, &sum, &err);
	if (view.bar_shown)
		fputc('\n', stderr);
	pe_secret_free(pin);
	pe_secret_free(so_pin);
	if (rc != PE_OK) {
		pe_station_profile_free(profile);
		return pe_cli_fail(cli, &err);
	}
	if (sum.failed > 0)
		status = (int)sum.first_code;
	else if (sum.processing > 0 || sum.waiting > 0)
		status = PE_E_PENDING;
	else
		status = PE_OK;
	if (cli->json)
		pe_out_str(cli->out, "event", "summary");
	pe_out_text(cli->out, "batch '%s' with profile '%s':", opts.csv_path, profile->file);
	pe_out_uint(cli->out, "rows", sum.rows);
	pe_out_uint(cli->out, "installed", sum.installed);
	pe_out_uint(cli->out, "skipped", sum.skipped);
	pe_out_uint(cli->out, "processing", sum.processing);
	pe_out_uint(cli->out, "failed", sum.failed);
	pe_out_uint(cli->out, "waiting", sum.waiting);
	pe_out_uint(cli->out, "tokens", sum.tokens);
	pe_out_uint(cli->out, "workers", sum.workers);
	pe_out_str(cli->out, "workers_from",
		   workers ? "--workers" : "one per token, at most the CPUs online");
	pe_out_real(cli->out, "seconds", sum.seconds);
	pe_out_real(cli->out, "tokens_per_minute",
		    sum.seconds > 0 ? (double)sum.installed * 60.0 / sum.seconds : 0.0);
	pe_out_uint(cli->out, "exit_status", (unsigned long)status);
	if (sum.waiting > 0)
		pe_out_text(cli->out,
			    "%zu rows wait for a token: insert more tokens and run the batch again",
			    sum.waiting);
	if (sum.processing > 0)
		pe_out_text(cli->out,
			    "%zu rows wait for the CA: run the batch again (or 'p11enroll refresh "
			    "--all') later",
			    sum.processing);
	pe_station_profile_free(profile);
	return status;
}

const struct pe_command pe_cmd_batch_entry = {
	.name = "batch",
	.usage = "FILE.csv --profile FILE [--workers N]",
	.summary = "Enroll one token per CSV row, in parallel. Exit status: 0 all installed, the "
		   "first failed row's code, else 10 (rows processing or waiting for a token).",
	.options = options,
	.exec = exec,
};
