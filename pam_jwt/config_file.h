/* config_file.h: /etc/pam_jwt.conf, an INI file with a [global] section and one [issuer NAME] per issuer. */
#ifndef PAM_JWT_CONFIG_FILE_H
#define PAM_JWT_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PJ_DEFAULT_MAX_TOKEN_SIZE 16384
#define PJ_DEFAULT_LEEWAY 60
#define PJ_CONFIG_MAX_SIZE (1024 * 1024)

struct pj_issuer {
	char *name;              /* from [issuer NAME] */
	int line;                /* line of the section header, for messages */
	/* required */
	char *issuer;            /* "iss" value, compared byte for byte */
	char **audiences;        /* one or more; NULL-terminated */
	size_t n_audiences;
	/* key source */
	char *jwks_file;         /* local JWKS file (offline / air-gapped) */
	/* policy */
	unsigned algorithms;     /* bitmask of JWS_ALG_BIT(); default RS256 only */
	char *username_claim;    /* default "preferred_username" */
	char *groups_claim;      /* dotted path to an array of strings; NULL: no groups */
	long leeway;             /* seconds, default 60 */
	bool username_lowercase; /* username_transform = lowercase */
	bool username_strip_domain; /* username_transform = strip_domain */
	char **username_domains; /* allowed domains for strip_domain; NULL-terminated; NULL = any */
	size_t n_username_domains;
};

struct pj_config {
	char *path;
	/* [global] */
	size_t max_token_size;   /* default 16384 bytes */
	/* issuers in file order */
	struct pj_issuer *issuers;
	size_t n_issuers;
};

/* Reads and parses path (a trusted file: see trusted_file.h). Errors (PJ_ERR_CONFIG) name the file and
 * line: unknown keys, duplicate keys, duplicate sections, missing required keys (issuer, audience, a key
 * source), bad values, an unknown algorithm name (none and HS* are refused by name), no issuer at all. */
pj_status config_load(const char *path, struct pj_config **out, struct pj_error *err);

/* Parses text already in memory (used by config_load and the tests); path is only used in messages. */
pj_status config_parse(const char *path, const char *text, size_t len, struct pj_config **out,
		       struct pj_error *err);

void config_free(struct pj_config *cfg);

/* The issuer section whose "issuer" equals iss (iss_len bytes, byte for byte), or NULL. */
const struct pj_issuer *config_find_issuer(const struct pj_config *cfg, const char *iss, size_t iss_len);

#endif
