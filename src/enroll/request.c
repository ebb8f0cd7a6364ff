/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The request state machine: new → key-ready → csr-ready → submitted →
 * pending → issued → installed → acknowledged, with rejected, failed and
 * connection-problem (which remembers where to resume). Each transition is
 * committed to the store before the next external step.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enroll.h"
#include "profile/profile.h"

/* Subject attributes in the order a certificate lists them; others follow as given. */
static const char *const subject_order[] = {
	"2.5.4.6",
	"2.5.4.8",
	"2.5.4.7",
	"2.5.4.9",
	"2.5.4.10",
	"2.5.4.11",
	"2.5.4.12",
	"2.5.4.3",
	"2.5.4.4",
	"2.5.4.42",
	"1.2.840.113549.1.9.1",
	"1.2.643.100.1",
	"1.2.643.100.5",
	"1.2.643.100.4",
	"1.2.643.3.131.1.1",
	"1.2.643.100.3",
	NULL,
};

/* Short names for messages, by OID. */
static const char *const short_names[] = {
	"CN", "SN", "GN",   "C",     "L",     "ST",	"street", "O",	"OU",
	"T",  "E",  "OGRN", "SNILS", "INNLE", "OGRNIP", "INN",	  NULL,
};

#define FIELDS_MAX 48

struct field {
	char oid[64];
	const char *value; /* borrowed: the user's argument or the profile's value */
};

struct run {
	struct pe_enroll_env *env;
	struct pe_service *svc;
	struct pe_enroll_conn conn;
	bool connected;
	const struct pe_container_ops *carrier;
	struct pe_container *container;
	bool key_found;
	unsigned char *spki; /* the key's public key, once a connector needed the key */
	size_t spki_len;
	struct pe_ca_key ca_key;
	bool renewal_known; /* renewal below is worked out */
	bool renewal;
};

bool
pe_enroll_request_done(const struct pe_request *req)
{
	return req->state == PE_REQ_ACKNOWLEDGED || req->state == PE_REQ_REJECTED ||
	       req->state == PE_REQ_FAILED;
}

static const char *
oid_name(const char *oid)
{
	char found[64];
	size_t i;

	for (i = 0; short_names[i] != NULL; i++) {
		if (pe_csr_attr_lookup(short_names[i], found, sizeof(found)) != 0 &&
		    strcmp(found, oid) == 0)
			return short_names[i];
	}
	return oid;
}

static int
order_of(const char *oid)
{
	int i;

	for (i = 0; subject_order[i] != NULL; i++) {
		if (strcmp(subject_order[i], oid) == 0)
			return i;
	}
	return i;
}

static int
field_cmp(const void *a, const void *b)
{
	return order_of(((const struct field *)a)->oid) - order_of(((const struct field *)b)->oid);
}

/* Appends "/NAME=value" (the OID where there is no short name) with '/' and '\' escaped. */
static enum pe_code
subject_append(struct pe_buf *b, const struct field *f, struct pe_err *err)
{
	const char *p;
	enum pe_code rc;

	rc = pe_buf_add(b, "/", 1, err);
	if (rc == PE_OK)
		rc = pe_buf_add(b, oid_name(f->oid), strlen(oid_name(f->oid)), err);
	if (rc == PE_OK)
		rc = pe_buf_add(b, "=", 1, err);
	for (p = f->value; rc == PE_OK && *p != '\0'; p++) {
		if (*p == '/' || *p == '\\')
			rc = pe_buf_add(b, "\\", 1, err);
		if (rc == PE_OK)
			rc = pe_buf_add(b, p, 1, err);
	}
	return rc;
}

/* What to call @oid when asking for it: the CA's form's name for it, else its short name. */
static const char *
field_label(const struct pe_ca_form *form, const char *oid)
{
	size_t i;

	for (i = 0; form != NULL && i < form->n; i++) {
		if (strcmp(form->fields[i].oid, oid) == 0 && form->fields[i].localized_name != NULL)
			return form->fields[i].localized_name;
	}
	return oid_name(oid);
}

/*
 * The subject: the user's attributes, then the registered profile's for
 * those not given, then what the owner type still requires, asked for where
 * someone can be asked (env->ask); every one valid.
 * Returns: newly allocated "/C=RU/CN=.../SNILS=..." text in *subject.
 */
