/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The token carrier: the request's key is made on the token, the token signs
 * the request, and the certificate is written next to the key. A token that
 * is not initialised yet is set up first (label, SO PIN, user PIN twice).
 * The token's profile (tokens/) decides the CKA_ID scheme and whether
 * certificates are private.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "profile/profile.h"

struct pe_container {
	struct pe_p11_token *tok;
	struct pe_token_profile *profile;
	struct pe_p11_key *key; /* the key found or made last */
};

static void
token_close(struct pe_container *c)
{
	if (c == NULL)
		return;
	pe_p11_key_free(c->key);
	pe_p11_token_free(c->tok);
	pe_token_profile_free(c->profile);
	free(c);
}

/* C_InitToken on the token opened without a session, then a session: the token was new. */
static enum pe_code
token_setup(struct pe_container *c, const struct pe_carrier_env *env, struct pe_err *err)
{
	struct pe_secret *so_pin = NULL, *user_pin = NULL;
	const char *label = env->init_label ? env->init_label : "p11enroll";
	char serial_uri[96];
	enum pe_code rc;

	pe_msg_info("the token in slot %lu is new: setting it up as '%s'",
		    pe_p11_token_info(c->tok)->slot_id, label);
	/* PINs read once for many tokens (batch) are copied, checked like typed ones */
	if (env->so_pin != NULL) {
		so_pin = pe_secret_new(env->so_pin->data, env->so_pin->len);
		rc = so_pin == NULL ? pe_err_set(err, PE_E_FAIL, "out of memory")
				    : pe_token_profile_pin_check(
					      c->profile, pe_p11_token_info(c->tok), so_pin, err);
	} else {
		rc = pe_token_profile_new_pin(c->profile, pe_p11_token_info(c->tok),
					      env->so_pin_source, "--so-pin-source", "SO PIN",
					      &so_pin, err);
	}
	if (rc == PE_OK && env->pin != NULL) {
		user_pin = pe_secret_new(env->pin->data, env->pin->len);
		rc = user_pin == NULL
			     ? pe_err_set(err, PE_E_FAIL, "out of memory")
			     : pe_token_profile_pin_check(c->profile, pe_p11_token_info(c->tok),
							  user_pin, err);
	} else if (rc == PE_OK) {
		rc = pe_token_profile_new_pin(c->profile, pe_p11_token_info(c->tok),
					      env->pin_source, "--pin-source", "user PIN",
					      &user_pin, err);
	}
	if (rc == PE_OK)
		rc = pe_p11_token_init(c->tok, label, so_pin, user_pin, err);
	if (rc == PE_OK) {
		/* from now on the token is found by its new serial */
		snprintf(serial_uri, sizeof(serial_uri), "pkcs11:serial=%s",
			 pe_p11_token_info(c->tok)->serial);
		pe_p11_token_free(c->tok);
		c->tok = NULL;
		rc = pe_p11_token_open(env->p11, serial_uri, PE_P11_OPEN_RW, &c->tok, err);
	}
	if (rc == PE_OK)
		rc = pe_p11_token_login(c->tok, PE_P11_USER, user_pin, err);
	pe_secret_free(so_pin);
	pe_secret_free(user_pin);
	return rc;
}

/* The login rules with a PIN read before (one PIN for many requests). */
static enum pe_code
token_login_pin(struct pe_p11_token *tok, const struct pe_secret *pin, struct pe_err *err)
{
	enum pe_code rc = pe_p11_token_login_check(tok, PE_P11_USER, err);

	if (rc == PE_OK)
		rc = pe_p11_token_login(tok, PE_P11_USER, pin, err);
	return rc;
}

