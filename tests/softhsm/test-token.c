/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The token flows against throw-away SoftHSM tokens: URI resolution, PIN
 * safety, init-token, key generation, requests signed by the token and
 * certificates written back. PKCS#11 error paths (locked PIN, PIN pad,
 * missing mechanisms) come from a copy of the module's function list with
 * one entry replaced (p11-kit test-iter.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csr/csr.h"
#include "lib/softhsm.h"
#include "p11/p11-int.h"

static CK_FUNCTION_LIST *real;	/* the module as loaded */
static CK_FUNCTION_LIST faulty; /* the copy the context uses */
static struct pe_p11_ctx *ctx;

/* What the replaced entries do and saw */
static CK_FLAGS extra_token_flags;
static int login_calls;
static bool login_pin_was_null;
static CK_RV login_rv = CKR_OK;
static CK_MECHANISM_TYPE dropped_mech = CK_UNAVAILABLE_INFORMATION;
/* C_GenerateKeyPair cut short: the process dies once the token wrote the public key */
static enum { KEYGEN_OK, KEYGEN_PUBLIC_ONLY, KEYGEN_PRIVATE_UNLABELLED } keygen_fault;

static CK_RV
fake_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	CK_RV rv = real->C_GetTokenInfo(slot, info);

	if (rv == CKR_OK)
		info->flags |= extra_token_flags;
	return rv;
}

static CK_RV
fake_login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR *pin, CK_ULONG len)
{
	login_calls++;
	login_pin_was_null = pin == NULL;
	if (login_rv != CKR_OK)
		return login_rv;
	if (pin == NULL) /* the "PIN pad" enters the right PIN */
		return real->C_Login(session, user, (CK_UTF8CHAR *)PE_TEST_USER_PIN,
				     strlen(PE_TEST_USER_PIN));
	return real->C_Login(session, user, pin, len);
}

static CK_RV
fake_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
	CK_ULONG i, j;
	CK_RV rv;

	rv = real->C_GetMechanismList(slot, list, count);
	if (rv != CKR_OK || list == NULL)
		return rv;
	for (i = 0, j = 0; i < *count; i++) {
		if (list[i] != dropped_mech)
			list[j++] = list[i];
	}
	*count = j;
	return rv;
}

/*
 * The real generation, then what a kill inside C_GenerateKeyPair leaves: the
 * public key alone (the private key is removed again), or a private key that
 * lost its label; the caller never hears of either.
 */
static CK_RV
fake_generate_key_pair(CK_SESSION_HANDLE session, CK_MECHANISM *mech, CK_ATTRIBUTE *pub_tmpl,
		       CK_ULONG n_pub, CK_ATTRIBUTE *priv_tmpl, CK_ULONG n_priv,
		       CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_ATTRIBUTE no_label = { CKA_LABEL, "", 0 };
	CK_RV rv;

	rv = real->C_GenerateKeyPair(session, mech, pub_tmpl, n_pub, priv_tmpl, n_priv, pub, priv);
	if (rv != CKR_OK || keygen_fault == KEYGEN_OK)
		return rv;
	if (keygen_fault == KEYGEN_PUBLIC_ONLY)
		assert_int_equal(real->C_DestroyObject(session, *priv), CKR_OK);
	else
		assert_int_equal(real->C_SetAttributeValue(session, *priv, &no_label, 1), CKR_OK);
	*pub = CK_INVALID_HANDLE;
	*priv = CK_INVALID_HANDLE;
	return CKR_DEVICE_REMOVED;
}

static void
faults_clear(void)
{
	memcpy(&faulty, real, sizeof(faulty));
	faulty.C_GetTokenInfo = fake_get_token_info;
	faulty.C_Login = fake_login;
	faulty.C_GetMechanismList = fake_get_mechanism_list;
	faulty.C_GenerateKeyPair = fake_generate_key_pair;
	keygen_fault = KEYGEN_OK;
	extra_token_flags = 0;
	login_calls = 0;
	login_pin_was_null = false;
	login_rv = CKR_OK;
	dropped_mech = CK_UNAVAILABLE_INFORMATION;
}

