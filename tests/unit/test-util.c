/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for src/util: error messages with context, secret sources and
 * secrets, capped buffers, hex, and the key type and hash vocabulary.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

#include "util/util.h"

static char tmpdir[PATH_MAX];

static int
group_setup(void **state)
{
	const char *base = getenv("TEST_TMP");

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	/* make check names $TEST_TMP but leaves making it to the first test that runs */
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir '%s': %s\n", base, strerror(errno));
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-util.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp '%s': %s\n", tmpdir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/pin", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

/* Writes @len bytes of @data to $tmpdir/pin, mode 0600, and puts "file:PATH" in @spec. */
static void
pin_file(const char *data, size_t len, char *spec, size_t size)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/pin", tmpdir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	snprintf(spec, size, "file:%s", path);
}

/* pe_err */

static void
test_pe_err_set_returns_code(void **state)
{
	struct pe_err err = { PE_OK, 42, "" };

	assert_int_equal(pe_err_set(&err, PE_E_CA, "server answered HTTP %d", 403), PE_E_CA);
	assert_int_equal(err.code, PE_E_CA);
	assert_int_equal(err.ck_rv, 0);
	assert_string_equal(err.msg, "server answered HTTP 403");
	/* a NULL err still gives the code back */
	assert_int_equal(pe_err_set(NULL, PE_E_PIN, "x"), PE_E_PIN);
}

static void
test_pe_err_prefix_keeps_context(void **state)
{
	struct pe_err err;

	pe_err_clear(&err);
	pe_err_set(&err, PE_E_PIN, "CKR_PIN_INCORRECT");
	pe_err_prefix(&err, "C_Login");
	pe_err_prefix(&err, "token '%s'", "alpha");
	assert_string_equal(err.msg, "token 'alpha': C_Login: CKR_PIN_INCORRECT");
	assert_int_equal(err.code, PE_E_PIN);
}

static void
test_pe_err_prefix_truncates_detail(void **state)
{
	struct pe_err err;
	char detail[PE_ERR_MSG_MAX];
	size_t len;

	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	pe_err_set(&err, PE_E_P11, "%s", detail);
	assert_int_equal(strlen(err.msg), PE_ERR_MSG_MAX - 1);

	pe_err_prefix(&err, "token '%s'", "beta");
	len = strlen(err.msg);
	assert_int_equal(len, PE_ERR_MSG_MAX - 1);
	/* the context survives whole; the cut falls on the innermost detail */
	assert_memory_equal(err.msg, "token 'beta': ", 14);
	assert_int_equal(err.msg[14], 'd');
	assert_int_equal(err.msg[len - 1], 'd');
	assert_int_equal(err.code, PE_E_P11);
}

static void
test_pe_err_prefix_long_context(void **state)
{
	struct pe_err err;
	char context[PE_ERR_MSG_MAX + 100];

	memset(context, 'c', sizeof(context) - 1);
	context[sizeof(context) - 1] = '\0';
	pe_err_set(&err, PE_E_FAIL, "detail");
	pe_err_prefix(&err, "%s", context);
	/* still terminated inside the buffer, and no overflow */
	assert_true(strlen(err.msg) < PE_ERR_MSG_MAX);
	assert_int_equal(err.msg[0], 'c');
}

