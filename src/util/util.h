/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util: errors with context, messages on stderr, secrets that are zeroised,
 * bounded buffers and the small vocabulary (key types, hashes) that every
 * other module shares.
 */
#ifndef PE_UTIL_UTIL_H
#define PE_UTIL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Also the process exit status: never renumber. */
enum pe_code {
	PE_OK = 0,
	PE_E_FAIL = 1,	/* internal, out of memory */
	PE_E_USAGE = 2, /* arguments, configuration, profile */
	PE_E_NOTFOUND = 3,
	PE_E_P11 = 4, /* ck_rv set */
	PE_E_PIN = 5,
	PE_E_CRYPTO = 6,
	PE_E_NET = 7,
	PE_E_CA = 8, /* the CA rejected */
	PE_E_STORE = 9,
	PE_E_PENDING = 10, /* poll later */
};

#define PE_ERR_MSG_MAX 512

struct pe_err {
	enum pe_code code;
	unsigned long ck_rv;	  /* CK_RV; 0 unless PE_E_P11 / PE_E_PIN */
	char msg[PE_ERR_MSG_MAX]; /* "outer: inner: detail", no newline */
};

/*
 * Records a failure in @err, replacing what was there, and returns @code so
 * that the detecting function can `return pe_err_set(...)`.
 */
enum pe_code pe_err_set(struct pe_err *err, enum pe_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Puts "context: " in front of the message already in @err. */
void pe_err_prefix(struct pe_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds detail after the message already in @err. */
void pe_err_append(struct pe_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void pe_err_clear(struct pe_err *err);

/* Returns: the short name of @code ("pin", "usage", ...), static. */
const char *pe_code_name(enum pe_code code);

/* A bug check, never an input check (p11-kit common/debug.h). */
#define pe_return_val_if_fail(expr, val)                                                           \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			pe_msg_bug(__func__, #expr);                                               \
			return (val);                                                              \
		}                                                                                  \
	} while (0)

/* msg.c: everything goes to stderr, prefixed "p11enroll: " */
enum pe_verbosity { PE_QUIET = -1, PE_NORMAL = 0, PE_VERBOSE = 1 };

void pe_msg_init(const char *progname, enum pe_verbosity verbosity);
void pe_msg_error(const struct pe_err *err);
void pe_msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pe_msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pe_msg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pe_msg_bug(const char *func, const char *expr);

/* secret.c: PINs and passwords */
struct pe_secret {
	unsigned char *data; /* NUL-terminated for the convenience of C APIs */
	size_t len;
};

/* Returns: a newly allocated copy of @data, free with pe_secret_free(); NULL on OOM. */
struct pe_secret *pe_secret_new(const void *data, size_t len);

/* Zeroises and frees; NULL is a no-op. */
void pe_secret_free(struct pe_secret *secret);

bool pe_secret_equal(const struct pe_secret *a, const struct pe_secret *b);

enum pe_secret_kind { PE_SECRET_FILE, PE_SECRET_ENV, PE_SECRET_FD };

struct pe_secret_source {
	enum pe_secret_kind kind;
	const char *path; /* PE_SECRET_FILE: borrowed from the spec */
	const char *name; /* PE_SECRET_ENV: borrowed from the spec */
	int fd;		  /* PE_SECRET_FD */
};

/*
 * Parses "file:PATH", "env:NAME" or "fd:N" into @out, which borrows from @spec.
 * Returns: PE_OK, or PE_E_USAGE naming what is wrong with the spec.
 */
enum pe_code pe_secret_source_parse(const char *spec, struct pe_secret_source *out,
				    struct pe_err *err);

/*
 * Reads one secret. With a @source spec, from there (the first line of a file
 * or of what is left on a descriptor, an environment variable); without one,
 * from a no-echo prompt on the controlling terminal showing @prompt, asked a
 * second time and compared when @confirm. With neither a source nor a
 * terminal, PE_E_PIN with a message that names @option.
 * Returns: PE_OK and a newly allocated *out (free with pe_secret_free()),
 * PE_E_USAGE for a bad spec, PE_E_PIN when nothing could be read or the two
 * entries differ.
 */
enum pe_code pe_secret_read(const char *source, const char *option, const char *prompt,
			    bool confirm, struct pe_secret **out, struct pe_err *err);

/*
 * Writes the SHA-256 of @data as 64 lowercase hex digits and a NUL into @hex.
 * Returns: false when the digest could not be computed (@hex is then "").
 */
bool pe_sha256_hex(const void *data, size_t len, char hex[65]);

/* buf.c: a growing byte buffer with a hard cap (curl dynbuf) */
struct pe_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void pe_buf_init(struct pe_buf *buf, size_t max);
enum pe_code pe_buf_add(struct pe_buf *buf, const void *data, size_t len, struct pe_err *err);
/* Returns: the data, now owned by the caller (free()); the buffer is empty again. */
unsigned char *pe_buf_take(struct pe_buf *buf, size_t *len);
void pe_buf_cleanup(struct pe_buf *buf);

/* Returns: newly allocated lowercase hex of @data (free()), NULL on OOM. */
char *pe_hex_encode(const unsigned char *data, size_t len);

/*
 * Decodes hex (upper or lower case, ':' separators allowed) into @out, at most
 * @max bytes. Returns: the byte count, or -1 when @hex is not hex or too long.
 */
long pe_hex_decode(const char *hex, unsigned char *out, size_t max);

/*
 * Returns: newly allocated base64 (RFC 4648, with padding) of @data, lines of
 * @wrap characters ending in '\n' when @wrap > 0 (PEM uses 64); NULL on OOM.
 */
char *pe_base64_encode(const unsigned char *data, size_t len, size_t wrap);

/*
 * Decodes base64, skipping white space. Returns: PE_OK and a newly allocated
 * *out (free()); PE_E_USAGE when @text is not base64.
 */
enum pe_code pe_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len,
			      struct pe_err *err);