static enum pe_code
token_open(const struct pe_carrier_env *env, struct pe_container **out, struct pe_err *err)
{
	struct pe_container *c;
	char uri[96];
	const char *want = env->token_uri;
	const struct pe_p11_slot *info;
	enum pe_code rc;

	if (want == NULL && env->token_serial != NULL) {
		snprintf(uri, sizeof(uri), "pkcs11:serial=%s", env->token_serial);
		want = uri;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	/* looked at first without a session: C_InitToken wants none */
	rc = pe_p11_token_open(env->p11, want, PE_P11_OPEN_NO_SESSION | PE_P11_OPEN_UNINITIALIZED,
			       &c->tok, err);
	if (rc == PE_E_NOTFOUND && env->token_serial != NULL)
		pe_err_prefix(err, "the request's token (serial %s) is not present",
			      env->token_serial);
	if (rc != PE_OK)
		goto out;
	info = pe_p11_token_info(c->tok);
	rc = pe_token_profile_find(NULL, info->manufacturer, info->model, &c->profile, err);
	if (rc != PE_OK)
		goto out;
	if (!(info->flags & PE_P11_F_INITIALIZED)) {
		rc = token_setup(c, env, err);
		goto out;
	}
	pe_p11_token_free(c->tok);
	c->tok = NULL;
	rc = pe_p11_token_open(env->p11, want, PE_P11_OPEN_RW, &c->tok, err);
	if (rc == PE_OK)
		rc = env->pin != NULL
			     ? token_login_pin(c->tok, env->pin, err)
			     : pe_p11_token_login_source(c->tok, PE_P11_USER, env->pin_source,
							 "--pin-source", err);
out:
	if (rc != PE_OK) {
		token_close(c);
		return rc;
	}
	*out = c;
	return PE_OK;
}

static unsigned
token_key_types(struct pe_container *c)
{
	unsigned types = pe_p11_token_info(c->tok)->key_types;

	if (c->profile->key_types != 0)
		types &= c->profile->key_types;
	return types;
}

static enum pe_code
key_ref_fill(struct pe_container *c, struct pe_key_ref *ref, struct pe_err *err)
{
	const struct pe_p11_slot *info = pe_p11_token_info(c->tok);
	const unsigned char *id;
	size_t id_len;

	id = pe_p11_key_id(c->key, &id_len);
	ref->label = strdup(pe_p11_key_label(c->key));
	ref->id_hex = pe_hex_encode(id, id_len);
	ref->uri = strdup(pe_p11_key_uri(c->key));
	ref->serial = strdup(info->serial);
	ref->model = strdup(info->model);
	ref->type = pe_p11_key_type(c->key);
	if (ref->label == NULL || ref->id_hex == NULL || ref->uri == NULL || ref->serial == NULL ||
	    ref->model == NULL) {
		pe_key_ref_cleanup(ref);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

static enum pe_code
token_generate(struct pe_container *c, enum pe_key_type type, const char *label,
	       struct pe_key_ref *ref, struct pe_err *err)
{
	struct pe_p11_keygen gen = { type, label, NULL, 0, c->profile->id_scheme };
	size_t removed = 0;
	enum pe_code rc;

	rc = pe_token_profile_label_check(c->profile, label, err);
	if (rc != PE_OK)
		return rc;
	pe_p11_key_free(c->key);
	c->key = NULL;
	/* a generation for this label that was cut short left a public key alone */
	rc = pe_p11_key_orphans_remove(c->tok, label, &removed, err);
	if (rc != PE_OK)
		return rc;
	rc = pe_p11_key_generate(c->tok, &gen, &c->key, err);
	if (rc != PE_OK)
		return rc;
	return key_ref_fill(c, ref, err);
}

static enum pe_code
token_label_used(struct pe_container *c, const char *label, bool *used, struct pe_err *err)
{
	size_t count = 0;
	enum pe_code rc;

	rc = pe_p11_label_count(c->tok, label, &count, err);
	if (rc == PE_OK)
		*used = count > 0;
	return rc;
}

static enum pe_code
token_find(struct pe_container *c, const char *label, struct pe_key_ref *ref, struct pe_err *err)
{
	enum pe_code rc;

	pe_p11_key_free(c->key);
	c->key = NULL;
	rc = pe_p11_key_open_label(c->tok, label, &c->key, err);
	if (rc != PE_OK)
		return rc;
	return key_ref_fill(c, ref, err);
}

static enum pe_code
token_find_uri(struct pe_container *c, const char *uri, struct pe_key_ref *ref, struct pe_err *err)
{
	enum pe_code rc;

	pe_p11_key_free(c->key);
	c->key = NULL;
	rc = pe_p11_key_open(c->tok, uri, &c->key, err);
	if (rc != PE_OK)
		return rc;
	return key_ref_fill(c, ref, err);
}

static enum pe_code
token_public_key(struct pe_container *c, unsigned char **spki, size_t *len, struct pe_err *err)
{
	pe_return_val_if_fail(c->key != NULL, PE_E_FAIL);
	return pe_p11_key_public_der(c->key, spki, len, err);
}

static struct pe_csr_signer
token_signer(struct pe_container *c, const unsigned char *spki, size_t len)
{
	return pe_csr_signer_token(c->key, spki, len);
}

static enum pe_code
token_install(struct pe_container *c, const struct pe_cert *cert, bool *written, struct pe_err *err)
{
	struct pe_p11_cert_result res;
	enum pe_code rc;

	rc = pe_p11_cert_import(c->tok, pe_cert_p11(cert), c->profile->cert_private, &res, err);
	if (rc != PE_OK)
		return rc;
	*written = !res.already_present;
	pe_p11_cert_result_cleanup(&res);
	return PE_OK;
}

static const char *
token_serial(struct pe_container *c)
{
	return pe_p11_token_info(c->tok)->serial;
}

static const char *
token_model(struct pe_container *c)
{
	return pe_p11_token_info(c->tok)->model;
}

static enum pe_code
token_decrypt(struct pe_container *c, const unsigned char *in, size_t len, unsigned char **out,
	      size_t *out_len, struct pe_err *err)
{
	pe_return_val_if_fail(c->key != NULL, PE_E_FAIL);
	return pe_p11_key_decrypt(c->key, in, len, out, out_len, err);
}

/* A token's key is found again by the token's serial, kept with the request. */
static char *
token_record(struct pe_container *c, int64_t request_id, const char *label, bool *oom)
{
	(void)c;
	(void)request_id;
	(void)label;
	*oom = false;
	return NULL;
}

/* One certificate object of a token, as a container entry. */
static enum pe_code
cert_info(const struct pe_p11_slot *slot, struct pe_p11_cert_object *obj,
	  struct pe_container_info *info, struct pe_err *err)
{
	memset(info, 0, sizeof(*info));
	info->name = obj->label != NULL ? strdup(obj->label) : NULL;
	info->location = strdup(slot->uri);
	info->serial = strdup(slot->serial);
	info->cert = obj->der;
	info->cert_len = obj->der_len;
	obj->der = NULL;
	if ((obj->label != NULL && info->name == NULL) || info->location == NULL ||
	    info->serial == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

/* The certificates every present token shows without a login. */
static enum pe_code
token_list(const struct pe_carrier_env *env, struct pe_container_info **out, size_t *n,
	   struct pe_err *err)
{
	struct pe_container_info *list = NULL, *grown;
	struct pe_p11_cert_object *objs = NULL;
	struct pe_p11_slot *slots = NULL;
	struct pe_p11_token *tok;
	size_t n_slots = 0, n_objs, count = 0, i, j;
	struct pe_err skip;
	enum pe_code rc;

	*out = NULL;
	*n = 0;
	if (env->p11 == NULL)
		return PE_OK;
	rc = pe_p11_slot_list(env->p11, &slots, &n_slots, err);
	if (rc != PE_OK)
		return rc;
	for (i = 0; rc == PE_OK && i < n_slots; i++) {
		if (!slots[i].token_present || !(slots[i].flags & PE_P11_F_INITIALIZED))
			continue;
		tok = NULL;
		n_objs = 0;
		objs = NULL;
		/* a token that cannot be read now is left out, not an error */
		if (pe_p11_token_open(env->p11, slots[i].uri, 0, &tok, &skip) != PE_OK ||
		    pe_p11_cert_list(tok, &objs, &n_objs, &skip) != PE_OK) {
			pe_msg_debug("token %s: %s", slots[i].uri, skip.msg);
			n_objs = 0;
		}
		if (n_objs > 0) {
			grown = realloc(list, (count + n_objs) * sizeof(*list));
			if (grown == NULL)
				rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			else
				list = grown;
		}
		for (j = 0; rc == PE_OK && j < n_objs; j++)
			rc = cert_info(&slots[i], &objs[j], &list[count++], err);
		pe_p11_cert_objects_free(objs, n_objs);
		pe_p11_token_free(tok);
	}
	pe_p11_slot_list_free(slots, n_slots);
	if (rc != PE_OK) {
		pe_container_info_list_free(list, count);
		return rc;
	}
	*out = list;
	*n = count;
	return PE_OK;
}

const struct pe_container_ops pe_container_token_ops = {
	.name = "token",
	.open = token_open,
	.close = token_close,
	.key_types = token_key_types,
	.generate = token_generate,
	.find = token_find,
	.public_key = token_public_key,
	.signer = token_signer,
	.install = token_install,
	.serial = token_serial,
	.model = token_model,
	.decrypt = token_decrypt,
	.find_uri = token_find_uri,
	.record = token_record,
	.label_used = token_label_used,
	.list = token_list,
};