static int
group_setup(void **state)
{
	static const char *const labels[] = { "alpha", "beta", NULL };
	const char *module;
	struct pe_err err;

	module = pe_test_softhsm_setup("softhsm-test-token", labels);
	if (module == NULL)
		exit(pe_test_skip_status());
	real = p11_kit_module_load(module, P11_KIT_MODULE_UNMANAGED);
	if (real == NULL || p11_kit_module_initialize(real) != CKR_OK)
		return -1;
	faults_clear();
	if (pe_p11_ctx_new_borrowed(&faulty, "softhsm", &ctx, &err) != PE_OK)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	pe_p11_ctx_free(ctx);
	p11_kit_module_finalize(real);
	p11_kit_module_release(real);
	return 0;
}

static int
test_setup(void **state)
{
	faults_clear();
	return 0;
}

static struct pe_secret *
secret(const char *text)
{
	struct pe_secret *s = pe_secret_new(text, strlen(text));

	assert_non_null(s);
	return s;
}

/* Opens @uri read-write and logs in as the user. */
static struct pe_p11_token *
open_login(const char *uri)
{
	struct pe_p11_token *tok = NULL;
	struct pe_secret *pin = secret(PE_TEST_USER_PIN);
	struct pe_err err;

	assert_int_equal(pe_p11_token_open(ctx, uri, PE_P11_OPEN_RW, &tok, &err), PE_OK);
	assert_int_equal(pe_p11_token_login_check(tok, PE_P11_USER, &err), PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, pin, &err), PE_OK);
	pe_secret_free(pin);
	return tok;
}

static void
test_token_open_ambiguous(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_err err;

	assert_int_equal(
		pe_p11_token_open(ctx, "pkcs11:manufacturer=SoftHSM%20project", 0, &tok, &err),
		PE_E_USAGE);
	assert_non_null(strstr(err.msg, "'alpha'"));
	assert_non_null(strstr(err.msg, "'beta'"));
	assert_null(tok);
	assert_int_equal(login_calls, 0);
}

static void
test_token_open_not_found(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_err err;

	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=gamma", 0, &tok, &err),
			 PE_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "pkcs11:token=gamma"));
	assert_int_equal(pe_p11_token_open(ctx, "not a uri", 0, &tok, &err), PE_E_USAGE);
}

static void
test_token_open_uninitialized_refused(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_err err;

	/* SoftHSM always offers one empty slot; its token has no label */
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=", 0, &tok, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "not initialized"));
}

static void
test_login_wrong_pin_not_retried(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_secret *pin = secret("9999");
	struct pe_err err;

	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=beta", 0, &tok, &err), PE_OK);
	assert_int_equal(pe_p11_token_login_check(tok, PE_P11_USER, &err), PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, pin, &err), PE_E_PIN);
	assert_int_equal(err.ck_rv, CKR_PIN_INCORRECT);
	assert_int_equal(login_calls, 1);
	assert_non_null(strstr(err.msg, "CKR_PIN_INCORRECT"));
	assert_non_null(strstr(err.msg, "not retried"));
	/* SoftHSM reports CKF_USER_PIN_COUNT_LOW after a failure */
	assert_non_null(strstr(err.msg, "count low"));
	assert_true(pe_p11_token_info(tok)->flags & PE_P11_F_USER_PIN_COUNT_LOW);
	pe_secret_free(pin);
	pe_p11_token_free(tok);
}

static void
test_login_locked_refused_before_trying(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_err err;

	extra_token_flags = CKF_USER_PIN_LOCKED;
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=beta", 0, &tok, &err), PE_OK);
	assert_int_equal(pe_p11_token_login_check(tok, PE_P11_USER, &err), PE_E_PIN);
	assert_non_null(strstr(err.msg, "locked"));
	assert_non_null(strstr(err.msg, "--unblock"));
	assert_int_equal(login_calls, 0);
	pe_p11_token_free(tok);
}

static void
test_login_final_try_warns_and_proceeds(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_secret *pin = secret(PE_TEST_USER_PIN);
	struct pe_err err;

	extra_token_flags = CKF_USER_PIN_FINAL_TRY;
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=beta", 0, &tok, &err), PE_OK);
	assert_int_equal(pe_p11_token_login_check(tok, PE_P11_USER, &err), PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, pin, &err), PE_OK);
	assert_int_equal(login_calls, 1);
	pe_secret_free(pin);
	pe_p11_token_free(tok);
}

