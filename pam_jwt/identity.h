/* identity.h: the local username and groups a verified token stands for. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_IDENTITY_H
#define PAM_JWT_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config_file.h"
#include "error.h"
#include "store/idmap.h"

#define PJ_USERNAME_MAX IDMAP_NAME_MAX
#define PJ_GROUPS_MAX   1024

/* What is known about a token; filled in as verification goes, so a refusal can be logged with the
 * issuer, kid, alg and subject that were seen (unverified until verified is true). */
struct pj_identity {
	bool verified;
	const struct pj_issuer *issuer; /* config section, NULL until matched */
	char *iss;
	char *kid;
	char alg[16];
	char *sub;
	char *username;
	char **groups; /* NULL-terminated */
	size_t n_groups;
	int64_t exp;
	json_object *claims; /* the payload (a reference) once signature and claims passed, else NULL */
	/* the identity step's getpwnam_r of username (identity_check_user), which the mapping reuses: one NSS
	 * user lookup per login */
	bool nss_asked;
	bool nss_found;
	uint32_t nss_uid;
};

/* Frees what id holds and zeroes it (the issuer pointer is borrowed from the configuration). */
void pj_identity_free(struct pj_identity *id);

/* Takes issuer->username_claim from payload (a string), applies username_transform (lowercase,
 * strip_domain with the allowed domains) and checks idmap_username_syntax_ok (store/idmap.h). out has room
 * for PJ_USERNAME_MAX + 1 bytes. Refusals: PJ_ERR_USER. */
pj_status identity_username(json_object *payload, const struct pj_issuer *issuer, char *out, size_t outlen,
                            struct pj_error *err);

/* username equals pam_user, is not root, and is not a system account (an existing user with uid < 1000).
 * The lookup's answer goes to id (nss_asked, nss_found, nss_uid) when id is not NULL. Refusals: PJ_ERR_USER.
 */
pj_status identity_check_user(const char *username, const char *pam_user, struct pj_identity *id,
                              struct pj_error *err);

/* Follows a dotted path ("realm_access.roles") through nested objects; a top-level claim named by the whole
 * path ("https://example.com/groups") wins. NULL when any step is missing. */
json_object *identity_claim_path(json_object *payload, const char *path);

/* The groups from issuer->groups_claim: an array of strings, or a string split at groups_separator (without
 * one: a single group, and a string holding a comma, semicolon or blank is refused). No groups_claim or no
 * such claim: zero groups, except Entra ID's overage markers (refused). Non-string elements or more than
 * PJ_GROUPS_MAX: refused (PJ_ERR_USER). *groups is a malloc'd NULL-terminated array of malloc'd strings (free
 * with identity_groups_free). */
pj_status identity_groups(json_object *payload, const struct pj_issuer *issuer, char ***groups,
                          size_t *n_groups, struct pj_error *err);
void identity_groups_free(char **groups);

#endif