static void
test_pe_err_append_adds_detail(void **state)
{
	struct pe_err err;
	char detail[PE_ERR_MSG_MAX];

	pe_err_set(&err, PE_E_USAGE, "bad option");
	pe_err_append(&err, " (try '%s')", "--help");
	assert_string_equal(err.msg, "bad option (try '--help')");
	assert_int_equal(err.code, PE_E_USAGE);

	/* appending to a full message leaves it terminated and unchanged */
	memset(detail, 'e', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	pe_err_set(&err, PE_E_USAGE, "%s", detail);
	pe_err_append(&err, "more");
	assert_string_equal(err.msg, detail);

	/* appending past the end is cut, not overflowed */
	pe_err_set(&err, PE_E_USAGE, "%.*s", PE_ERR_MSG_MAX - 4, detail);
	pe_err_append(&err, "0123456789");
	assert_int_equal(strlen(err.msg), PE_ERR_MSG_MAX - 1);
	assert_string_equal(err.msg + PE_ERR_MSG_MAX - 4, "012");
}

static void
test_pe_err_clear_resets(void **state)
{
	struct pe_err err;

	pe_err_set(&err, PE_E_STORE, "database locked");
	err.ck_rv = 7;
	pe_err_clear(&err);
	assert_int_equal(err.code, PE_OK);
	assert_int_equal(err.ck_rv, 0);
	assert_string_equal(err.msg, "");
}

static void
test_pe_code_name_all(void **state)
{
	assert_string_equal(pe_code_name(PE_OK), "ok");
	assert_string_equal(pe_code_name(PE_E_FAIL), "internal");
	assert_string_equal(pe_code_name(PE_E_USAGE), "usage");
	assert_string_equal(pe_code_name(PE_E_NOTFOUND), "not_found");
	assert_string_equal(pe_code_name(PE_E_P11), "pkcs11");
	assert_string_equal(pe_code_name(PE_E_PIN), "pin");
	assert_string_equal(pe_code_name(PE_E_CRYPTO), "crypto");
	assert_string_equal(pe_code_name(PE_E_NET), "network");
	assert_string_equal(pe_code_name(PE_E_CA), "ca_rejected");
	assert_string_equal(pe_code_name(PE_E_STORE), "store");
	assert_string_equal(pe_code_name(PE_E_PENDING), "pending");
	assert_string_equal(pe_code_name((enum pe_code)99), "unknown");
}

static void
test_pe_code_values_fixed(void **state)
{
	/* the codes are the exit status: a renumbering breaks scripts */
	assert_int_equal(PE_E_FAIL, 1);
	assert_int_equal(PE_E_USAGE, 2);
	assert_int_equal(PE_E_NOTFOUND, 3);
	assert_int_equal(PE_E_P11, 4);
	assert_int_equal(PE_E_PIN, 5);
	assert_int_equal(PE_E_CRYPTO, 6);
	assert_int_equal(PE_E_NET, 7);
	assert_int_equal(PE_E_CA, 8);
	assert_int_equal(PE_E_STORE, 9);
	assert_int_equal(PE_E_PENDING, 10);
}

/* pe_secret_source_parse */

static void
test_pe_secret_source_parse_file(void **state)
{
	struct pe_secret_source src;
	struct pe_err err;

	memset(&src, 0, sizeof(src));
	assert_int_equal(pe_secret_source_parse("file:/run/pin.txt", &src, &err), PE_OK);
	assert_int_equal(src.kind, PE_SECRET_FILE);
	assert_string_equal(src.path, "/run/pin.txt");
}

static void
test_pe_secret_source_parse_env(void **state)
{
	struct pe_secret_source src;
	struct pe_err err;

	memset(&src, 0, sizeof(src));
	assert_int_equal(pe_secret_source_parse("env:TOKEN_PIN", &src, &err), PE_OK);
	assert_int_equal(src.kind, PE_SECRET_ENV);
	assert_string_equal(src.name, "TOKEN_PIN");
}

static void
test_pe_secret_source_parse_fd(void **state)
{
	struct pe_secret_source src;
	struct pe_err err;

	memset(&src, 0, sizeof(src));
	assert_int_equal(pe_secret_source_parse("fd:3", &src, &err), PE_OK);
	assert_int_equal(src.kind, PE_SECRET_FD);
	assert_int_equal(src.fd, 3);
	assert_int_equal(pe_secret_source_parse("fd:0", &src, &err), PE_OK);
	assert_int_equal(src.fd, 0);
}

static void
test_pe_secret_source_parse_bad(void **state)
{
	static const char *const bad[] = {
		"file:", "env:",	   "fd:",      "fd:x", "fd:-1",	  "fd:3x", "fd: 3",
		"fd:+3", "fd:99999999999", "pin:1234", "",     "FILE:/x",
	};
	struct pe_secret_source src;
	struct pe_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pe_err_clear(&err);
		assert_int_equal(pe_secret_source_parse(bad[i], &src, &err), PE_E_USAGE);
		assert_int_equal(err.code, PE_E_USAGE);
		assert_true(strlen(err.msg) > 0);
	}
	/* the message says what is wrong, and never repeats a would-be PIN as a value */
	pe_secret_source_parse("pin:1234", &src, &err);
	assert_non_null(strstr(err.msg, "file:PATH"));
	pe_secret_source_parse("fd:x", &src, &err);
	assert_non_null(strstr(err.msg, "descriptor"));
	pe_secret_source_parse("env:", &src, &err);
	assert_non_null(strstr(err.msg, "variable"));
	pe_secret_source_parse("file:", &src, &err);
	assert_non_null(strstr(err.msg, "file"));
}

