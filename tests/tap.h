/* tap.h: a minimal TAP producer for the C tests (automake's tap-driver.sh counts each line). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_TAP_H
#define PAM_JWT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 4, 5), unused)) static int tap_ok(int pass, const char *file, int line,
                                                                const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failures++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

/* ok(condition, "description %s", args...) */
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((unused)) static void tap_skip(int count, const char *why)
{
	for (int i = 0; i < count; i++) {
		tap_count++;
		printf("ok %d # SKIP %s\n", tap_count, why);
	}
}

__attribute__((format(printf, 1, 2), unused)) static void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Skips the whole test program (TAP "1..0 # SKIP"). */
__attribute__((noreturn, unused)) static void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

/* Prints the plan and returns the exit status for main. */
__attribute__((unused)) static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_count == 0) {
		printf("# no test ran\n");
		return 1;
	}
	return tap_failures == 0 ? 0 : 1;
}

#endif
