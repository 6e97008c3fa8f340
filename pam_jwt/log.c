/* log.c: formatting and escaping of log messages (see log.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

char *pj_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstlen == 0)
		return dst;
	for (size_t i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c < 0x20 || c >= 0x7f || c == '\\') {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			if (c == '\\') {
				dst[o++] = '\\';
				continue;
			}
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		} else {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}

void pj_logf(const struct pj_log *log, int priority, const char *fmt, ...)
{
	char raw[1024], escaped[4096];
	va_list ap;
	int n;

	if (log == NULL || log->emit == NULL)
		return;
	if (priority == LOG_DEBUG && !log->debug)
		return;
	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	pj_escape(escaped, sizeof(escaped), raw, strlen(raw));
	log->emit(log->arg, priority, escaped);
}