static void
test_login_pin_locked_by_the_attempt(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_secret *pin = secret("0000");
	struct pe_err err;

	login_rv = CKR_PIN_LOCKED;
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=beta", 0, &tok, &err), PE_OK);
	extra_token_flags = CKF_USER_PIN_LOCKED; /* what the token says afterwards */
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, pin, &err), PE_E_PIN);
	assert_int_equal(err.ck_rv, CKR_PIN_LOCKED);
	assert_non_null(strstr(err.msg, "now locked"));
	assert_int_equal(login_calls, 1);
	pe_secret_free(pin);
	pe_p11_token_free(tok);
}

static void
test_login_pin_pad_uses_null_pin(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_err err;

	extra_token_flags = CKF_PROTECTED_AUTHENTICATION_PATH;
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=beta", 0, &tok, &err), PE_OK);
	assert_true(pe_p11_token_has_pin_pad(tok));
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, NULL, &err), PE_OK);
	assert_int_equal(login_calls, 1);
	assert_true(login_pin_was_null);
	pe_p11_token_free(tok);

	/* without a PIN pad, no PIN is an error and nothing is tried */
	extra_token_flags = 0;
	login_calls = 0;
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=beta", 0, &tok, &err), PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, NULL, &err), PE_E_PIN);
	assert_int_equal(login_calls, 0);
	pe_p11_token_free(tok);
}

/* SHA-1 of the subjectPublicKey bits, computed here independently of p11/ */
static void
assert_id_is_sha1_of_key(const unsigned char *spki, size_t spki_len, const unsigned char *id,
			 size_t id_len)
{
	const unsigned char *p = spki, *bits = NULL;
	unsigned char md[20];
	X509_PUBKEY *pub;
	int bits_len = 0;

	pub = d2i_X509_PUBKEY(NULL, &p, (long)spki_len);
	assert_non_null(pub);
	assert_int_equal(X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, pub), 1);
	assert_int_equal(EVP_Digest(bits, (size_t)bits_len, md, NULL, EVP_sha1(), NULL), 1);
	assert_int_equal(id_len, 20);
	assert_memory_equal(id, md, 20);
	X509_PUBKEY_free(pub);
}

static struct pe_p11_key *
generate(struct pe_p11_token *tok, enum pe_key_type type, const char *label)
{
	struct pe_p11_keygen gen = { type, label, NULL, 0, PE_P11_ID_SHA1_PUBKEY };
	struct pe_p11_key *key = NULL;
	struct pe_err err;

	pe_err_clear(&err);
	assert_int_equal(pe_p11_key_generate(tok, &gen, &key, &err), PE_OK);
	return key;
}

static void
check_keygen(enum pe_key_type type, const char *label)
{
	struct pe_p11_token *tok = open_login("pkcs11:token=alpha");
	struct pe_p11_key *key, *again = NULL;
	struct pe_p11_key_attrs attrs;
	unsigned char *spki = NULL, *spki2 = NULL;
	size_t spki_len = 0, spki2_len = 0, id_len;
	const unsigned char *id;
	struct pe_err err;

	key = generate(tok, type, label);
	assert_int_equal(pe_p11_key_type(key), type);
	assert_string_equal(pe_p11_key_label(key), label);
	assert_int_equal(pe_p11_key_attrs(key, &attrs, &err), PE_OK);
	assert_true(attrs.token);
	assert_true(attrs.private_);
	assert_true(attrs.sensitive);
	assert_false(attrs.extractable);
	assert_true(attrs.never_extractable);
	assert_int_equal(pe_p11_key_public_der(key, &spki, &spki_len, &err), PE_OK);
	id = pe_p11_key_id(key, &id_len);
	assert_id_is_sha1_of_key(spki, spki_len, id, id_len);

	/* the printed URI finds the same key again */
	assert_int_equal(pe_p11_key_open(tok, pe_p11_key_uri(key), &again, &err), PE_OK);
	assert_int_equal(pe_p11_key_public_der(again, &spki2, &spki2_len, &err), PE_OK);
	assert_int_equal(spki_len, spki2_len);
	assert_memory_equal(spki, spki2, spki_len);
	free(spki);
	free(spki2);
	pe_p11_key_free(again);
	pe_p11_key_free(key);
	pe_p11_token_free(tok);
}

static void
test_keygen_ec_p256(void **state)
{
	check_keygen(PE_KEY_EC_P256, "ec256");
}