/* pe_secret_read */

static void
test_pe_secret_read_env_set(void **state)
{
	struct pe_secret *pin = NULL;
	struct pe_err err;

	assert_int_equal(setenv("PE_TEST_PIN", "4321", 1), 0);
	assert_int_equal(
		pe_secret_read("env:PE_TEST_PIN", "--pin-source", "PIN", false, &pin, &err), PE_OK);
	assert_non_null(pin);
	assert_int_equal(pin->len, 4);
	assert_string_equal((const char *)pin->data, "4321");
	pe_secret_free(pin);
	unsetenv("PE_TEST_PIN");
}

static void
test_pe_secret_read_env_unset(void **state)
{
	struct pe_secret *pin = NULL;
	struct pe_err err;

	unsetenv("PE_TEST_NO_PIN");
	assert_int_equal(
		pe_secret_read("env:PE_TEST_NO_PIN", "--pin-source", "PIN", false, &pin, &err),
		PE_E_PIN);
	assert_null(pin);
	assert_non_null(strstr(err.msg, "PE_TEST_NO_PIN"));
}

static void
test_pe_secret_read_env_empty(void **state)
{
	struct pe_secret *pin = NULL;
	struct pe_err err;

	assert_int_equal(setenv("PE_TEST_PIN", "", 1), 0);
	assert_int_equal(
		pe_secret_read("env:PE_TEST_PIN", "--pin-source", "PIN", false, &pin, &err),
		PE_E_PIN);
	assert_null(pin);
	assert_non_null(strstr(err.msg, "empty"));
	unsetenv("PE_TEST_PIN");
}

static void
test_pe_secret_read_file_first_line(void **state)
{
	static const char text[] = "123456\nsecond line\n";
	struct pe_secret *pin = NULL;
	struct pe_err err;
	char spec[PATH_MAX + 64];

	pin_file(text, sizeof(text) - 1, spec, sizeof(spec));
	assert_int_equal(pe_secret_read(spec, "--pin-source", "PIN", false, &pin, &err), PE_OK);
	assert_non_null(pin);
	assert_int_equal(pin->len, 6);
	assert_memory_equal(pin->data, "123456", 7);
	pe_secret_free(pin);
}

static void
test_pe_secret_read_file_crlf(void **state)
{
	static const char text[] = "pa ss\r\n";
	struct pe_secret *pin = NULL;
	struct pe_err err;
	char spec[PATH_MAX + 64];

	pin_file(text, sizeof(text) - 1, spec, sizeof(spec));
	assert_int_equal(pe_secret_read(spec, "--pin-source", "PIN", false, &pin, &err), PE_OK);
	assert_int_equal(pin->len, 5);
	assert_string_equal((const char *)pin->data, "pa ss");
	pe_secret_free(pin);
}

static void
test_pe_secret_read_file_no_newline(void **state)
{
	static const char text[] = "987654";
	struct pe_secret *pin = NULL;
	struct pe_err err;
	char spec[PATH_MAX + 64];

	pin_file(text, sizeof(text) - 1, spec, sizeof(spec));
	assert_int_equal(pe_secret_read(spec, "--pin-source", "PIN", false, &pin, &err), PE_OK);
	assert_int_equal(pin->len, 6);
	assert_string_equal((const char *)pin->data, "987654");
	pe_secret_free(pin);
}

static void
test_pe_secret_read_file_empty(void **state)
{
	struct pe_secret *pin = NULL;
	struct pe_err err;
	char spec[PATH_MAX + 64];

	pin_file("\n", 1, spec, sizeof(spec));
	assert_int_equal(pe_secret_read(spec, "--pin-source", "PIN", false, &pin, &err), PE_E_PIN);
	assert_null(pin);
}

static void
test_pe_secret_read_file_missing(void **state)
{
	struct pe_secret *pin = NULL;
	struct pe_err err;
	char spec[PATH_MAX + 64];

	snprintf(spec, sizeof(spec), "file:%s/no-such-file", tmpdir);
	assert_int_equal(pe_secret_read(spec, "--pin-source", "PIN", false, &pin, &err), PE_E_PIN);
	assert_null(pin);
	assert_non_null(strstr(err.msg, "no-such-file"));
}

