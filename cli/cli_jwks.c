/* cli_jwks.c: `pam-jwt jwks status` (keys and cache state per issuer) and `pam-jwt jwks refresh`. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_common.h"
#include "cli_jwks.h"
#include "pam_jwt/keystore.h"
#include "pam_jwt/log.h"

static void cli_emit(void *arg, int priority, const char *message)
{
	const char *level = priority <= LOG_ERR ? "error" : priority <= LOG_WARNING ? "warning" : "info";

	(void)arg;
	fprintf(stderr, "pam-jwt: %s: %s\n", level, message);
}

static void usage(void)
{
	fprintf(stderr, "usage: pam-jwt jwks status [--config FILE] [--issuer NAME]\n"
	                "       pam-jwt jwks refresh [--config FILE] [--issuer NAME] [--expiring SECONDS]\n");
}

/* Text from the IdP or the cache, printed escaped. */
static const char *esc(char *buf, size_t len, const char *s)
{
	if (s == NULL)
		return "-";
	return pj_escape(buf, len, s, strlen(s));
}

static const char *fmt_time(char *buf, size_t len, time_t t, time_t now)
{
	struct tm tm;
	char when[32];

	if (t == 0)
		return "never";
	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)t);
	if (t <= now)
		snprintf(buf, len, "%s (%lld s ago)", when, (long long)(now - t));
	else
		snprintf(buf, len, "%s (in %lld s)", when, (long long)(t - now));
	return buf;
}

static void print_keys(const struct jwk_set *set)
{
	char kid[JWK_KID_MAX * 4 + 1], kty[64], alg[64];

	if (set == NULL) {
		printf("  keys: none\n");
		return;
	}
	printf("  keys: %zu\n", set->n_keys);
	for (size_t i = 0; i < set->n_keys; i++) {
		const struct jwk *k = &set->keys[i];

		printf("    kid=%s kty=%s alg=%s size=%d %s%s\n", esc(kid, sizeof(kid), k->kid),
		       esc(kty, sizeof(kty), k->kty), esc(alg, sizeof(alg), k->alg), k->bits,
		       k->usable ? "usable" : "not usable: ", k->usable ? "" : k->skip_reason);
	}
}

static int status_one(const struct pj_config *cfg, const struct pj_issuer *iss, const struct pj_log *log,
                      time_t now)
{
	struct keystore_info info;
	struct pj_error err;
	char buf[PJ_REASON_MAX * 4 + 1], tbuf[96];
	pj_status r;

	pj_error_clear(&err);
	r = keystore_info_get(cfg, iss, now, log, &info, &err);
	printf("issuer %s (%s)\n", iss->name, esc(buf, sizeof(buf), iss->issuer));
	printf("  source: %s\n", esc(buf, sizeof(buf), info.source));
	if (info.url != NULL)
		printf("  url: %s\n", esc(buf, sizeof(buf), info.url));
	printf("  fetched at: %s\n", fmt_time(tbuf, sizeof(tbuf), info.fetched_at, now));
	if (iss->jwks_file == NULL) {
		printf("  fresh until: %s\n", fmt_time(tbuf, sizeof(tbuf), info.fresh_until, now));
		printf("  last attempt: %s\n", fmt_time(tbuf, sizeof(tbuf), info.last_attempt, now));
	}
	printf("  last error: %s\n",
	       info.last_error != NULL ? esc(buf, sizeof(buf), info.last_error) : "none");
	if (r == PJ_OK)
		printf("  state: %s\n",
		       iss->jwks_file != NULL || now < info.fresh_until ? "ok" : "stale, still served");
	else
		printf("  state: unusable: %s\n", esc(buf, sizeof(buf), err.reason));
	print_keys(info.set);
	keystore_info_free(&info);
	return r == PJ_OK ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
}