static void
test_keygen_ec_p384(void **state)
{
	check_keygen(PE_KEY_EC_P384, "ec384");
}

static void
test_keygen_rsa_2048(void **state)
{
	check_keygen(PE_KEY_RSA_2048, "rsa2048");
}

static void
test_keygen_ed25519(void **state)
{
	check_keygen(PE_KEY_ED25519, "ed25519");
}

static void
test_keygen_duplicate_label_and_id_refused(void **state)
{
	struct pe_p11_token *tok = open_login("pkcs11:token=alpha");
	struct pe_p11_keygen gen = { PE_KEY_EC_P256, "dup", NULL, 0, PE_P11_ID_SHA1_PUBKEY };
	static const unsigned char id[] = { 0xca, 0xfe };
	struct pe_p11_key *key, *other = NULL;
	struct pe_err err;

	key = generate(tok, PE_KEY_EC_P256, "dup");
	assert_int_equal(pe_p11_key_generate(tok, &gen, &other, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "labelled 'dup'"));
	assert_null(other);
	pe_p11_key_free(key);

	gen.label = "with-id";
	gen.id = id;
	gen.id_len = sizeof(id);
	assert_int_equal(pe_p11_key_generate(tok, &gen, &key, &err), PE_OK);
	pe_p11_key_free(key);
	gen.label = "with-same-id";
	assert_int_equal(pe_p11_key_generate(tok, &gen, &other, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "CKA_ID"));
	pe_p11_token_free(tok);
}

static void
test_keygen_unsupported_type_lists_what_it_can(void **state)
{
	struct pe_p11_token *tok;
	struct pe_p11_keygen gen = { PE_KEY_EC_P256, "no-ec", NULL, 0, PE_P11_ID_SHA1_PUBKEY };
	struct pe_p11_key *key = NULL;
	struct pe_err err;

	dropped_mech = CKM_EC_KEY_PAIR_GEN; /* a token without EC key generation */
	tok = open_login("pkcs11:token=alpha");
	assert_false(pe_p11_token_info(tok)->key_types & (1u << PE_KEY_EC_P256));
	assert_true(pe_p11_token_info(tok)->key_types & (1u << PE_KEY_RSA_2048));
	assert_int_equal(pe_p11_key_generate(tok, &gen, &key, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "cannot make ec-p256"));
	assert_non_null(strstr(err.msg, "rsa-2048"));
	assert_null(key);
	pe_p11_token_free(tok);
}

/* How many objects of @klass labelled @label the session sees; the first in *first. */
static CK_ULONG
count_labelled(struct pe_p11_token *tok, CK_OBJECT_CLASS klass, const char *label,
	       CK_OBJECT_HANDLE *first)
{
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_CLASS, &klass, sizeof(klass) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE found[4], none;
	CK_ULONG count = 0;
	struct pe_err err;

	assert_int_equal(pe_p11_objects_find(tok, tmpl, 2, found, 4, &count, &err), PE_OK);
	if (first == NULL)
		first = &none;
	*first = count > 0 ? found[0] : CK_INVALID_HANDLE;
	return count;
}

/* A generation of @type labelled @label cut short as keygen_fault says. */
static void
generate_cut_short(struct pe_p11_token *tok, enum pe_key_type type, const char *label)
{
	struct pe_p11_keygen gen = { type, label, NULL, 0, PE_P11_ID_SHA1_PUBKEY };
	struct pe_p11_key *key = NULL;
	struct pe_err err;

	assert_int_equal(pe_p11_key_generate(tok, &gen, &key, &err), PE_E_NOTFOUND);
	assert_null(key);
	keygen_fault = KEYGEN_OK;
	assert_int_equal(count_labelled(tok, CKO_PUBLIC_KEY, label, NULL), 1);
}

