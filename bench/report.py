#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""report.py: turns results/raw.txt (written by bench/run.sh) into results/bench.md and the data behind
results/bench.png (nss.dat, plotted by bench/bench.gnuplot). Usage: report.py RAW RESULTS_DIR"""
import statistics
import sys
from collections import defaultdict


def parse(path):
    lines = [line.split() for line in open(path) if line.strip()]
    d = {"verify": {}, "verifyhost": {}, "cold": {}, "phases": defaultdict(list), "net": {}, "strace": [],
         "nss": defaultdict(list), "nsshot": defaultdict(list), "store": {}, "add": {}, "parallel": {},
         "storecheck": {}, "record": {}, "misc": {}, "dlopen": defaultdict(list), "profile": defaultdict(dict),
         "scale": defaultdict(dict)}
    for w in lines:
        k = w[0]
        if k in ("verify", "verifyhost"):
            alg, what = w[1], w[2]
            if what in ("ratio_bare", "ratio_libjwt", "token_bytes"):
                d[k][(alg, what)] = float(w[3])
            elif what == "ops" or (len(w) > 3 and w[3] == "ops"):
                d[k][(alg, what)] = float(w[4])
            elif k == "verifyhost" and alg == "nsswitch":
                d["misc"]["nsswitch"] = w[2]
        elif k == "cold":
            if w[1] in ("diff_us", "diff_cpu_us", "curl_us", "fetchlibs_us", "sshd_diff_us", "sshd_diff_cpu_us"):
                d["cold"][w[1]] = float(w[2])
            else:
                d["cold"][w[1]] = (float(w[3]), float(w[5]), float(w[7]))
        elif k == "phases":
            for i in range(1, len(w) - 1, 2):
                d["phases"][w[i]].append(float(w[i + 1]))
        elif k == "profile" and len(w) == 4:
            prev = d["profile"][w[1]].get(w[2], 0)
            d["profile"][w[1]][w[2]] = max(prev, int(w[3]))
        elif k == "allocs" and len(w) == 4:
            d["misc"][("allocs", w[1])] = (int(w[2]) - int(w[3])) / 1000
        elif k == "dlopen":
            d["dlopen"][w[1]].append(float(w[2]))
        elif k == "netcount":
            d["net"][w[1]] = {w[i]: int(w[i + 1]) for i in range(2, len(w) - 1, 2)}
        elif k == "strace":
            d["strace"].append((w[1], " ".join(w[2:])))
        elif k == "needed":
            d["misc"]["needed"] = w[1:]
        elif k in ("nss", "nsshot"):
            # nss ROUND N OP BACKEND us X | nss ROUND N OP speedup X
            r, n, op = int(w[1]), int(w[2]), w[3]
            if w[4] == "speedup":
                d[k][(n, op, "speedup")].append(float(w[5]))
            else:
                d[k][(n, op, w[4])].append((r, float(w[6])))
        elif k == "store":
            d["store"][int(w[1])] = {w[i]: int(w[i + 1]) for i in range(2, len(w) - 1, 2)}
        elif k == "add":
            d["add"] = {"us": float(w[2]), "bytes": int(w[4])}
        elif k == "parallel":
            d["parallel"][(w[1], int(w[3]))] = {"logins": int(w[5]), "failed": int(w[7]), "per_s": float(w[9])}
        elif k == "storecheck":
            d["storecheck"][int(w[2])] = {"logins": int(w[6]), "found": int(w[8])}
        elif k == "record":
            d["record"][int(w[2])] = {"logins": int(w[4]), "failed": int(w[6]), "missing": int(w[8]),
                                      "per_s": float(w[12])}
        elif k == "scale":
            d["scale"][int(w[1])][w[2]] = float(w[3])
        elif k in ("elapsed_s", "machine"):
            d["misc"][k] = " ".join(w[1:])
    return d


NOTES = """How each part is set up:

