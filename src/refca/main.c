/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * p11enroll-ca: global options, one command (init, serve, and the operator's
 * list, approve and reject), text or one JSON document on stdout. Only main()
 * exits, with the command's enum pe_code as the status.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "refca.h"

#define SYNOPSIS "usage: p11enroll-ca [--home DIR] [--json] COMMAND [options]\n"

struct cli {
	const char *home;
	bool json;
	cJSON *out; /* the JSON document: {"ok":true,...} */
};

/* What the commands' options and arguments come to. */
struct args {
	const char *listen;
	const char *port_file;
	const char *pid_file;
	const char *reason;
	const char *ca_key_uri;
	const char *module;
	const char *pin_source;
	bool auto_approve;
	unsigned retry_after;
	long long id;
};

struct command {
	const char *name;
	const char *synopsis;
	const char *summary;
	const char *options; /* the long options it takes, ",a,b," */
	bool takes_id;
	int (*exec)(struct cli *cli, const struct args *args, struct pe_err *err);
};

enum {
	OPT_LISTEN = 256,
	OPT_AUTO,
	OPT_PORT_FILE,
	OPT_PID_FILE,
	OPT_REASON,
	OPT_CA_KEY_URI,
	OPT_MODULE,
	OPT_PIN_SOURCE,
	OPT_RETRY_AFTER,
	OPT_HOME,
	OPT_JSON,
	OPT_VERSION
};

