/* nss_pjtest.c: libnss_pjtest.so.2, a stand-in for another NSS source (LDAP, SSSD) in tests: passwd and
 * group entries from $PJ_TEST_NSS_DIR/passwd and $PJ_TEST_NSS_DIR/group; host lookups, which it never
 * answers, are noted in $PJ_TEST_NSS_DIR/hosts.log (whether the resolver was asked). A group named in
 * $PJ_TEST_NSS_DIR/unreachable (one a line) is looked up as a server that cannot answer now: TRYAGAIN,
 * EAGAIN. Never installed. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <nss.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum nss_status _nss_pjtest_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                       int *errnop);
enum nss_status _nss_pjtest_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_pjtest_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
                                       int *errnop);
enum nss_status _nss_pjtest_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_pjtest_gethostbyname2_r(const char *name, int af, struct hostent *host, char *buf,
                                             size_t buflen, int *errnop, int *h_errnop);

/* The entry of file (passwd or group) that matches name (when not NULL) or id. */
static enum nss_status lookup(const char *file, bool group, const char *name, unsigned id, void *result,
                              char *buf, size_t buflen, int *errnop)
{
	const char *dir = getenv("PJ_TEST_NSS_DIR");
	enum nss_status s = NSS_STATUS_NOTFOUND;
	char path[PATH_MAX];
	FILE *f;
	int e;

	*errnop = ENOENT;
	if (dir == NULL || snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path) ||
	    (f = fopen(path, "re")) == NULL)
		return NSS_STATUS_UNAVAIL;
	for (;;) {
		struct passwd *pwres;
		struct group *grres;
		const char *n;
		unsigned i;
		if (group) {
			if ((e = fgetgrent_r(f, result, buf, buflen, &grres)) != 0)
				break;
			n = grres->gr_name;
			i = grres->gr_gid;
		} else {
			if ((e = fgetpwent_r(f, result, buf, buflen, &pwres)) != 0)
				break;
			n = pwres->pw_name;
			i = pwres->pw_uid;
		}
		if (name != NULL ? strcmp(n, name) == 0 : i == id) {
			s = NSS_STATUS_SUCCESS;
			break;
		}
	}
	if (s != NSS_STATUS_SUCCESS && e == ERANGE) {
		*errnop = ERANGE;
		s = NSS_STATUS_TRYAGAIN;
	}
	fclose(f);
	return s;
}

enum nss_status _nss_pjtest_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                       int *errnop)
{
	return lookup("passwd", false, name, 0, pw, buf, buflen, errnop);
}

enum nss_status _nss_pjtest_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	return lookup("passwd", false, NULL, uid, pw, buf, buflen, errnop);
}

/* Whether name is listed in $PJ_TEST_NSS_DIR/unreachable. */
static bool unreachable(const char *name)
{
	const char *dir = getenv("PJ_TEST_NSS_DIR");
	char path[PATH_MAX], line[256];
	bool found = false;
	FILE *f;

	if (dir == NULL || snprintf(path, sizeof(path), "%s/unreachable", dir) >= (int)sizeof(path) ||
	    (f = fopen(path, "re")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		found = strcmp(line, name) == 0;
	}
	fclose(f);
	return found;
}

enum nss_status _nss_pjtest_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
                                       int *errnop)
{
	if (unreachable(name)) {
		*errnop = EAGAIN;
		return NSS_STATUS_TRYAGAIN;
	}
	return lookup("group", true, name, 0, gr, buf, buflen, errnop);
}

enum nss_status _nss_pjtest_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop)
{
	return lookup("group", true, NULL, gid, gr, buf, buflen, errnop);
}

/* Notes the name asked for and answers "not found", so that the next source (files) answers. */
enum nss_status _nss_pjtest_gethostbyname2_r(const char *name, int af, struct hostent *host, char *buf,
                                             size_t buflen, int *errnop, int *h_errnop)
{
	const char *dir = getenv("PJ_TEST_NSS_DIR");
	char path[PATH_MAX];
	FILE *f;

	(void)af;
	(void)host;
	(void)buf;
	(void)buflen;
	if (dir != NULL && snprintf(path, sizeof(path), "%s/hosts.log", dir) < (int)sizeof(path) &&
	    (f = fopen(path, "ae")) != NULL) {
		fprintf(f, "%s\n", name);
		fclose(f);
	}
	*errnop = ENOENT;
	*h_errnop = HOST_NOT_FOUND;
	return NSS_STATUS_NOTFOUND;
}
