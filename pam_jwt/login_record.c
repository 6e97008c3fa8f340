/* login_record.c: the per-user record of the last token login that the account step checks rules against. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json_strict.h"
#include "login_record.h"
#include "trusted_file.h"
#include "store/analyzer.h"

#define RECORD_DEPTH 16 /* the record's own nesting (2) plus the claims' (json_strict's limit for tokens) */

static pj_status record_path(const struct pj_config *cfg, const char *user, char *dir, char *path,
                             struct pj_error *err)
{
	const char *state = cfg->state_dir ? cfg->state_dir : PJ_DEFAULT_STATE_DIR;

	if ((size_t)snprintf(dir, PATH_MAX, "%s/%s", state, PJ_LOGIN_RECORD_DIR) >= PATH_MAX ||
	    (size_t)snprintf(path, PATH_MAX, "%s/%s", dir, user) >= PATH_MAX)
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", state);
	return PJ_OK;
}

/* Whether some [service] section's require_claim names the top-level claim key (the first part of its path).
 */
static bool claim_named(const struct pj_config *cfg, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct pj_authz *a = &cfg->services[i].authz;
		for (size_t k = 0; k < a->n_claims; k++) {
			const char *p = a->claims[k].path;
			if (strncmp(p, key, klen) == 0 && (p[klen] == '\0' || p[klen] == '.'))
				return true;
		}
	}
	return false;
}

/* Adds value (NULL: out of memory) to obj under key (array when key is NULL), taking it: 0, or -1 with value
 * put. */
static int add(json_object *obj, const char *key, json_object *value)
{
	if (value != NULL &&
	    (key ? json_object_object_add(obj, key, value) : json_object_array_add(obj, value)) == 0)
		return 0;
	json_object_put(value);
	return -1;
}

/* The record as JSON text (malloc'd; NULL when out of memory): {"issuer":NAME,"groups":[...],"claims":{the
 * named claims}}. Every allocation is checked: a record missing a group would be checked by the account
 * step as the user's. */
static char *record_text(const struct pj_config *cfg, const struct pj_identity *id)
{
	json_object *rec = json_object_new_object(), *groups = json_object_new_array(),
	            *claims = json_object_new_object();
	const char *json;
	char *text = NULL;

	if (rec == NULL || groups == NULL || claims == NULL)
		goto out;
	for (size_t i = 0; i < id->n_groups; i++)
		if (add(groups, NULL, json_object_new_string(id->groups[i])) != 0)
			goto out;
	json_object_object_foreach(id->claims, key, value)
	{
		if (!claim_named(cfg, key))
			continue;
		/* a claim that is JSON null is added as null (value NULL) */
		if (json_object_object_add(claims, key, json_object_get(value)) != 0) {
			json_object_put(value);
			goto out;
		}
	}
	if (add(rec, "issuer", json_object_new_string(id->issuer->name)) != 0)
		goto out;
	/* rec takes them, whether the adding works or not */
	if (add(rec, "groups", json_object_get(groups)) != 0 ||
	    add(rec, "claims", json_object_get(claims)) != 0)
		goto out;
	if ((json = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN)) != NULL)
		text = strdup(json);
out:
	json_object_put(groups);
	json_object_put(claims);
	json_object_put(rec);
	return text;
}

pj_status login_record_put(const struct pj_config *cfg, const struct pj_identity *id, struct pj_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX], *text, *old = NULL;
	size_t len, old_len = 0;
	pj_status r;

	if (id->issuer == NULL || id->username == NULL || id->claims == NULL)
		return pj_fail(err, PJ_ERR_USER, "login record: the identity is incomplete");
	if ((r = record_path(cfg, id->username, dir, path, err)) != PJ_OK)
		return r;
	if ((text = record_text(cfg, id)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	len = strlen(text);
	if (len > PJ_LOGIN_RECORD_MAX) {
		r = pj_fail(err, PJ_ERR_USER, "login record of %s: %zu bytes, more than %d", id->username,
		            len, PJ_LOGIN_RECORD_MAX);
		goto out;
	}
	/* nothing written when nothing changed: a returning login with the same groups and claims */
	if (trusted_file_read(path, PJ_LOGIN_RECORD_MAX, &old, &old_len, err) == PJ_OK && old_len == len &&
	    memcmp(old, text, len) == 0)
		goto out;
	if ((r = trusted_dir_make(dir, err)) == PJ_OK)
		r = atomic_write_file(path, text, len, 0644, err);
out:
	free(old);
	free(text);
	return r;
}

pj_status login_record_remove(const char *state_dir, const char *user, struct pj_error *err)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", state_dir, PJ_LOGIN_RECORD_DIR, user) >=
	    sizeof(path))
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", state_dir);
	if (unlink(path) != 0 && errno != ENOENT)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot remove: %s", path, strerror(errno));
	return PJ_OK;
}

/* The record's groups into id (a NULL-terminated list, as identity_groups makes). */
static pj_status take_groups(json_object *arr, struct pj_identity *id, struct pj_error *err)
{
	size_t n = json_object_array_length(arr);

	if (n > PJ_GROUPS_MAX || (id->groups = calloc(n + 1, sizeof(*id->groups))) == NULL)
		return pj_fail(err, n > PJ_GROUPS_MAX ? PJ_ERR_SYSTEM : PJ_ERR_NOMEM, "login record: groups");
	for (size_t i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(g, json_type_string))
			return pj_fail(err, PJ_ERR_SYSTEM, "login record: a group that is not a string");
		/* gcc 12's analyzer loses a pointer stored at a computed index of a heap array and calls it
		 * leaked: id->groups owns it (pj_identity_free) */
		PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
		if ((id->groups[i] = strdup(json_object_get_string(g))) == NULL)
			return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		PJ_ANALYZER_END()
		id->n_groups++;
	}
	return PJ_OK;
}

pj_status login_record_get(const struct pj_config *cfg, const char *user, struct pj_identity *id,
                           struct pj_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX], *text = NULL;
	json_object *rec = NULL, *groups, *claims;
	const char *issuer;
	struct stat sb;
	size_t len;
	pj_status r;

	memset(id, 0, sizeof(*id));
	if ((r = record_path(cfg, user, dir, path, err)) != PJ_OK)
		return r;
	if (lstat(path, &sb) != 0 && errno == ENOENT)
		return pj_fail(err, PJ_ERR_USER, "no token login of %s is recorded (%s)", user, path);
	if ((r = trusted_dir_check(dir, err)) != PJ_OK ||
	    (r = trusted_file_read(path, PJ_LOGIN_RECORD_MAX, &text, &len, err)) != PJ_OK)
		return r;
	if (json_strict_parse_object(text, len, RECORD_DEPTH, &rec, err) != PJ_OK ||
	    json_get_string(rec, "issuer", &issuer, &len) != JSON_GET_OK ||
	    json_get_array(rec, "groups", &groups) != JSON_GET_OK ||
	    json_get_object(rec, "claims", &claims) != JSON_GET_OK) {
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: damaged", path);
		goto out;
	}
	if ((id->issuer = config_find_issuer_by_name(cfg, issuer)) == NULL) {
		r = pj_fail(err, PJ_ERR_USER,
		            "%s's last token login was from issuer %.64s, which is configured no more", user,
		            issuer);
		goto out;
	}
	if ((id->username = strdup(user)) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = take_groups(groups, id, err)) != PJ_OK)
		goto out;
	id->claims = json_object_get(claims);
	id->verified = true;
out:
	json_object_put(rec);
	free(text);
	if (r != PJ_OK)
		pj_identity_free(id);
	return r;
}