/* file.c */

/*
 * Reads the whole file @path, at most @max bytes, NUL-terminated (an empty
 * file gives ""). Returns: PE_OK, a newly allocated *out (free()) and *len
 * when @len is not NULL; PE_E_NOTFOUND when the file does not exist;
 * PE_E_USAGE when it cannot be read or is larger than @max.
 */
enum pe_code pe_file_read(const char *path, size_t max, char **out, size_t *len,
			  struct pe_err *err);

/* keytype.c: the key types p11enroll can make, by their command-line names */
enum pe_key_type {
	PE_KEY_NONE = 0,
	PE_KEY_RSA_2048,
	PE_KEY_RSA_3072,
	PE_KEY_RSA_4096,
	PE_KEY_EC_P256,
	PE_KEY_EC_P384,
	PE_KEY_ED25519,
	PE_KEY_GOST2012_256,
	PE_KEY_GOST2012_512,
	PE_KEY_TYPE_MAX
};

enum pe_key_family { PE_FAMILY_NONE, PE_FAMILY_RSA, PE_FAMILY_EC, PE_FAMILY_EDDSA, PE_FAMILY_GOST };

/* Returns: "ec-p256" and so on, static; "none" for PE_KEY_NONE. */
const char *pe_key_type_name(enum pe_key_type type);
/* Returns: the type named @name, or PE_KEY_NONE. */
enum pe_key_type pe_key_type_from_name(const char *name);
enum pe_key_family pe_key_type_family(enum pe_key_type type);
/* Returns: the RSA modulus or curve size in bits. */
unsigned pe_key_type_bits(enum pe_key_type type);

/*
 * Formats the names of the types in @mask (bit 1 << type) as "a, b, c" into
 * @out (at most @size bytes, always terminated); "none" when the mask is empty.
 */
void pe_key_types_format(unsigned mask, char *out, size_t size);

enum pe_hash { PE_HASH_NONE = 0, PE_HASH_SHA1, PE_HASH_SHA256, PE_HASH_SHA384, PE_HASH_SHA512 };

/* Returns: the digest size in bytes, 0 for PE_HASH_NONE. */
size_t pe_hash_size(enum pe_hash hash);
const char *pe_hash_name(enum pe_hash hash);

/* Returns: a newly allocated copy of @s with surrounding blanks removed (free()). */
char *pe_strdup_trim(const char *s);

#endif /* PE_UTIL_UTIL_H */
