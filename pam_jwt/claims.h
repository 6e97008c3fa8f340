/* claims.h: the registered-claim rules (iss, aud, exp, nbf, iat, sub), checked after the signature. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLAIMS_H
#define PAM_JWT_CLAIMS_H

#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "config_file.h"
#include "error.h"

/* The iss claim as the token states it: a string, else PJ_ERR_TOKEN. *iss points into payload. Used before
 * the signature only to choose whose keys may verify it; claims_check checks it again afterwards. */
pj_status claims_get_iss(json_object *payload, const char **iss, size_t *len, struct pj_error *err);

/* iss equals issuer->issuer byte for byte; aud is a string or array of strings containing one configured
 * audience exactly; exp required, now < exp + leeway; nbf, when present, now >= nbf - leeway; iat, when
 * present, not more than leeway in the future; exp/nbf/iat JSON numbers only; with max_token_age, iat
 * required and not older than max_token_age + leeway; with replay_protection = jti, jti a non-empty string
 * of at most PJ_REPLAY_JTI_MAX bytes (whether it was seen is replay.h's job); sub a non-empty string.
 * On success *exp_out (may be NULL) receives exp. Refusals: PJ_ERR_TOKEN with a reason. */
pj_status claims_check(json_object *payload, const struct pj_issuer *issuer, time_t now, int64_t *exp_out,
                       struct pj_error *err);

#endif
