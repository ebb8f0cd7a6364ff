/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registry carrier: the user's own containers under the state directory,
 * HOME/containers/NAME/ (mode 0700), one per key:
 *   key.pem    the private key, encrypted PKCS#8 (scrypt, AES-256-CBC), 0600
 *   cert.pem   the issued certificate, once installed
 *   meta.json  name, key type, key id, created, request id, installed
 * A container is built in a hidden directory beside its place and renamed
 * into it, never over an existing one; later files are replaced atomically.
 * The key is decrypted with the container password when it is first used.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "soft-int.h"

#define KEY_FILE  "key.pem"
#define CERT_FILE "cert.pem"
#define META_FILE "meta.json"

struct pe_container {
	struct pe_carrier_env env; /* a copy: the strings it points to outlive the container */
	char *root;		   /* HOME/containers */
	char *name;		   /* the container found or made last */
	char *dir;		   /* root/name */
	struct pe_soft_key key;	   /* its key, once decrypted */
	int64_t request_id;
};

/* The metadata: our own file, written here; every value is from a narrow alphabet. */
struct meta {
	char key_type[32];
	char key_id[64];
	char created_at[32];
	char installed_at[32];
	int64_t request_id;
};

static void
registry_close(struct pe_container *c)
{
	if (c == NULL)
		return;
	pe_soft_key_cleanup(&c->key);
	free(c->root);
	free(c->name);
	free(c->dir);
	free(c);
}

