/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTPS for p11enroll-ca: a libmicrohttpd daemon (GnuTLS) bound to exactly the
 * address given, bodies collected under a cap, one log line per request on
 * stderr (method, path, status: never a header or a body), and a clean stop
 * on SIGTERM or SIGINT.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "refca.h"

/* bodies beyond the cap are read and dropped up to here, then the connection is closed */
#define DRAIN_MAX    (16 * 1024 * 1024)
#define PEM_MAX	     (64 * 1024)
#define LOG_PATH_MAX 200

struct conn_state {
	struct pe_buf body;
	size_t seen;
	bool too_big;
	bool answered; /* from the headers, before the body */
};

static void
log_request(const char *method, const char *url, unsigned status)
{
	char path[LOG_PATH_MAX + 4];
	size_t i;

	/* the path only, and nothing a terminal would act on */
	for (i = 0; url[i] != '\0' && i < LOG_PATH_MAX; i++)
		path[i] = url[i] > 0x20 && url[i] < 0x7f ? url[i] : '?';
	if (url[i] != '\0') {
		memcpy(path + i, "...", 3);
		i += 3;
	}
	path[i] = '\0';
	fprintf(stderr, "%s: %.16s %s %u\n", PE_REFCA_NAME, method, path, status);
}

static enum MHD_Result
send_response(struct MHD_Connection *conn, const char *method, const char *url,
	      const struct pe_refca_http_resp *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status = resp->status ? resp->status : 500;
	char retry[16];

	r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if ((resp->content_type != NULL &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type) !=
		     MHD_YES) ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    (resp->challenge &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				     "Basic realm=\"" PE_REFCA_NAME "\"") != MHD_YES) ||
	    (resp->allow != NULL &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow) != MHD_YES) ||
	    (resp->base64 &&
	     MHD_add_response_header(r, "Content-Transfer-Encoding", "base64") != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	snprintf(retry, sizeof(retry), "%u", resp->retry_after);
	if (resp->retry_after > 0 &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry) != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	log_request(method, url, status);
	return ret;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct pe_refca *ca = cls;
	struct conn_state *st = *con_cls;
	struct pe_refca_http_req req;
	struct pe_refca_http_resp resp;
	const char *length, *expect;
	char *user = NULL, *password = NULL;
	enum MHD_Result ret;
	struct pe_err err;

	if (st == NULL) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		pe_buf_init(&st->body, PE_REFCA_BODY_MAX);
		*con_cls = st;
		length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
		expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
		/*
		 * Refused before the body comes when the client waits for
		 * 100 Continue, or when it is too big to read and drop; else
		 * the body is read (and dropped), so that the client, still
		 * sending, reads the answer instead of a reset connection.
		 */
		if (length != NULL && strtoull(length, NULL, 10) > PE_REFCA_BODY_MAX &&
		    (expect != NULL || strtoull(length, NULL, 10) > DRAIN_MAX)) {
			memset(&req, 0, sizeof(req));
			req.method = method;
			req.path = url;
			req.body_too_big = true;
			pe_refca_api_handle(ca, &req, &resp);
			ret = send_response(conn, method, url, &resp);
			pe_refca_http_resp_cleanup(&resp);
			st->too_big = true;
			st->answered = true;
			return ret;
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		st->seen += *upload_data_size;
		if (!st->too_big &&
		    pe_buf_add(&st->body, upload_data, *upload_data_size, &err) != PE_OK) {
			st->too_big = true;
			pe_buf_cleanup(&st->body);
		}
		*upload_data_size = 0;
		return st->seen > DRAIN_MAX ? MHD_NO : MHD_YES;
	}
	if (st->answered)
		return MHD_YES;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.type_arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "type");
	req.body = st->body.data;
	req.body_len = st->body.len;
	req.body_too_big = st->too_big;
	user = MHD_basic_auth_get_username_password(conn, &password);
	req.user = user;
	req.password = user != NULL ? password : NULL;
	pe_refca_api_handle(ca, &req, &resp);
	if (password != NULL) {
		OPENSSL_cleanse(password, strlen(password));
		MHD_free(password);
	}
	if (user != NULL)
		MHD_free(user);
	ret = send_response(conn, method, url, &resp);
	pe_refca_http_resp_cleanup(&resp);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;

	if (st == NULL)
		return;
	if (st->body.data != NULL)
		OPENSSL_cleanse(st->body.data, st->body.len);
	pe_buf_cleanup(&st->body);
	free(st);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	fprintf(stderr, "%s: httpd: %s\n", PE_REFCA_NAME, line);
}

union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

