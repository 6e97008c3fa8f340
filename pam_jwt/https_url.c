/* https_url.c: the fetchable-URL rule (see https_url.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "https_url.h"

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* http://127.0.0.1 or http://[::1], an optional :PORT, then the end or a path. */
static bool is_loopback_http(const char *u)
{
	const char *h;

	if (strncasecmp(u, "http://", 7) != 0)
		return false;
	h = u + 7;
	if (strncmp(h, "127.0.0.1", 9) == 0)
		h += 9;
	else if (strncmp(h, "[::1]", 5) == 0)
		h += 5;
	else
		return false;
	if (*h == ':') {
		if (!is_digit(*++h))
			return false;
		while (is_digit(*h))
			h++;
	}
	return *h == '\0' || *h == '/';
}

bool https_url_allowed(const char *url, bool allow_http_loopback)
{
	if (strncasecmp(url, "https://", 8) == 0 && url[8] != '\0' && url[8] != '/')
		return true;
	return allow_http_loopback && is_loopback_http(url);
}