/* The process killed inside C_GenerateKeyPair: the next generation for the label goes on. */
static void
test_keygen_after_interrupted_generation(void **state)
{
	struct pe_p11_token *tok = open_login("pkcs11:token=alpha");
	struct pe_p11_keygen gen = { PE_KEY_EC_P256, "cut", NULL, 0, PE_P11_ID_SHA1_PUBKEY };
	struct pe_p11_key *key = NULL;
	size_t removed = 9;
	struct pe_err err;

	keygen_fault = KEYGEN_PUBLIC_ONLY;
	generate_cut_short(tok, PE_KEY_EC_P256, "cut");
	assert_int_equal(count_labelled(tok, CKO_PRIVATE_KEY, "cut", NULL), 0);
	/* generation alone still refuses the label */
	assert_int_equal(pe_p11_key_generate(tok, &gen, &key, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "labelled 'cut'"));

	assert_int_equal(pe_p11_key_orphans_remove(tok, "cut", &removed, &err), PE_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(count_labelled(tok, CKO_PUBLIC_KEY, "cut", NULL), 0);
	assert_int_equal(pe_p11_key_generate(tok, &gen, &key, &err), PE_OK);
	assert_int_equal(count_labelled(tok, CKO_PUBLIC_KEY, "cut", NULL), 1);
	assert_int_equal(count_labelled(tok, CKO_PRIVATE_KEY, "cut", NULL), 1);
	pe_p11_key_free(key);

	/* nothing carries the label: nothing to do */
	assert_int_equal(pe_p11_key_orphans_remove(tok, "never-used", &removed, &err), PE_OK);
	assert_int_equal(removed, 0);
	pe_p11_token_free(tok);
}

/* Cut short between the two CKA_IDs: an EC key is still found, with its public key. */
static void
test_keygen_cut_short_before_public_id(void **state)
{
	struct pe_p11_token *tok = open_login("pkcs11:token=alpha");
	CK_ATTRIBUTE no_id = { CKA_ID, NULL, 0 };
	struct pe_p11_key *key, *again = NULL;
	unsigned char *spki = NULL, *spki2 = NULL;
	size_t spki_len = 0, spki2_len = 0;
	CK_OBJECT_HANDLE pub;
	struct pe_err err;

	key = generate(tok, PE_KEY_EC_P256, "half-id");
	assert_int_equal(pe_p11_key_public_der(key, &spki, &spki_len, &err), PE_OK);
	count_labelled(tok, CKO_PUBLIC_KEY, "half-id", &pub);
	assert_int_equal(real->C_SetAttributeValue(tok->session, pub, &no_id, 1), CKR_OK);
	assert_int_equal(pe_p11_key_open_label(tok, "half-id", &again, &err), PE_OK);
	assert_int_equal(pe_p11_key_public_der(again, &spki2, &spki2_len, &err), PE_OK);
	assert_int_equal(spki_len, spki2_len);
	assert_memory_equal(spki, spki2, spki_len);
	free(spki);
	free(spki2);
	pe_p11_key_free(again);
	pe_p11_key_free(key);
	pe_p11_token_free(tok);
}

/* Creates a certificate object labelled @label (its content is not looked at). */
static void
create_cert_object(struct pe_p11_token *tok, const char *label)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const unsigned char name[] = { 0x30, 0x00 };
	CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &klass, sizeof(klass) },
		{ CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_SUBJECT, (void *)name, sizeof(name) },
		{ CKA_VALUE, (void *)der, sizeof(der) },
	};
	CK_OBJECT_HANDLE obj;

	assert_int_equal(real->C_CreateObject(tok->session, tmpl, 6, &obj), CKR_OK);
}