1. One process pinned to one core, warm keys: `pj_verify_token` (decode, strict JSON, issuer and key lookup,
   signature, claims: the path the issue names) on a typical access token (kid, 11 claims, 3 groups), against `EVP_MD_CTX_new` + `EVP_DigestVerifyInit_ex` (+ the RSA padding parameters) +
   `EVP_DigestVerify` + free with the very `EVP_PKEY` the keystore hands `pj_verify_token` and the signature already in
   the DER form OpenSSL takes (the JWS r||s conversion is on pam_jwt's side), and against libjwt 1.10.2's
   `jwt_decode` with the key as PEM (how its API takes keys). The context row runs the whole `pj_verify`,
   whose identity step (username, groups, the root/system-account check) adds one `getpwnam_r` through this
   host's own nsswitch.conf.
2. `login_proc` per login, as an sshd child: the user looked up first (sshd does that before PAM), then
   `pam_start_confdir`, `pam_authenticate`, `pam_end`, exit. The issuer has `jwks_uri` (127.0.0.1:9, where
   nothing listens) and its keys in `cache_dir`, written by the library's own `jwks_cache_write` as a fetch
   an hour ago would have left them (fresh for a day); the store update of a returning user is included.
3. Stores built with the userstore API and passwd/group files holding the same entries, bound over the
   module's compiled-in `/var/lib/pam_jwt` and over `/etc/passwd` and `/etc/group` in a private mount
   namespace; `__nss_configure_lookup` switches one process between `jwt` and `files`; names drawn at random.
5. `bench_scale`, one process: a store of N bound users (16 managed groups) built with the userstore API in
   a fresh state_dir; "returning" is `pam_authenticate` on one PAM handle with alice's unchanged token (the
   first call, which records her, not counted; median of SCALE_REPS), pam_jwt and pam_permit; "first" is a
   new user's `pam_authenticate` on a new handle (libpam loads pam_jwt.so afresh for each: a fresh module),
   and "store" the `mapping_record_login` of a verified new identity alone (journal append or fold); "open"
   opens and validates the store whole as a fresh process's first lookup does without users.checked, "open
   (users.checked)" the same once a login has recorded the validated version, "lookup" one lookup in an open view;
   "cold" is alice's returning login in a fresh `login_proc` per login (libcrypto and json-c preloaded, the user
   looked up first: sshd's connection process), against pam_permit in the same, interleaved, up to 100 each.
