/* trusted_file.h: reading and writing files that carry trust (config, key cache, user store). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_TRUSTED_FILE_H
#define PAM_JWT_TRUSTED_FILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

/* Checks an open file: a regular file, owned by root, not writable by group or others.
 * Refused: PJ_ERR_CONFIG with a reason naming path and what is wrong. */
pj_status trusted_file_check_fd(int fd, const char *path, struct pj_error *err);

/* Checks a directory path the same way (a directory, owned by root, not writable by group or others). */
pj_status trusted_dir_check(const char *path, struct pj_error *err);

/* Creates the directory path when it is missing, mode 0755 whatever the umask (what root writes there, the
 * user store above all, is read by processes that are not root), then trusted_dir_check. Its parent must
 * exist. */
pj_status trusted_dir_make(const char *path, struct pj_error *err);

/* Opens path with O_RDONLY|O_NOFOLLOW|O_CLOEXEC, checks it with trusted_file_check_fd and reads it whole.
 * Files larger than max_size are refused. *data is malloc'd and NUL-terminated (not counted in *len).
 * A missing file: PJ_ERR_CONFIG, err->reason says so and errno-style detail; untrusted: PJ_ERR_CONFIG. */
pj_status trusted_file_read(const char *path, size_t max_size, char **data, size_t *len,
                            struct pj_error *err);

/* Writes data atomically: a temp file beside path created with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and mode,
 * written, fsync'd, renamed over path, then the directory fsync'd. The temp file is removed on failure. */
pj_status atomic_write_file(const char *path, const void *data, size_t len, mode_t mode,
                            struct pj_error *err);

#endif
