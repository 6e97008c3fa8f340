/* fuzz_jwks_cache.c: libFuzzer target for the JWKS cache file reader (cache_dir/NAME.json). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pam_jwt/error.h"
#include "pam_jwt/jwks_cache.h"

static char dir[] = "/tmp/pam_jwt_fuzz_cache.XXXXXX";
static char path[sizeof(dir) + 16], again[sizeof(dir) + 16];

static void cleanup(void)
{
	unlink(path);
	unlink(again);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* mkdtemp makes it 0700 and root's: trusted, as the reader wants (run as root) */
	if (mkdtemp(dir) == NULL || atexit(cleanup) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/a.json", dir);
	snprintf(again, sizeof(again), "%s/b.json", dir);
	return 0;
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The input is the cache file. What the reader accepts must survive a write and a second read unchanged. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_error err = {0};
	struct jwks_cache c = {0}, d = {0};
	bool missing = false;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
		abort();
	if (jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_OK) {
		if (jwks_cache_write(again, &c, &err) != PJ_OK ||
		    jwks_cache_read(again, 1 << 20, &d, &missing, &err) != PJ_OK) {
			fprintf(stderr, "an accepted cache file does not survive write + read: %s\n",
			        err.reason);
			abort();
		}
		if (!same(c.source, d.source) || !same(c.url, d.url) || !same(c.last_error, d.last_error) ||
		    c.jwks_len != d.jwks_len || (c.jwks_len && memcmp(c.jwks, d.jwks, c.jwks_len) != 0) ||
		    c.fetched_at != d.fetched_at || c.fresh_until != d.fresh_until ||
		    c.last_attempt != d.last_attempt) {
			fprintf(stderr, "cache round trip changed a field\n");
			abort();
		}
	}
	jwks_cache_clear(&c);
	jwks_cache_clear(&d);
	return 0;
}
