/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections to stored services: TLS trust from the roots the user accepted,
 * credentials from their 0600 file, and the live status list-services shows.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enroll.h"

#define STATUS_CONNECT_MS 2000
#define STATUS_TIMEOUT_MS 5000

enum pe_code
pe_enroll_conn_open(struct pe_store *store, const struct pe_service *svc, long timeout_ms,
		    struct pe_enroll_conn *c, struct pe_err *err)
{
	struct pe_http_options options;
	struct pe_err none;
	enum pe_code rc;

	memset(c, 0, sizeof(*c));
	memset(&options, 0, sizeof(options));
	c->ops = pe_ca_find(svc->protocol);
	if (c->ops == NULL)
		return pe_err_set(err, PE_E_USAGE, "service '%s': protocol '%s' is not one of: %s",
				  svc->name, svc->protocol, pe_ca_protocols());
	rc = pe_store_roots_file(store, svc->name, &c->roots_file, &none);
	if (rc != PE_OK && rc != PE_E_NOTFOUND) {
		*err = none;
		return rc;
	}
	options.ca_file = c->roots_file ? c->roots_file : svc->ca_file;
	options.allow_http = true;		    /* http.c refuses it but for a loopback host, */
	options.http_any_host = c->ops->plain_http; /* unless messages protect themselves */
	if (timeout_ms > 0) {
		options.timeout_ms = timeout_ms;
		options.connect_timeout_ms =
			timeout_ms < STATUS_CONNECT_MS ? timeout_ms : STATUS_CONNECT_MS;
	}
	if (svc->has_password) {
		rc = pe_store_secret_read(store, svc->name, &c->password, err);
		if (rc != PE_OK)
			goto out;
	}
	rc = pe_http_new(&options, &c->http, err);
	if (rc != PE_OK)
		goto out;
	c->conn.url = svc->url;
	c->conn.login = svc->login;
	c->conn.password = c->password;
	c->conn.http = c->http;
	c->conn.roots_file = c->roots_file;
out:
	if (rc != PE_OK)
		pe_enroll_conn_close(c);
	return rc;
}

void
pe_enroll_conn_close(struct pe_enroll_conn *c)
{
	if (c->ops != NULL && c->ops->release != NULL)
		c->ops->release(&c->conn);
	pe_http_free(c->http);
	pe_secret_free(c->password);
	free(c->roots_file);
	memset(c, 0, sizeof(*c));
}

static char *
now_text(void)
{
	char text[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return strdup(text);
}

enum pe_code
pe_enroll_service_check(struct pe_store *store, struct pe_service *svc, struct pe_err *err)
{
	struct pe_enroll_conn c;
	enum pe_ca_login_state state = PE_CA_LOGIN_REFUSED;
	struct pe_err why;
	enum pe_code rc;

	pe_err_clear(&why);
	rc = pe_enroll_conn_open(store, svc, STATUS_TIMEOUT_MS, &c, &why);
	if (rc == PE_OK && svc->login == NULL && c.ops->login_required) {
		state = PE_CA_LOGIN_REFUSED;
		pe_err_set(&why, PE_E_USAGE, "no login yet: add-service --register or --login");
	} else if (rc == PE_OK) {
		rc = c.ops->login_status(&c.conn, &state, &why);
	}
	pe_enroll_conn_close(&c);
	free(svc->status_detail);
	svc->status_detail = NULL;
	if (rc == PE_E_NET) {
		svc->status = PE_SERVICE_UNREACHABLE;
		svc->status_detail = strdup(why.msg);
	} else if (rc != PE_OK) {
		svc->status = PE_SERVICE_NOT_AUTHENTICATED;
		svc->status_detail = strdup(why.msg);
	} else {
		switch (state) {
		case PE_CA_LOGIN_READY:
			svc->status = PE_SERVICE_READY;
			break;
		case PE_CA_LOGIN_AWAITING_APPROVAL:
			svc->status = PE_SERVICE_AWAITING_APPROVAL;
			svc->status_detail = strdup("wait for the registration to be confirmed");
			break;
		case PE_CA_LOGIN_REJECTED:
			svc->status = PE_SERVICE_REJECTED;
			svc->status_detail = strdup(why.msg[0] ? why.msg : "registration rejected");
			break;
		case PE_CA_LOGIN_REFUSED:
			svc->status = PE_SERVICE_NOT_AUTHENTICATED;
			svc->status_detail = strdup(why.msg[0] ? why.msg : "the login is refused");
			break;
		}
	}
	free(svc->checked_at);
	svc->checked_at = now_text();
	return pe_store_service_update(store, svc, err);
}
