/* https_url.h: the one rule for URLs pam_jwt fetches from, shared by the configuration and the HTTPS client.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_HTTPS_URL_H
#define PAM_JWT_HTTPS_URL_H

#include <stdbool.h>

/* Whether url may be fetched: https:// and a host, or - only with allow_http_loopback (tests) - http://
 * to exactly 127.0.0.1 or [::1], with an optional port, then nothing or a path. Schemes compare without
 * case (RFC 3986 3.1). Pure string rule, libc only: the configuration checks it without loading libcurl,
 * and the client (https.c) applies it again after libcurl has parsed the URL. */
bool https_url_allowed(const char *url, bool allow_http_loopback);

#endif
