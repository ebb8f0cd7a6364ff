/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PINs and passwords: where they come from (file:, env:, fd:, or a no-echo
 * prompt on the terminal) and how they are kept (zeroised when freed). A
 * secret never comes from argv.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util.h"

#define SECRET_MAX 1024

struct pe_secret *
pe_secret_new(const void *data, size_t len)
{
	struct pe_secret *secret;

	secret = calloc(1, sizeof(*secret));
	if (secret == NULL)
		return NULL;
	secret->data = malloc(len + 1);
	if (secret->data == NULL) {
		free(secret);
		return NULL;
	}
	if (len > 0)
		memcpy(secret->data, data, len);
	secret->data[len] = '\0';
	secret->len = len;
	return secret;
}

void
pe_secret_free(struct pe_secret *secret)
{
	if (secret == NULL)
		return;
	if (secret->data != NULL) {
		OPENSSL_cleanse(secret->data, secret->len + 1);
		free(secret->data);
	}
	free(secret);
}

bool
pe_secret_equal(const struct pe_secret *a, const struct pe_secret *b)
{
	if (a->len != b->len)
		return false;
	return CRYPTO_memcmp(a->data, b->data, a->len) == 0;
}

bool
pe_sha256_hex(const void *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int md_len = 0;
	size_t i;

	hex[0] = '\0';
	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != sizeof(md))
		return false;
	for (i = 0; i < sizeof(md); i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[64] = '\0';
	return true;
}

enum pe_code
pe_secret_source_parse(const char *spec, struct pe_secret_source *out, struct pe_err *err)
{
	char *end;
	long fd;

	if (strncmp(spec, "file:", 5) == 0) {
		if (spec[5] == '\0')
			return pe_err_set(err, PE_E_USAGE, "secret source 'file:' names no file");
		out->kind = PE_SECRET_FILE;
		out->path = spec + 5;
		return PE_OK;
	}
	if (strncmp(spec, "env:", 4) == 0) {
		if (spec[4] == '\0')
			return pe_err_set(err, PE_E_USAGE,
					  "secret source 'env:' names no variable");
		out->kind = PE_SECRET_ENV;
		out->name = spec + 4;
		return PE_OK;
	}
	if (strncmp(spec, "fd:", 3) == 0) {
		errno = 0;
		fd = strtol(spec + 3, &end, 10);
		if (!isdigit((unsigned char)spec[3]) || *end != '\0' || errno != 0 || fd > INT_MAX)
			return pe_err_set(err, PE_E_USAGE,
					  "secret source 'fd:' takes a descriptor number");
		out->kind = PE_SECRET_FD;
		out->fd = (int)fd;
		return PE_OK;
	}
	/* not shown: a mistyped option may have put the secret itself here */
	return pe_err_set(err, PE_E_USAGE,
			  "a secret source is file:PATH, env:NAME or fd:N (the value given is "
			  "not shown)");
}

/*
 * Reads up to a newline one byte at a time, so that several secrets can be
 * passed on one descriptor, one per line, and each reader takes only its own.
 */
static enum pe_code
read_line(int fd, const char *what, unsigned char *line, size_t *len, struct pe_err *err)
{
	size_t n = 0;
	ssize_t got;
	unsigned char c;

	for (;;) {
		got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return pe_err_set(err, PE_E_PIN, "cannot read %s: %s", what,
					  strerror(errno));
		if (got == 0 || c == '\n')
			break;
		if (n >= SECRET_MAX)
			return pe_err_set(err, PE_E_PIN, "%s is longer than %d bytes", what,
					  SECRET_MAX);
		line[n++] = c;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	*len = n;
	return PE_OK;
}

static enum pe_code
read_source(const char *spec, struct pe_secret **out, struct pe_err *err)
{
	struct pe_secret_source src;
	unsigned char line[SECRET_MAX + 1];
	size_t len = 0;
	enum pe_code rc;
	const char *value;
	struct stat st;
	int fd;

	rc = pe_secret_source_parse(spec, &src, err);
	if (rc != PE_OK)
		return rc;
	switch (src.kind) {
	case PE_SECRET_ENV:
		value = getenv(src.name);
		if (value == NULL)
			return pe_err_set(err, PE_E_PIN, "environment variable '%s' is not set",
					  src.name);
		len = strlen(value);
		if (len > SECRET_MAX)
			return pe_err_set(err, PE_E_PIN, "'%s' is longer than %d bytes", spec,
					  SECRET_MAX);
		memcpy(line, value, len);
		break;
	case PE_SECRET_FILE:
		fd = open(src.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return pe_err_set(err, PE_E_PIN, "cannot open '%s': %s", src.path,
					  strerror(errno));
		if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
			pe_msg_warn("'%s' can be read by others: keep secrets in a mode 0600 file",
				    src.path);
		rc = read_line(fd, src.path, line, &len, err);
		close(fd);
		break;
	case PE_SECRET_FD:
		rc = read_line(src.fd, spec, line, &len, err);
		break;
	}
	if (rc == PE_OK && len == 0)
		rc = pe_err_set(err, PE_E_PIN, "'%s' gave an empty secret", spec);
	if (rc == PE_OK) {
		*out = pe_secret_new(line, len);
		if (*out == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

static enum pe_code
prompt_once(int tty, const char *prompt, struct pe_secret **out, struct pe_err *err)
{
	struct termios saved, quiet;
	unsigned char line[SECRET_MAX + 1];
	size_t len = 0;
	enum pe_code rc;
	bool restore = false;

	if (write(tty, prompt, strlen(prompt)) < 0)
		return pe_err_set(err, PE_E_PIN, "cannot write to the terminal: %s",
				  strerror(errno));
	if (tcgetattr(tty, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		restore = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
	}
	rc = read_line(tty, "the terminal", line, &len, err);
	if (restore)
		tcsetattr(tty, TCSAFLUSH, &saved);
	if (write(tty, "\n", 1) < 0)
		pe_msg_debug("cannot write to the terminal");
	if (rc == PE_OK && len == 0)
		rc = pe_err_set(err, PE_E_PIN, "nothing was entered");
	if (rc == PE_OK) {
		*out = pe_secret_new(line, len);
		if (*out == NULL)
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

enum pe_code
pe_secret_read(const char *source, const char *option, const char *prompt, bool confirm,
	       struct pe_secret **out, struct pe_err *err)
{
	struct pe_secret *first = NULL, *second = NULL;
	char ask[256];
	enum pe_code rc;
	int tty;

	if (source != NULL)
		return read_source(source, out, err);

	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0)
		return pe_err_set(err, PE_E_PIN, "no terminal to ask for the %s: give %s", prompt,
				  option);
	snprintf(ask, sizeof(ask), "%s: ", prompt);
	rc = prompt_once(tty, ask, &first, err);
	if (rc == PE_OK && confirm) {
		snprintf(ask, sizeof(ask), "%s again: ", prompt);
		rc = prompt_once(tty, ask, &second, err);
		if (rc == PE_OK && !pe_secret_equal(first, second))
			rc = pe_err_set(err, PE_E_PIN, "the two entries of the %s differ", prompt);
	}
	close(tty);
	pe_secret_free(second);
	if (rc != PE_OK) {
		pe_secret_free(first);
		return rc;
	}
	*out = first;
	return PE_OK;
}