static enum pe_code
listen_parse(const char *listen_on, union addr *addr, bool *v6, bool *loopback, struct pe_err *err)
{
	const char *colon = strrchr(listen_on, ':');
	char host[INET6_ADDRSTRLEN + 2], *end;
	unsigned long port;
	size_t hlen;

	memset(addr, 0, sizeof(*addr));
	if (colon == NULL || colon == listen_on || colon[1] == '\0')
		return pe_err_set(err, PE_E_USAGE, "--listen '%s' is not ADDRESS:PORT", listen_on);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return pe_err_set(err, PE_E_USAGE, "--listen '%s': bad port", listen_on);
	hlen = (size_t)(colon - listen_on);
	if (listen_on[0] == '[' && hlen >= 2 && colon[-1] == ']') {
		listen_on++;
		hlen -= 2;
		*v6 = true;
	} else {
		*v6 = false;
	}
	if (hlen >= sizeof(host))
		return pe_err_set(err, PE_E_USAGE, "--listen: bad address");
	memcpy(host, listen_on, hlen);
	host[hlen] = '\0';
	if (*v6) {
		addr->in6.sin6_family = AF_INET6;
		addr->in6.sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &addr->in6.sin6_addr) != 1)
			return pe_err_set(err, PE_E_USAGE, "--listen: '%s' is not an IPv6 address",
					  host);
		*loopback = IN6_IS_ADDR_LOOPBACK(&addr->in6.sin6_addr);
	} else {
		addr->in.sin_family = AF_INET;
		addr->in.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &addr->in.sin_addr) != 1)
			return pe_err_set(err, PE_E_USAGE,
					  "--listen: '%s' is not an IPv4 address "
					  "(IPv6 goes in brackets)",
					  host);
		*loopback = (ntohl(addr->in.sin_addr.s_addr) >> 24) == 127;
	}
	return PE_OK;
}

static enum pe_code
read_pem(const char *home, const char *name, char **out, struct pe_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", home, name);
	return pe_refca_file_read(path, PEM_MAX, out, NULL, err);
}

static void
pem_free(char *pem)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
}

/* Writes @text to @path through a temporary file and rename(), so readers see all or nothing. */
static enum pe_code
write_atomic(const char *path, const char *text, struct pe_err *err)
{
	char tmp[4096];
	size_t len = strlen(text);
	int fd, n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	ssize_t w;

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return pe_err_set(err, PE_E_USAGE, "'%s': path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return pe_err_set(err, PE_E_FAIL, "'%s': %s", tmp, strerror(errno));
	w = write(fd, text, len);
	if (w < 0 || (size_t)w != len || close(fd) != 0) {
		if (w >= 0)
			errno = EIO;
		pe_err_set(err, PE_E_FAIL, "'%s': %s", tmp, strerror(errno));
		unlink(tmp);
		return PE_E_FAIL;
	}
	if (rename(tmp, path) != 0) {
		pe_err_set(err, PE_E_FAIL, "'%s': %s", path, strerror(errno));
		unlink(tmp);
		return PE_E_FAIL;
	}
	return PE_OK;
}

enum pe_code
pe_refca_server_run(struct pe_refca *ca, const struct pe_refca_serve_opts *opts, struct pe_err *err)
{
	struct MHD_Daemon *daemon = NULL;
	const union MHD_DaemonInfo *info;
	char *key_pem = NULL, *cert_pem = NULL, line[32];
	sigset_t stop, old;
	union addr addr;
	bool v6 = false, loopback = false, pid_written = false, port_written = false;
	bool masked = false;
	unsigned flags;
	enum pe_code rc;
	int sig = 0;
	unsigned port;

	rc = listen_parse(opts->listen, &addr, &v6, &loopback, err);
	if (rc != PE_OK)
		return rc;
	if (!loopback)
		pe_msg_warn("listening on '%s', not on loopback; the TLS certificate names "
			    "127.0.0.1 and localhost only",
			    opts->listen);
	rc = read_pem(ca->home, PE_REFCA_TLS_KEY, &key_pem, err);
	if (rc == PE_OK)
		rc = read_pem(ca->home, PE_REFCA_TLS_CERT, &cert_pem, err);
	if (rc != PE_OK)
		goto out;

	/* the daemon's thread inherits the mask, so the signals come to sigwait() */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	masked = true;
	signal(SIGPIPE, SIG_IGN);

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* the logger first, so that MHD writes nothing in its own format */
	daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer, ca, MHD_OPTION_EXTERNAL_LOGGER,
				  mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &addr.sa,
				  MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_MEM_CERT,
				  cert_pem, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
	if (daemon == NULL) {
		rc = pe_err_set(err, PE_E_NET,
				"cannot serve HTTPS on '%s' (address in use, or "
				"the TLS key cannot be read)",
				opts->listen);
		goto out;
	}
	info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	port = info != NULL ? info->port : 0;
	if (port == 0) {
		rc = pe_err_set(err, PE_E_NET, "cannot tell which port the daemon listens on");
		goto out;
	}
	if (opts->pid_file != NULL) {
		snprintf(line, sizeof(line), "%ld\n", (long)getpid());
		rc = write_atomic(opts->pid_file, line, err);
		if (rc != PE_OK)
			goto out;
		pid_written = true;
	}
	if (opts->port_file != NULL) {
		snprintf(line, sizeof(line), "%u\n", port);
		rc = write_atomic(opts->port_file, line, err);
		if (rc != PE_OK)
			goto out;
		port_written = true;
	}
	pe_msg_info("serving https://%.*s:%u/ui/api/%s%s",
		    (int)(strrchr(opts->listen, ':') - opts->listen), opts->listen, port,
		    ca->config->folder, ca->auto_approve ? " (auto-approve)" : "");
	pe_msg_info("serving EST at https://%.*s:%u" PE_REFCA_EST_PREFIX,
		    (int)(strrchr(opts->listen, ':') - opts->listen), opts->listen, port);
	while (sig != SIGINT && sig != SIGTERM) {
		if (sigwait(&stop, &sig) != 0)
			break;
	}
	pe_msg_info("stopping on signal %d", sig);
out:
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
	if (port_written)
		unlink(opts->port_file);
	if (pid_written)
		unlink(opts->pid_file);
	if (masked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	pem_free(key_pem);
	pem_free(cert_pem);
	return rc;
}