static void
test_pe_secret_read_fd_two_lines(void **state)
{
	static const char text[] = "1111\r\n22222\n";
	struct pe_secret *pin = NULL, *so_pin = NULL;
	struct pe_err err;
	char spec[32];
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	assert_int_equal(close(fds[1]), 0);
	snprintf(spec, sizeof(spec), "fd:%d", fds[0]);

	/* each read takes one line and leaves the rest for the next */
	assert_int_equal(pe_secret_read(spec, "--pin-source", "PIN", false, &pin, &err), PE_OK);
	assert_int_equal(pe_secret_read(spec, "--so-pin-source", "SO PIN", false, &so_pin, &err),
			 PE_OK);
	assert_string_equal((const char *)pin->data, "1111");
	assert_int_equal(pin->len, 4);
	assert_string_equal((const char *)so_pin->data, "22222");
	assert_int_equal(so_pin->len, 5);
	pe_secret_free(pin);
	pe_secret_free(so_pin);
	pin = NULL;

	/* nothing left: an empty secret */
	assert_int_equal(pe_secret_read(spec, "--pin-source", "PIN", false, &pin, &err), PE_E_PIN);
	assert_null(pin);
	close(fds[0]);
}

static void
test_pe_secret_read_bad_spec(void **state)
{
	struct pe_secret *pin = NULL;
	struct pe_err err;

	assert_int_equal(pe_secret_read("pin:1234", "--pin-source", "PIN", false, &pin, &err),
			 PE_E_USAGE);
	assert_null(pin);
}

static void
test_pe_secret_read_no_tty(void **state)
{
	struct pe_secret *pin = NULL;
	struct pe_err err;
	int tty;

	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty >= 0) {
		close(tty);
		/* with a terminal the function would prompt and wait for a person */
		print_message("this process has a controlling terminal: case skipped\n");
		skip();
	}
	assert_int_equal(pe_secret_read(NULL, "--pin-source", "user PIN", false, &pin, &err),
			 PE_E_PIN);
	assert_null(pin);
	assert_non_null(strstr(err.msg, "--pin-source"));
}

static void
test_pe_secret_equal_compares(void **state)
{
	struct pe_secret *a = pe_secret_new("1234", 4);
	struct pe_secret *b = pe_secret_new("1234", 4);
	struct pe_secret *c = pe_secret_new("1235", 4);
	struct pe_secret *d = pe_secret_new("12345", 5);
	struct pe_secret *e = pe_secret_new("", 0);

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_non_null(e);
	assert_true(pe_secret_equal(a, b));
	assert_false(pe_secret_equal(a, c));
	assert_false(pe_secret_equal(a, d));
	assert_false(pe_secret_equal(d, a));
	assert_false(pe_secret_equal(a, e));
	assert_true(pe_secret_equal(e, e));
	/* the copy is terminated for C APIs */
	assert_int_equal(e->len, 0);
	assert_int_equal(e->data[0], '\0');
	pe_secret_free(a);
	pe_secret_free(b);
	pe_secret_free(c);
	pe_secret_free(d);
	pe_secret_free(e);
	pe_secret_free(NULL);
}

/* pe_buf */

static void
test_pe_buf_add_grows(void **state)
{
	struct pe_buf buf;
	struct pe_err err;
	unsigned char block[300];
	unsigned char *data;
	size_t len, i;

	for (i = 0; i < sizeof(block); i++)
		block[i] = (unsigned char)i;
	pe_buf_init(&buf, 4096);
	for (i = 0; i < 10; i++)
		assert_int_equal(pe_buf_add(&buf, block, sizeof(block), &err), PE_OK);
	assert_int_equal(buf.len, 3000);
	assert_true(buf.cap > buf.len);
	assert_int_equal(buf.data[buf.len], '\0');
	assert_memory_equal(buf.data + 2700, block, sizeof(block));

	data = pe_buf_take(&buf, &len);
	assert_non_null(data);
	assert_int_equal(len, 3000);
	assert_null(buf.data);
	assert_int_equal(buf.len, 0);
	free(data);
	pe_buf_cleanup(&buf);
}