static int refresh_one(const struct pj_config *cfg, const struct pj_issuer *iss, const struct pj_log *log,
                       time_t now)
{
	struct keystore_info info;
	struct pj_error err;
	char buf[PJ_REASON_MAX * 4 + 1], tbuf[96];
	size_t usable = 0;

	pj_error_clear(&err);
	if (keystore_refresh(cfg, iss, now, log, &err) != PJ_OK) {
		fprintf(stderr, "pam-jwt: issuer %s: refresh failed: %s\n", iss->name,
		        esc(buf, sizeof(buf), err.reason));
		return CLI_EXIT_REFUSED;
	}
	keystore_info_get(cfg, iss, now, log, &info, &err);
	for (size_t i = 0; info.set != NULL && i < info.set->n_keys; i++)
		usable += info.set->keys[i].usable;
	printf("issuer %s: %zu keys (%zu usable) from %s, fresh until %s\n", iss->name,
	       info.set != NULL ? info.set->n_keys : 0, usable,
	       esc(buf, sizeof(buf), info.url != NULL ? info.url : info.source),
	       iss->jwks_file != NULL ? "the file changes"
	                              : fmt_time(tbuf, sizeof(tbuf), info.fresh_until, now));
	keystore_info_free(&info);
	return CLI_EXIT_OK;
}

/* refresh --expiring SECONDS: whether iss's keys are due, i.e. never fetched (or the cache is unreadable) or
 * fresh for less than within seconds more; a jwks_file is never due. within < 0: always due. The timer
 * (pam-jwt-refresh.service) uses this, so the IdP is asked about as often as its Cache-Control says. */
static bool refresh_due(const struct pj_config *cfg, const struct pj_issuer *iss, const struct pj_log *log,
                        time_t now, long within)
{
	struct keystore_info info;
	struct pj_error err;
	char tbuf[96];
	bool due;

	if (within < 0)
		return true;
	if (iss->jwks_file != NULL)
		return false;
	pj_error_clear(&err);
	keystore_info_get(cfg, iss, now, log, &info, &err);
	due = info.fresh_until == 0 || info.fresh_until - now < within;
	if (!due)
		printf("issuer %s: fresh until %s, not due\n", iss->name,
		       fmt_time(tbuf, sizeof(tbuf), info.fresh_until, now));
	keystore_info_free(&info);
	return due;
}

static bool parse_seconds(const char *text, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *out >= 0 && *out <= 366L * 86400;
}

const struct option cli_jwks_options[] = {CLI_OPTION_CONFIG,
                                          {"issuer", required_argument, NULL, 'i'},
                                          {"expiring", required_argument, NULL, 'e'},
                                          {NULL, 0, NULL, 0}};

int cli_jwks_main(const struct pj_config *cfg, int argc, char **argv)
{
	struct pj_log log = {.emit = cli_emit, .arg = NULL, .debug = false};
	const char *only = NULL, *cmd;
	time_t now = time(NULL);
	int rc = CLI_EXIT_OK, found = 0, c;
	long within = -1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", cli_jwks_options, NULL)) != -1) {
		switch (c) {
		case 'c': break; /* the caller has loaded it already */
		case 'i': only = optarg; break;
		case 'e':
			if (!parse_seconds(optarg, &within)) {
				usage();
				return CLI_EXIT_USAGE;
			}
			break;
		default: usage(); return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage();
		return CLI_EXIT_USAGE;
	}
	cmd = argv[optind];
	if ((strcmp(cmd, "status") != 0 && strcmp(cmd, "refresh") != 0) ||
	    (within >= 0 && strcmp(cmd, "refresh") != 0)) {
		usage();
		return CLI_EXIT_USAGE;
	}
	for (size_t n = 0; n < cfg->n_issuers; n++) {
		const struct pj_issuer *iss = &cfg->issuers[n];

		if (only != NULL && strcmp(iss->name, only) != 0)
			continue;
		found++;
		if (strcmp(cmd, "status") == 0)
			rc |= status_one(cfg, iss, &log, now);
		else if (refresh_due(cfg, iss, &log, now, within))
			rc |= refresh_one(cfg, iss, &log, now);
	}
	if (found == 0) {
		fprintf(stderr, "pam-jwt: no issuer%s%s in %s\n", only ? " named " : "", only ? only : "",
		        cfg->path != NULL ? cfg->path : "the configuration");
		return CLI_EXIT_USAGE;
	}
	return rc;
}
