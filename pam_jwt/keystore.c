/* keystore.c: the issuer's key sets, parsed once per process, shared by refcount, reloaded when the source changes. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keystore.h"
#include "trusted_file.h"

#define KS_JWKS_FILE_MAX (1024 * 1024)

/* A parsed key set. The table holds one reference to the current set of an issuer; every caller of
 * keystore_get holds another until keystore_release, so a set replaced meanwhile stays alive. */
struct keystore_ref {
	struct jwk_set *set;
	unsigned long refs; /* under ks_lock */
};

/* One issuer's state, keyed by section name and source, so a reloaded config that changes the source
 * never sees keys from the old one. */
struct ks_entry {
	struct ks_entry *next;
	char *name;               /* issuer section name */
	char *source;             /* "file:PATH", "uri:URL" or "discovery:ISSUER" */
	struct keystore_ref *cur; /* NULL until loaded */
	/* jwks_file: the file cur was read from, to notice edits */
	bool have_stat;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* One lock for the table and the refcounts: logins are rare and a JWKS parse is quick. */
static pthread_mutex_t ks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ks_entry *ks_entries;

static struct keystore_ref *ks_ref_new(struct jwk_set *set)
{
	struct keystore_ref *ref = calloc(1, sizeof(*ref));

	if (ref == NULL)
		return NULL;
	ref->set = set;
	ref->refs = 1;
	return ref;
}

/* Drops one reference; the caller holds ks_lock. */
static void ks_ref_drop_locked(struct keystore_ref *ref)
{
	if (ref == NULL || --ref->refs > 0)
		return;
	jwk_set_free(ref->set);
	free(ref);
}

/* Makes set the entry's current set (taking ownership); the old one lives on while held elsewhere. */
static pj_status ks_entry_install(struct ks_entry *e, struct jwk_set *set, struct pj_error *err)
{
	struct keystore_ref *ref = ks_ref_new(set);

	if (ref == NULL) {
		jwk_set_free(set);
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	ks_ref_drop_locked(e->cur);
	e->cur = ref;
	return PJ_OK;
}

static size_t ks_usable_keys(const struct jwk_set *set)
{
	size_t n = 0;

	for (size_t i = 0; set != NULL && i < set->n_keys; i++)
		if (set->keys[i].usable)
			n++;
	return n;
}

/* Parses a JWKS text and insists on at least one usable key: a set with none can only refuse. */
static pj_status ks_parse_jwks(const char *text, size_t len, struct jwk_set **out, struct pj_error *err)
{
	struct jwk_set *set = NULL;
	pj_status r;

	*out = NULL;
	if ((r = jwk_set_parse(text, len, &set, err)) != PJ_OK)
		return r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS;
	if (ks_usable_keys(set) == 0) {
		jwk_set_free(set);
		return pj_fail(err, PJ_ERR_NO_KEYS, "no usable key in the key set");
	}
	*out = set;
	return PJ_OK;
}

static char *ks_source_name(const struct pj_issuer *iss)
{
	char *s = NULL;
	int n;

	if (iss->jwks_file != NULL)
		n = asprintf(&s, "file:%s", iss->jwks_file);
	else if (iss->jwks_uri != NULL)
		n = asprintf(&s, "uri:%s", iss->jwks_uri);
	else
		n = asprintf(&s, "discovery:%s", iss->issuer != NULL ? iss->issuer : "");
	return n < 0 ? NULL : s;
}

/* Finds or adds the entry for (issuer name, source); the caller holds ks_lock. */
static pj_status ks_entry_find(const struct pj_issuer *iss, struct ks_entry **out, struct pj_error *err)
{
	struct ks_entry *e;
	char *source;

	if ((source = ks_source_name(iss)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	for (e = ks_entries; e != NULL; e = e->next) {
		if (strcmp(e->name, iss->name) == 0 && strcmp(e->source, source) == 0) {
			free(source);
			*out = e;
			return PJ_OK;
		}
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->name = strdup(iss->name)) == NULL) {
		free(e);
		free(source);
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	e->source = source;
	e->next = ks_entries;
	ks_entries = e;
	*out = e;
	return PJ_OK;
}

static bool ks_same_file(const struct ks_entry *e, const struct stat *st)
{
	return e->have_stat && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* jwks_file: read and parse once; again only when the file's inode, size or mtime changed. The stat is
 * taken before the read, so an edit racing the read at worst causes one more reload later. */
static pj_status ks_file_load(struct ks_entry *e, const struct pj_issuer *iss, const struct pj_log *log,
			      struct pj_error *err)
{
	struct pj_error ferr;
	struct jwk_set *set = NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	pj_status r;

	if (stat(iss->jwks_file, &st) == -1)
		return pj_fail(err, PJ_ERR_NO_KEYS, "issuer %s: jwks_file %s: %s", iss->name, iss->jwks_file,
			       strerror(errno));
	if (e->cur != NULL && ks_same_file(e, &st))
		return PJ_OK;
	pj_error_clear(&ferr);
	if ((r = trusted_file_read(iss->jwks_file, KS_JWKS_FILE_MAX, &text, &len, &ferr)) != PJ_OK)
		return pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS, "issuer %s: jwks_file: %s", iss->name,
			       ferr.reason);
	r = ks_parse_jwks(text, len, &set, &ferr);
	free(text);
	if (r != PJ_OK)
		return pj_fail(err, r, "issuer %s: jwks_file %s: %s", iss->name, iss->jwks_file, ferr.reason);
	if ((r = ks_entry_install(e, set, err)) != PJ_OK)
		return r;
	e->have_stat = true;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->size = st.st_size;
	e->mtime = st.st_mtim;
	pj_logf(log, LOG_DEBUG, "issuer %s: loaded %zu keys from %s", iss->name, e->cur->set->n_keys,
		iss->jwks_file);
	return PJ_OK;
}

pj_status keystore_get(const struct pj_config *cfg, const struct pj_issuer *issuer, const char *kid, time_t now,
		       const struct pj_log *log, const struct jwk_set **set, struct keystore_ref **ref,
		       struct pj_error *err)
{
	struct ks_entry *e = NULL;
	pj_status r;

	*set = NULL;
	*ref = NULL;
	if (issuer == NULL || issuer->name == NULL)
		return pj_fail(err, PJ_ERR_CONFIG, "no issuer");
	pthread_mutex_lock(&ks_lock);
	if ((r = ks_entry_find(issuer, &e, err)) != PJ_OK)
		goto out;
	if (issuer->jwks_file != NULL)
		r = ks_file_load(e, issuer, log, err);
	else
		r = pj_fail(err, PJ_ERR_NO_KEYS, "issuer %s: fetching keys is not supported yet", issuer->name);
	if (r != PJ_OK)
		goto out;
	e->cur->refs++;
	*ref = e->cur;
	*set = e->cur->set;
out:
	pthread_mutex_unlock(&ks_lock);
	(void)cfg;
	(void)kid;
	(void)now;
	return r;
}

void keystore_release(struct keystore_ref *ref)
{
	if (ref == NULL)
		return;
	pthread_mutex_lock(&ks_lock);
	ks_ref_drop_locked(ref);
	pthread_mutex_unlock(&ks_lock);
}

void keystore_flush(void)
{
	struct ks_entry *e, *next;

	pthread_mutex_lock(&ks_lock);
	for (e = ks_entries; e != NULL; e = next) {
		next = e->next;
		ks_ref_drop_locked(e->cur);
		free(e->name);
		free(e->source);
		free(e);
	}
	ks_entries = NULL;
	pthread_mutex_unlock(&ks_lock);
}
