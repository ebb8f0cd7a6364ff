/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/profile/station.c and csv.c: the example station profile
 * in tests/data/station, malformed profiles written to a temporary directory,
 * roster lookups, and CSV as RFC 4180 writes it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>

#include <cmocka.h>

#include "profile/profile.h"

static char tmpdir[PATH_MAX];
static char example[PATH_MAX];
static char file[PATH_MAX + 32];
static char roster[PATH_MAX + 32];

static int
group_setup(void **state)
{
	const char *base = getenv("TEST_TMP");
	const char *data = getenv("TEST_DATA");

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (data == NULL || data[0] == '\0')
		data = "tests/data";
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir '%s': %s\n", base, strerror(errno));
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-station.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp '%s': %s\n", tmpdir, strerror(errno));
		return -1;
	}
	snprintf(example, sizeof(example), "%s/station/example.json", data);
	snprintf(file, sizeof(file), "%s/station.json", tmpdir);
	snprintf(roster, sizeof(roster), "%s/roster.csv", tmpdir);
	return 0;
}

static int
group_teardown(void **state)
{
	return rmdir(tmpdir);
}

static int
files_remove(void **state)
{
	unlink(file);
	unlink(roster);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Loads @json from a file; returns the code, the message in @err. */
static enum pe_code
load_text(const char *json, struct pe_station_profile **p, struct pe_err *err)
{
	write_file(file, json);
	*p = NULL;
	return pe_station_profile_load(file, p, err);
}

static void
expect_usage(const char *json, const char *words)
{
	struct pe_station_profile *p = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(load_text(json, &p, &err), PE_E_USAGE);
	assert_null(p);
	if (strstr(err.msg, words) == NULL)
		fail_msg("'%s' does not say '%s'", err.msg, words);
}

#define MINIMAL "\"service\": \"ca\", \"template\": \"1.2.3\", \"owner_type\": \"individual\""

static void
test_pe_station_profile_load_example(void **state)
{
	struct pe_station_profile *p = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(pe_station_profile_load(example, &p, &err), PE_OK);
	assert_string_equal(p->service, "democa");
	assert_string_equal(p->template_oid, "1.2.643.2.2.34.6");
	assert_string_equal(p->owner_type, "employee");
	assert_string_equal(p->key_type, "ec-p256");
	assert_string_equal(p->carrier, "token");
	assert_string_equal(p->pin_source, "file:/etc/p11enroll/user-pin");
	assert_true(p->init_token);
	assert_string_equal(p->so_pin_source, "file:/etc/p11enroll/so-pin");
	assert_string_equal(p->token_label, "Example card");
	assert_int_equal(p->n_fields, 3);
	assert_string_equal(p->fields[0].attr, "C");
	assert_string_equal(p->fields[0].value, "RU");
	assert_string_equal(p->fields[2].attr, "INNLE");
	assert_int_equal(p->subject_source, PE_STATION_SUBJECT_ROSTER);
	/* relative to the profile's directory */
	assert_non_null(strstr(p->roster, "station/roster.csv"));
	assert_int_equal(p->n_ask, 1);
	assert_string_equal(p->ask[0], "E");
	assert_int_equal(p->pin_min, 6);
	assert_int_equal(p->pin_max, 16);
	assert_true(p->pin_digits_only);
	assert_int_equal(p->ca_wait_sec, 300);
	assert_int_equal(p->poll_ms, 500);
	pe_station_profile_free(p);
}

static void
test_pe_station_profile_load_defaults(void **state)
{
	struct pe_station_profile *p = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(load_text("{" MINIMAL "}", &p, &err), PE_OK);
	assert_string_equal(p->key_type, "ec-p256");
	assert_string_equal(p->carrier, "token");
	assert_null(p->pin_source);
	assert_false(p->init_token);
	assert_null(p->so_pin_source);
	assert_string_equal(p->token_label, "p11enroll");
	assert_int_equal(p->n_fields, 0);
	assert_int_equal(p->subject_source, PE_STATION_SUBJECT_NONE);
	assert_null(p->roster);
	assert_int_equal(p->pin_min, 6);
	assert_int_equal(p->pin_max, 32);
	assert_false(p->pin_digits_only);
	assert_int_equal(p->ca_wait_sec, 120);
	assert_int_equal(p->poll_ms, 1000);
	pe_station_profile_free(p);
}

static void
test_pe_station_profile_load_missing(void **state)
{
	struct pe_station_profile *p = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(pe_station_profile_load("/nonexistent/station.json", &p, &err),
			 PE_E_USAGE);
	assert_non_null(strstr(err.msg, "/nonexistent/station.json"));
	assert_int_equal(err.code, PE_E_USAGE);
	expect_usage("{\"template\": \"1.2.3\", \"owner_type\": \"individual\"}",
		     "has no \"service\"");
	expect_usage("{\"service\": \"ca\", \"owner_type\": \"individual\"}",
		     "has no \"template\"");
	expect_usage("{\"service\": \"ca\", \"template\": \"1.2.3\"}", "has no \"owner_type\"");
}

static void
test_pe_station_profile_load_malformed(void **state)
{
	expect_usage("[1, 2]", "is not a JSON object");
	expect_usage("{" MINIMAL ", ", "is not a JSON object");
	expect_usage("{" MINIMAL ", \"pin_sorce\": \"env:PIN\"}", "unknown key \"pin_sorce\"");
	expect_usage("{" MINIMAL ", \"version\": 2}", "is version 2");
	expect_usage("{" MINIMAL ", \"key_type\": 256}", "\"key_type\" is not a non-empty string");
	expect_usage("{" MINIMAL ", \"key_type\": \"ec-p521\"}", "key_type 'ec-p521'");
	expect_usage("{" MINIMAL ", \"carrier\": \"floppy\"}", "carrier 'floppy'");
	expect_usage("{\"service\": \"ca\", \"template\": \"1.2.3\", \"owner_type\": \"robot\"}",
		     "owner_type 'robot'");
	expect_usage("{" MINIMAL ", \"init_token\": \"yes\"}", "\"init_token\" is not true");
	expect_usage("{" MINIMAL ", \"init_token\": true}", "needs \"so_pin_source\"");
	expect_usage("{" MINIMAL ", \"pin_source\": \"1234\"}", "\"pin_source\"");
	expect_usage("{" MINIMAL ", \"so_pin_source\": \"prompt:\"}", "\"so_pin_source\"");
	expect_usage("{" MINIMAL ", \"fields\": [\"CN\"]}", "\"fields\" is not an object");
	expect_usage("{" MINIMAL ", \"fields\": {\"CN\": 1}}", "field \"CN\" is not a string");
	expect_usage("{" MINIMAL ", \"ca_wait_seconds\": -1}", "\"ca_wait_seconds\"");
	expect_usage("{" MINIMAL ", \"ca_wait_seconds\": 1.5}", "\"ca_wait_seconds\"");
	expect_usage("{" MINIMAL ", \"poll_interval_ms\": 0}", "\"poll_interval_ms\" is 0");
	expect_usage("{" MINIMAL ", \"pin\": {\"min\": 4}}", "unknown key \"min\"");
	expect_usage("{" MINIMAL ", \"pin\": {\"min_length\": 8, \"max_length\": 4}}",
		     "are not a range");
	expect_usage("{" MINIMAL ", \"subject\": {\"source\": \"ldap\"}}", "subject source 'ldap'");
	expect_usage("{" MINIMAL ", \"subject\": {\"source\": \"roster\"}}", "needs \"roster\"");
	expect_usage("{" MINIMAL ", \"subject\": {\"source\": \"ask\"}}", "needs \"ask\"");
	expect_usage("{" MINIMAL ", \"subject\": {\"source\": \"ask\", \"ask\": [1]}}",
		     "not a name");
	expect_usage("{" MINIMAL ", \"subject\": {\"sourse\": \"ask\"}}", "unknown key \"sourse\"");
}

static void
test_pe_station_profile_load_roster_checked(void **state)
{
	const char *json = "{" MINIMAL ", \"subject\": {\"source\": \"roster\", "
			   "\"roster\": \"roster.csv\"}}";

	expect_usage(json, "roster.csv");
	write_file(roster, "CN,E\nIvan,ivan@example.org\n");
	expect_usage(json, "has no \"serial\" column");
	write_file(roster, "Serial,CN\nA1,Ivan\nB2,Anna\nA1,Oleg\n");
	expect_usage(json, "serial 'A1' is on lines 2 and 4");
	write_file(roster, "serial,CN\nA1,\"Ivan\n");
	expect_usage(json, "line 2: a quoted field is not closed");
}

static void
test_pe_station_roster_lookup_found(void **state)
{
	struct pe_station_profile *p = NULL;
	struct pe_station_field *fields = NULL;
	struct pe_err err;
	size_t n = 0;

	pe_err_clear(&err);
	assert_int_equal(pe_station_profile_load(example, &p, &err), PE_OK);
	assert_int_equal(pe_station_roster_lookup(p, "0001a2b3c4d5e6f7", &fields, &n, &err), PE_OK);
	assert_int_equal(n, 5);
	assert_string_equal(fields[0].attr, "CN");
	assert_string_equal(fields[0].value, "Ivanov, Ivan");
	assert_string_equal(fields[3].attr, "OU");
	assert_string_equal(fields[4].attr, "E");
	assert_string_equal(fields[4].value, "ivan@example.org");
	pe_station_fields_free(fields, n);
	/* empty cells give no attribute */
	assert_int_equal(pe_station_roster_lookup(p, "00ffeeddccbbaa99", &fields, &n, &err), PE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(fields[0].value, "Petrova \"Anna\"");
	assert_string_equal(fields[2].attr, "GN");
	pe_station_fields_free(fields, n);
	pe_station_profile_free(p);
}

static void
test_pe_station_roster_lookup_not_found(void **state)
{
	struct pe_station_profile *p = NULL;
	struct pe_station_field *fields = NULL;
	struct pe_err err;
	size_t n = 0;

	pe_err_clear(&err);
	assert_int_equal(pe_station_profile_load(example, &p, &err), PE_OK);
	assert_int_equal(pe_station_roster_lookup(p, "1234", &fields, &n, &err), PE_E_NOTFOUND);
	assert_null(fields);
	assert_non_null(strstr(err.msg, "no row for token serial '1234'"));
	pe_station_profile_free(p);
	/* a profile without a roster */
	assert_int_equal(load_text("{" MINIMAL "}", &p, &err), PE_OK);
	assert_int_equal(pe_station_roster_lookup(p, "1234", &fields, &n, &err), PE_E_USAGE);
	pe_station_profile_free(p);
}

static struct pe_csv *
csv_ok(const char *text)
{
	struct pe_csv *csv = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	if (pe_csv_parse(text, strlen(text), "t.csv", &csv, &err) != PE_OK)
		fail_msg("%s", err.msg);
	return csv;
}

static void
csv_bad(const char *text, const char *words)
{
	struct pe_csv *csv = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(pe_csv_parse(text, strlen(text), "t.csv", &csv, &err), PE_E_USAGE);
	assert_null(csv);
	if (strstr(err.msg, words) == NULL)
		fail_msg("'%s' does not say '%s'", err.msg, words);
}

static void
test_pe_csv_parse_rfc4180(void **state)
{
	struct pe_csv *csv;

	csv = csv_ok("\xef\xbb\xbf"
		     "a,b,c\r\n"
		     "1,\"two, with comma\",3\r\n"
		     "\r\n"
		     "\"x\"\"y\",\"line\r\nbreak\",\r\n"
		     ",,\n"
		     "last,row,\"\"");
	assert_int_equal(pe_csv_rows(csv), 5);
	assert_int_equal(pe_csv_cols(csv), 3);
	assert_string_equal(pe_csv_cell(csv, 0, 0), "a");
	assert_string_equal(pe_csv_cell(csv, 1, 1), "two, with comma");
	assert_string_equal(pe_csv_cell(csv, 2, 0), "x\"y");
	assert_string_equal(pe_csv_cell(csv, 2, 1), "line\r\nbreak");
	assert_string_equal(pe_csv_cell(csv, 2, 2), "");
	assert_string_equal(pe_csv_cell(csv, 3, 2), "");
	assert_string_equal(pe_csv_cell(csv, 4, 2), "");
	assert_null(pe_csv_cell(csv, 5, 0));
	assert_null(pe_csv_cell(csv, 0, 3));
	/* the blank line is skipped but counted */
	assert_int_equal(pe_csv_line(csv, 1), 2);
	assert_int_equal(pe_csv_line(csv, 2), 4);
	assert_int_equal(pe_csv_line(csv, 3), 6);
	pe_csv_free(csv);

	csv = csv_ok("a,b\n1,2");
	assert_int_equal(pe_csv_rows(csv), 2);
	assert_string_equal(pe_csv_cell(csv, 1, 1), "2");
	pe_csv_free(csv);
	csv = csv_ok("a,b\n1,");
	assert_string_equal(pe_csv_cell(csv, 1, 1), "");
	pe_csv_free(csv);
}

static void
test_pe_csv_parse_malformed(void **state)
{
	csv_bad("", "has no header row");
	csv_bad("\n\n", "has no header row");
	csv_bad("a,b\n1,2,3\n", "line 2 has more than 2 fields");
	csv_bad("a,b\n1\n", "line 2 has 1 fields where the header has 2");
	csv_bad("a,b\n1,\"2\n", "line 2: a quoted field is not closed");
	csv_bad("a,b\n1,\"2\"x\n", "line 2: text after a closing quote");
	csv_bad("a,b\n1,2\"x\n", "line 2: a quote inside an unquoted field");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_station_profile_load_example),
		cmocka_unit_test_teardown(test_pe_station_profile_load_defaults, files_remove),
		cmocka_unit_test_teardown(test_pe_station_profile_load_missing, files_remove),
		cmocka_unit_test_teardown(test_pe_station_profile_load_malformed, files_remove),
		cmocka_unit_test_teardown(test_pe_station_profile_load_roster_checked,
					  files_remove),
		cmocka_unit_test(test_pe_station_roster_lookup_found),
		cmocka_unit_test_teardown(test_pe_station_roster_lookup_not_found, files_remove),
		cmocka_unit_test(test_pe_csv_parse_rfc4180),
		cmocka_unit_test(test_pe_csv_parse_malformed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
