/* hostname.c: this host's short and fully qualified names, and %h / %H in configured values. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostname.h"

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

pj_status pj_host_names_local(struct pj_host_names *out, struct pj_error *err)
{
	char name[PJ_HOST_MAX];

	memset(out, 0, sizeof(*out));
	if (gethostname(name, sizeof(name)) != 0 || name[0] == '\0')
		return pj_fail(err, PJ_ERR_SYSTEM, "cannot get the host name: %s", strerror(errno));
	name[sizeof(name) - 1] = '\0';
	lower(name);
	snprintf(out->shortname, sizeof(out->shortname), "%.*s", (int)strcspn(name, "."), name);
	snprintf(out->fqdn, sizeof(out->fqdn), "%s", name);
	return PJ_OK;
}

void pj_host_names_resolve(struct pj_host_names *names)
{
	struct addrinfo hints, *ai = NULL;

	/* a host name with a dot is taken as fully qualified; else the resolver's canonical name (nsswitch
	 * "hosts"), as hostname -f does */
	if (names->resolved)
		return;
	names->resolved = true;
	if (strchr(names->fqdn, '.') != NULL)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(names->fqdn, NULL, &hints, &ai) == 0 && ai != NULL && ai->ai_canonname != NULL &&
	    strchr(ai->ai_canonname, '.') != NULL && strlen(ai->ai_canonname) < sizeof(names->fqdn)) {
		snprintf(names->fqdn, sizeof(names->fqdn), "%s", ai->ai_canonname);
		lower(names->fqdn);
	}
	if (ai != NULL)
		freeaddrinfo(ai);
}

pj_status pj_host_names_get(struct pj_host_names *out, struct pj_error *err)
{
	pj_status r;

	if ((r = pj_host_names_local(out, err)) != PJ_OK)
		return r;
	pj_host_names_resolve(out);
	return PJ_OK;
}

bool pj_host_escapes_valid(const char *value)
{
	for (const char *p = strchr(value, '%'); p != NULL; p = strchr(p + 2, '%'))
		if (p[1] != 'h' && p[1] != 'H' && p[1] != '%')
			return false;
	return true;
}

pj_status pj_host_expand(const char *value, struct pj_host_names *names, bool *names_known, char *out,
                         size_t outlen, struct pj_error *err)
{
	size_t used = 0, n;
	const char *add;
	char one[2] = {0, 0};
	pj_status r;

	for (const char *p = value; *p != '\0'; p++) {
		if (*p != '%') {
			one[0] = *p;
			add = one;
		} else if (p[1] == '%') {
			add = "%";
			p++;
		} else if (p[1] == 'h' || p[1] == 'H') {
			if (!*names_known && (r = pj_host_names_local(names, err)) != PJ_OK)
				return r;
			*names_known = true;
			if (*++p == 'H')
				pj_host_names_resolve(names);
			add = *p == 'h' ? names->shortname : names->fqdn;
		} else {
			return pj_fail(err, PJ_ERR_CONFIG, "bad escape in \"%.64s\" (%%h, %%H or %%%%)",
			               value);
		}
		n = strlen(add);
		if (n >= outlen - used)
			return pj_fail(err, PJ_ERR_CONFIG, "\"%.64s\" is too long once expanded", value);
		memcpy(out + used, add, n + 1);
		used += n;
	}
	if (used == 0 && outlen > 0)
		out[0] = '\0';
	return PJ_OK;
}