4. P workers each spawning `login_proc` for their share of distinct users (8 each by default), at once; then the user
   store is checked for every one of them. The "record" rows run `pj_verify` + `mapping_record_login` in P
   processes directly (the store's lock and read-modify-write, without PAM around it).

"""

PROFILE_ROWS = [
    ("pj_verify_token", "everything"),
    ("jws_sig_verify_crv", "signature: key check, r||s to DER, EVP"),
    ("EVP_DigestVerifyInit_ex", "the bare side does this too"),
    ("EVP_DigestVerify", "the bare side does this too"),
    ("jws_parse", "split, base64url, JSON, header rules"),
    ("b64url_decode", "the signature"),
    ("b64url_decode_buf", "header and payload, on the stack"),
    ("json_strict_parse_object_ext", "strict validator + json-c, header and payload"),
    ("json_tokener_parse_ex", "json-c"),
    ("identity_check_user", "root / system-account check"),
    ("getpwnam_r", "NSS"),
    ("keystore_get", "warm keys"),
    ("ks_ctx_init", "path buffers, geteuid()"),
    ("claims_check", "exp, nbf, iat, aud, iss"),
    ("identity_username", "username claim"),
    ("identity_groups", "groups claim"),
    ("pj_identity_free", "cleanup"),
    ("jws_token_free", "cleanup"),
]


def med(values):
    return statistics.median(values) if values else float("nan")


def nss_us(d, n, op, backend, key="nss"):
    return med([v for _, v in d[key].get((n, op, backend), [])])


def nss_growth(d, small, big, op):
    """Per round: jwt latency at big over jwt latency at small (the sizes ran interleaved), median."""
    a = dict(d["nss"].get((small, op, "jwt"), []))
    b = dict(d["nss"].get((big, op, "jwt"), []))
    return med([b[r] / a[r] for r in a if r in b and a[r] > 0])


def fmt(x, digits=2):
    if x is None or x != x:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def main():
    raw, out = sys.argv[1], sys.argv[2]
    d = parse(raw)
    rows = []  # (what, pam_jwt, baseline, ratio, target, met)

    def row(what, mine, base, ratio, target, met):
        rows.append((what, mine, base, ratio, target, "-" if met is None else ("yes" if met else "**no**")))

    # 1. verification
    v = d["verify"]
    targets = {"RS256": 0.85, "PS256": 0.85, "ES256": 0.95, "ES384": 0.95, "EdDSA": 0.95}
    for alg, t in targets.items():
        if (alg, "pam_jwt") not in v:
            continue
        r = v[(alg, "ratio_bare")]
        row(f"1. {alg} tokens/s, pj_verify_token vs bare EVP_DigestVerify (1 core)", fmt(v[(alg, "pam_jwt")]),
            fmt(v[(alg, "bare")]), f"{r:.2f}", f">= {t}", r >= t)
    for alg in ("RS256", "ES256"):
        if (alg, "libjwt") in v:
            r = v[(alg, "ratio_libjwt")]
            row(f"1. {alg} tokens/s vs libjwt 1.10 jwt_decode", fmt(v[(alg, "pam_jwt")]), fmt(v[(alg, "libjwt")]),
                f"{r:.1f}x", ">= 3x", r >= 3)
    h = d["verifyhost"]
    if ("RS256", "pam_jwt") in h:
        row(f"1. (context) RS256, whole pj_verify incl. identity, this host's nsswitch (passwd: {d['misc'].get('nsswitch', '?').replace('_', ' ')})",
            fmt(h[("RS256", "pam_jwt")]), fmt(h[("RS256", "bare")]), f"{h[('RS256', 'ratio_bare')]:.2f}", "-", None)

    # 2. cold login
    c = d["cold"]
    if "pam_jwt" in c:
        jwt, permit = c["pam_jwt"][0] / 1000, c["pam_permit"][0] / 1000
        diff = c["diff_us"] / 1000
        if "sshd_diff_us" in c:
            sd, sdc = c["sshd_diff_us"] / 1000, c["sshd_diff_cpu_us"] / 1000
            row("2. cold login, sshd-like: a fresh process that links libcrypto and json-c and looks the user up "
                "first, vs pam_permit in the same, median ms", f"{c['pam_jwt+crypto+json-c'][0] / 1000:.2f}",
                f"{c['permit+crypto+json-c'][0] / 1000:.2f}", f"+{sd:.2f} ms", "<= +2 ms", sd <= 2)
            row("2. (context) the same logins' CPU time, median ms", f"{c['pam_jwt+crypto+json-c'][2] / 1000:.2f}",
                f"{c['permit+crypto+json-c'][2] / 1000:.2f}", f"+{sdc:.2f} ms", "-", None)
        row("2. (context) cold login, sudo-like: fresh process, libcrypto not loaded yet, median ms", f"{jwt:.2f}",
            f"{permit:.2f}", f"+{diff:.2f} ms", "-", None)
        if "diff_cpu_us" in c:
            cpu = c["diff_cpu_us"] / 1000
            row("2. (context) the sudo-like logins' CPU time (user + system), median ms", f"{c['pam_jwt'][2] / 1000:.2f}",
                f"{c['pam_permit'][2] / 1000:.2f}", f"+{cpu:.2f} ms", "-", None)
        curl = c["curl_us"] / 1000
        # pam_jwt.so dlopens libcurl only to fetch: this is what a login would pay if it were linked in
        row("2. (context) what libcurl would add if a login loaded it (LD_PRELOAD, pam_permit), median ms",
            f"{c['permit+crypto+json-c+curl'][0] / 1000:.2f}", f"{c['permit+crypto+json-c'][0] / 1000:.2f}",
            f"+{curl:.2f} ms", "-", None)
        if "fetchlibs_us" in c:
            libs = [x for x in d["misc"].get("needed", []) if x.split(".")[0] not in
                    ("libcrypto", "libjson-c", "libpam", "libc")]
            extra = c["fetchlibs_us"] / 1000
            row(f"2. what all of pam_jwt.so's libraries beyond OpenSSL and json-c ({' '.join(libs) or 'none'}) add, median ms",
                f"{c['permit+all-of-pam_jwt.so' + chr(39) + 's-libraries'][0] / 1000:.2f}",
                f"{c['permit+crypto+json-c'][0] / 1000:.2f}", f"+{extra:.2f} ms", "~0 (<= 0.1 ms)", extra <= 0.1)
    dl = {k: med(v) for k, v in d["dlopen"].items()}
    if "pam_jwt.so" in dl and "pam_permit.so" in dl:
        row("2. (context) libpam's dlopen(RTLD_NOW) of the module with all its libraries, median ms",
            f"{dl['pam_jwt.so'] / 1000:.2f}", f"{dl['pam_permit.so'] / 1000:.2f}",
            f"+{(dl['pam_jwt.so'] - dl['pam_permit.so']) / 1000:.2f} ms", "-", None)
        for lib, us in sorted(dl.items()):
            if lib not in ("pam_jwt.so", "pam_permit.so"):
                row(f"2. (context) dlopen(RTLD_NOW) of {lib} alone, with its own dependencies, median ms",
                    f"{us / 1000:.2f}", "-", "-", "-", None)
    n = d["net"]
    if "jwt" in n:
        row("2. network system calls to an IP address during a login (strace -f -e trace=network)",
            str(n["jwt"]["inet"]), str(n["permit"]["inet"]), "-", "0", n["jwt"]["inet"] == 0)
        if "jwt-expired" in n:
            row("2. control: the same login with the cached keys expired an hour ago (a fetch is due)",
                str(n["jwt-expired"]["inet"]), "-", "-", ">= 1 (the count sees a fetch)",
                n["jwt-expired"]["inet"] >= 1)
        row("2. (context) all trace=network calls (AF_UNIX: syslog, nscd probe; NETLINK: libpam audit)",
            str(n["jwt"]["all"]), str(n["permit"]["all"]), "-", "-", None)
        row("2. (context) shared objects opened by the login process", str(n["jwt"]["libs"]),
            str(n["permit"]["libs"]), "-", "-", None)

    # 3. NSS
    sizes = sorted(d["store"])
    ops = ("getpwnam", "getpwuid", "getgrnam", "initgroups")
    if sizes:
        small, big = sizes[0], sizes[-1]
        for op in ops:
            j, f = nss_us(d, big, op, "jwt"), nss_us(d, big, op, "files")
            sp = med(d["nss"].get((big, op, "speedup"), []))
            row(f"3. {op} at {big:,} users, us (jwt vs files)", fmt(j), fmt(f), f"{sp:,.0f}x", ">= 50x", sp >= 50)
        for op in ops:
            g = nss_growth(d, small, big, op)
            row(f"3. {op}: jwt at {big:,} users vs at {small:,} users, us", fmt(nss_us(d, big, op, "jwt")),
                fmt(nss_us(d, small, op, "jwt")), f"{g:.2f}", "<= 2", g <= 2)
        for op in ops:
            hot = nss_us(d, big, op, "jwt", "nsshot")
            if hot == hot:
                row(f"3. (context) {op} at {big:,} users, 16 names only (in cache) vs at {small:,}", fmt(hot),
                    fmt(nss_us(d, small, op, "jwt")), f"{hot / nss_us(d, small, op, 'jwt'):.2f}", "-", None)
        st = d["store"][big]
        row(f"3. store size on disk per user ({big:,} users, {big // 10:,} groups), bytes",
            fmt(st["bytes"] / big), f"{st['passwd_bytes'] / big + st['group_bytes'] / big:.0f} (passwd+group)",
            "-", "-", None)
        if d["add"]:
            row(f"3. adding one user to the {big:,}-user store (a first login's store update), ms",
                fmt(d["add"]["us"] / 1000), "-", "-", "-", None)

    # 4. concurrency
    for p in sorted({p for _, p in d["parallel"]}):
        j, pe = d["parallel"].get(("jwt", p)), d["parallel"].get(("permit", p))
        if j and pe:
            row(f"4. {p} parallel cold logins of distinct users, logins/s", fmt(j["per_s"], 0), fmt(pe["per_s"], 0),
                f"{j['per_s'] / pe['per_s']:.2f}", "-", None)
            row(f"4. {p} parallel: logins refused", str(j["failed"]), str(pe["failed"]), "-", "0", j["failed"] == 0)
        sc = d["storecheck"].get(p)
        if sc:
            lost = sc["logins"] - sc["found"]
            row(f"4. {p} parallel: logins missing from the user store afterwards", str(lost), "-", "-", "0",
                lost == 0)
    for p, r in sorted(d["record"].items()):
        row(f"4. {p} processes recording distinct users at once (pj_verify + mapping_record_login): lost updates",
            str(r["missing"] + r["failed"]), "-", "-", "0", r["missing"] + r["failed"] == 0)

    # 5. scale (issue #10)
    sc = d["scale"]
    for alg, key in (("RS256", "returning_jwt_rs256_us"), ("ES256", "returning_jwt_es256_us")):
        big = max((n for n in sc if n <= 100000), default=None)
        if big is None or (alg, "bare") not in v or key not in sc[big]:
            continue
        bare = 1e6 / v[(alg, "bare")]
        extra = sc[big][key] - sc[big].get("returning_permit_us", 0)
        row(f"5. returning login, pam_authenticate on one handle, {big:,} users, {alg}: (pam_jwt - pam_permit) "
            "vs bare EVP_DigestVerify (us)", fmt(extra), fmt(bare), f"{extra / bare:.2f}", "<= 1.3",
            extra / bare <= 1.3)
    if 1000 in sc and 100000 in sc:
        for key, what, t in (("returning_jwt_rs256_us", "returning login", 1.2),
                             ("first_pam_us", "first login (PAM)", 2.0)):
            a, b = sc[1000].get(key), sc[100000].get(key)
            if a and b:
                row(f"5. {what}: 100,000 users vs 1,000 (us)", fmt(b), fmt(a), f"{b / a:.2f}", f"<= {t}", b / a <= t)
        a, b = sc[1000].get("cold_diff_us"), sc[100000].get("cold_diff_us")
        if a and b:
            row("5. cold returning login (fresh sshd-like process per login), pam_jwt - pam_permit: 100,000 users "
                "vs 1,000 (us)", fmt(b), fmt(a), f"{b / a:.2f}", "<= 1.2", b / a <= 1.2)
        st = sc[100000].get("first_store_us")
        if st:
            row("5. a new user's store work at 100,000 users (us)", fmt(st), "-", "-", "<= 2000", st <= 2000)
    if 1000000 in sc:
        r = sc[1000000]
        row("5. 1,000,000 users: users.db MB / first login us / open us (validated whole / users.checked) / "
            "cold returning login us over pam_permit / lookup us",
            f"{r.get('size_bytes', 0) / 1e6:.0f} / {fmt(r.get('first_pam_us'))} / {fmt(r.get('open_us'))} / "
            f"{fmt(r.get('open_checked_us'))} / {fmt(r.get('cold_diff_us'))} / {r.get('lookup_us', 0):.2f}",
            "-", "-", "a row", None)

    with open(f"{out}/bench.md", "w") as f:
        f.write("# pam_jwt benchmark\n\n")
        f.write(f"Machine: {d['misc'].get('machine', '?')}. Whole run: {d['misc'].get('elapsed_s', '?')} s. "
                "Measured and baseline runs interleaved (ABAB); medians of the repetitions; ratios are taken "
                "per repetition, then the median. Throughput (part 1) and NSS latency (part 3) are per CPU "
                "second of the measuring process, so other load on the machine does not enter them; cold "
                "logins (part 2) and parallel logins (part 4) are wall-clock. Absolute times are context only."
                "\n\n")
        f.write(NOTES)
        f.write("| what | pam_jwt | baseline | ratio | target | met? |\n|---|---:|---:|---:|---|---|\n")
        for r in rows:
            f.write("| " + " | ".join(r) + " |\n")
        ph = d["phases"]
        if ph:
            f.write("\nCold login inside one fresh process (bench_login phases, median of 5, us): " +
                    ", ".join(f"{k} {med(v):.0f}" for k, v in ph.items()) + ".\n")
        if d["profile"]:
            f.write("\nWhere pj_verify_token's instructions go (callgrind --toggle-collect=pj_verify_token, 200 tokens, "
                    "nsswitch passwd: files; inclusive instructions per token; valgrind hides AVX-512 from "
                    "OpenSSL, so the signature itself is overstated here, the rest is exact):\n\n")
            f.write("| function | " + " | ".join(sorted(d["profile"])) + " |\n|---|" +
                    "---:|" * len(d["profile"]) + "\n")
            for fn, what in PROFILE_ROWS:
                vals = [d["profile"][a].get(fn) for a in sorted(d["profile"])]
                if any(vals):
                    f.write(f"| {fn} ({what}) | " + " | ".join("-" if v is None else f"{v / 200:,.0f}" for v in vals)
                            + " |\n")
        allocs = {k[1]: v for k, v in d["misc"].items() if isinstance(k, tuple) and k[0] == "allocs"}
        if allocs:
            f.write("\nHeap allocations per verified token (pj_verify_token, malloc + calloc + realloc counted by "
                    "tests/faultinj.so over 1,000 tokens, less none): " +
                    ", ".join(f"{a} {v:.0f}" for a, v in sorted(allocs.items())) + ".\n")
        if "needed" in d["misc"]:
            f.write(f"\npam_jwt.so NEEDED: {' '.join(d['misc']['needed'])}\n")
        if d["strace"]:
            f.write("\nNetwork system calls of one pam_jwt login (strace -f -e trace=network):\n\n")
            for svc, call in d["strace"]:
                if svc == "jwt":
                    f.write(f"    {call}\n")
    sc = d["scale"]
    if sc:
        with open(f"{out}/bench.md", "a") as f:
            f.write("\nLogin cost against store size (bench_scale, one process, median microseconds):\n\n"
                    "| users | users.db | open (fresh process, validated whole) | open (users.checked) | lookup | "
                    "returning RS256 | returning ES256 | "
                    "pam_permit | first login (PAM) | first login: store work | cold returning login: pam_jwt | "
                    "cold: pam_permit | cold: difference |\n"
                    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
            for n in sorted(sc):
                r = sc[n]
                f.write(f"| {n:,} | {r.get('size_bytes', 0) / 1e6:.1f} MB | {r.get('open_us', 0):,.0f} | "
                        f"{r.get('open_checked_us', 0):,.1f} | "
                        f"{r.get('lookup_us', 0):.2f} | {r.get('returning_jwt_rs256_us', 0):,.0f} | "
                        f"{r.get('returning_jwt_es256_us', 0):,.0f} | {r.get('returning_permit_us', 0):,.1f} | "
                        f"{r.get('first_pam_us', 0):,.0f} | {r.get('first_store_us', 0):,.0f} | "
                        f"{r.get('cold_jwt_us', 0):,.0f} | {r.get('cold_permit_us', 0):,.0f} | "
                        f"{r.get('cold_diff_us', 0):,.0f} |\n")
        with open(f"{out}/scale.dat", "w") as f:
            f.write("# users returning_rs256 returning_es256 permit first_pam first_store open\n")
            for n in sorted(sc):
                r = sc[n]
                f.write(f"{n} {r.get('returning_jwt_rs256_us', 0):.1f} {r.get('returning_jwt_es256_us', 0):.1f} "
                        f"{r.get('returning_permit_us', 0):.1f} {r.get('first_pam_us', 0):.1f} "
                        f"{r.get('first_store_us', 0):.1f} {r.get('open_us', 0):.1f}\n")
    with open(f"{out}/nss.dat", "w") as f:
        f.write("# users " + " ".join(f"{op}_jwt {op}_files" for op in ops) + "\n")
        for n in sizes:
            f.write(f"{n} " + " ".join(f"{nss_us(d, n, op, 'jwt'):.3f} {nss_us(d, n, op, 'files'):.3f}"
                                         for op in ops) + "\n")
    sys.stdout.write(open(f"{out}/bench.md").read())


if __name__ == "__main__":
    main()
