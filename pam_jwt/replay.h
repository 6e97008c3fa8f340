/* replay.h: the host's seen-set of token ids (replay_protection = jti): each jti is accepted once per host.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_REPLAY_H
#define PAM_JWT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config_file.h"
#include "error.h"

/*
 * The file STATE_DIR/replay.db (root-owned, 0600): a 64-byte header ("PJREPLAY", version, slot count),
 * then PJ_REPLAY_SLOTS slots of 32 bytes: 24 bytes of SHA-256(issuer, jti) and the time until which that
 * token could still be accepted (exp, or iat + max_token_age when that is earlier, plus leeway); 0 = free.
 *
 * A token hashes to a window of PJ_REPLAY_WINDOW consecutive slots (open addressing with a bounded probe):
 * one pread, one pwrite and one fdatasync per login whatever the number of tokens seen, under an fcntl
 * open-file-description lock on that window only, so logins with other tokens do not wait. The lock goes
 * away with the process, so a crash (SIGKILL included) never locks anyone out; the slot is written and
 * synced before the login is accepted, so a crash never lets a token through twice (at worst a token is
 * used up by a login that then failed). A slot whose time has passed is free again.
 *
 * When every slot of a token's window holds an unexpired token, the login is refused (fail closed: forgetting
 * a token would let it be replayed); with 65536 slots that needs tens of thousands of live tokens on one
 * host. The header is written before the file gets its name, so no crash leaves a damaged table behind;
 * a file that is not root-owned 0600 or has a wrong header or size is refused, never rebuilt silently.
 */
#define PJ_REPLAY_FILE      "replay.db"
#define PJ_REPLAY_SLOTS     65536u
#define PJ_REPLAY_WINDOW    64u
#define PJ_REPLAY_JTI_MAX   1024 /* bytes of a jti */
#define PJ_REPLAY_HDR_SIZE  64
#define PJ_REPLAY_SLOT_SIZE 32

/* What to do with a token that was not seen yet. */
enum pj_replay_mode {
	PJ_REPLAY_RECORD, /* the PAM module: refuse a seen token, record an unseen one */
	PJ_REPLAY_PEEK, /* pam-jwt verify: refuse a seen token, record nothing (a missing table: not seen) */
};

/* Checks (and with PJ_REPLAY_RECORD records) the token (iss, jti) valid until `until` (Unix time) in
 * dir/replay.db, whose table has n_slots slots (PJ_REPLAY_SLOTS outside the tests). Refusals: PJ_ERR_TOKEN
 * "token already used on this host" or "replay table full"; an untrusted or damaged table: PJ_ERR_CONFIG;
 * I/O: PJ_ERR_SYSTEM. */
pj_status replay_check_token(const char *dir, uint32_t n_slots, const char *iss, size_t iss_len,
                             const char *jti, size_t jti_len, int64_t until, time_t now,
                             enum pj_replay_mode mode, struct pj_error *err);

/* The seen-set step for a verified token (id->claims): nothing when its issuer has no
 * replay_protection = jti; else replay_check_token in cfg->state_dir with the token's jti, until =
 * min(exp, iat + max_token_age) + leeway. */
struct pj_identity;
pj_status replay_check(const struct pj_config *cfg, const struct pj_identity *id, time_t now,
                       enum pj_replay_mode mode, struct pj_error *err);

#endif