static void
test_pe_buf_add_cap(void **state)
{
	struct pe_buf buf;
	struct pe_err err;
	unsigned char *before;

	pe_buf_init(&buf, 10);
	assert_int_equal(pe_buf_add(&buf, "0123456", 7, &err), PE_OK);
	before = buf.data;

	pe_err_clear(&err);
	assert_int_equal(pe_buf_add(&buf, "abcd", 4, &err), PE_E_FAIL);
	assert_int_equal(err.code, PE_E_FAIL);
	assert_non_null(strstr(err.msg, "10"));
	/* the buffer is as it was */
	assert_ptr_equal(buf.data, before);
	assert_int_equal(buf.len, 7);
	assert_string_equal((const char *)buf.data, "0123456");

	/* exactly up to the cap is fine; one more byte is not */
	assert_int_equal(pe_buf_add(&buf, "abc", 3, &err), PE_OK);
	assert_int_equal(buf.len, 10);
	assert_int_equal(pe_buf_add(&buf, "x", 1, &err), PE_E_FAIL);
	assert_int_equal(buf.len, 10);
	assert_string_equal((const char *)buf.data, "0123456abc");

	/* a length that would overflow size_t is refused too */
	assert_int_equal(pe_buf_add(&buf, "x", SIZE_MAX, &err), PE_E_FAIL);
	assert_int_equal(buf.len, 10);
	pe_buf_cleanup(&buf);
	assert_null(buf.data);
	assert_int_equal(buf.max, 10);
}

/* hex */

static void
test_pe_hex_encode_lowercase(void **state)
{
	static const unsigned char data[] = { 0x00, 0x01, 0xab, 0xCD, 0xff };
	char *hex;

	hex = pe_hex_encode(data, sizeof(data));
	assert_non_null(hex);
	assert_string_equal(hex, "0001abcdff");
	free(hex);
	hex = pe_hex_encode(data, 0);
	assert_non_null(hex);
	assert_string_equal(hex, "");
	free(hex);
}

static void
test_pe_hex_decode_cases(void **state)
{
	static const unsigned char want[] = { 0xde, 0xad, 0xBE, 0xEF };
	unsigned char out[8];

	memset(out, 0, sizeof(out));
	assert_int_equal(pe_hex_decode("deadbeef", out, sizeof(out)), 4);
	assert_memory_equal(out, want, 4);
	memset(out, 0, sizeof(out));
	assert_int_equal(pe_hex_decode("DEADBEEF", out, sizeof(out)), 4);
	assert_memory_equal(out, want, 4);
	memset(out, 0, sizeof(out));
	assert_int_equal(pe_hex_decode("de:AD:be:ef", out, sizeof(out)), 4);
	assert_memory_equal(out, want, 4);
	assert_int_equal(pe_hex_decode("", out, sizeof(out)), 0);
	/* exactly @max bytes fit */
	assert_int_equal(pe_hex_decode("deadbeef", out, 4), 4);
}

static void
test_pe_hex_decode_bad(void **state)
{
	unsigned char out[4];

	assert_int_equal(pe_hex_decode("abc", out, sizeof(out)), -1);
	assert_int_equal(pe_hex_decode("a", out, sizeof(out)), -1);
	assert_int_equal(pe_hex_decode("zz", out, sizeof(out)), -1);
	assert_int_equal(pe_hex_decode("0g", out, sizeof(out)), -1);
	assert_int_equal(pe_hex_decode("a:b", out, sizeof(out)), -1);
	assert_int_equal(pe_hex_decode("00 11", out, sizeof(out)), -1);
	assert_int_equal(pe_hex_decode("0011223344", out, sizeof(out)), -1);
	assert_int_equal(pe_hex_decode("00", out, 0), -1);
}

static void
test_pe_hex_round_trip(void **state)
{
	unsigned char data[64], back[64];
	char *hex;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 5);
	hex = pe_hex_encode(data, sizeof(data));
	assert_non_null(hex);
	assert_int_equal(strlen(hex), 128);
	assert_int_equal(pe_hex_decode(hex, back, sizeof(back)), 64);
	assert_memory_equal(data, back, sizeof(data));
	free(hex);
}

/* key types and hashes */

