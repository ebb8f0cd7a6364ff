/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Byte buffers with a hard cap, so that nothing a token or a server sends can
 * make us grow without bound; and hex, the form binary values take in output.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void
pe_buf_init(struct pe_buf *buf, size_t max)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->max = max;
}

enum pe_code
pe_buf_add(struct pe_buf *buf, const void *data, size_t len, struct pe_err *err)
{
	size_t need;
	unsigned char *grown;

	if (len > buf->max || buf->len > buf->max - len)
		return pe_err_set(err, PE_E_FAIL, "data larger than the %zu bytes allowed",
				  buf->max);
	need = buf->len + len + 1;
	if (need > buf->cap) {
		size_t cap = buf->cap ? buf->cap : 256;

		while (cap < need)
			cap *= 2;
		grown = realloc(buf->data, cap);
		if (grown == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		buf->data = grown;
		buf->cap = cap;
	}
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return PE_OK;
}

unsigned char *
pe_buf_take(struct pe_buf *buf, size_t *len)
{
	unsigned char *data = buf->data;

	if (len != NULL)
		*len = buf->len;
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	return data;
}

void
pe_buf_cleanup(struct pe_buf *buf)
{
	free(buf->data);
	pe_buf_init(buf, buf->max);
}

char *
pe_hex_encode(const unsigned char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex;
	size_t i;

	hex = malloc(len * 2 + 1);
	if (hex == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		hex[i * 2] = digits[data[i] >> 4];
		hex[i * 2 + 1] = digits[data[i] & 0x0f];
	}
	hex[len * 2] = '\0';
	return hex;
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long
pe_hex_decode(const char *hex, unsigned char *out, size_t max)
{
	size_t n = 0;
	int hi, lo;

	while (*hex != '\0') {
		if (*hex == ':') {
			hex++;
			continue;
		}
		hi = nibble(hex[0]);
		lo = hi < 0 ? -1 : nibble(hex[1]);
		if (hi < 0 || lo < 0 || n >= max)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		hex += 2;
	}
	return (long)n;
}

char *
pe_strdup_trim(const char *s)
{
	size_t len;
	char *out;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\0'))
		len--;
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
pe_base64_encode(const unsigned char *data, size_t len, size_t wrap)
{
	size_t chars = (len + 2) / 3 * 4, lines = wrap ? (chars + wrap - 1) / wrap : 0;
	size_t i, o = 0, col = 0;
	char *out, quad[4];
	int k;

	out = malloc(chars + lines + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		quad[0] = b64[(v >> 18) & 0x3f];
		quad[1] = b64[(v >> 12) & 0x3f];
		quad[2] = i + 1 < len ? b64[(v >> 6) & 0x3f] : '=';
		quad[3] = i + 2 < len ? b64[v & 0x3f] : '=';
		for (k = 0; k < 4; k++) {
			out[o++] = quad[k];
			if (wrap && ++col == wrap) {
				out[o++] = '\n';
				col = 0;
			}
		}
	}
	if (wrap && col != 0)
		out[o++] = '\n';
	out[o] = '\0';
	return out;
}

enum pe_code
pe_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len,
		 struct pe_err *err)
{
	unsigned char *data;
	unsigned v = 0;
	size_t i, n = 0, bits = 0, pad = 0;
	const char *p;

	data = malloc(len / 4 * 3 + 3);
	if (data == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	for (i = 0; i < len; i++) {
		char c = text[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		p = c != '\0' ? strchr(b64, c) : NULL;
		if (p == NULL || pad > 0) {
			free(data);
			return pe_err_set(err, PE_E_USAGE, "not base64");
		}
		v = (v << 6) | (unsigned)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			data[n++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (pad > 2 || bits >= 6 || (pad > 0 && (bits == 0 || v != 0))) {
		free(data);
		return pe_err_set(err, PE_E_USAGE, "not base64");
	}
	*out = data;
	*out_len = n;
	return PE_OK;
}
