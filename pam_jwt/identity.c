/* identity.c: the local username and groups a verified token stands for. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "identity.h"
#include "json_strict.h"
#include "store/analyzer.h"

/* Below this uid an account belongs to the system, never to a token holder. */
#define PJ_SYSTEM_UID_MAX 999

static bool domain_allowed(const struct pj_issuer *issuer, const char *domain)
{
	if (issuer->n_username_domains == 0)
		return true;
	for (size_t i = 0; i < issuer->n_username_domains; i++)
		if (strcasecmp(issuer->username_domains[i], domain) == 0)
			return true;
	return false;
}

pj_status identity_username(json_object *payload, const struct pj_issuer *issuer, char *out, size_t outlen,
                            struct pj_error *err)
{
	const char *claim = issuer->username_claim ? issuer->username_claim : "preferred_username";
	char buf[256];
	const char *value;
	size_t len;
	char *at;

	switch (json_get_string(payload, claim, &value, &len)) {
	case JSON_GET_OK: break;
	case JSON_GET_ABSENT: return pj_fail(err, PJ_ERR_USER, "no %s claim for the username", claim);
	default: return pj_fail(err, PJ_ERR_USER, "username claim %s is not a string", claim);
	}
	if (len == 0 || len >= sizeof(buf))
		return pj_fail(err, PJ_ERR_USER, "username claim %s has a bad length (%zu)", claim, len);
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (issuer->username_strip_domain && (at = strchr(buf, '@')) != NULL) {
		if (!domain_allowed(issuer, at + 1))
			return pj_fail(err, PJ_ERR_USER, "username domain %.64s is not in username_domains",
			               at + 1);
		*at = '\0';
	} else if (issuer->username_strip_domain && issuer->n_username_domains > 0) {
		return pj_fail(err, PJ_ERR_USER, "username has no domain but username_domains is set");
	}
	if (issuer->username_lowercase)
		for (char *p = buf; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	if (!idmap_username_syntax_ok(buf))
		return pj_fail(err, PJ_ERR_USER, "username %.64s is not a safe POSIX name", buf);
	if (strlen(buf) >= outlen)
		return pj_fail(err, PJ_ERR_USER, "username too long");
	memcpy(out, buf, strlen(buf) + 1);
	return PJ_OK;
}

pj_status identity_check_user(const char *username, const char *pam_user, struct pj_identity *id,
                              struct pj_error *err)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	int rc;

	if (pam_user != NULL && strcmp(username, pam_user) != 0)
		return pj_fail(err, PJ_ERR_USER, "token is for user %s, not %.64s", username, pam_user);
	if (strcmp(username, "root") == 0)
		return pj_fail(err, PJ_ERR_USER, "token may never log in as root");
	rc = getpwnam_r(username, &pw, buf, sizeof(buf), &found);
	if (rc != 0 && rc != ENOENT && rc != ESRCH)
		return pj_fail(err, PJ_ERR_SYSTEM, "looking up %s failed: %s", username, strerror(rc));
	if (id != NULL) {
		id->nss_asked = true;
		id->nss_found = found != NULL;
		id->nss_uid = found != NULL ? (uint32_t)found->pw_uid : 0;
	}
	if (found != NULL && found->pw_uid <= PJ_SYSTEM_UID_MAX)
		return pj_fail(err, PJ_ERR_USER, "%s is a system account (uid %u)", username,
		               (unsigned)found->pw_uid);
	return PJ_OK;
}

json_object *identity_claim_path(json_object *payload, const char *path)
{
	char step[256];
	json_object *cur = payload;
	const char *p = path;

	/* A claim whose own name holds dots (Auth0's namespaced "https://example.com/groups") by that name.
	 */
	if (strchr(path, '.') != NULL && json_object_get_type(payload) == json_type_object &&
	    json_object_object_get_ex(payload, path, &cur))
		return cur;
	cur = payload;

	while (cur != NULL && *p != '\0') {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(step) || json_object_get_type(cur) != json_type_object)
			return NULL;
		memcpy(step, p, n);
		step[n] = '\0';
		if (!json_object_object_get_ex(cur, step, &cur))
			return NULL;
		p += n + (dot ? 1 : 0);
		if (dot && *p == '\0')
			return NULL;
	}
	return cur;
}

void identity_groups_free(char **groups)
{
	config_list_free(groups); /* NULL-terminated, like every string list of the configuration */
}

/* Microsoft Entra ID leaves out the groups claim of a user in more groups than a token carries and says so
 * with "_claim_names": {"groups": "src1"} (or "hasgroups": true): the groups are then only in Microsoft
 * Graph, which pam_jwt never asks. Taking that as "no groups" would silently drop every group rule. */
