/* analyzer.h: quiets one gcc -fanalyzer check around the line(s) it cannot follow (a comment there says why).
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_ANALYZER_H
#define PAM_JWT_ANALYZER_H

/* PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak") ... PJ_ANALYZER_END(): `#pragma GCC diagnostic push`,
 * `ignored` and `pop` for gcc only (clang and its analyzer warn about a gcc-only warning name). Only around
 * the line(s) where a finding was triaged as impossible, never around a whole function. */
#if defined(__GNUC__) && !defined(__clang__)
#define PJ_ANALYZER_PRAGMA_(x) _Pragma(#x)
#define PJ_ANALYZER_IGNORE(check)                                                                            \
	PJ_ANALYZER_PRAGMA_(GCC diagnostic push) PJ_ANALYZER_PRAGMA_(GCC diagnostic ignored check)
#define PJ_ANALYZER_END() PJ_ANALYZER_PRAGMA_(GCC diagnostic pop)
#else
#define PJ_ANALYZER_IGNORE(check)
#define PJ_ANALYZER_END()
#endif

#endif
