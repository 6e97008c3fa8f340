/* authz.c: checks a verified identity against a rule set; reads the rules given as module arguments. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "config_file.h"
#include "identity.h"
#include "log.h"
#include "store/analyzer.h"

#define SHOW 96 /* bytes of a rule or value quoted (escaped) in a reason */

static const char *show(char *buf, const char *s)
{
	return pj_escape(buf, SHOW, s, strlen(s));
}

/* Splits csv at commas into (*list, *n), appending; every entry must be non-empty. */
static pj_status add_csv_words(const char *what, const char *csv, char ***list, size_t *n,
                               struct pj_error *err)
{
	const char *s = csv;
	size_t len;

	if (csv == NULL)
		return PJ_OK;
	if (*list == NULL && (*list = calloc(PJ_AUTHZ_LIST_MAX + 1, sizeof(**list))) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	for (;;) {
		len = strcspn(s, ",");
		if (len == 0)
			return pj_fail(err, PJ_ERR_CONFIG, "%s: empty entry", what);
		if (*n == PJ_AUTHZ_LIST_MAX)
			return pj_fail(err, PJ_ERR_CONFIG, "%s: more than %d entries", what,
			               PJ_AUTHZ_LIST_MAX);
		/* gcc 12's analyzer loses a pointer stored at a computed index of a heap array and calls it
		 * leaked: the list owns it (the caller frees the list) */
		PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
		if (((*list)[*n] = strndup(s, len)) == NULL)
			return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		PJ_ANALYZER_END()
		(*n)++;
		if (s[len] == '\0')
			return PJ_OK;
		s += len + 1;
	}
}

static pj_status add_csv_claims(const char *csv, struct pj_authz *a, struct pj_error *err)
{
	const char *s = csv;
	size_t len;
	pj_status r;

	if (csv == NULL)
		return PJ_OK;
	if (a->claims == NULL && (a->claims = calloc(PJ_AUTHZ_LIST_MAX, sizeof(*a->claims))) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	for (;;) {
		len = strcspn(s, ",");
		if (a->n_claims == PJ_AUTHZ_LIST_MAX)
			return pj_fail(err, PJ_ERR_CONFIG, "require_claim: more than %d entries",
			               PJ_AUTHZ_LIST_MAX);
		if ((r = config_parse_claim_rule(s, len, &a->claims[a->n_claims], err)) != PJ_OK)
			return r;
		a->n_claims++;
		if (s[len] == '\0')
			return PJ_OK;
		s += len + 1;
	}
}

pj_status authz_add_args(struct pj_authz *a, const char *issuers_csv, const char *groups_csv,
                         const char *claims_csv, struct pj_error *err)
{
	pj_status r;

	if ((r = add_csv_words("require_issuer", issuers_csv, &a->issuers, &a->n_issuers, err)) != PJ_OK ||
	    (r = add_csv_words("require_groups", groups_csv, &a->groups, &a->n_groups, err)) != PJ_OK)
		return r;
	return add_csv_claims(claims_csv, a, err);
}

static bool in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* One JSON value against the rule's text: strings byte for byte, booleans as true/false, integers in
 * decimal. Other types never match. */
static bool value_matches(json_object *v, const char *want)
{
	char num[32];

	switch (json_object_get_type(v)) {
	case json_type_string:
		return (size_t)json_object_get_string_len(v) == strlen(want) &&
		       strcmp(json_object_get_string(v), want) == 0;
	case json_type_boolean: return strcmp(want, json_object_get_boolean(v) ? "true" : "false") == 0;
	case json_type_int:
		snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(v));
		return strcmp(num, want) == 0;
	default: return false;
	}
}

static bool claim_holds(json_object *claims, const struct pj_claim_rule *rule)
{
	json_object *v = identity_claim_path(claims, rule->path);

	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n; i++)
			if (value_matches(json_object_array_get_idx(v, i), rule->value))
				return true;
		return false;
	}
	return value_matches(v, rule->value);
}

pj_status authz_check(const struct pj_authz *a, const char *what, const struct pj_identity *id,
                      struct pj_error *err)
{
	char q[SHOW];
	bool found = false;

	if (!id->verified || id->issuer == NULL)
		return pj_fail(err, PJ_ERR_USER, "%s: the token is not verified", what);
	if (a->n_issuers > 0 && !in_list(a->issuers, a->n_issuers, id->issuer->name))
		return pj_fail(err, PJ_ERR_USER, "%s: tokens of [issuer %s] are not accepted here", what,
		               id->issuer->name);
	for (size_t i = 0; i < a->n_groups && !found; i++)
		found = id->groups != NULL && in_list(id->groups, id->n_groups, a->groups[i]);
	if (a->n_groups > 0 && !found)
		return pj_fail(err, PJ_ERR_USER, "%s: the token is in none of the required groups (%s%s)",
		               what, show(q, a->groups[0]), a->n_groups > 1 ? ", ..." : "");
	for (size_t i = 0; i < a->n_claims; i++)
		if (!claim_holds(id->claims, &a->claims[i]))
			return pj_fail(err, PJ_ERR_USER, "%s: claim %s does not hold the required value",
			               what, show(q, a->claims[i].path));
	return PJ_OK;
}

bool authz_is_empty(const struct pj_authz *a)
{
	return a->n_issuers == 0 && a->n_groups == 0 && a->n_claims == 0;
}

void authz_free(struct pj_authz *a)
{
	if (a == NULL)
		return;
	config_list_free(a->issuers);
	config_list_free(a->groups);
	config_claim_rules_free(a->claims, a->n_claims);
	memset(a, 0, sizeof(*a));
}

const struct pj_service *authz_service_section(const struct pj_config *cfg, const char *name)
{
	const struct pj_service *svc = name != NULL ? config_find_service(cfg, name) : NULL;

	/* a PAM service without a section of its own (su, login, polkit-1 through common-auth) gets
	 * [service default]'s rules, when there is one */
	return svc != NULL ? svc : config_find_service(cfg, PJ_SERVICE_DEFAULT);
}

pj_status authz_check_service(const struct pj_config *cfg, const char *name, bool must_exist,
                              const struct pj_identity *id, struct pj_error *err)
{
	const struct pj_service *svc;
	char what[96];

	if (must_exist && (name == NULL || config_find_service(cfg, name) == NULL))
		return pj_fail(err, PJ_ERR_CONFIG, "%s has no [service %.64s] section",
		               cfg->path ? cfg->path : "config", name ? name : "");
	if ((svc = authz_service_section(cfg, name)) == NULL)
		return PJ_OK;
	snprintf(what, sizeof(what), "[service %s]", svc->name);
	return authz_check(&svc->authz, what, id, err);
}