static const struct option all_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "auto-approve", no_argument, NULL, OPT_AUTO },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "ca-key-uri", required_argument, NULL, OPT_CA_KEY_URI },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "pin-source", required_argument, NULL, OPT_PIN_SOURCE },
	{ "retry-after", required_argument, NULL, OPT_RETRY_AFTER },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option global_options[] = {
	{ "home", required_argument, NULL, OPT_HOME },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int cmd_init(struct cli *cli, const struct args *args, struct pe_err *err);
static int cmd_serve(struct cli *cli, const struct args *args, struct pe_err *err);
static int cmd_list_registrations(struct cli *cli, const struct args *args, struct pe_err *err);
static int cmd_approve_registration(struct cli *cli, const struct args *args, struct pe_err *err);
static int cmd_reject_registration(struct cli *cli, const struct args *args, struct pe_err *err);
static int cmd_list_requests(struct cli *cli, const struct args *args, struct pe_err *err);
static int cmd_approve_request(struct cli *cli, const struct args *args, struct pe_err *err);
static int cmd_reject_request(struct cli *cli, const struct args *args, struct pe_err *err);

static const struct command commands[] = {
	{ "init", "[--ca-key-uri URI [--module PATH] [--pin-source SRC]]",
	  "make a new CA in the home directory", ",ca-key-uri,module,pin-source,", false,
	  cmd_init },
	{ "serve",
	  "--listen ADDRESS:PORT [--auto-approve] [--retry-after SECONDS] [--port-file FILE] "
	  "[--pid-file FILE] [--pin-source SRC]",
	  "serve the cpca20 user API and EST over HTTPS until SIGTERM",
	  ",listen,auto-approve,retry-after,port-file,pid-file,pin-source,", false, cmd_serve },
	{ "list-registrations", "", "list user registrations", ",", false, cmd_list_registrations },
	{ "approve-registration", "ID", "accept a registration (status A)", ",", true,
	  cmd_approve_registration },
	{ "reject-registration", "ID --reason TEXT", "reject a registration (status R)", ",reason,",
	  true, cmd_reject_registration },
	{ "list-requests", "", "list certificate requests", ",", false, cmd_list_requests },
	{ "approve-request", "ID [--pin-source SRC]",
	  "issue the certificate of a request (status C)", ",pin-source,", true,
	  cmd_approve_request },
	{ "reject-request", "ID --reason TEXT", "reject a certificate request (status R)",
	  ",reason,", true, cmd_reject_request },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
help_print(void)
{
	size_t i;

	printf(SYNOPSIS
	       "\n"
	       "The p11enroll reference CA: the cpca20 user API (registration with operator\n"
	       "approval, templates, requests, certificates) and EST (RFC 7030, under\n"
	       "/.well-known/est/, for the same users and requests) over HTTPS, for demos\n"
	       "and tests.\n"
	       "\n"
	       "global options:\n"
	       "  --home=DIR       the CA's directory (default: $P11ENROLL_CA_HOME)\n"
	       "  --json           print one JSON document on stdout\n"
	       "  --version        print the version\n"
	       "\n"
	       "commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		printf("  %-22s %s\n", commands[i].name, commands[i].summary);
	printf("\n'p11enroll-ca COMMAND --help' or 'p11enroll-ca help COMMAND' describes one "
	       "command.\n");
}

static void
command_help(const struct command *cmd, FILE *f)
{
	fprintf(f, "usage: p11enroll-ca %s%s%s\n\n%s\n", cmd->name, *cmd->synopsis ? " " : "",
		cmd->synopsis, cmd->summary);
	fputc('\n', f);
	if (strcmp(cmd->name, "serve") == 0)
		fprintf(f,
			"  --listen=ADDRESS:PORT  the one address to listen on (127.0.0.1:0: any\n"
			"                         free port)\n"
			"  --auto-approve         accept registrations and issue requests at once\n"
			"  --retry-after=SECONDS  what EST clients of a waiting request are told\n"
			"                         to wait (default 60)\n"
			"  --port-file=FILE       write the port there once listening\n"
			"  --pid-file=FILE        write the process id there\n");
	else if (strstr(cmd->options, ",reason,") != NULL)
		fprintf(f, "  --reason=TEXT          why (the user sees it)\n");
	if (strstr(cmd->options, ",ca-key-uri,") != NULL)
		fprintf(f,
			"  --ca-key-uri=URI       the CA key is this key on a PKCS#11 token\n"
			"                         (made there first, e.g. p11enroll generate-key)\n"
			"  --module=PATH          its PKCS#11 module (default: p11-kit's proxy)\n");
	if (strstr(cmd->options, ",pin-source,") != NULL)
		fprintf(f, "  --pin-source=SRC       the PIN of a CA key on a token: file:PATH,\n"
			   "                         env:NAME or fd:N (else asked)\n");
	fprintf(f, "  -h, --help             this help\n");
}

static const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

/* Reports @err: stderr, and the JSON document when --json. Returns: its code. */
static int
fail(struct cli *cli, const struct pe_err *err)
{
	cJSON *e;

	pe_msg_error(err);
	if (cli->json) {
		cJSON_Delete(cli->out);
		cli->out = cJSON_CreateObject();
		e = cJSON_CreateObject();
		if (cli->out == NULL || e == NULL ||
		    cJSON_AddBoolToObject(cli->out, "ok", false) == NULL ||
		    !cJSON_AddItemToObject(cli->out, "error", e)) {
			cJSON_Delete(e);
			cJSON_Delete(cli->out);
			cli->out = NULL;
			return err->code;
		}
		if (cJSON_AddNumberToObject(e, "code", err->code) == NULL ||
		    cJSON_AddStringToObject(e, "name", pe_code_name(err->code)) == NULL ||
		    cJSON_AddStringToObject(e, "message", err->msg) == NULL) {
			cJSON_Delete(cli->out);
			cli->out = NULL;
		}
	}
	return err->code;
}

static enum pe_code
id_parse(const char *s, long long *id, struct pe_err *err)
{
	char *end;

	errno = 0;
	*id = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || *id <= 0)
		return pe_err_set(err, PE_E_USAGE, "'%s' is not an ID (a positive number)", s);
	return PE_OK;
}

/* The command's options and arguments; PE_E_USAGE naming the problem. */
static enum pe_code
args_parse(const struct command *cmd, int argc, char **argv, struct args *args, bool *help,
	   struct pe_err *err)
{
	char want[32], *end;
	unsigned long value;
	int c, idx;

	memset(args, 0, sizeof(*args));
	*help = false;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", all_options, &idx)) != -1) {
		if (c == 'h') {
			*help = true;
			return PE_OK;
		}
		if (c == '?')
			return pe_err_set(err, PE_E_USAGE, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return pe_err_set(err, PE_E_USAGE, "option '%s' needs a value",
					  argv[optind - 1]);
		snprintf(want, sizeof(want), ",%s,", all_options[idx].name);
		if (strstr(cmd->options, want) == NULL)
			return pe_err_set(err, PE_E_USAGE, "unknown option '--%s'",
					  all_options[idx].name);
		switch (c) {
		case OPT_LISTEN:
			args->listen = optarg;
			break;
		case OPT_AUTO:
			args->auto_approve = true;
			break;
		case OPT_PORT_FILE:
			args->port_file = optarg;
			break;
		case OPT_PID_FILE:
			args->pid_file = optarg;
			break;
		case OPT_REASON:
			args->reason = optarg;
			break;
		case OPT_CA_KEY_URI:
			args->ca_key_uri = optarg;
			break;
		case OPT_MODULE:
			args->module = optarg;
			break;
		case OPT_PIN_SOURCE:
			args->pin_source = optarg;
			break;
		case OPT_RETRY_AFTER:
			errno = 0;
			value = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' || errno != 0 ||
			    value == 0 || value > 86400)
				return pe_err_set(err, PE_E_USAGE,
						  "--retry-after '%s' is not a number of seconds "
						  "from 1 to 86400",
						  optarg);
			args->retry_after = (unsigned)value;
			break;
		}
	}
	if (cmd->takes_id) {
		if (optind >= argc)
			return pe_err_set(err, PE_E_USAGE, "the ID is required");
		if (id_parse(argv[optind], &args->id, err) != PE_OK)
			return PE_E_USAGE;
		optind++;
	}
	if (optind < argc)
		return pe_err_set(err, PE_E_USAGE, "unexpected argument '%s'", argv[optind]);
	if (strstr(cmd->options, ",reason,") != NULL &&
	    (args->reason == NULL || args->reason[0] == '\0'))
		return pe_err_set(err, PE_E_USAGE, "--reason is required");
	if (strcmp(cmd->name, "serve") == 0 && args->listen == NULL)
		return pe_err_set(err, PE_E_USAGE, "--listen is required");
	return PE_OK;
}

static char *
path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void
time_text(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
}

static void
refca_close(struct pe_refca *ca)
{
	if (ca == NULL)
		return;
	free(ca->home);
	pe_refca_config_free(ca->config);
	pe_refca_db_close(ca->db);
	EVP_PKEY_free(ca->ca_key);
	X509_free(ca->ca_cert);
	free(ca->ca_pem);
	free(ca);
}

/* The key @uri on its token, with the PIN from @pin_source (or asked). */
static enum pe_code
token_key_uri(const char *uri, const char *module, const char *pin_source, EVP_PKEY **out,
	      struct pe_err *err)
{
	struct pe_secret *pin = NULL;
	enum pe_code rc;

	rc = pe_secret_read(pin_source, "--pin-source", "PIN of the CA key's token", false, &pin,
			    err);
	if (rc == PE_OK)
		rc = pe_refca_token_key_load(uri, module, pin, out, err);
	pe_secret_free(pin);
	return rc;
}

/* The CA key on its token: "ca-key.uri" holds the key's URI and the module, a line each. */
static enum pe_code
token_key_load(const char *path, const char *pin_source, EVP_PKEY **out, struct pe_err *err)
{
	char *text = NULL, *module = NULL, *nl;
	enum pe_code rc;

	rc = pe_refca_file_read(path, 8192, &text, NULL, err);
	if (rc != PE_OK)
		return rc;
	nl = strchr(text, '\n');
	if (nl != NULL) {
		*nl = '\0';
		module = nl + 1;
		module[strcspn(module, "\n")] = '\0';
		if (module[0] == '\0')
			module = NULL;
	}
	rc = token_key_uri(text, module, pin_source, out, err);
	free(text);
	return rc;
}

static enum pe_code
key_load(struct pe_refca *ca, const char *pin_source, struct pe_err *err)
{
	char *path = path_join(ca->home, PE_REFCA_CA_KEY);
	char *uri_path = path_join(ca->home, PE_REFCA_CA_KEY_URI);
	enum pe_code rc = PE_OK;
	struct stat st;
	FILE *f;

	if (path == NULL || uri_path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (stat(uri_path, &st) == 0) {
		rc = token_key_load(uri_path, pin_source, &ca->ca_key, err);
		if (rc != PE_OK)
			goto out;
		goto check;
	}
	f = fopen(path, "re");
	if (f == NULL) {
		rc = pe_err_set(err, PE_E_USAGE, "'%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		pe_msg_warn("'%s' can be read by others (mode %03o); it should be 0600", path,
			    (unsigned)st.st_mode & 0777);
	ca->ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->ca_key == NULL) {
		rc = pe_refca_ossl_err(err, PE_E_USAGE, path);
		goto out;
	}
check:
	if (X509_check_private_key(ca->ca_cert, ca->ca_key) != 1) {
		rc = pe_refca_ossl_err(err, PE_E_USAGE,
				       "the CA key does not match the CA "
				       "certificate");
		goto out;
	}
out:
	free(uri_path);
	free(path);
	return rc;
}

/* Opens the home directory: config, database, CA certificate, and the CA key when @key. */
static enum pe_code
refca_open(const char *home, bool key, const char *pin_source, struct pe_refca **out,
	   struct pe_err *err)
{
	struct pe_refca *ca = calloc(1, sizeof(*ca));
	char *path = NULL;
	enum pe_code rc;
	struct stat st;
	BIO *bio = NULL;

	if (ca == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (stat(home, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = pe_err_set(err, PE_E_USAGE,
				"no CA in '%s': make one with 'p11enroll-ca "
				"--home %s init'",
				home, home);
		goto out;
	}
	ca->home = strdup(home);
	path = path_join(home, PE_REFCA_CONFIG);
	if (ca->home == NULL || path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_refca_config_load(path, &ca->config, err);
	if (rc != PE_OK)
		goto out;
	free(path);
	path = path_join(home, PE_REFCA_CA_CERT);
	if (path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_refca_file_read(path, 64 * 1024, &ca->ca_pem, NULL, err);
	if (rc != PE_OK)
		goto out;
	bio = BIO_new_mem_buf(ca->ca_pem, -1);
	ca->ca_cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (ca->ca_cert == NULL) {
		rc = pe_refca_ossl_err(err, PE_E_USAGE, path);
		goto out;
	}
	if (key) {
		rc = key_load(ca, pin_source, err);
		if (rc != PE_OK)
			goto out;
	}
	free(path);
	path = path_join(home, PE_REFCA_DB);
	if (path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_refca_db_open(path, false, &ca->db, err);
	if (rc != PE_OK)
		goto out;
	*out = ca;
	ca = NULL;
out:
	BIO_free(bio);
	free(path);
	refca_close(ca);
	return rc;
}

static enum pe_code
home_need(struct cli *cli, struct pe_err *err)
{
	if (cli->home == NULL || cli->home[0] == '\0')
		return pe_err_set(err, PE_E_USAGE,
				  "no CA home: give --home DIR or set "
				  "P11ENROLL_CA_HOME");
	return PE_OK;
}

/* init */

/* Writes a new file @name in @home with @mode: the PEM of @key, else of @cert, else @text. */
static enum pe_code
file_write(const char *home, const char *name, mode_t mode, EVP_PKEY *key, X509 *cert,
	   const char *text, struct pe_err *err)
{
	char *path = path_join(home, name);
	enum pe_code rc = PE_OK;
	FILE *f = NULL;
	int fd, ok;

	if (path == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd >= 0)
		f = fdopen(fd, "w");
	if (f == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "'%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else if (cert != NULL)
		ok = PEM_write_X509(f, cert);
	else
		ok = fputs(text, f) >= 0;
	if (ok != 1 || fflush(f) != 0 || fsync(fd) != 0)
		rc = pe_refca_ossl_err(err, PE_E_FAIL, path);
	if (fclose(f) != 0 && rc == PE_OK)
		rc = pe_err_set(err, PE_E_FAIL, "'%s': %s", path, strerror(errno));
out:
	free(path);
	return rc;
}

static enum pe_code
folder_new(char *buf, size_t size, struct pe_err *err)
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return pe_refca_ossl_err(err, PE_E_CRYPTO, "RAND_bytes");
	r[6] = (r[6] & 0x0f) | 0x40; /* a version 4 (random) UUID */
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
	return PE_OK;
}

static bool
dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (d == NULL)
		return false;
	for (;;) {
		e = readdir(d);
		if (e == NULL)
			break;
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	}
	closedir(d);
	return empty;
}

static const char *const home_files[] = { PE_REFCA_CA_KEY_URI, PE_REFCA_CA_KEY,
					  PE_REFCA_CA_CERT,    PE_REFCA_TLS_KEY,
					  PE_REFCA_TLS_CERT,   PE_REFCA_CONFIG,
					  PE_REFCA_DB,	       PE_REFCA_DB "-wal",
					  PE_REFCA_DB "-shm" };

static int
cmd_init(struct cli *cli, const struct args *args, struct pe_err *err)
{
	EVP_PKEY *given = NULL, *ca_key = NULL, *tls_key = NULL;
	char uri_text[4096];
	X509 *ca = NULL, *tls = NULL;
	struct pe_refca_db *db = NULL;
	unsigned char md[32];
	unsigned md_len = 0;
	char folder[40], *path = NULL, *fp = NULL;
	bool made = false, reused = false;
	enum pe_code rc;
	size_t i;

	rc = home_need(cli, err);
	if (rc != PE_OK)
		return rc;
	if (args->ca_key_uri == NULL && (args->module != NULL || args->pin_source != NULL))
		return pe_err_set(err, PE_E_USAGE,
				  "--module and --pin-source go with --ca-key-uri");
	if (args->ca_key_uri != NULL) {
		if (strlen(args->ca_key_uri) + (args->module ? strlen(args->module) : 0) + 3 >
		    sizeof(uri_text))
			return pe_err_set(err, PE_E_USAGE,
					  "--ca-key-uri and --module are too long");
		rc = token_key_uri(args->ca_key_uri, args->module, args->pin_source, &given, err);
		if (rc != PE_OK)
			return rc;
	}
	if (mkdir(cli->home, 0700) == 0) {
		made = true;
	} else if (errno == EEXIST && dir_empty(cli->home)) {
		reused = true;
		if (chmod(cli->home, 0700) != 0)
			return pe_err_set(err, PE_E_FAIL, "'%s': %s", cli->home, strerror(errno));
	} else if (errno == EEXIST) {
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' exists and is not empty: refusing to "
				  "make a CA over it",
				  cli->home);
	} else {
		return pe_err_set(err, PE_E_FAIL, "'%s': %s", cli->home, strerror(errno));
	}
	rc = pe_refca_issue_ca(given, &ca_key, &ca, &tls_key, &tls, err);
	if (rc == PE_OK && given != NULL) {
		/* the key stays on its token: only where to find it is written */
		snprintf(uri_text, sizeof(uri_text), "%s\n%s\n", args->ca_key_uri,
			 args->module ? args->module : "");
		rc = file_write(cli->home, PE_REFCA_CA_KEY_URI, 0600, NULL, NULL, uri_text, err);
	} else if (rc == PE_OK) {
		rc = file_write(cli->home, PE_REFCA_CA_KEY, 0600, ca_key, NULL, NULL, err);
	}
	if (rc == PE_OK)
		rc = file_write(cli->home, PE_REFCA_CA_CERT, 0644, NULL, ca, NULL, err);
	if (rc == PE_OK)
		rc = file_write(cli->home, PE_REFCA_TLS_KEY, 0600, tls_key, NULL, NULL, err);
	if (rc == PE_OK)
		rc = file_write(cli->home, PE_REFCA_TLS_CERT, 0644, NULL, tls, NULL, err);
	if (rc == PE_OK)
		rc = folder_new(folder, sizeof(folder), err);
	if (rc != PE_OK)
		goto out;
	path = path_join(cli->home, PE_REFCA_CONFIG);
	if (path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_refca_config_write_default(path, folder, err);
	if (rc != PE_OK)
		goto out;
	free(path);
	path = path_join(cli->home, PE_REFCA_DB);
	if (path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	rc = pe_refca_db_open(path, true, &db, err);
	if (rc != PE_OK)
		goto out;
	if (X509_digest(ca, EVP_sha256(), md, &md_len) == 1)
		fp = pe_hex_encode(md, md_len);
	if (fp == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	free(path);
	path = path_join(cli->home, PE_REFCA_CA_CERT);
	if (path == NULL || cJSON_AddStringToObject(cli->out, "home", cli->home) == NULL ||
	    cJSON_AddStringToObject(cli->out, "folder", folder) == NULL ||
	    cJSON_AddStringToObject(cli->out, "root_cert", path) == NULL ||
	    cJSON_AddStringToObject(cli->out, "root_sha256", fp) == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (!cli->json)
		printf("home         %s\nfolder       %s\nroot cert    %s\nroot sha256  %s\n",
		       cli->home, folder, path, fp);
out:
	pe_refca_db_close(db);
	if (rc != PE_OK) {
		/* nothing half-made stays behind */
		for (i = 0; (made || reused) && i < sizeof(home_files) / sizeof(home_files[0]);
		     i++) {
			free(path);
			path = path_join(cli->home, home_files[i]);
			if (path != NULL)
				unlink(path);
		}
		if (made)
			rmdir(cli->home);
	}
	free(path);
	free(fp);
	EVP_PKEY_free(given);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(tls_key);
	X509_free(ca);
	X509_free(tls);
	return rc;
}

/* serve */

static int
cmd_serve(struct cli *cli, const struct args *args, struct pe_err *err)
{
	struct pe_refca_serve_opts opts = { args->listen, args->port_file, args->pid_file };
	struct pe_refca *ca = NULL;
	enum pe_code rc;

	rc = home_need(cli, err);
	if (rc == PE_OK)
		rc = refca_open(cli->home, true, args->pin_source, &ca, err);
	if (rc != PE_OK)
		return rc;
	ca->auto_approve = args->auto_approve;
	ca->retry_after = args->retry_after;
	rc = pe_refca_server_run(ca, &opts, err);
	refca_close(ca);
	return rc;
}

/* the operator's commands */

static bool
add_text(cJSON *obj, const char *name, const char *value)
{
	if (value == NULL)
		return cJSON_AddNullToObject(obj, name) != NULL;
	return cJSON_AddStringToObject(obj, name, value) != NULL;
}

static bool
add_status(cJSON *obj, char status)
{
	char letter[2] = { status, '\0' };

	return add_text(obj, "status", letter) &&
	       add_text(obj, "status_name", pe_refca_status_name(status));
}

static bool
add_time(cJSON *obj, const char *name, long long t)
{
	char buf[32];

	time_text(t, buf, sizeof(buf));
	return add_text(obj, name, buf);
}

/* The profile as "CN=..., SNILS=..." for people. */
static void
profile_line(const struct pe_refca_config *config, const char *profile, char *buf, size_t size)
{
	cJSON *arr = cJSON_Parse(profile);
	const cJSON *item;
	char name[64];
	size_t used = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(item, arr)
	{
		if (item->child == NULL || !cJSON_IsString(item->child) || used >= size)
			continue;
		used += (size_t)snprintf(
			buf + used, size - used, "%s%s=%s", used ? ", " : "",
			pe_refca_config_attr_name(config, item->child->string, name, sizeof(name)),
			item->child->valuestring);
	}
	cJSON_Delete(arr);
}

static cJSON *
reg_json(const struct pe_refca_reg *reg)
{
	cJSON *obj = cJSON_CreateObject(), *profile = cJSON_Parse(reg->profile);

	if (obj == NULL || profile == NULL ||
	    cJSON_AddNumberToObject(obj, "id", (double)reg->id) == NULL ||
	    !add_status(obj, reg->status) || !add_text(obj, "reason", reg->reason) ||
	    !add_text(obj, "token", reg->token) || !add_text(obj, "email", reg->email) ||
	    !add_text(obj, "comment", reg->comment) ||
	    !add_text(obj, "description", reg->description) ||
	    !cJSON_AddItemToObject(obj, "profile", profile)) {
		cJSON_Delete(profile);
		cJSON_Delete(obj);
		return NULL;
	}
	if (!add_time(obj, "created", reg->created) || !add_time(obj, "updated", reg->updated)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

static cJSON *
req_json(const struct pe_refca_config *config, const struct pe_refca_req *req)
{
	const struct pe_refca_template *tpl = pe_refca_config_template(config, req->template_oid);
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL || cJSON_AddNumberToObject(obj, "id", (double)req->id) == NULL ||
	    cJSON_AddNumberToObject(obj, "registration", (double)req->reg_id) == NULL ||
	    !add_status(obj, req->status) || !add_text(obj, "reason", req->reason) ||
	    !add_text(obj, "template", req->template_oid) ||
	    !add_text(obj, "template_name", tpl ? tpl->localized_name : NULL) ||
	    !add_text(obj, "subject", req->subject) || !add_text(obj, "serial", req->serial) ||
	    !add_time(obj, "created", req->created) || !add_time(obj, "updated", req->updated)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

static int
cmd_list_registrations(struct cli *cli, const struct args *args, struct pe_err *err)
{
	struct pe_refca_reg **regs = NULL;
	struct pe_refca *ca = NULL;
	cJSON *arr, *item;
	char when[32], line[1024];
	size_t n = 0, i;
	enum pe_code rc;

	rc = home_need(cli, err);
	if (rc == PE_OK)
		rc = refca_open(cli->home, false, NULL, &ca, err);
	if (rc == PE_OK)
		rc = pe_refca_db_reg_list(ca->db, &regs, &n, err);
	if (rc != PE_OK)
		goto out;
	arr = cJSON_AddArrayToObject(cli->out, "registrations");
	if (!cli->json && n > 0)
		printf("%-5s %-12s %-20s %s\n", "ID", "STATUS", "CREATED", "PROFILE");
	for (i = 0; i < n; i++) {
		item = reg_json(regs[i]);
		if (arr == NULL || item == NULL || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		if (cli->json)
			continue;
		time_text(regs[i]->created, when, sizeof(when));
		profile_line(ca->config, regs[i]->profile, line, sizeof(line));
		printf("%-5lld %c %-10s %-20s %s\n", regs[i]->id, regs[i]->status,
		       pe_refca_status_name(regs[i]->status), when, line);
		if (regs[i]->reason != NULL)
			printf("%-5s reason: %s\n", "", regs[i]->reason);
	}
out:
	for (i = 0; i < n; i++)
		pe_refca_reg_free(regs[i]);
	free(regs);
	refca_close(ca);
	return rc;
}

static int
cmd_list_requests(struct cli *cli, const struct args *args, struct pe_err *err)
{
	const struct pe_refca_template *tpl;
	struct pe_refca_req **reqs = NULL;
	struct pe_refca *ca = NULL;
	cJSON *arr, *item;
	char when[32];
	size_t n = 0, i;
	enum pe_code rc;

	rc = home_need(cli, err);
	if (rc == PE_OK)
		rc = refca_open(cli->home, false, NULL, &ca, err);
	if (rc == PE_OK)
		rc = pe_refca_db_req_list(ca->db, &reqs, &n, err);
	if (rc != PE_OK)
		goto out;
	arr = cJSON_AddArrayToObject(cli->out, "requests");
	if (!cli->json && n > 0)
		printf("%-5s %-5s %-12s %-20s %-10s %s\n", "ID", "REG", "STATUS", "CREATED",
		       "TEMPLATE", "SUBJECT");
	for (i = 0; i < n; i++) {
		item = req_json(ca->config, reqs[i]);
		if (arr == NULL || item == NULL || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			goto out;
		}
		if (cli->json)
			continue;
		tpl = pe_refca_config_template(ca->config, reqs[i]->template_oid);
		time_text(reqs[i]->created, when, sizeof(when));
		printf("%-5lld %-5lld %c %-10s %-20s %-10s %s\n", reqs[i]->id, reqs[i]->reg_id,
		       reqs[i]->status, pe_refca_status_name(reqs[i]->status), when,
		       tpl ? tpl->localized_name : reqs[i]->template_oid, reqs[i]->subject);
		if (reqs[i]->reason != NULL)
			printf("%-5s reason: %s\n", "", reqs[i]->reason);
	}
out:
	for (i = 0; i < n; i++)
		pe_refca_req_free(reqs[i]);
	free(reqs);
	refca_close(ca);
	return rc;
}

/* approve-registration and reject-registration */
static int
reg_decide(struct cli *cli, const struct args *args, char status, const char *from,
	   struct pe_err *err)
{
	struct pe_refca_reg *reg = NULL;
	struct pe_refca *ca = NULL;
	cJSON *item;
	enum pe_code rc;

	rc = home_need(cli, err);
	if (rc == PE_OK)
		rc = refca_open(cli->home, false, NULL, &ca, err);
	if (rc == PE_OK)
		rc = pe_refca_db_reg_set_status(ca->db, args->id, status, args->reason, from, err);
	if (rc == PE_OK)
		rc = pe_refca_db_reg_get(ca->db, args->id, &reg, err);
	if (rc != PE_OK)
		goto out;
	item = reg_json(reg);
	if (item == NULL || !cJSON_AddItemToObject(cli->out, "registration", item)) {
		cJSON_Delete(item);
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (!cli->json)
		printf("registration %lld: %c (%s)\n", reg->id, reg->status,
		       pe_refca_status_name(reg->status));
out:
	pe_refca_reg_free(reg);
	refca_close(ca);
	return rc;
}

static int
cmd_approve_registration(struct cli *cli, const struct args *args, struct pe_err *err)
{
	/* a rejected registration may be accepted after all */
	return reg_decide(cli, args, PE_REFCA_ST_ACCEPTED, "QAR", err);
}

static int
cmd_reject_registration(struct cli *cli, const struct args *args, struct pe_err *err)
{
	/* rejecting an accepted registration stops its new requests */
	return reg_decide(cli, args, PE_REFCA_ST_REJECTED, "QAR", err);
}

/* approve-request and reject-request: the request as it is now, on stdout */
static enum pe_code
req_print(struct cli *cli, struct pe_refca *ca, long long id, struct pe_err *err)
{
	struct pe_refca_req *req = NULL;
	enum pe_code rc;
	cJSON *item;

	rc = pe_refca_db_req_get(ca->db, id, &req, err);
	if (rc != PE_OK)
		return rc;
	item = req_json(ca->config, req);
	if (item == NULL || !cJSON_AddItemToObject(cli->out, "request", item)) {
		cJSON_Delete(item);
		pe_refca_req_free(req);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	if (!cli->json) {
		printf("request %lld: %c (%s)\n", req->id, req->status,
		       pe_refca_status_name(req->status));
		if (req->serial != NULL)
			printf("serial   %s\n", req->serial);
		printf("subject  %s\n", req->subject);
	}
	pe_refca_req_free(req);
	return PE_OK;
}

static int
cmd_approve_request(struct cli *cli, const struct args *args, struct pe_err *err)
{
	struct pe_refca *ca = NULL;
	enum pe_code rc;

	rc = home_need(cli, err);
	if (rc == PE_OK)
		rc = refca_open(cli->home, true, args->pin_source, &ca, err);
	if (rc == PE_OK)
		rc = pe_refca_issue_request(ca, args->id, NULL, err);
	if (rc == PE_OK)
		rc = req_print(cli, ca, args->id, err);
	refca_close(ca);
	return rc;
}

static int
cmd_reject_request(struct cli *cli, const struct args *args, struct pe_err *err)
{
	struct pe_refca *ca = NULL;
	enum pe_code rc;

	rc = home_need(cli, err);
	if (rc == PE_OK)
		rc = refca_open(cli->home, false, NULL, &ca, err);
	if (rc == PE_OK)
		rc = pe_refca_db_req_set_status(ca->db, args->id, PE_REFCA_ST_REJECTED,
						args->reason, "Q", err);
	if (rc == PE_OK)
		rc = req_print(cli, ca, args->id, err);
	refca_close(ca);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	const struct command *cmd = NULL;
	struct args args;
	struct pe_err err;
	bool bad = false, help = false;
	char *text;
	int c, rc = PE_OK;

	memset(&cli, 0, sizeof(cli));
	pe_err_clear(&err);
	cli.home = getenv("P11ENROLL_CA_HOME");
	pe_msg_init(PE_REFCA_NAME, PE_NORMAL);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", global_options, NULL)) != -1) {
		switch (c) {
		case OPT_HOME:
			cli.home = optarg;
			break;
		case OPT_JSON:
			cli.json = true;
			break;
		case 'h':
			help_print();
			return 0;
		case OPT_VERSION:
			printf("p11enroll-ca %s\n", PACKAGE_VERSION);
			return 0;
		default:
			if (!bad)
				pe_err_set(&err, PE_E_USAGE,
					   "bad global option '%s': see "
					   "'p11enroll-ca --help'",
					   argv[optind - 1]);
			bad = true;
			break;
		}
	}
	cli.out = cJSON_CreateObject();
	if (cli.out == NULL || cJSON_AddBoolToObject(cli.out, "ok", true) == NULL) {
		fprintf(stderr, "%s: (1) out of memory\n", PE_REFCA_NAME);
		cJSON_Delete(cli.out);
		return PE_E_FAIL;
	}
	if (!bad && optind >= argc) {
		pe_err_set(&err, PE_E_USAGE, "no command: see 'p11enroll-ca --help'");
		bad = true;
	}
	if (!bad && strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			help_print();
			goto done;
		}
		help = true;
		optind++;
	}
	if (!bad) {
		cmd = command_find(argv[optind]);
		if (cmd == NULL) {
			pe_err_set(&err, PE_E_USAGE,
				   "unknown command '%s': see "
				   "'p11enroll-ca --help'",
				   argv[optind]);
			bad = true;
		}
	}
	if (!bad && help) {
		command_help(cmd, stdout);
		goto done;
	}
	if (!bad && args_parse(cmd, argc - optind, argv + optind, &args, &help, &err) != PE_OK) {
		rc = fail(&cli, &err);
		command_help(cmd, stderr);
		goto out;
	}
	if (bad) {
		rc = fail(&cli, &err);
		fputs(SYNOPSIS, stderr);
		goto out;
	}
	if (help) {
		command_help(cmd, stdout);
		goto done;
	}
	rc = cmd->exec(&cli, &args, &err);
	if (rc != PE_OK)
		rc = fail(&cli, &err);
out:
	if (cli.json && cli.out != NULL) {
		text = cJSON_Print(cli.out);
		if (text != NULL)
			printf("%s\n", text);
		cJSON_free(text);
	}
done:
	cJSON_Delete(cli.out);
	return rc;
}
