/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list-slots: every slot of every module, with its token: identity, RFC 7512
 * URI, PIN flags and the key types it can make.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const struct pe_cli_opt options[] = {
	{ NULL, 0, 0, NULL, NULL },
};

static int
exec(struct pe_cli *cli, int argc, char **argv)
{
	const struct pe_command *cmd = &pe_cmd_list_slots_entry;
	struct pe_p11_slot *slots = NULL;
	struct pe_token_profile *profile;
	struct pe_p11_ctx *ctx;
	struct pe_err err;
	char title[512];
	size_t n = 0, i;
	int c;

	while ((c = pe_cli_getopt(cmd, argc, argv)) != -1) {
		if (c == PE_CLI_OPT_HELP)
			return pe_cli_help(cli, cmd);
		return pe_cli_usage(cli, cmd, "invalid option");
	}
	if (optind < argc)
		return pe_cli_usage(cli, cmd, "unexpected argument '%s'", argv[optind]);
	if (pe_cli_p11(cli, &ctx, &err) != PE_OK ||
	    pe_p11_slot_list(ctx, &slots, &n, &err) != PE_OK)
		return pe_cli_fail(cli, &err);

	pe_out_list(cli->out, "slots");
	for (i = 0; i < n; i++) {
		struct pe_p11_slot *s = &slots[i];

		snprintf(title, sizeof(title), "slot %lu (%s): %s", s->slot_id, s->module,
			 s->description);
		pe_out_item(cli->out, title);
		pe_out_str(cli->out, "module", s->module);
		pe_out_uint(cli->out, "slot_id", s->slot_id);
		pe_out_str(cli->out, "description", s->description);
		pe_out_str(cli->out, "slot_manufacturer", s->slot_manufacturer);
		pe_out_str(cli->out, "slot_uri", s->slot_uri);
		pe_out_bool(cli->out, "removable", s->removable);
		pe_out_bool(cli->out, "hardware", s->hardware);
		pe_out_bool(cli->out, "token_present", s->token_present);
		if (s->token_present) {
			profile = NULL;
			if (pe_token_profile_find(NULL, s->manufacturer, s->model, &profile,
						  &err) != PE_OK)
				pe_msg_warn("%s", err.msg);
			pe_out_object(cli->out, "token", "token");
			pe_cli_token_describe(cli->out, s, profile);
			pe_out_end(cli->out);
			pe_token_profile_free(profile);
		}
		pe_out_end(cli->out);
	}
	pe_out_end(cli->out);
	if (n == 0)
		pe_out_text(cli->out, "no slots");
	pe_p11_slot_list_free(slots, n);
	return 0;
}

const struct pe_command pe_cmd_list_slots_entry = {
	.name = "list-slots",
	.usage = "",
	.summary = "List every slot and token, with flags, URIs and the key types each can make.",
	.options = options,
	.exec = exec,
};
