/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Results on stdout: "key  value" lines for people, or exactly one JSON
 * document with --json ({"ok":true,...} or {"ok":false,"error":{...}}).
 * Commands describe their results once; this file writes them either way.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define DEPTH_MAX 8

struct pe_out {
	bool json;
	cJSON *root;
	cJSON *stack[DEPTH_MAX];
	int depth;   /* stack[depth] is the current container */
	bool broken; /* out of memory while building: report at the end */
};

struct pe_out *
pe_out_new(bool json)
{
	struct pe_out *out = calloc(1, sizeof(*out));

	if (out == NULL)
		return NULL;
	out->json = json;
	if (json) {
		out->root = cJSON_CreateObject();
		/* "ok" comes first in every document */
		if (out->root == NULL || !cJSON_AddBoolToObject(out->root, "ok", true)) {
			cJSON_Delete(out->root);
			free(out);
			return NULL;
		}
		out->stack[0] = out->root;
	}
	return out;
}

void
pe_out_free(struct pe_out *out)
{
	if (out == NULL)
		return;
	cJSON_Delete(out->root);
	free(out);
}

static void
text_line(struct pe_out *out, const char *key, const char *value)
{
	char label[64];
	size_t i;

	snprintf(label, sizeof(label), "%s", key);
	for (i = 0; label[i] != '\0'; i++) {
		if (label[i] == '_')
			label[i] = ' ';
	}
	printf("%*s%-24s %s\n", out->depth * 2, "", label, value);
}

static void
json_add(struct pe_out *out, const char *key, cJSON *item)
{
	cJSON *parent = out->stack[out->depth];

	if (item == NULL) {
		out->broken = true;
		return;
	}
	if (cJSON_IsArray(parent))
		cJSON_AddItemToArray(parent, item);
	else if (!cJSON_AddItemToObject(parent, key, item))
		out->broken = true;
}

void
pe_out_str(struct pe_out *out, const char *key, const char *value)
{
	if (out->json)
		json_add(out, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
	else if (value != NULL) /* nothing to say: no line */
		text_line(out, key, value);
}

void
pe_out_uint(struct pe_out *out, const char *key, unsigned long value)
{
	char text[32];

	if (out->json) {
		json_add(out, key, cJSON_CreateNumber((double)value));
		return;
	}
	snprintf(text, sizeof(text), "%lu", value);
	text_line(out, key, text);
}

void
pe_out_real(struct pe_out *out, const char *key, double value)
{
	char text[32];

	/* one decimal is what people read; JSON gets the same, not noise digits */
	snprintf(text, sizeof(text), "%.1f", value);
	if (out->json) {
		json_add(out, key, cJSON_CreateNumber(strtod(text, NULL)));
		return;
	}
	text_line(out, key, text);
}

void
pe_out_bool(struct pe_out *out, const char *key, bool value)
{
	if (out->json)
		json_add(out, key, cJSON_CreateBool(value));
	else
		text_line(out, key, value ? "yes" : "no");
}

void
pe_out_strs(struct pe_out *out, const char *key, const char *const *values, size_t n)
{
	cJSON *array;
	size_t i, used = 0;
	char text[512] = "";

	if (out->json) {
		array = cJSON_CreateArray();
		for (i = 0; array != NULL && i < n; i++) {
			cJSON *s = cJSON_CreateString(values[i]);

			if (s == NULL || !cJSON_AddItemToArray(array, s))
				out->broken = true;
		}
		json_add(out, key, array);
		return;
	}
	for (i = 0; i < n; i++) {
		int w = snprintf(text + used, sizeof(text) - used, "%s%s", i ? ", " : "",
				 values[i]);

		if (w < 0 || (size_t)w >= sizeof(text) - used)
			break;
		used += (size_t)w;
	}
	text_line(out, key, n ? text : "-");
}

static void
push(struct pe_out *out, const char *key, cJSON *container)
{
	if (out->depth + 1 >= DEPTH_MAX || container == NULL) {
		cJSON_Delete(container);
		out->broken = true;
		return;
	}
	json_add(out, key, container);
	out->stack[++out->depth] = container;
}

void
pe_out_list(struct pe_out *out, const char *key)
{
	if (out->json)
		push(out, key, cJSON_CreateArray());
}

void
pe_out_object(struct pe_out *out, const char *key, const char *title)
{
	if (out->json) {
		push(out, key, cJSON_CreateObject());
		return;
	}
	printf("%*s%s\n", out->depth * 2, "", title ? title : key);
	out->depth++;
}

void
pe_out_item(struct pe_out *out, const char *title)
{
	if (out->json) {
		push(out, NULL, cJSON_CreateObject());
		return;
	}
	if (title != NULL)
		printf("%*s%s\n", out->depth * 2, "", title);
	out->depth++;
}

void
pe_out_end(struct pe_out *out)
{
	if (out->depth > 0)
		out->depth--;
}

void
pe_out_text(struct pe_out *out, const char *fmt, ...)
{
	va_list ap;

	if (out->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

struct pe_out *
pe_out_event_new(const char *event)
{
	struct pe_out *out = calloc(1, sizeof(*out));

	if (out == NULL)
		return NULL;
	out->json = true;
	out->root = cJSON_CreateObject();
	if (out->root == NULL || !cJSON_AddStringToObject(out->root, "event", event)) {
		cJSON_Delete(out->root);
		free(out);
		return NULL;
	}
	out->stack[0] = out->root;
	return out;
}

void
pe_out_event_print(struct pe_out *out)
{
	char *text;

	if (out == NULL || out->broken)
		return;
	text = cJSON_PrintUnformatted(out->root);
	if (text == NULL)
		return;
	printf("%s\n", text);
	fflush(stdout);
	cJSON_free(text);
}

void
pe_out_finish(struct pe_out *out, const struct pe_err *err)
{
	cJSON *doc, *error;
	char *text;

	if (!out->json) {
		fflush(stdout);
		return;
	}
	if (err == NULL && !out->broken) {
		doc = out->root;
		out->root = NULL;
	} else {
		doc = cJSON_CreateObject();
		error = cJSON_CreateObject();
		if (doc == NULL || error == NULL || !cJSON_AddBoolToObject(doc, "ok", false) ||
		    !cJSON_AddNumberToObject(error, "code", err ? err->code : PE_E_FAIL) ||
		    !cJSON_AddStringToObject(error, "name",
					     pe_code_name(err ? err->code : PE_E_FAIL)) ||
		    !cJSON_AddStringToObject(error, "message", err ? err->msg : "out of memory")) {
			cJSON_Delete(doc);
			cJSON_Delete(error);
			fputs("{\"ok\":false,\"error\":{\"code\":1,\"name\":\"internal\","
			      "\"message\":\"out of memory\"}}\n",
			      stdout);
			return;
		}
		cJSON_AddItemToObject(doc, "error", error);
	}
	text = cJSON_PrintUnformatted(doc);
	if (text != NULL) {
		puts(text);
		cJSON_free(text);
	}
	cJSON_Delete(doc);
	fflush(stdout);
}
