/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/kiosk/: the JSON lines events (escaping, what is left
 * out), the PIN rules a person's new PIN must follow, and the page's address:
 * loopback only.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>

#include <cmocka.h>

#include "kiosk/kiosk-int.h"

static char *
event_text(const struct pe_kiosk_event *ev)
{
	struct pe_buf b;
	struct pe_err err;
	char *text;

	pe_buf_init(&b, 4096);
	assert_int_equal(pe_kiosk_event_json(ev, &b, &err), PE_OK);
	assert_int_equal(pe_buf_add(&b, "", 1, &err), PE_OK);
	text = (char *)pe_buf_take(&b, NULL);
	assert_non_null(text);
	return text;
}

static void
test_pe_kiosk_event_json_escapes(void **state)
{
	struct pe_kiosk_event ev;
	char *text;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.step = PE_KIOSK_REJECTED;
	ev.message = "the CA rejected the request";
	ev.reason = "said \"no\"\\\n\x01";
	ev.serial = "0011aabb";
	ev.request_id = 42;
	ev.code = PE_E_CA;
	text = event_text(&ev);
	assert_string_equal(text, "{\"event\":\"rejected\",\"message\":\"the CA rejected the "
				  "request\",\"token_serial\":\"0011aabb\",\"request_id\":\"42\","
				  "\"reason\":\"said \\\"no\\\"\\\\\\u000a\\u0001\",\"code\":8}");
	free(text);
}

static void
test_pe_kiosk_event_json_minimal(void **state)
{
	struct pe_kiosk_event ev;
	char *text;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.step = PE_KIOSK_PIN;
	ev.pin_new = true;
	text = event_text(&ev);
	assert_string_equal(text, "{\"event\":\"pin\",\"pin_new\":true}");
	free(text);
	ev.step = PE_KIOSK_STEP_MAX;
	text = event_text(&ev);
	assert_string_equal(text, "{\"event\":\"unknown\"}");
	free(text);
}

static void
test_pe_kiosk_pin_rules(void **state)
{
	struct pe_kiosk_shared sh;
	struct pe_secret *pin;
	struct pe_err err;

	(void)state;
	memset(&sh, 0, sizeof(sh));
	sh.pin_min = 6;
	sh.pin_max = 8;
	sh.pin_digits_only = true;
	pin = pe_secret_new("12345", 5);
	assert_int_equal(pe_kiosk_pin_rules(&sh, pin, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "at least 6"));
	pe_secret_free(pin);
	pin = pe_secret_new("123456789", 9);
	assert_int_equal(pe_kiosk_pin_rules(&sh, pin, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "at most 8"));
	pe_secret_free(pin);
	pin = pe_secret_new("12345a", 6);
	assert_int_equal(pe_kiosk_pin_rules(&sh, pin, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "digits"));
	sh.pin_digits_only = false;
	assert_int_equal(pe_kiosk_pin_rules(&sh, pin, &err), PE_OK);
	pe_secret_free(pin);
}

static void
test_pe_kiosk_http_start_loopback_only(void **state)
{
	static const char *const refused[] = {
		"0.0.0.0:0", "192.0.2.1:8080", "[::]:0",	  "localhost:0",
		"127.0.0.1", "127.0.0.1:x",    "127.0.0.1:70000", NULL,
	};
	struct pe_kiosk_shared sh;
	struct pe_kiosk_http *http = NULL;
	struct pe_err err;
	char url[128];
	size_t i;

	(void)state;
	memset(&sh, 0, sizeof(sh));
	for (i = 0; refused[i] != NULL; i++) {
		assert_int_equal(
			pe_kiosk_http_start(refused[i], &sh, &http, url, sizeof(url), &err),
			PE_E_USAGE);
		assert_null(http);
	}
	assert_int_equal(pe_kiosk_http_start("127.0.0.1:0", &sh, &http, url, sizeof(url), &err),
			 PE_OK);
	assert_non_null(http);
	assert_int_equal(strncmp(url, "http://127.0.0.1:", 17), 0);
	pe_kiosk_http_stop(http);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_kiosk_event_json_escapes),
		cmocka_unit_test(test_pe_kiosk_event_json_minimal),
		cmocka_unit_test(test_pe_kiosk_pin_rules),
		cmocka_unit_test(test_pe_kiosk_http_start_loopback_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
