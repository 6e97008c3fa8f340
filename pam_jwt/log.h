/* log.h: a logging sink passed down the verification path (pam_syslog in the module, stderr in the CLI). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_LOG_H
#define PAM_JWT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

struct pj_log {
	/* Receives a finished message with every control character already escaped. */
	void (*emit)(void *arg, int priority, const char *message);
	void *arg;
	bool debug; /* LOG_DEBUG messages are dropped unless set */
};

/* Formats, escapes control and non-ASCII bytes as \xNN, and hands the message to log->emit.
 * log may be NULL (message dropped). */
void pj_logf(const struct pj_log *log, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies src (srclen bytes) to dst escaping bytes < 0x20, 0x7f and >= 0x80 as \xNN and '\\' as "\\\\";
 * always NUL-terminates (truncating if needed). Returns dst. */
char *pj_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