/* Whatever else carries the label, or still belongs to a key, is never removed. */
static void
test_keygen_orphan_removal_keeps_keys_and_certs(void **state)
{
	struct pe_p11_token *tok = open_login("pkcs11:token=alpha");
	struct pe_p11_key *key;
	CK_OBJECT_HANDLE pub;
	CK_ATTRIBUTE set;
	const unsigned char *id;
	size_t removed = 9, id_len;
	struct pe_err err;

	/* a whole key pair */
	key = generate(tok, PE_KEY_EC_P256, "whole");
	assert_int_equal(pe_p11_key_orphans_remove(tok, "whole", &removed, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "labelled 'whole' (a private key)"));
	assert_int_equal(removed, 0);
	assert_int_equal(count_labelled(tok, CKO_PRIVATE_KEY, "whole", NULL), 1);
	assert_int_equal(count_labelled(tok, CKO_PUBLIC_KEY, "whole", NULL), 1);

	/* a lone public key beside a certificate with the same label */
	keygen_fault = KEYGEN_PUBLIC_ONLY;
	generate_cut_short(tok, PE_KEY_EC_P256, "with-cert");
	create_cert_object(tok, "with-cert");
	assert_int_equal(pe_p11_key_orphans_remove(tok, "with-cert", &removed, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "(a certificate)"));
	assert_int_equal(count_labelled(tok, CKO_PUBLIC_KEY, "with-cert", NULL), 1);
	assert_int_equal(count_labelled(tok, CKO_CERTIFICATE, "with-cert", NULL), 1);

	/* a lone public key whose CKA_ID is another private key's */
	keygen_fault = KEYGEN_PUBLIC_ONLY;
	generate_cut_short(tok, PE_KEY_EC_P256, "shares-id");
	count_labelled(tok, CKO_PUBLIC_KEY, "shares-id", &pub);
	id = pe_p11_key_id(key, &id_len);
	set.type = CKA_ID;
	set.pValue = (void *)id;
	set.ulValueLen = id_len;
	assert_int_equal(real->C_SetAttributeValue(tok->session, pub, &set, 1), CKR_OK);
	assert_int_equal(pe_p11_key_orphans_remove(tok, "shares-id", &removed, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "CKA_ID"));
	assert_int_equal(count_labelled(tok, CKO_PUBLIC_KEY, "shares-id", NULL), 1);
	assert_int_equal(count_labelled(tok, CKO_PRIVATE_KEY, "whole", NULL), 1);
	pe_p11_key_free(key);

	/* an RSA private key that lost its label: found by its modulus, both kept */
	keygen_fault = KEYGEN_PRIVATE_UNLABELLED;
	generate_cut_short(tok, PE_KEY_RSA_2048, "lost-label");
	assert_int_equal(pe_p11_key_orphans_remove(tok, "lost-label", &removed, &err), PE_E_USAGE);
	assert_non_null(strstr(err.msg, "modulus"));
	assert_int_equal(count_labelled(tok, CKO_PUBLIC_KEY, "lost-label", NULL), 1);
	assert_int_equal(count_labelled(tok, CKO_PRIVATE_KEY, "", NULL), 1);
	assert_int_equal(removed, 0);
	pe_p11_token_free(tok);
}

/* Issues a certificate for the request's key with a throw-away CA key. */
static X509 *
issue(const unsigned char *csr_der, size_t csr_len, EVP_PKEY *ca_key)
{
	const unsigned char *p = csr_der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	X509_NAME *issuer = X509_NAME_new();
	X509 *cert = X509_new();

	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8, (const unsigned char *)"Test CA",
				   -1, -1, 0);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
	X509_set_issuer_name(cert, issuer);
	X509_set_subject_name(cert, X509_REQ_get_subject_name(req));
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, X509_REQ_get0_pubkey(req));
	assert_true(X509_sign(cert, ca_key, EVP_sha256()) > 0);
	X509_NAME_free(issuer);
	X509_REQ_free(req);
	return cert;
}

static CK_ULONG
count_certs(struct pe_p11_token *tok, const unsigned char *id, size_t id_len)
{
	CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
	CK_ATTRIBUTE find[2] = {
		{ CKA_CLASS, &klass, sizeof(klass) },
		{ CKA_ID, (void *)id, id_len },
	};
	CK_OBJECT_HANDLE found[4];
	CK_ULONG count = 0;
	struct pe_err err;

	assert_int_equal(pe_p11_objects_find(tok, find, id ? 2 : 1, found, 4, &count, &err), PE_OK);
	return count;
}