static void
test_pe_key_type_name_round_trip(void **state)
{
	int i;

	for (i = PE_KEY_NONE + 1; i < PE_KEY_TYPE_MAX; i++) {
		const char *name = pe_key_type_name((enum pe_key_type)i);

		assert_string_not_equal(name, "none");
		assert_int_equal(pe_key_type_from_name(name), i);
		assert_true(pe_key_type_bits((enum pe_key_type)i) > 0);
		assert_int_not_equal(pe_key_type_family((enum pe_key_type)i), PE_FAMILY_NONE);
	}
	assert_string_equal(pe_key_type_name(PE_KEY_NONE), "none");
	assert_string_equal(pe_key_type_name(PE_KEY_TYPE_MAX), "none");
	assert_int_equal(pe_key_type_from_name("none"), PE_KEY_NONE);
	assert_int_equal(pe_key_type_from_name("rsa-1024"), PE_KEY_NONE);
	assert_int_equal(pe_key_type_from_name("EC-P256"), PE_KEY_NONE);
	assert_int_equal(pe_key_type_from_name(""), PE_KEY_NONE);
}

static void
test_pe_key_type_known_values(void **state)
{
	assert_string_equal(pe_key_type_name(PE_KEY_RSA_2048), "rsa-2048");
	assert_string_equal(pe_key_type_name(PE_KEY_EC_P256), "ec-p256");
	assert_string_equal(pe_key_type_name(PE_KEY_ED25519), "ed25519");
	assert_string_equal(pe_key_type_name(PE_KEY_GOST2012_512), "gost2012-512");
	assert_int_equal(pe_key_type_family(PE_KEY_RSA_4096), PE_FAMILY_RSA);
	assert_int_equal(pe_key_type_family(PE_KEY_EC_P384), PE_FAMILY_EC);
	assert_int_equal(pe_key_type_family(PE_KEY_ED25519), PE_FAMILY_EDDSA);
	assert_int_equal(pe_key_type_family(PE_KEY_GOST2012_256), PE_FAMILY_GOST);
	assert_int_equal(pe_key_type_family(PE_KEY_NONE), PE_FAMILY_NONE);
	assert_int_equal(pe_key_type_bits(PE_KEY_RSA_3072), 3072);
	assert_int_equal(pe_key_type_bits(PE_KEY_EC_P384), 384);
	assert_int_equal(pe_key_type_bits(PE_KEY_NONE), 0);
}

static void
test_pe_key_types_format_lists(void **state)
{
	char out[128];
	char small[12];

	pe_key_types_format(0, out, sizeof(out));
	assert_string_equal(out, "none");
	pe_key_types_format(1u << PE_KEY_EC_P256, out, sizeof(out));
	assert_string_equal(out, "ec-p256");
	/* in enum order, whatever order the bits were set in */
	pe_key_types_format(1u << PE_KEY_ED25519 | 1u << PE_KEY_RSA_2048 | 1u << PE_KEY_EC_P384,
			    out, sizeof(out));
	assert_string_equal(out, "rsa-2048, ec-p384, ed25519");
	/* the PE_KEY_NONE bit is not a type */
	pe_key_types_format(1u << PE_KEY_NONE, out, sizeof(out));
	assert_string_equal(out, "none");

	/* a short buffer is always terminated */
	memset(small, 'x', sizeof(small));
	pe_key_types_format(1u << PE_KEY_RSA_2048 | 1u << PE_KEY_RSA_3072, small, sizeof(small));
	assert_true(memchr(small, '\0', sizeof(small)) != NULL);
	assert_memory_equal(small, "rsa-2048", 8);
}

static void
test_pe_hash_size_values(void **state)
{
	assert_int_equal(pe_hash_size(PE_HASH_NONE), 0);
	assert_int_equal(pe_hash_size(PE_HASH_SHA1), 20);
	assert_int_equal(pe_hash_size(PE_HASH_SHA256), 32);
	assert_int_equal(pe_hash_size(PE_HASH_SHA384), 48);
	assert_int_equal(pe_hash_size(PE_HASH_SHA512), 64);
	assert_string_equal(pe_hash_name(PE_HASH_SHA256), "sha256");
	assert_string_equal(pe_hash_name(PE_HASH_NONE), "none");
}