static bool groups_overage(json_object *payload, const char *claim_name)
{
	json_object *names, *has;

	if (json_object_object_get_ex(payload, "_claim_names", &names) &&
	    json_object_get_type(names) == json_type_object &&
	    json_object_object_get_ex(names, claim_name, NULL))
		return true;
	return strcmp(claim_name, "groups") == 0 && json_object_object_get_ex(payload, "hasgroups", &has) &&
	       json_object_get_type(has) == json_type_boolean && json_object_get_boolean(has);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Splits text at sep (' ': runs of spaces and tabs) into list (room for PJ_GROUPS_MAX + 1), items trimmed
 * of spaces and tabs, empty items skipped. */
static pj_status split_groups(const char *text, char sep, const struct pj_issuer *issuer, char **list,
                              size_t *n, struct pj_error *err)
{
	const char *p = text;

	*n = 0;
	while (*p != '\0') {
		const char *end, *stop;

		while (is_blank(*p) || *p == sep)
			p++;
		if (*p == '\0')
			break;
		for (end = p; *end != '\0' && *end != sep && !(sep == ' ' && is_blank(*end)); end++)
			;
		for (stop = end; stop > p && is_blank(stop[-1]); stop--)
			;
		if (*n == PJ_GROUPS_MAX)
			return pj_fail(err, PJ_ERR_USER, "groups claim %s has more than %d entries",
			               issuer->groups_claim, PJ_GROUPS_MAX);
		/* out of memory only: no test reaches the refusal without fault injection */
		if ((list[(*n)++] = strndup(p, (size_t)(stop - p))) == NULL)
			return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		p = end;
	}
	return PJ_OK;
}

/* A string-valued groups claim: split at groups_separator; without one, a string that looks joined
 * ("devs,ops", "devs ops") is refused with the fix named, rather than becoming one group nobody has. */
static pj_status string_groups(const char *text, const struct pj_issuer *issuer, char **list, size_t *n,
                               struct pj_error *err)
{
	if (issuer->groups_separator != '\0')
		return split_groups(text, issuer->groups_separator, issuer, list, n, err);
	if (strpbrk(text, ",; \t") != NULL)
		return pj_fail(
		    err, PJ_ERR_USER,
		    "groups claim %s is one string holding a comma, semicolon or space, not an array: "
		    "set groups_separator in [issuer %s] to split it",
		    issuer->groups_claim, issuer->name);
	*n = 1;
	return (list[0] = strdup(text)) != NULL ? PJ_OK : pj_fail(err, PJ_ERR_NOMEM, "out of memory");
}

pj_status identity_groups(json_object *payload, const struct pj_issuer *issuer, char ***groups,
                          size_t *n_groups, struct pj_error *err)
{
	json_object *claim;
	size_t n = 0;
	char **list;
	pj_status r;

	*groups = NULL;
	*n_groups = 0;
	claim = issuer->groups_claim ? identity_claim_path(payload, issuer->groups_claim) : NULL;
	if (claim == NULL && issuer->groups_claim != NULL && groups_overage(payload, issuer->groups_claim))
		return pj_fail(
		    err, PJ_ERR_USER,
		    "groups claim %s left out for too many groups (Entra ID overage: _claim_names or "
		    "hasgroups): the groups are only in Microsoft Graph; assign fewer groups to the "
		    "application or use app roles (groups_claim = roles)",
		    issuer->groups_claim);
	if (claim != NULL && json_object_get_type(claim) == json_type_array)
		n = json_object_array_length(claim);
	else if (claim != NULL && json_object_get_type(claim) != json_type_null &&
	         json_object_get_type(claim) != json_type_string)
		return pj_fail(err, PJ_ERR_USER, "groups claim %s is not an array of strings",
		               issuer->groups_claim);
	if (n > PJ_GROUPS_MAX)
		return pj_fail(err, PJ_ERR_USER, "groups claim %s has %zu entries, more than %d",
		               issuer->groups_claim, n, PJ_GROUPS_MAX);
	if ((list = calloc((json_object_get_type(claim) == json_type_string ? PJ_GROUPS_MAX : n) + 1,
	                   sizeof(*list))) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if (claim != NULL && json_object_get_type(claim) == json_type_string) {
		if ((r = string_groups(json_object_get_string(claim), issuer, list, &n, err)) != PJ_OK) {
			identity_groups_free(list);
			return r;
		}
	}
	for (size_t i = 0; json_object_get_type(claim) == json_type_array && i < n; i++) {
		json_object *g = json_object_array_get_idx(claim, i);

		if (json_object_get_type(g) != json_type_string) {
			identity_groups_free(list);
			return pj_fail(err, PJ_ERR_USER, "groups claim %s holds a value that is not a string",
			               issuer->groups_claim);
		}
		/* gcc 12's analyzer loses a pointer stored at a computed index of a heap array and calls it
		 * leaked: the list owns it (identity_groups_free, or the caller through *groups) */
		PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
		if ((list[i] = strdup(json_object_get_string(g))) == NULL) {
			/* out of memory only: no test reaches this without fault injection */
			identity_groups_free(list);
			return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		}
		PJ_ANALYZER_END()
	}
	*groups = list;
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	*n_groups = n;
	PJ_ANALYZER_END()
	return PJ_OK;
}

void pj_identity_free(struct pj_identity *id)
{
	if (id == NULL)
		return;
	free(id->iss);
	free(id->kid);
	free(id->sub);
	free(id->username);
	identity_groups_free(id->groups);
	if (id->claims != NULL)
		json_object_put(id->claims);
	memset(id, 0, sizeof(*id));
}