static void
enroll(enum pe_key_type type, const char *label)
{
	static const struct pe_csr_field fields[] = { { "INN", "500100732259" } };
	struct pe_csr_spec spec = { 0 };
	struct pe_p11_token *tok = open_login("pkcs11:token=alpha");
	struct pe_p11_cert_result res;
	struct pe_csr_signer signer;
	struct pe_p11_key *key;
	struct pe_cert *cert = NULL;
	unsigned char *spki = NULL, *csr = NULL, *der = NULL;
	size_t spki_len = 0, csr_len = 0, id_len;
	const unsigned char *id;
	EVP_PKEY *ca_key;
	X509 *x509;
	struct pe_err err;
	int der_len;

	spec.subject = "/C=RU/CN=Token Holder";
	spec.fields = fields;
	spec.n_fields = 1;
	spec.template_oid = "1.2.643.2.2.46.0.8";
	spec.template_major = 1;
	key = generate(tok, type, label);
	assert_int_equal(pe_p11_key_public_der(key, &spki, &spki_len, &err), PE_OK);
	signer = pe_csr_signer_token(key, spki, spki_len);
	assert_int_equal(pe_csr_build(&spec, &signer, &csr, &csr_len, &err), PE_OK);

	ca_key = EVP_EC_gen("P-256");
	assert_non_null(ca_key);
	x509 = issue(csr, csr_len, ca_key);
	der_len = i2d_X509(x509, &der);
	assert_true(der_len > 0);
	assert_int_equal(pe_cert_from_der(der, (size_t)der_len, &cert, &err), PE_OK);

	id = pe_p11_key_id(key, &id_len);
	assert_int_equal(count_certs(tok, id, id_len), 0);
	assert_int_equal(pe_p11_cert_import(tok, pe_cert_p11(cert), false, &res, &err), PE_OK);
	assert_false(res.already_present);
	assert_string_equal(res.label, label);
	assert_int_equal(count_certs(tok, id, id_len), 1);
	pe_p11_cert_result_cleanup(&res);

	/* the same certificate twice is written once */
	assert_int_equal(pe_p11_cert_import(tok, pe_cert_p11(cert), false, &res, &err), PE_OK);
	assert_true(res.already_present);
	assert_int_equal(count_certs(tok, id, id_len), 1);
	pe_p11_cert_result_cleanup(&res);

	OPENSSL_free(der);
	X509_free(x509);
	EVP_PKEY_free(ca_key);
	pe_cert_free(cert);
	free(csr);
	free(spki);
	pe_p11_key_free(key);
	pe_p11_token_free(tok);
}

static void
test_enroll_ec_p256(void **state)
{
	enroll(PE_KEY_EC_P256, "enroll-ec");
}

static void
test_enroll_ec_p384(void **state)
{
	enroll(PE_KEY_EC_P384, "enroll-ec384");
}

static void
test_enroll_rsa_2048(void **state)
{
	enroll(PE_KEY_RSA_2048, "enroll-rsa");
}

static void
test_enroll_ed25519(void **state)
{
	enroll(PE_KEY_ED25519, "enroll-ed25519");
}

static void
test_import_cert_for_another_key_refused(void **state)
{
	struct pe_p11_token *tok = open_login("pkcs11:token=beta");
	struct pe_p11_cert_result res;
	EVP_PKEY *stranger = EVP_EC_gen("P-256");
	X509 *self = X509_new();
	struct pe_cert *cert = NULL;
	unsigned char *der = NULL;
	CK_ULONG before;
	struct pe_err err;
	int len;

	X509_set_pubkey(self, stranger);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(self), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"stranger", -1, -1, 0);
	X509_set_issuer_name(self, X509_get_subject_name(self));
	X509_gmtime_adj(X509_getm_notBefore(self), 0);
	X509_gmtime_adj(X509_getm_notAfter(self), 60);
	assert_true(X509_sign(self, stranger, EVP_sha256()) > 0);
	len = i2d_X509(self, &der);
	assert_int_equal(pe_cert_from_der(der, (size_t)len, &cert, &err), PE_OK);
	before = count_certs(tok, NULL, 0);
	assert_int_equal(pe_p11_cert_import(tok, pe_cert_p11(cert), false, &res, &err),
			 PE_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "nothing was written"));
	assert_int_equal(count_certs(tok, NULL, 0), before);
	OPENSSL_free(der);
	X509_free(self);
	EVP_PKEY_free(stranger);
	pe_cert_free(cert);
	pe_p11_token_free(tok);
}