static enum pe_code
registry_open(const struct pe_carrier_env *env, struct pe_container **out, struct pe_err *err)
{
	struct pe_container *c;
	struct pe_err none;
	enum pe_code rc;

	if (env->home == NULL)
		return pe_err_set(err, PE_E_USAGE, "the registry needs a state directory (--home)");
	rc = pe_soft_dir_check(env->home, err);
	if (rc != PE_OK)
		return rc;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	c->env = *env;
	c->root = pe_soft_path(env->home, "containers", "");
	if (c->root == NULL) {
		registry_close(c);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	rc = pe_soft_dir_check(c->root, err);
	if (rc != PE_OK && rc != PE_E_NOTFOUND) {
		registry_close(c);
		return rc;
	}
	/* GOST keys are read back through the engine: loaded where it is installed */
	pe_csr_gost_load(&none);
	*out = c;
	return PE_OK;
}

static unsigned
registry_key_types(struct pe_container *c)
{
	(void)c;
	return pe_soft_key_types();
}

/* Copies the string value of "key" from @json into @out (at most @size bytes). */
static bool
meta_str(const char *json, const char *key, char *out, size_t size)
{
	char pattern[48];
	const char *p, *end;

	snprintf(pattern, sizeof(pattern), "\"%s\": \"", key);
	p = strstr(json, pattern);
	if (p == NULL)
		return false;
	p += strlen(pattern);
	end = strchr(p, '"');
	if (end == NULL || (size_t)(end - p) >= size)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static enum pe_code
meta_read(const char *dir, struct meta *meta, struct pe_err *err)
{
	char *path = pe_soft_path(dir, META_FILE, ""), *json = NULL, *p;
	enum pe_code rc;

	memset(meta, 0, sizeof(*meta));
	if (path == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = pe_file_read(path, PE_SOFT_FILE_MAX, &json, NULL, err);
	free(path);
	if (rc != PE_OK)
		return rc;
	meta_str(json, "key_type", meta->key_type, sizeof(meta->key_type));
	meta_str(json, "key_id", meta->key_id, sizeof(meta->key_id));
	meta_str(json, "created_at", meta->created_at, sizeof(meta->created_at));
	meta_str(json, "installed_at", meta->installed_at, sizeof(meta->installed_at));
	p = strstr(json, "\"request_id\": ");
	if (p != NULL)
		meta->request_id = strtoll(p + strlen("\"request_id\": "), NULL, 10);
	free(json);
	return PE_OK;
}

static enum pe_code
meta_write(const char *dir, const char *name, const struct meta *meta, struct pe_err *err)
{
	char json[1024], installed[64] = "", request[48] = "";

	if (meta->installed_at[0] != '\0')
		snprintf(installed, sizeof(installed), ",\n  \"installed_at\": \"%s\"",
			 meta->installed_at);
	if (meta->request_id > 0)
		snprintf(request, sizeof(request), ",\n  \"request_id\": %" PRId64,
			 meta->request_id);
	snprintf(json, sizeof(json),
		 "{\n  \"name\": \"%s\",\n  \"carrier\": \"registry\",\n"
		 "  \"key_type\": \"%s\",\n  \"key_id\": \"%s\",\n"
		 "  \"created_at\": \"%s\"%s%s\n}\n",
		 name, meta->key_type, meta->key_id, meta->created_at, request, installed);
	return pe_soft_write(dir, META_FILE, json, strlen(json), true, err);
}

static enum pe_code
ref_fill(struct pe_container *c, const char *id_hex, struct pe_key_ref *ref, struct pe_err *err)
{
	ref->label = strdup(c->name);
	ref->id_hex = id_hex != NULL && id_hex[0] != '\0' ? strdup(id_hex) : NULL;
	ref->uri = strdup(c->dir);
	if (ref->label == NULL || ref->uri == NULL ||
	    (id_hex != NULL && id_hex[0] != '\0' && ref->id_hex == NULL)) {
		pe_key_ref_cleanup(ref);
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	}
	return PE_OK;
}

/* Makes @name the container worked on (its key not decrypted yet). */
static enum pe_code
select_name(struct pe_container *c, const char *name, struct pe_err *err)
{
	char *dir;

	if (!pe_container_name_ok(name))
		return pe_err_set(err, PE_E_USAGE,
				  "'%s' cannot name a container: use 1 to 64 of A-Z a-z 0-9 . _ - "
				  "not starting with '.'",
				  name);
	dir = pe_soft_path(c->root, name, "");
	if (dir == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	free(c->dir);
	c->dir = dir;
	free(c->name);
	c->name = strdup(name);
	pe_soft_key_cleanup(&c->key);
	if (c->name == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	return PE_OK;
}

static enum pe_code
registry_find(struct pe_container *c, const char *label, struct pe_key_ref *ref, struct pe_err *err)
{
	struct meta meta;
	char *key_path;
	enum pe_code rc;

	rc = select_name(c, label, err);
	if (rc != PE_OK)
		return rc;
	rc = pe_soft_dir_check(c->dir, err);
	if (rc == PE_E_NOTFOUND)
		return pe_err_set(err, PE_E_NOTFOUND, "there is no container '%s' in '%s'", label,
				  c->root);
	if (rc != PE_OK)
		return rc;
	key_path = pe_soft_path(c->dir, KEY_FILE, "");
	if (key_path == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = pe_soft_file_check(key_path, err);
	free(key_path);
	if (rc == PE_E_NOTFOUND)
		return pe_err_set(err, PE_E_STORE, "container '%s' has no key file %s", c->dir,
				  KEY_FILE);
	if (rc != PE_OK)
		return rc;
	if (meta_read(c->dir, &meta, err) != PE_OK)
		memset(&meta, 0, sizeof(meta)); /* the key is what counts */
	return ref_fill(c, meta.key_id, ref, err);
}

/* Decrypts the selected container's key with its password. */
static enum pe_code
key_load(struct pe_container *c, struct pe_err *err)
{
	struct pe_secret *password = NULL;
	EVP_PKEY *pkey = NULL;
	char *path, *pem = NULL;
	size_t len = 0;
	enum pe_code rc;

	pe_return_val_if_fail(c->dir != NULL, PE_E_FAIL);
	if (c->key.pkey != NULL)
		return PE_OK;
	path = pe_soft_path(c->dir, KEY_FILE, "");
	if (path == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	rc = pe_soft_file_check(path, err);
	if (rc == PE_OK)
		rc = pe_file_read(path, PE_SOFT_FILE_MAX, &pem, &len, err);
	if (rc == PE_OK)
		rc = pe_soft_password(&c->env, c->name, false, &password, err);
	if (rc == PE_OK)
		rc = pe_soft_pkcs8_decode(pem, len, password, path, &pkey, err);
	if (rc == PE_OK)
		rc = pe_soft_key_set(&c->key, pkey, err);
	pe_secret_free(password);
	free(pem);
	free(path);
	return rc;
}

/* Removes the files a half-built container holds, then the directory. */
static void
tmpdir_remove(const char *dir)
{
	const char *files[] = { KEY_FILE, META_FILE, NULL };
	char *path;
	size_t i;

	for (i = 0; files[i] != NULL; i++) {
		path = pe_soft_path(dir, files[i], "");
		if (path != NULL)
			unlink(path);
		free(path);
	}
	rmdir(dir);
}

static enum pe_code
registry_generate(struct pe_container *c, enum pe_key_type type, const char *label,
		  struct pe_key_ref *ref, struct pe_err *err)
{
	struct pe_secret *password = NULL;
	EVP_PKEY *pkey = NULL;
	struct meta meta;
	char *pem = NULL, *tmp = NULL;
	size_t len = 0;
	enum pe_code rc;

	rc = select_name(c, label, err);
	if (rc == PE_OK)
		rc = pe_soft_mkdir(c->root, err);
	if (rc != PE_OK)
		return rc;
	if (access(c->dir, F_OK) == 0)
		return pe_err_set(err, PE_E_USAGE,
				  "container '%s' already exists in '%s': it is never "
				  "overwritten (choose another --label)",
				  label, c->root);
	rc = pe_soft_password(&c->env, label, true, &password, err);
	if (rc == PE_OK)
		rc = pe_soft_generate(type, &pkey, err);
	if (rc == PE_OK)
		rc = pe_soft_key_set(&c->key, pkey, err);
	if (rc == PE_OK)
		rc = pe_soft_pkcs8_encode(c->key.pkey, password, &pem, &len, err);
	pe_secret_free(password);
	if (rc != PE_OK)
		goto out;

	/* built in a hidden directory, then renamed into place, never over another */
	tmp = pe_soft_path(c->root, ".new-", "XXXXXX");
	if (tmp == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	if (mkdtemp(tmp) == NULL) {
		rc = pe_err_set(err, PE_E_STORE, "cannot create a directory in '%s': %s", c->root,
				strerror(errno));
		goto out;
	}
	memset(&meta, 0, sizeof(meta));
	snprintf(meta.key_type, sizeof(meta.key_type), "%s", pe_key_type_name(type));
	snprintf(meta.key_id, sizeof(meta.key_id), "%s", c->key.id_hex);
	pe_soft_time_now(meta.created_at);
	meta.request_id = c->request_id;
	rc = pe_soft_write(tmp, KEY_FILE, pem, len, false, err);
	if (rc == PE_OK)
		rc = meta_write(tmp, label, &meta, err);
	if (rc == PE_OK)
		rc = pe_soft_rename_new(tmp, c->dir, c->root, err);
	if (rc != PE_OK) {
		tmpdir_remove(tmp);
		if (rc == PE_E_USAGE)
			pe_err_set(err, PE_E_USAGE,
				   "container '%s' already exists in '%s': it is never "
				   "overwritten (choose another --label)",
				   label, c->root);
		goto out;
	}
	rc = ref_fill(c, c->key.id_hex, ref, err);
out:
	if (pem != NULL)
		OPENSSL_cleanse(pem, len);
	free(pem);
	free(tmp);
	if (rc != PE_OK)
		pe_soft_key_cleanup(&c->key);
	return rc;
}

static enum pe_code
registry_public_key(struct pe_container *c, unsigned char **spki, size_t *len, struct pe_err *err)
{
	enum pe_code rc = key_load(c, err);

	return rc == PE_OK ? pe_soft_public_key(&c->key, spki, len, err) : rc;
}

/* The key is opened with the container password here, as for public_key. */
static enum pe_code
registry_decrypt(struct pe_container *c, const unsigned char *in, size_t len, unsigned char **out,
		 size_t *out_len, struct pe_err *err)
{
	enum pe_code rc = key_load(c, err);

	if (rc != PE_OK)
		return rc;
	return pe_soft_decrypt(&c->key, in, len, out, out_len, err);
}

static struct pe_csr_signer
registry_signer(struct pe_container *c, const unsigned char *spki, size_t len)
{
	(void)spki;
	(void)len;
	return pe_soft_signer(&c->key);
}

/* Returns: the PEM text of a DER certificate, newly allocated. */
static enum pe_code
cert_pem(const unsigned char *der, size_t der_len, char **pem, size_t *len, struct pe_err *err)
{
	const unsigned char *p = der;
	BUF_MEM *mem = NULL;
	X509 *x509;
	BIO *bio;
	enum pe_code rc = PE_OK;

	x509 = d2i_X509(NULL, &p, (long)der_len);
	bio = BIO_new(BIO_s_mem());
	if (x509 == NULL || bio == NULL || PEM_write_bio_X509(bio, x509) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) != 1) {
		ERR_clear_error();
		rc = pe_err_set(err, PE_E_CRYPTO, "the certificate cannot be encoded");
	} else {
		*pem = malloc(mem->length + 1);
		if (*pem == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		} else {
			memcpy(*pem, mem->data, mem->length);
			(*pem)[mem->length] = '\0';
			*len = mem->length;
		}
	}
	BIO_free(bio);
	X509_free(x509);
	return rc;
}

static enum pe_code
registry_install(struct pe_container *c, const struct pe_cert *cert, bool *written,
		 struct pe_err *err)
{
	const struct pe_p11_cert *parts = pe_cert_p11(cert);
	struct meta meta;
	char *pem = NULL, *old = NULL, *path = NULL;
	size_t len = 0, old_len = 0;
	struct pe_err none;
	enum pe_code rc;

	/* the password proves the owner, and the key must be the certificate's */
	rc = key_load(c, err);
	if (rc != PE_OK)
		return rc;
	if (!pe_cert_matches_spki(cert, c->key.spki, c->key.spki_len))
		return pe_err_set(err, PE_E_CRYPTO,
				  "the certificate is not for the key of container '%s'", c->name);
	rc = cert_pem(parts->value, parts->value_len, &pem, &len, err);
	if (rc != PE_OK)
		return rc;
	path = pe_soft_path(c->dir, CERT_FILE, "");
	if (path == NULL) {
		rc = pe_err_set(err, PE_E_FAIL, "out of memory");
		goto out;
	}
	*written = !(pe_file_read(path, PE_SOFT_FILE_MAX, &old, &old_len, &none) == PE_OK &&
		     old_len == len && memcmp(old, pem, len) == 0);
	if (!*written)
		goto out;
	rc = pe_soft_write(c->dir, CERT_FILE, pem, len, true, err);
	if (rc != PE_OK)
		goto out;
	/* the metadata is a convenience: the certificate beside the key is what counts */
	if (meta_read(c->dir, &meta, &none) == PE_OK) {
		pe_soft_time_now(meta.installed_at);
		if (meta.request_id == 0)
			meta.request_id = c->request_id;
		if (meta_write(c->dir, c->name, &meta, &none) != PE_OK)
			pe_msg_warn("container '%s': %s", c->name, none.msg);
	}
out:
	free(old);
	free(pem);
	free(path);
	return rc;
}

static const char *
registry_serial(struct pe_container *c)
{
	(void)c;
	return NULL;
}

static const char *
registry_model(struct pe_container *c)
{
	(void)c;
	return NULL;
}

static char *
registry_record(struct pe_container *c, int64_t request_id, const char *label, bool *oom)
{
	char *name = strdup(label);

	c->request_id = request_id;
	*oom = name == NULL;
	return name;
}

/* Reads one container's metadata and certificate into @info. */
static enum pe_code
info_fill(const char *root, const char *name, struct pe_container_info *info, struct pe_err *err)
{
	struct meta meta;
	struct pe_cert **certs = NULL;
	const struct pe_p11_cert *parts;
	struct pe_err none;
	char *dir, *path = NULL, *pem = NULL;
	size_t len = 0, n = 0;

	memset(info, 0, sizeof(*info));
	dir = pe_soft_path(root, name, "");
	if (dir == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	info->location = dir;
	info->name = strdup(name);
	if (info->name == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	if (meta_read(dir, &meta, &none) == PE_OK) {
		info->key_type = meta.key_type[0] ? strdup(meta.key_type) : NULL;
		info->created_at = meta.created_at[0] ? strdup(meta.created_at) : NULL;
		info->request_id = meta.request_id;
	}
	path = pe_soft_path(dir, CERT_FILE, "");
	if (path != NULL && pe_file_read(path, PE_SOFT_FILE_MAX, &pem, &len, &none) == PE_OK &&
	    pe_cert_list_from_pem(pem, len, &certs, &n, &none) == PE_OK) {
		parts = pe_cert_p11(certs[0]);
		info->cert = malloc(parts->value_len);
		if (info->cert != NULL) {
			memcpy(info->cert, parts->value, parts->value_len);
			info->cert_len = parts->value_len;
		}
		pe_cert_list_free(certs, n);
	}
	free(pem);
	free(path);
	return PE_OK;
}

static enum pe_code
registry_list(const struct pe_carrier_env *env, struct pe_container_info **out, size_t *n,
	      struct pe_err *err)
{
	struct pe_container_info *list = NULL, *grown;
	struct dirent *de;
	size_t count = 0;
	char *root;
	enum pe_code rc = PE_OK;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (env->home == NULL)
		return PE_OK;
	root = pe_soft_path(env->home, "containers", "");
	if (root == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	d = opendir(root);
	if (d == NULL) {
		rc = errno == ENOENT ? PE_OK
				     : pe_err_set(err, PE_E_STORE, "cannot read '%s': %s", root,
						  strerror(errno));
		free(root);
		return rc;
	}
	while (rc == PE_OK && (de = readdir(d)) != NULL) {
		if (!pe_container_name_ok(de->d_name))
			continue; /* ".", "..", and containers being built */
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (grown == NULL) {
			rc = pe_err_set(err, PE_E_FAIL, "out of memory");
			break;
		}
		list = grown;
		rc = info_fill(root, de->d_name, &list[count], err);
		count++;
	}
	closedir(d);
	free(root);
	if (rc != PE_OK) {
		pe_container_info_list_free(list, count);
		return rc;
	}
	*out = list;
	*n = count;
	return PE_OK;
}

const struct pe_container_ops pe_container_registry_ops = {
	.name = "registry",
	.open = registry_open,
	.close = registry_close,
	.key_types = registry_key_types,
	.generate = registry_generate,
	.find = registry_find,
	.public_key = registry_public_key,
	.signer = registry_signer,
	.install = registry_install,
	.serial = registry_serial,
	.model = registry_model,
	.decrypt = registry_decrypt,
	.record = registry_record,
	.list = registry_list,
};