static enum pe_code
subject_build(const struct pe_enroll_env *env, const struct pe_enroll_spec *spec,
	      const struct pe_ca_value *profile, size_t n_profile, const struct pe_ca_form *form,
	      char **subject, struct pe_err *err)
{
	const struct pe_owner_type *owner = pe_owner_type_find(spec->owner_type);
	struct field fields[FIELDS_MAX];
	const char *oids[FIELDS_MAX];
	char *asked[FIELDS_MAX];
	const char *missing;
	struct pe_buf b;
	struct pe_err why;
	size_t n = 0, n_asked = 0, i, j;
	enum pe_code rc = PE_OK;

	if (owner == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "owner type '%s' is not individual, "
				  "sole-proprietor, legal-entity or employee",
				  spec->owner_type);
	for (i = 0; i < spec->n_fields; i++) {
		if (n >= FIELDS_MAX)
			return pe_err_set(err, PE_E_USAGE, "more than %d subject attributes",
					  FIELDS_MAX);
		if (pe_csr_attr_lookup(spec->fields[i].attr, fields[n].oid,
				       sizeof(fields[n].oid)) == 0)
			return pe_err_set(err, PE_E_USAGE,
					  "'%s' is not a subject attribute p11enroll knows",
					  spec->fields[i].attr);
		for (j = 0; j < n; j++) {
			if (strcmp(fields[j].oid, fields[n].oid) == 0)
				return pe_err_set(err, PE_E_USAGE, "%s is given twice",
						  spec->fields[i].attr);
		}
		fields[n++].value = spec->fields[i].value;
	}
	/* pre-filled from the registration, where the user gave nothing */
	for (i = 0; i < n_profile && n < FIELDS_MAX; i++) {
		for (j = 0; j < n; j++) {
			if (strcmp(fields[j].oid, profile[i].oid) == 0)
				break;
		}
		if (j < n || profile[i].value == NULL || profile[i].value[0] == '\0' ||
		    strlen(profile[i].oid) >= sizeof(fields[n].oid))
			continue;
		strcpy(fields[n].oid, profile[i].oid);
		fields[n++].value = profile[i].value;
	}
	/* what the owner type requires and nobody gave: asked for, or an error naming it */
	for (;;) {
		for (i = 0; i < n; i++)
			oids[i] = fields[i].oid;
		missing = pe_owner_type_missing(owner, oids, n);
		if (missing == NULL)
			break;
		if (env->ask == NULL || n >= FIELDS_MAX ||
		    env->ask(field_label(form, missing), missing, &asked[n_asked], &why) != PE_OK) {
			rc = pe_err_set(err, PE_E_USAGE,
					"%s (%s) is required for owner type %s: "
					"give --field %s=VALUE",
					oid_name(missing), missing, owner->name, oid_name(missing));
			goto out;
		}
		snprintf(fields[n].oid, sizeof(fields[n].oid), "%s", missing);
		fields[n++].value = asked[n_asked++];
	}
	for (i = 0; i < n; i++) {
		rc = pe_csr_attr_check(fields[i].oid, fields[i].value, err);
		if (rc == PE_OK)
			rc = pe_ru_field_check(fields[i].oid, oid_name(fields[i].oid),
					       fields[i].value, err);
		if (rc != PE_OK) {
			pe_err_prefix(err, "%s", oid_name(fields[i].oid));
			goto out;
		}
	}
	qsort(fields, n, sizeof(fields[0]), field_cmp);
	pe_buf_init(&b, 16384);
	for (i = 0; rc == PE_OK && i < n; i++)
		rc = subject_append(&b, &fields[i], err);
	if (rc != PE_OK) {
		pe_buf_cleanup(&b);
		goto out;
	}
	*subject = (char *)pe_buf_take(&b, NULL);
out:
	for (i = 0; i < n_asked; i++)
		free(asked[i]);
	return rc;
}

static void
run_cleanup(struct run *run)
{
	if (run->connected)
		pe_enroll_conn_close(&run->conn);
	if (run->container != NULL)
		run->carrier->close(run->container);
	free(run->spki);
	pe_service_free(run->svc);
	memset(run, 0, sizeof(*run));
}

static enum pe_code
need_conn(struct run *run, struct pe_err *err)
{
	enum pe_code rc;

	if (run->connected)
		return PE_OK;
	rc = pe_enroll_conn_open(run->env->store, run->svc, run->env->timeout_ms, &run->conn, err);
	if (rc == PE_OK)
		run->connected = true;
	return rc;
}

static enum pe_code
need_carrier(struct run *run, const struct pe_request *req, struct pe_err *err)
{
	struct pe_carrier_env carrier;

	if (run->container != NULL)
		return PE_OK;
	run->carrier = pe_container_find(req->carrier);
	if (run->carrier == NULL)
		return pe_err_set(err, PE_E_USAGE, "carrier '%s' is not one p11enroll has",
				  req->carrier);
	carrier = run->env->carrier;
	if (req->token_serial != NULL)
		carrier.token_serial = req->token_serial;
	if (req->container != NULL)
		carrier.container = req->container;
	return run->carrier->open(&carrier, &run->container, err);
}

/* The request's key on its carrier, found by its label. */
static enum pe_code
need_key(struct run *run, const struct pe_request *req, struct pe_err *err)
{
	struct pe_key_ref ref;
	enum pe_code rc;

	if (run->key_found)
		return PE_OK;
	rc = need_carrier(run, req, err);
	if (rc != PE_OK)
		return rc;
	memset(&ref, 0, sizeof(ref));
	rc = run->carrier->find(run->container, req->key_label, &ref, err);
	pe_key_ref_cleanup(&ref);
	if (rc == PE_OK)
		run->key_found = true;
	return rc;
}