static void
test_init_token_and_pins(void **state)
{
	struct pe_p11_token *tok = NULL;
	struct pe_secret *so = secret("87654321"), *user = secret("4321");
	struct pe_secret *user2 = secret("5678"), *user3 = secret("8765");
	struct pe_err err;

	/* the free slot: uninitialised, no label */
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=",
					   PE_P11_OPEN_NO_SESSION | PE_P11_OPEN_UNINITIALIZED, &tok,
					   &err),
			 PE_OK);
	assert_false(pe_p11_token_info(tok)->flags & PE_P11_F_INITIALIZED);
	assert_int_equal(pe_p11_token_init(tok, "gamma", so, user, &err), PE_OK);
	assert_true(pe_p11_token_info(tok)->flags & PE_P11_F_INITIALIZED);
	assert_true(pe_p11_token_info(tok)->flags & PE_P11_F_USER_PIN_INITIALIZED);
	assert_string_equal(pe_p11_token_info(tok)->label, "gamma");
	pe_p11_token_free(tok);

	/* the user PIN works, and changes */
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=gamma", PE_P11_OPEN_RW, &tok, &err),
			 PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, user, &err), PE_OK);
	assert_int_equal(pe_p11_token_set_pin(tok, PE_P11_USER, user, user2, &err), PE_OK);
	pe_p11_token_free(tok);
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=gamma", PE_P11_OPEN_RW, &tok, &err),
			 PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, user, &err), PE_E_PIN);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, user2, &err), PE_OK);
	pe_p11_token_free(tok);

	/* unblock: the SO sets a new user PIN */
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=gamma", PE_P11_OPEN_RW, &tok, &err),
			 PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_SO, so, &err), PE_OK);
	assert_int_equal(pe_p11_token_init_pin(tok, user3, &err), PE_OK);
	pe_p11_token_free(tok);
	assert_int_equal(pe_p11_token_open(ctx, "pkcs11:token=gamma", PE_P11_OPEN_RW, &tok, &err),
			 PE_OK);
	assert_int_equal(pe_p11_token_login(tok, PE_P11_USER, user3, &err), PE_OK);
	pe_p11_token_free(tok);

	pe_secret_free(so);
	pe_secret_free(user);
	pe_secret_free(user2);
	pe_secret_free(user3);
}

static void
test_slot_list_sees_every_token(void **state)
{
	struct pe_p11_slot *slots = NULL;
	size_t n = 0, i, labelled = 0;
	struct pe_err err;

	assert_int_equal(pe_p11_slot_list(ctx, &slots, &n, &err), PE_OK);
	for (i = 0; i < n; i++) {
		if (!slots[i].token_present || !(slots[i].flags & PE_P11_F_INITIALIZED))
			continue;
		labelled++;
		assert_non_null(strstr(slots[i].uri, "pkcs11:"));
		assert_non_null(strstr(slots[i].uri, slots[i].serial));
		assert_true(slots[i].key_types & (1u << PE_KEY_EC_P256));
		assert_true(slots[i].key_types & (1u << PE_KEY_RSA_2048));
	}
	assert_true(labelled >= 2);
	pe_p11_slot_list_free(slots, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_token_open_ambiguous, test_setup),
		cmocka_unit_test_setup(test_token_open_not_found, test_setup),
		cmocka_unit_test_setup(test_token_open_uninitialized_refused, test_setup),
		cmocka_unit_test_setup(test_slot_list_sees_every_token, test_setup),
		cmocka_unit_test_setup(test_login_wrong_pin_not_retried, test_setup),
		cmocka_unit_test_setup(test_login_locked_refused_before_trying, test_setup),
		cmocka_unit_test_setup(test_login_final_try_warns_and_proceeds, test_setup),
		cmocka_unit_test_setup(test_login_pin_locked_by_the_attempt, test_setup),
		cmocka_unit_test_setup(test_login_pin_pad_uses_null_pin, test_setup),
		cmocka_unit_test_setup(test_keygen_ec_p256, test_setup),
		cmocka_unit_test_setup(test_keygen_ec_p384, test_setup),
		cmocka_unit_test_setup(test_keygen_rsa_2048, test_setup),
		cmocka_unit_test_setup(test_keygen_ed25519, test_setup),
		cmocka_unit_test_setup(test_keygen_duplicate_label_and_id_refused, test_setup),
		cmocka_unit_test_setup(test_keygen_unsupported_type_lists_what_it_can, test_setup),
		cmocka_unit_test_setup(test_keygen_after_interrupted_generation, test_setup),
		cmocka_unit_test_setup(test_keygen_orphan_removal_keeps_keys_and_certs, test_setup),
		cmocka_unit_test_setup(test_keygen_cut_short_before_public_id, test_setup),
		cmocka_unit_test_setup(test_enroll_ec_p256, test_setup),
		cmocka_unit_test_setup(test_enroll_ec_p384, test_setup),
		cmocka_unit_test_setup(test_enroll_rsa_2048, test_setup),
		cmocka_unit_test_setup(test_enroll_ed25519, test_setup),
		cmocka_unit_test_setup(test_import_cert_for_another_key_refused, test_setup),
		cmocka_unit_test_setup(test_init_token_and_pins, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