static void
test_pe_strdup_trim_blanks(void **state)
{
	char *s;

	s = pe_strdup_trim(" \tSoftHSM project   ");
	assert_non_null(s);
	assert_string_equal(s, "SoftHSM project");
	free(s);
	s = pe_strdup_trim("   ");
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

/* RFC 4648 section 10 */
static void
test_pe_base64_encode_vectors(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const coded[] = { "",	 "Zg==",     "Zm8=",	"Zm9v",
					     "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	unsigned char *back = NULL;
	size_t i, len = 0;
	struct pe_err err;
	char *text;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		text = pe_base64_encode((const unsigned char *)plain[i], strlen(plain[i]), 0);
		assert_non_null(text);
		assert_string_equal(text, coded[i]);
		assert_int_equal(pe_base64_decode(text, strlen(text), &back, &len, &err), PE_OK);
		assert_int_equal(len, strlen(plain[i]));
		assert_memory_equal(back, plain[i], len);
		free(back);
		free(text);
	}
}

static void
test_pe_base64_wrap_and_bad_input(void **state)
{
	unsigned char data[100], *back = NULL;
	size_t len = 0, i;
	struct pe_err err;
	char *text;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	text = pe_base64_encode(data, sizeof(data), 64);
	assert_non_null(text);
	assert_int_equal(strchr(text, '\n') - text, 64);
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_int_equal(pe_base64_decode(text, strlen(text), &back, &len, &err), PE_OK);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(back, data, len);
	free(back);
	free(text);
	assert_int_equal(pe_base64_decode("Zm9v!", 5, &back, &len, &err), PE_E_USAGE);
	assert_int_equal(pe_base64_decode("Zg=a", 4, &back, &len, &err), PE_E_USAGE);
	assert_int_equal(pe_base64_decode("Z", 1, &back, &len, &err), PE_E_USAGE);
	assert_int_equal(pe_base64_decode("Zh==", 4, &back, &len, &err), PE_E_USAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_base64_encode_vectors),
		cmocka_unit_test(test_pe_base64_wrap_and_bad_input),
		cmocka_unit_test(test_pe_err_set_returns_code),
		cmocka_unit_test(test_pe_err_prefix_keeps_context),
		cmocka_unit_test(test_pe_err_prefix_truncates_detail),
		cmocka_unit_test(test_pe_err_prefix_long_context),
		cmocka_unit_test(test_pe_err_append_adds_detail),
		cmocka_unit_test(test_pe_err_clear_resets),
		cmocka_unit_test(test_pe_code_name_all),
		cmocka_unit_test(test_pe_code_values_fixed),
		cmocka_unit_test(test_pe_secret_source_parse_file),
		cmocka_unit_test(test_pe_secret_source_parse_env),
		cmocka_unit_test(test_pe_secret_source_parse_fd),
		cmocka_unit_test(test_pe_secret_source_parse_bad),
		cmocka_unit_test(test_pe_secret_read_env_set),
		cmocka_unit_test(test_pe_secret_read_env_unset),
		cmocka_unit_test(test_pe_secret_read_env_empty),
		cmocka_unit_test(test_pe_secret_read_file_first_line),
		cmocka_unit_test(test_pe_secret_read_file_crlf),
		cmocka_unit_test(test_pe_secret_read_file_no_newline),
		cmocka_unit_test(test_pe_secret_read_file_empty),
		cmocka_unit_test(test_pe_secret_read_file_missing),
		cmocka_unit_test(test_pe_secret_read_fd_two_lines),
		cmocka_unit_test(test_pe_secret_read_bad_spec),
		cmocka_unit_test(test_pe_secret_read_no_tty),
		cmocka_unit_test(test_pe_secret_equal_compares),
		cmocka_unit_test(test_pe_buf_add_grows),
		cmocka_unit_test(test_pe_buf_add_cap),
		cmocka_unit_test(test_pe_hex_encode_lowercase),
		cmocka_unit_test(test_pe_hex_decode_cases),
		cmocka_unit_test(test_pe_hex_decode_bad),
		cmocka_unit_test(test_pe_hex_round_trip),
		cmocka_unit_test(test_pe_key_type_name_round_trip),
		cmocka_unit_test(test_pe_key_type_known_values),
		cmocka_unit_test(test_pe_key_types_format_lists),
		cmocka_unit_test(test_pe_hash_size_values),
		cmocka_unit_test(test_pe_strdup_trim_blanks),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