static enum pe_code
replace(char **field, const char *value, struct pe_err *err)
{
	char *copy = NULL;

	if (value != NULL) {
		copy = strdup(value);
		if (copy == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	free(*field);
	*field = copy;
	return PE_OK;
}

/* pe_ca_key.decrypt: the carrier's decryption with the request's key. */
static enum pe_code
key_decrypt(void *ctx, const unsigned char *in, size_t len, unsigned char **out, size_t *out_len,
	    struct pe_err *err)
{
	struct run *run = ctx;

	return run->carrier->decrypt(run->container, in, len, out, out_len, err);
}

/*
 * Whether @req renews a certificate of its key: the personal index holds one
 * for the same key (carrier, token serial, CKA_ID) that an earlier request to
 * the same service brought, with the subject this request asks for (request
 * --key on a certified key). Protocols with a renewal call use it (EST
 * /simplereenroll); when the store cannot tell, it is not a renewal.
 */
static bool
renews(struct run *run, const struct pe_request *req)
{
	struct pe_cert_entry **certs = NULL, *e;
	struct pe_request *earlier = NULL;
	struct pe_cert *cert = NULL;
	struct pe_err none;
	size_t n = 0, i;
	bool found = false;

	if (req->csr == NULL || req->key_id == NULL || req->token_serial == NULL ||
	    pe_store_cert_list(run->env->store, &certs, &n, &none) != PE_OK)
		return false;
	for (i = 0; i < n && !found; i++) {
		e = certs[i];
		if (e->request_id == 0 || e->request_id == req->id || e->key_id == NULL ||
		    e->token_serial == NULL || e->carrier == NULL ||
		    strcmp(e->carrier, req->carrier) != 0 || strcmp(e->key_id, req->key_id) != 0 ||
		    strcmp(e->token_serial, req->token_serial) != 0)
			continue;
		if (pe_store_request_get(run->env->store, e->request_id, &earlier, &none) ==
			    PE_OK &&
		    strcmp(earlier->service, req->service) == 0 &&
		    pe_cert_from_der(e->der, e->der_len, &cert, &none) == PE_OK)
			found = pe_cert_subject_matches_csr(cert, req->csr, req->csr_len);
		pe_cert_free(cert);
		cert = NULL;
		pe_request_free(earlier);
		earlier = NULL;
	}
	pe_cert_entry_list_free(certs, n);
	return found;
}

/*
 * The request as the connector sees it. A connector that works with the key
 * itself (SCEP) gets it from the carrier, which is opened for that.
 */
static enum pe_code
ca_req_fill(struct run *run, const struct pe_request *req, struct pe_ca_req *creq,
	    struct pe_err *err)
{
	enum pe_code rc;

	memset(creq, 0, sizeof(*creq));
	creq->csr = req->csr;
	creq->csr_len = req->csr_len;
	creq->template_oid = req->template_oid;
	creq->id = req->ca_request_id;
	creq->state = req->ca_state;
	creq->cert = req->cert;
	creq->cert_len = req->cert_len;
	if (!run->renewal_known && req->csr != NULL) {
		run->renewal = renews(run, req);
		run->renewal_known = true;
	}
	creq->renewal = run->renewal;
	if (!run->conn.ops->needs_key)
		return PE_OK;
	if (run->spki == NULL) {
		rc = need_key(run, req, err);
		if (rc == PE_OK)
			rc = run->carrier->public_key(run->container, &run->spki, &run->spki_len,
						      err);
		if (rc != PE_OK)
			return rc;
		run->ca_key.signer = run->carrier->signer(run->container, run->spki, run->spki_len);
		if (run->carrier->decrypt != NULL) {
			run->ca_key.decrypt = key_decrypt;
			run->ca_key.decrypt_ctx = run;
		}
	}
	creq->key = &run->ca_key;
	return PE_OK;
}

/*
 * Keeps what the CA said of the request: its id, its own status and what the
 * connector keeps between calls (each only when the answer had it).
 */
static enum pe_code
ca_status_keep(struct pe_request *req, const struct pe_ca_status *status, struct pe_err *err)
{
	enum pe_code rc = PE_OK;

	if (status->id != NULL)
		rc = replace(&req->ca_request_id, status->id, err);
	if (rc == PE_OK && status->raw != NULL)
		rc = replace(&req->ca_status, status->raw, err);
	if (rc == PE_OK && status->state != NULL)
		rc = replace(&req->ca_state, status->state, err);
	return rc;
}

/*
 * Binds the carrier to @req's key and records where the key's container is
 * (a software container's name or directory) in req->container, so that a
 * later run finds it again even if this one stops right after making the key.
 */
static enum pe_code
carrier_record(struct run *run, struct pe_request *req, struct pe_err *err)
{
	enum pe_code rc;
	char *where;
	bool oom = false;

	where = run->carrier->record(run->container, req->id, req->key_label, &oom);
	if (oom)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (where == NULL)
		return PE_OK;
	rc = replace(&req->container, where, err);
	free(where);
	return rc;
}

/* Commits @state. P11ENROLL_TEST_KILL_AFTER=<state> kills the process right after (tests). */
static enum pe_code
save(struct run *run, struct pe_request *req, enum pe_request_state state, struct pe_err *err)
{
	const char *kill_after = getenv("P11ENROLL_TEST_KILL_AFTER");
	enum pe_code rc;

	req->state = state;
	rc = pe_store_request_update(run->env->store, req, err);
	if (rc == PE_OK)
		rc = pe_store_audit_append(run->env->store, req, err);
	if (rc != PE_OK)
		return rc;
	if (run->env->notify != NULL)
		run->env->notify(run->env->notify_data, req);
	pe_msg_debug("request %lld: %s", (long long)req->id, pe_request_state_name(state));
	if (kill_after != NULL && strcmp(kill_after, pe_request_state_name(state)) == 0)
		raise(SIGKILL);
	return PE_OK;
}

/* The CA could not be reached: remember where to resume and why. */
static enum pe_code
connection_problem(struct run *run, struct pe_request *req, enum pe_request_state at,
		   const struct pe_err *why, struct pe_err *err)
{
	enum pe_code rc;

	req->resume_state = at;
	rc = replace(&req->reason, why->msg, err);
	if (rc == PE_OK)
		rc = save(run, req, PE_REQ_CONNECTION_PROBLEM, err);
	return rc;
}

static enum pe_code
finish(struct run *run, struct pe_request *req, enum pe_request_state state, const char *reason,
       struct pe_err *err)
{
	enum pe_code rc = replace(&req->reason, reason, err);

	if (rc == PE_OK)
		rc = save(run, req, state, err);
	return rc;
}

/*
 * What an answer other than PE_OK from the CA means for the request: pending,
 * rejected with the CA's reason, or a connection problem to resume from @at.
 * Returns: PE_E_PENDING once that is recorded (the run stops here), else the
 * failure, which leaves the request as it was.
 */
static enum pe_code
ca_outcome(struct run *run, struct pe_request *req, enum pe_request_state at, enum pe_code rc,
	   const struct pe_err *why, struct pe_err *err)
{
	switch (rc) {
	case PE_E_PENDING:
		rc = finish(run, req, PE_REQ_PENDING, NULL, err);
		break;
	case PE_E_CA:
		rc = finish(run, req, PE_REQ_REJECTED, why->msg, err);
		break;
	case PE_E_NET:
		rc = connection_problem(run, req, at, why, err);
		break;
	default:
		*err = *why;
		return rc;
	}
	return rc == PE_OK ? PE_E_PENDING : rc;
}

static enum pe_code
step_key(struct run *run, struct pe_request *req, struct pe_err *err)
{
	struct pe_key_ref ref;
	enum pe_key_type type = pe_key_type_from_name(req->key_type);
	enum pe_code rc;

	rc = need_carrier(run, req, err);
	if (rc != PE_OK)
		return rc;
	memset(&ref, 0, sizeof(ref));
	/* a key made before a crash is found again, never made twice */
	rc = run->carrier->find(run->container, req->key_label, &ref, err);
	if (rc == PE_E_NOTFOUND) {
		rc = pe_container_key_type_check(run->carrier, run->container, type, err);
		if (rc == PE_OK)
			rc = carrier_record(run, req, err);
		if (rc == PE_OK)
			rc = run->carrier->generate(run->container, type, req->key_label, &ref,
						    err);
	}
	if (rc != PE_OK)
		return rc;
	run->key_found = true;
	rc = replace(&req->key_id, ref.id_hex, err);
	if (rc == PE_OK)
		rc = replace(&req->key_uri, ref.uri, err);
	if (rc == PE_OK)
		rc = replace(&req->token_serial, ref.serial, err);
	if (rc == PE_OK)
		rc = replace(&req->token_model, ref.model, err);
	pe_key_ref_cleanup(&ref);
	if (rc == PE_OK)
		rc = save(run, req, PE_REQ_KEY_READY, err);
	return rc;
}

static enum pe_code
step_csr(struct run *run, struct pe_request *req, struct pe_err *err)
{
	struct pe_csr_spec spec;
	struct pe_csr_field *fields = NULL;
	struct pe_csr_signer signer;
	unsigned char *spki = NULL, *der = NULL;
	size_t spki_len = 0, der_len = 0, n = 0;
	char *storage = NULL;
	enum pe_code rc;

	memset(&spec, 0, sizeof(spec));
	rc = need_key(run, req, err);
	if (rc == PE_OK)
		rc = run->carrier->public_key(run->container, &spki, &spki_len, err);
	if (rc == PE_OK)
		rc = pe_csr_dn_split(req->subject, &fields, &n, &storage, err);
	if (rc != PE_OK)
		goto out;
	spec.fields = fields;
	spec.n_fields = n;
	spec.template_oid = req->template_oid;
	spec.template_major = 1;
	spec.template_minor = 0;
	spec.sign_tool = run->env->sign_tool;
	signer = run->carrier->signer(run->container, spki, spki_len);
	rc = pe_csr_build(&spec, &signer, &der, &der_len, err);
	if (rc != PE_OK)
		goto out;
	free(req->csr);
	req->csr = der;
	req->csr_len = der_len;
	der = NULL;
	rc = save(run, req, PE_REQ_CSR_READY, err);
out:
	free(der);
	free(spki);
	free(fields);
	free(storage);
	return rc;
}

/*
 * Takes the certificate the CA sent (checked to be one; a later step checks
 * that it is ours) and records the request as issued.
 */
static enum pe_code
take_cert(struct run *run, struct pe_request *req, unsigned char **der, size_t der_len,
	  struct pe_err *why, struct pe_err *err)
{
	struct pe_cert *cert = NULL;
	enum pe_code rc;

	if (pe_cert_from_der(*der, der_len, &cert, why) != PE_OK)
		return PE_E_NET; /* garbage from the CA: ask again later */
	free(req->cert);
	req->cert = *der;
	req->cert_len = der_len;
	*der = NULL;
	rc = replace(&req->cert_serial, pe_cert_serial_hex(cert), err);
	if (rc == PE_OK)
		rc = replace(&req->cert_sha256, pe_cert_sha256_hex(cert), err);
	if (rc == PE_OK)
		rc = finish(run, req, PE_REQ_ISSUED, NULL, err);
	pe_cert_free(cert);
	return rc;
}

/* Returns: PE_OK to go on, PE_E_PENDING to stop here (the state is recorded), else a failure. */
static enum pe_code
step_submit(struct run *run, struct pe_request *req, struct pe_err *err)
{
	struct pe_ca_status status;
	struct pe_ca_req creq;
	struct pe_err why;
	enum pe_code rc;

	memset(&status, 0, sizeof(status));
	pe_err_clear(&why);
	rc = need_conn(run, &why);
	if (rc == PE_OK) {
		rc = ca_req_fill(run, req, &creq, err);
		if (rc != PE_OK)
			return rc;
		rc = run->conn.ops->submit(&run->conn.conn, &creq, &status, &why);
	}
	if ((rc == PE_OK || rc == PE_E_PENDING || rc == PE_E_CA) &&
	    ca_status_keep(req, &status, err) != PE_OK) {
		pe_ca_status_cleanup(&status);
		return PE_E_FAIL;
	}
	if (rc == PE_OK) {
		rc = finish(run, req, PE_REQ_SUBMITTED, NULL, err);
		if (rc == PE_OK && status.cert != NULL) {
			rc = take_cert(run, req, &status.cert, status.cert_len, &why, err);
			if (rc == PE_E_NET)
				rc = ca_outcome(run, req, PE_REQ_SUBMITTED, rc, &why, err);
		}
	} else {
		rc = ca_outcome(run, req, PE_REQ_CSR_READY, rc, &why, err);
	}
	pe_ca_status_cleanup(&status);
	return rc;
}

static enum pe_code
step_poll(struct run *run, struct pe_request *req, enum pe_request_state at, struct pe_err *err)
{
	struct pe_ca_status status;
	struct pe_ca_req creq;
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct pe_err why;
	enum pe_code rc;

	memset(&status, 0, sizeof(status));
	pe_err_clear(&why);
	rc = need_conn(run, &why);
	if (rc == PE_OK) {
		rc = ca_req_fill(run, req, &creq, err);
		if (rc != PE_OK)
			return rc;
		rc = run->conn.ops->poll(&run->conn.conn, &creq, &status, &why);
	}
	if (ca_status_keep(req, &status, err) != PE_OK) {
		pe_ca_status_cleanup(&status);
		return PE_E_FAIL;
	}
	if (rc == PE_OK && status.cert != NULL) {
		der = status.cert;
		der_len = status.cert_len;
		status.cert = NULL;
	} else if (rc == PE_OK && run->conn.ops->fetch != NULL) {
		/* what the request now holds: the answer may have replaced what creq borrowed */
		rc = ca_req_fill(run, req, &creq, err);
		if (rc != PE_OK) {
			pe_ca_status_cleanup(&status);
			return rc;
		}
		rc = run->conn.ops->fetch(&run->conn.conn, &creq, &der, &der_len, &why);
	} else if (rc == PE_OK) {
		rc = pe_err_set(&why, PE_E_NET,
				"the CA said the request is issued, "
				"but sent no certificate");
	}
	pe_ca_status_cleanup(&status);
	if (rc == PE_OK) {
		rc = take_cert(run, req, &der, der_len, &why, err);
		if (rc == PE_E_NET) /* garbage from the CA: ask again later */
			rc = ca_outcome(run, req, at, rc, &why, err);
	} else {
		rc = ca_outcome(run, req, at, rc, &why, err);
	}
	free(der);
	return rc;
}

/* The checks before a certificate goes anywhere near the key, then the installation. */
static enum pe_code
step_install(struct run *run, struct pe_request *req, struct pe_err *err)
{
	struct pe_cert_entry entry;
	struct pe_cert *cert = NULL;
	unsigned char *spki = NULL;
	size_t spki_len = 0, roots = 0;
	char *pem = NULL;
	struct pe_err why;
	bool written = false;
	enum pe_code rc;

	pe_err_clear(&why);
	rc = pe_cert_from_der(req->cert, req->cert_len, &cert, err);
	if (rc != PE_OK)
		goto out;
	rc = pe_store_roots_pem(run->env->store, req->service, &pem, &roots, err);
	if (rc != PE_OK)
		goto out;
	if (roots == 0) {
		rc = pe_err_set(err, PE_E_USAGE,
				"service '%s' has no trusted root to check the "
				"certificate against: run 'p11enroll install-roots --service %s'",
				req->service, req->service);
		goto out;
	}
	rc = need_key(run, req, err);
	if (rc == PE_OK)
		rc = run->carrier->public_key(run->container, &spki, &spki_len, err);
	if (rc != PE_OK)
		goto out;
	if (!pe_cert_matches_spki(cert, spki, spki_len)) {
		rc = finish(run, req, PE_REQ_FAILED,
			    "the CA issued a certificate for another key; "
			    "it was not installed",
			    err);
		goto out;
	}
	if (pe_cert_verify_chain(cert, pem, &why) != PE_OK) {
		rc = finish(run, req, PE_REQ_FAILED, why.msg, err);
		goto out;
	}
	rc = run->carrier->install(run->container, cert, &written, err);
	if (rc != PE_OK)
		goto out;
	memset(&entry, 0, sizeof(entry));
	entry.request_id = req->id;
	entry.carrier = req->carrier;
	entry.token_serial = req->token_serial;
	entry.key_id = req->key_id;
	entry.subject = (char *)pe_cert_subject(cert);
	entry.issuer = (char *)pe_cert_issuer(cert);
	entry.serial = (char *)pe_cert_serial_hex(cert);
	entry.sha256 = (char *)pe_cert_sha256_hex(cert);
	entry.not_after = (char *)pe_cert_not_after(cert);
	entry.der = req->cert;
	entry.der_len = req->cert_len;
	rc = pe_store_cert_add(run->env->store, &entry, err);
	free(entry.installed_at); /* the one field the store fills in */
	if (rc == PE_OK)
		rc = finish(run, req, PE_REQ_INSTALLED, NULL, err);
out:
	free(pem);
	free(spki);
	pe_cert_free(cert);
	return rc;
}

static enum pe_code
step_ack(struct run *run, struct pe_request *req, struct pe_err *err)
{
	const struct pe_ca_ops *ops = pe_ca_find(run->svc->protocol);
	struct pe_ca_req creq;
	struct pe_err why;
	enum pe_code rc;

	/* a protocol with nothing to confirm: installing was the last step */
	if (ops != NULL && ops->ack == NULL)
		return finish(run, req, PE_REQ_ACKNOWLEDGED, NULL, err);
	pe_err_clear(&why);
	rc = need_conn(run, &why);
	if (rc == PE_OK) {
		rc = ca_req_fill(run, req, &creq, err);
		if (rc != PE_OK)
			return rc;
		rc = run->conn.ops->ack(&run->conn.conn, &creq, &why);
	}
	if (rc == PE_OK)
		return finish(run, req, PE_REQ_ACKNOWLEDGED, NULL, err);
	if (rc == PE_E_NET) {
		rc = connection_problem(run, req, PE_REQ_INSTALLED, &why, err);
		return rc == PE_OK ? PE_E_PENDING : rc;
	}
	/* the certificate is installed; the CA declining the acknowledgement is only noted */
	rc = replace(&req->reason, why.msg, err);
	if (rc == PE_OK)
		rc = save(run, req, PE_REQ_INSTALLED, err);
	return rc == PE_OK ? PE_E_PENDING : rc;
}

static enum pe_code
drive(struct run *run, struct pe_request *req, struct pe_err *err)
{
	enum pe_request_state at;
	enum pe_code rc = PE_OK;

	while (rc == PE_OK && !pe_enroll_request_done(req)) {
		at = req->state == PE_REQ_CONNECTION_PROBLEM ? req->resume_state : req->state;
		switch (at) {
		case PE_REQ_NEW:
			rc = step_key(run, req, err);
			break;
		case PE_REQ_KEY_READY:
			rc = step_csr(run, req, err);
			break;
		case PE_REQ_CSR_READY:
			rc = step_submit(run, req, err);
			break;
		case PE_REQ_SUBMITTED:
		case PE_REQ_PENDING:
			rc = step_poll(run, req, at, err);
			break;
		case PE_REQ_ISSUED:
			rc = step_install(run, req, err);
			break;
		case PE_REQ_INSTALLED:
			rc = step_ack(run, req, err);
			break;
		default:
			rc = pe_err_set(err, PE_E_FAIL, "request %lld is in state '%s'",
					(long long)req->id, pe_request_state_name(at));
			break;
		}
	}
	return rc == PE_E_PENDING ? PE_OK : rc;
}

enum pe_code
pe_enroll_refresh(struct pe_enroll_env *env, struct pe_request *req, struct pe_err *err)
{
	struct run run;
	enum pe_code rc;

	memset(&run, 0, sizeof(run));
	run.env = env;
	if (pe_enroll_request_done(req))
		return PE_OK;
	rc = pe_store_service_get(env->store, req->service, &run.svc, err);
	if (rc == PE_OK)
		rc = drive(&run, req, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "request %lld", (long long)req->id);
	run_cleanup(&run);
	return rc;
}

static enum pe_code
service_ready(struct run *run, struct pe_err *err)
{
	enum pe_ca_login_state state = PE_CA_LOGIN_REFUSED;
	struct pe_err why;
	enum pe_code rc;

	pe_err_clear(err);
	rc = need_conn(run, err);
	if (rc == PE_OK && run->conn.ops->login_required && run->svc->login == NULL)
		return pe_err_set(err, PE_E_USAGE,
				  "service '%s' has no login: run add-service "
				  "with --register or --login",
				  run->svc->name);
	if (rc != PE_OK)
		return rc;
	pe_err_clear(&why);
	rc = run->conn.ops->login_status(&run->conn.conn, &state, &why);
	if (rc != PE_OK) {
		*err = why;
		return rc;
	}
	switch (state) {
	case PE_CA_LOGIN_READY:
		return PE_OK;
	case PE_CA_LOGIN_AWAITING_APPROVAL:
		return pe_err_set(err, PE_E_PENDING,
				  "service '%s': the registration is not "
				  "approved yet; wait for the CA operator",
				  run->svc->name);
	case PE_CA_LOGIN_REJECTED:
		return pe_err_set(err, PE_E_CA, "service '%s': the registration was rejected",
				  run->svc->name);
	case PE_CA_LOGIN_REFUSED:
		break;
	}
	/* the connector's reason, where it gave one; a protocol may have no login */
	if (run->svc->login == NULL)
		return pe_err_set(err, PE_E_USAGE, "service '%s' refuses the credentials%s%s",
				  run->svc->name, why.msg[0] != '\0' ? ": " : "", why.msg);
	return pe_err_set(err, PE_E_USAGE, "service '%s' refuses the login '%s'%s%s",
			  run->svc->name, run->svc->login, why.msg[0] != '\0' ? ": " : "", why.msg);
}

static enum pe_code
template_offered(struct run *run, const char *oid, struct pe_err *err)
{
	struct pe_ca_template *templates = NULL;
	size_t n = 0, i;
	enum pe_code rc;

	if (run->conn.ops->templates == NULL)
		return PE_OK; /* the protocol has no templates: the CA decides */
	rc = run->conn.ops->templates(&run->conn.conn, &templates, &n, err);
	if (rc != PE_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (strcmp(templates[i].oid, oid) == 0)
			break;
	}
	if (i == n)
		rc = pe_err_set(err, PE_E_USAGE,
				"service '%s' offers no template %s: see "
				"'p11enroll list-templates --service %s'",
				run->svc->name, oid, run->svc->name);
	pe_ca_templates_free(templates, n);
	return rc;
}

/* Returns: true when the carrier already holds a key (or any object) labelled @label. */
static bool
label_taken(struct run *run, const char *label)
{
	struct pe_key_ref ref;
	struct pe_err none;
	bool taken, used = false;

	memset(&ref, 0, sizeof(ref));
	taken = run->carrier->find(run->container, label, &ref, &none) != PE_E_NOTFOUND;
	pe_key_ref_cleanup(&ref);
	if (!taken && run->carrier->label_used != NULL)
		taken = run->carrier->label_used(run->container, label, &used, &none) != PE_OK ||
			used;
	return taken;
}

/* A label the user chose: PE_OK when the carrier has no key (container) by that name. */
static enum pe_code
label_unused(struct run *run, const char *carrier, const char *label, struct pe_err *err)
{
	struct pe_key_ref ref;
	bool used = false;
	enum pe_code rc;

	memset(&ref, 0, sizeof(ref));
	rc = run->carrier->find(run->container, label, &ref, err);
	pe_key_ref_cleanup(&ref);
	if (rc == PE_OK)
		return pe_err_set(err, PE_E_USAGE, "the %s already has a key labelled '%s'",
				  carrier, label);
	if (rc != PE_E_NOTFOUND)
		return rc;
	/* the request's key alone will carry its label: a later generation counts on it */
	if (run->carrier->label_used != NULL) {
		rc = run->carrier->label_used(run->container, label, &used, err);
		if (rc == PE_OK && used)
			rc = pe_err_set(err, PE_E_USAGE,
					"the %s already has an object labelled '%s'", carrier,
					label);
	}
	return rc == PE_E_NOTFOUND ? PE_OK : rc;
}

/*
 * A label for request @id's key that the carrier does not hold yet:
 * "p11enroll-ID", or "p11enroll-ID-N" where another store's request took it.
 * The label is how a resumed request finds its key, so it must be its own.
 */
static enum pe_code
label_free(struct run *run, int64_t id, char *label, size_t size, struct pe_err *err)
{
	int n;

	snprintf(label, size, "p11enroll-%lld", (long long)id);
	for (n = 2; label_taken(run, label); n++) {
		if (n > 100)
			return pe_err_set(err, PE_E_USAGE, "no free key label for request %lld",
					  (long long)id);
		snprintf(label, size, "p11enroll-%lld-%d", (long long)id, n);
	}
	return PE_OK;
}

/*
 * The existing key spec->key_uri names, for a request of its own: exactly one
 * private key, its public key at hand, a type the carrier signs with, and a
 * label that finds it again (a resumed request finds its key by its label).
 * A certificate already beside it stays: the new one is written next to it.
 */
static enum pe_code
existing_key(struct run *run, const struct pe_enroll_spec *spec, struct pe_key_ref *key,
	     struct pe_err *err)
{
	struct pe_key_ref again;
	enum pe_code rc;

	if (run->carrier->find_uri == NULL)
		return pe_err_set(err, PE_E_USAGE, "the %s carrier cannot enroll an existing key",
				  spec->carrier);
	rc = run->carrier->find_uri(run->container, spec->key_uri, key, err);
	if (rc != PE_OK) {
		pe_err_prefix(err, "--key '%s'", spec->key_uri);
		pe_key_ref_cleanup(key);
		return rc;
	}
	if (key->type == PE_KEY_NONE ||
	    !(run->carrier->key_types(run->container) & (1u << key->type)))
		rc = pe_err_set(err, PE_E_USAGE, "key '%s' is of a type the %s cannot sign with",
				key->uri, spec->carrier);
	else if (key->label == NULL || key->label[0] == '\0')
		rc = pe_err_set(err, PE_E_USAGE,
				"key '%s' has no label: p11enroll finds a request's key "
				"again by its label",
				key->uri);
	if (rc != PE_OK) {
		pe_key_ref_cleanup(key);
		return rc;
	}
	/* the label must lead back to this very key */
	memset(&again, 0, sizeof(again));
	rc = run->carrier->find(run->container, key->label, &again, err);
	if (rc == PE_OK && strcmp(again.id_hex, key->id_hex) != 0)
		rc = PE_E_USAGE;
	if (rc == PE_E_USAGE || rc == PE_E_NOTFOUND)
		rc = pe_err_set(err, PE_E_USAGE,
				"another private key on the %s is also labelled '%s': p11enroll "
				"finds a request's key again by its label",
				spec->carrier, key->label);
	pe_key_ref_cleanup(&again);
	if (rc != PE_OK)
		pe_key_ref_cleanup(key);
	return rc;
}

enum pe_code
pe_enroll_request(struct pe_enroll_env *env, const struct pe_enroll_spec *spec,
		  struct pe_request **out, struct pe_err *err)
{
	struct pe_ca_value *profile = NULL;
	struct pe_ca_form form = { NULL, 0 };
	struct pe_request *req = NULL;
	struct pe_key_ref key;
	size_t n_profile = 0;
	struct pe_err none;
	struct run run;
	char label[64];
	enum pe_code rc;

	memset(&run, 0, sizeof(run));
	memset(&key, 0, sizeof(key));
	run.env = env;
	if (spec->key_type == PE_KEY_NONE && spec->key_uri == NULL)
		return pe_err_set(err, PE_E_USAGE, "no key type");
	rc = pe_store_service_get(env->store, spec->service, &run.svc, err);
	if (rc == PE_OK)
		rc = service_ready(&run, err);
	if (rc == PE_OK)
		rc = template_offered(&run, spec->template_oid, err);
	if (rc == PE_OK && run.conn.ops->profile != NULL)
		rc = run.conn.ops->profile(&run.conn.conn, &profile, &n_profile, err);
	req = calloc(1, sizeof(*req));
	if (rc == PE_OK && req == NULL)
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
	/* the CA's form names the fields to ask for; a protocol without one asks by OID */
	if (rc == PE_OK && env->ask != NULL && run.conn.ops->form != NULL &&
	    run.conn.ops->form(&run.conn.conn, &form, &none) != PE_OK)
		pe_ca_form_free(&form);
	if (rc == PE_OK)
		rc = subject_build(env, spec, profile, n_profile, &form, &req->subject, err);
	/* the carrier is opened (and a new token set up) before anything is recorded */
	if (rc == PE_OK) {
		run.carrier = pe_container_find(spec->carrier);
		if (run.carrier == NULL)
			rc = pe_err_set(err, PE_E_USAGE, "carrier '%s' is not one p11enroll has",
					spec->carrier);
	}
	if (rc == PE_OK)
		rc = run.carrier->open(&env->carrier, &run.container, err);
	if (rc == PE_OK && spec->key_uri != NULL)
		rc = existing_key(&run, spec, &key, err);
	if (rc == PE_OK && run.conn.ops->needs_rsa &&
	    pe_key_type_family(key.label != NULL ? key.type : spec->key_type) != PE_FAMILY_RSA)
		rc = pe_err_set(err, PE_E_USAGE, "service '%s' (%s) needs an RSA key, not %s%s",
				spec->service, run.conn.ops->name,
				pe_key_type_name(key.label != NULL ? key.type : spec->key_type),
				key.label != NULL ? "" : ": use --key-type rsa-2048");
	if (rc == PE_OK && spec->key_uri == NULL)
		rc = pe_container_key_type_check(run.carrier, run.container, spec->key_type, err);
	if (rc == PE_OK && spec->key_uri == NULL && spec->key_label != NULL)
		rc = label_unused(&run, spec->carrier, spec->key_label, err);
	if (rc != PE_OK)
		goto out;

	/* an existing key: the request starts where a made one would be */
	req->state = key.label != NULL ? PE_REQ_KEY_READY : PE_REQ_NEW;
	req->resume_state = req->state;
	if (replace(&req->service, spec->service, err) != PE_OK ||
	    replace(&req->owner_type, spec->owner_type, err) != PE_OK ||
	    replace(&req->template_oid, spec->template_oid, err) != PE_OK ||
	    replace(&req->carrier, spec->carrier, err) != PE_OK ||
	    replace(&req->key_type, pe_key_type_name(spec->key_type), err) != PE_OK ||
	    replace(&req->token_serial, run.carrier->serial(run.container), err) != PE_OK ||
	    replace(&req->token_model, run.carrier->model(run.container), err) != PE_OK ||
	    replace(&req->key_label, spec->key_label, err) != PE_OK ||
	    replace(&req->origin, spec->origin, err) != PE_OK) {
		rc = PE_E_FAIL;
		goto out;
	}
	if (key.label != NULL &&
	    (replace(&req->key_type, pe_key_type_name(key.type), err) != PE_OK ||
	     replace(&req->key_label, key.label, err) != PE_OK ||
	     replace(&req->key_id, key.id_hex, err) != PE_OK ||
	     replace(&req->key_uri, key.uri, err) != PE_OK)) {
		rc = PE_E_FAIL;
		goto out;
	}
	run.key_found = key.label != NULL;
	rc = pe_store_request_add(env->store, req, err);
	if (rc == PE_OK)
		rc = pe_store_audit_append(env->store, req, err);
	if (rc != PE_OK)
		goto out;
	if (env->notify != NULL)
		env->notify(env->notify_data, req);
	if (req->key_label == NULL) {
		rc = label_free(&run, req->id, label, sizeof(label), err);
		if (rc == PE_OK)
			rc = replace(&req->key_label, label, err);
	}
	/* where the key will be is recorded before it is made */
	if (rc == PE_OK)
		rc = carrier_record(&run, req, err);
	if (rc == PE_OK)
		rc = pe_store_request_update(env->store, req, err);
	if (rc != PE_OK)
		goto out;
	rc = drive(&run, req, err);
	if (rc != PE_OK)
		pe_err_prefix(err, "request %lld (recorded; 'p11enroll refresh %lld' continues)",
			      (long long)req->id, (long long)req->id);
	*out = req;
	req = NULL;
out:
	pe_key_ref_cleanup(&key);
	pe_ca_form_free(&form);
	pe_ca_values_free(profile, n_profile);
	pe_request_free(req);
	run_cleanup(&run);
	return rc;
}
