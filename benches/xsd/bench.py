#!/usr/bin/env python3
"""XSD validation benchmark: poststelle against xmllint (libxml2) in the same run.

Usage (from the repository root, after `cargo build --release --locked`):
  python3 benches/xsd/bench.py                      # everything, default sizes
  python3 benches/xsd/bench.py --only throughput --sizes 50,200 --runs 5
  python3 benches/xsd/bench.py --json /tmp/bench.json

Parts (issue 2, acceptance item 4):
  throughput  a generated XBau message (benches/xsd/gen_xbau.py; default 50 MB and 10 MB, written
              to a temp dir and removed): median wall time of --runs runs of
              `xmllint --noout --stream --schema ENTRY big.xml` (with --xmllint-dom also without
              --stream, the tree-building mode) and of
              `poststelle validate --schema ENTRY big.xml`; MB/s (1 MB = 10^6 bytes) and peak RSS
              (`/usr/bin/time -v`, maximum over the runs); ratios.
  messages    per-message time with a compiled grammar on the 20 XBau samples: for each entry
              XSD, one process validates all its samples, each copied --repeat times (distinct
              file names); the same process with no messages (xmllint: one tiny dummy file) gives
              the start-up + compile time, which is subtracted; per message = difference / count.
              Both engines get the same files in one process per entry XSD.
  compile     compiling the whole XBau 2.6 set (every document of xsd_dev, gathered by a wrapper
              per namespace) and each ROOTS.tsv entry: poststelle `validate --schema S` (no
              files) vs xmllint `--schema S` on a dummy file; median wall time, start-up included
              (`poststelle --version` and `xmllint --version` times are printed for reference).
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "conformance"))
sys.path.insert(0, HERE)
import engines as eng  # noqa: E402
import gen_xbau  # noqa: E402
import xbau  # noqa: E402

TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"


LAST_STDERR = [""]


def timed(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, int, int, float]:
    """Runs cmd under /usr/bin/time -v: (wall seconds, peak RSS KiB, exit code, CPU seconds)."""
    start = time.perf_counter()
    p = subprocess.Popen([TIME, "-v", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    raw = p.stderr.read()
    p.stderr.close()
    # wait4 gives the CPU time of /usr/bin/time including its reaped child, in microseconds
    # (time -v itself prints only 10 ms resolution).
    _, wstatus, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(wstatus)
    wall = time.perf_counter() - start
    err = raw.decode("utf-8", "replace")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    rss = int(m.group(1)) if m else -1
    m = re.search(r"Exit status: (\d+)", err)
    code = int(m.group(1)) if m else p.returncode
    cpu = usage.ru_utime + usage.ru_stime
    LAST_STDERR[0] = err
    if code not in ok:
        tail = "\n".join(err.splitlines()[:5])
        print(f"  warning: exit {code} from {' '.join(cmd[:4])} …: {tail}", file=sys.stderr)
    return wall, rss, code, cpu


def median_run(cmd: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> dict:
    walls, rss, codes, cpus, compile_ms = [], [], [], [], []
    for _ in range(runs):
        w, r, c, cpu = timed(cmd, ok)
        walls.append(w)
        rss.append(r)
        codes.append(c)
        cpus.append(cpu)
        # In-process compile time where the tool prints it (xmllint --timing, poststelle --timings).
        m = re.search(r"Compiling the schemas took (\d+) ms|schema compiled in ([\d.]+) ms", LAST_STDERR[0])
        if m:
            compile_ms.append(float(m.group(1) or m.group(2)))
    out = {"median_s": statistics.median(walls), "min_s": min(walls), "cpu_s": statistics.median(cpus),
           "max_rss_kib": max(rss), "exit": codes[-1]}
    if compile_ms:
        out["compile_ms"] = statistics.median(compile_ms)
    return out


def xmllint_cmd(schema: str, files: list[str], stream: bool) -> list[str]:
    return ["xmllint", "--noout", *(["--stream"] if stream else []), "--schema", schema, *files]


def poststelle_cmd(binary: str, schema: str, files: list[str]) -> list[str]:
    return [binary, "validate", "--schema", schema, *files]


def bench_throughput(args, binary, tmp) -> list[dict]:
    out = []
    for size in [float(s) for s in args.sizes.split(",")]:
        path = os.path.join(tmp, f"xbau-{size:g}mb.xml")
        info = gen_xbau.generate(args.shared, size, path)
        mb = info["bytes"] / 1e6
        entry = info["entry"]
        row = {"size_mb": round(mb, 1), "entry": os.path.relpath(entry, args.shared)}
        print(f"\nthroughput: {path} ({mb:.1f} MB), entry {row['entry']}, median of {args.runs} runs")
        engines = []
        if args.engine in ("xmllint", "both"):
            engines.append(("xmllint --stream", xmllint_cmd(entry, [path], True)))
            if args.xmllint_dom:
                engines.append(("xmllint --schema", xmllint_cmd(entry, [path], False)))
        if args.engine in ("poststelle", "both"):
            engines.append(("poststelle", poststelle_cmd(binary, entry, [path])))
        for name, cmd in engines:
            r = median_run(cmd, args.runs)
            r["mb_per_s"] = mb / r["median_s"]
            row[name] = r
            r["mb_per_cpu_s"] = mb / r["cpu_s"] if r["cpu_s"] else 0.0
            print(f"  {name:<18} {r['median_s']:7.3f} s  {r['mb_per_s']:7.1f} MB/s  (CPU {r['cpu_s']:.2f} s, "
                  f"{r['mb_per_cpu_s']:.1f} MB/CPU-s)  peak RSS {r['max_rss_kib'] / 1024:6.1f} MiB  exit {r['exit']}")
        if "xmllint --stream" in row and "poststelle" in row:
            ratio = row["poststelle"]["mb_per_s"] / row["xmllint --stream"]["mb_per_s"]
            row["throughput_ratio"] = ratio
            row["cpu_throughput_ratio"] = row["poststelle"]["mb_per_cpu_s"] / row["xmllint --stream"]["mb_per_cpu_s"]
            if "xmllint --schema" in row:
                dom = row["xmllint --schema"]
                row["dom_throughput_ratio"] = row["poststelle"]["mb_per_s"] / dom["mb_per_s"]
                row["dom_cpu_throughput_ratio"] = row["poststelle"]["mb_per_cpu_s"] / dom["mb_per_cpu_s"]
                print(f"  poststelle / xmllint --schema (DOM) throughput: {row['dom_throughput_ratio']:.2f}x wall, "
                      f"{row['dom_cpu_throughput_ratio']:.2f}x CPU")
            print(f"  poststelle / xmllint --stream throughput: {ratio:.2f}x wall, {row['cpu_throughput_ratio']:.2f}x CPU "
                  f"(goal ≥ 1.5x); poststelle peak RSS "
                  f"{row['poststelle']['max_rss_kib'] / 1024:.1f} MiB (goal ≤ 64 MiB)")
        os.remove(path)
        out.append(row)
    return out


def bench_messages(args, binary, tmp) -> dict:
    samples = xbau.valid_samples(args.shared)
    by_entry: dict[str, list[str]] = collections.defaultdict(list)
    for s in samples:
        with open(s, encoding="utf-8") as f:
            by_entry[xbau.entry_for(f.read(), args.shared)].append(s)
    dummy = os.path.join(tmp, "dummy.xml")
    with open(dummy, "w") as f:
        f.write("<dummy/>\n")
    total = {"xmllint": 0.0, "poststelle": 0.0}
    cpu_total = {"xmllint": 0.0, "poststelle": 0.0}
    base_total = {"xmllint": 0.0, "poststelle": 0.0}
    count = 0
    print(f"\nmessages: {len(samples)} samples x {args.repeat} copies, one process per entry XSD, median of {args.runs} runs")
    for entry, files in sorted(by_entry.items()):
        copies = []
        d = os.path.join(tmp, "msgs-" + os.path.basename(entry))
        os.makedirs(d, exist_ok=True)
        for k in range(args.repeat):
            for s in files:
                c = os.path.join(d, f"{k:03d}-{os.path.basename(s)}")
                shutil.copyfile(s, c)
                copies.append(c)
        count += len(copies)
        line = f"  {os.path.basename(entry):<52} {len(copies):>5} msgs"
        if args.engine in ("xmllint", "both"):
            rf = median_run(xmllint_cmd(entry, copies, False), args.runs)
            rb = median_run(xmllint_cmd(entry, [dummy], False), args.runs, (3,))
            full, base = rf["median_s"], rb["median_s"]
            total["xmllint"] += full - base
            cpu_total["xmllint"] += rf["cpu_s"] - rb["cpu_s"]
            base_total["xmllint"] += base
            line += f"  xmllint {1000 * (full - base) / len(copies):.3f} ms/msg (compile+start {1000 * base:.1f} ms)"
        if args.engine in ("poststelle", "both"):
            rf = median_run(poststelle_cmd(binary, entry, copies), args.runs)
            rb = median_run(poststelle_cmd(binary, entry, []), args.runs)
            full, base = rf["median_s"], rb["median_s"]
            total["poststelle"] += full - base
            cpu_total["poststelle"] += rf["cpu_s"] - rb["cpu_s"]
            base_total["poststelle"] += base
            line += f"  poststelle {1000 * (full - base) / len(copies):.3f} ms/msg (compile+start {1000 * base:.1f} ms)"
        print(line)
        shutil.rmtree(d)
    res = {"messages": count}
    for n in total:
        if (n == "xmllint" and args.engine != "poststelle") or (n == "poststelle" and args.engine != "xmllint"):
            res[n] = {"ms_per_message": 1000 * total[n] / count, "cpu_ms_per_message": 1000 * cpu_total[n] / count,
                      "compile_and_start_ms_sum": 1000 * base_total[n]}
            print(f"  {n:<11} {res[n]['ms_per_message']:.3f} ms per message wall, "
                  f"{res[n]['cpu_ms_per_message']:.3f} ms CPU (all entries)")
    if "xmllint" in res and "poststelle" in res:
        res["ratio"] = res["poststelle"]["ms_per_message"] / res["xmllint"]["ms_per_message"]
        c = res["xmllint"]["cpu_ms_per_message"]
        res["cpu_ratio"] = res["poststelle"]["cpu_ms_per_message"] / c if c > 0 else float("nan")
        print(f"  poststelle / xmllint per-message time: {res['ratio']:.2f} wall, {res['cpu_ratio']:.2f} CPU (goal ≤ 1.0)")
    return res


def _whole_set_wrapper(shared: str, tmp: str) -> str:
    """A document that brings in every schema document of xsd_dev (a wrapper per namespace)."""
    sys.path.insert(0, os.path.join(HERE, "..", "..", "conformance"))
    import w3c  # noqa: E402

    docs = sorted(glob.glob(os.path.join(xbau.xbau_dir(shared), "xsd_dev", "*.xsd")))
    return w3c.Wrappers(tmp).entry(docs)


def bench_compile(args, binary, tmp) -> dict:
    dummy = os.path.join(tmp, "dummy.xml")
    with open(dummy, "w") as f:
        f.write("<dummy/>\n")
    wdir = os.path.join(tmp, "wrap")
    os.makedirs(wdir, exist_ok=True)
    whole = _whole_set_wrapper(args.shared, wdir)
    entries = sorted(set(xbau.roots(args.shared).values()))
    print(f"\ncompile: median of {args.runs} runs: wall (process start-up included), in-process compile time "
          "as the tool reports it, CPU time (user+sys) of the process")
    res: dict = {}
    if args.engine in ("xmllint", "both"):
        res["xmllint_start_ms"] = 1000 * median_run(["xmllint", "--version"], args.runs)["median_s"]
    if args.engine in ("poststelle", "both"):
        res["poststelle_start_ms"] = 1000 * median_run([binary, "--version"], args.runs)["median_s"]
    print("  start-up only: " + ", ".join(f"{k} {v:.1f} ms" for k, v in res.items()))
    targets = [("whole xsd_dev set (wrapper)", whole)] + [(os.path.basename(e), e) for e in entries]
    rows = []
    for label, schema in targets:
        row = {"schema": label}
        line = f"  {label:<52}"
        if args.engine in ("xmllint", "both"):
            r = median_run(["xmllint", "--timing", *xmllint_cmd(schema, [dummy], False)[1:]], args.runs, (3, 5))
            row["xmllint_ms"] = 1000 * r["median_s"]
            row["xmllint_compile_ms"] = r.get("compile_ms")
            row["xmllint_cpu_ms"] = 1000 * r["cpu_s"]
            # exit 3: the dummy is invalid, i.e. the schema compiled; 5: it did not.
            row["xmllint_compiled"] = r["exit"] != 5
            line += (f"  xmllint {row['xmllint_ms']:6.1f} ms (in-process {row['xmllint_compile_ms'] or 0:5.1f}, "
                     f"CPU {row['xmllint_cpu_ms']:5.1f})"
                     f"{'' if row['xmllint_compiled'] else ' (FAILED)'}")
        if args.engine in ("poststelle", "both"):
            r = median_run([binary, "validate", "--timings", "--schema", schema], args.runs, (0, 2))
            row["poststelle_ms"] = 1000 * r["median_s"]
            row["poststelle_compile_ms"] = r.get("compile_ms")
            row["poststelle_cpu_ms"] = 1000 * r["cpu_s"]
            row["poststelle_compiled"] = r["exit"] == 0
            line += (f"  poststelle {row['poststelle_ms']:6.1f} ms (in-process {row['poststelle_compile_ms'] or 0:5.1f}, "
                     f"CPU {row['poststelle_cpu_ms']:5.1f})"
                     f"{'' if row['poststelle_compiled'] else ' (exit %d)' % r['exit']}")
        print(line)
        rows.append(row)
    if args.engine in ("poststelle", "both"):
        # poststelle can also load the whole directory itself (declarations chosen by root element).
        d = os.path.join(xbau.xbau_dir(args.shared), "xsd_dev")
        r = median_run([binary, "validate", "--timings", "--schema-dir", d], args.runs, (0, 2))
        row = {"schema": "whole xsd_dev set (--schema-dir)", "poststelle_ms": 1000 * r["median_s"],
               "poststelle_compile_ms": r.get("compile_ms"), "poststelle_cpu_ms": 1000 * r["cpu_s"],
               "poststelle_compiled": r["exit"] == 0}
        print(f"  {row['schema']:<52}  poststelle {row['poststelle_ms']:6.1f} ms (in-process "
              f"{row['poststelle_compile_ms'] or 0:5.1f}, CPU {row['poststelle_cpu_ms']:.1f})")
        rows.append(row)
    res["schemas"] = rows
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("poststelle", "xmllint", "both"), default="both")
    ap.add_argument("--poststelle", default=None, help="binary (default target/release/poststelle or $POSTSTELLE_BIN)")
    ap.add_argument("--shared", default=eng.shared_dir())
    ap.add_argument("--only", choices=("throughput", "messages", "compile"), action="append")
    ap.add_argument("--sizes", default="50,10", help="MB of the generated messages, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--xmllint-dom", action="store_true",
                    help="throughput: also time `xmllint --schema` without --stream (builds a tree: memory grows with the input)")
    ap.add_argument("--repeat", type=int, default=50, help="copies of each sample for the per-message part")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--max-rss-mib", type=float, help="exit 1 if poststelle's peak RSS on a generated message exceeds this")
    args = ap.parse_args()
    binary = args.poststelle or eng.default_poststelle()
    if args.engine != "xmllint" and not os.path.exists(binary):
        raise SystemExit(f"no poststelle binary at {binary}: run `cargo build --release --locked`")
    if not os.path.exists(TIME):
        raise SystemExit("/usr/bin/time is missing: apt-get install time")
    parts = args.only or ["throughput", "messages", "compile"]
    out: dict = {"xmllint": eng.Xmllint().version() if args.engine != "poststelle" else None}
    with tempfile.TemporaryDirectory(prefix="conf-bench-") as tmp:
        if "throughput" in parts:
            out["throughput"] = bench_throughput(args, binary, tmp)
        if "messages" in parts:
            out["messages"] = bench_messages(args, binary, tmp)
        if "compile" in parts:
            out["compile"] = bench_compile(args, binary, tmp)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    status = 0
    if args.max_rss_mib is not None:
        for row in out.get("throughput", []):
            rss = row.get("poststelle", {}).get("max_rss_kib", 0) / 1024
            if rss > args.max_rss_mib:
                print(f"FAIL: poststelle peak RSS {rss:.1f} MiB on {row['size_mb']} MB > {args.max_rss_mib} MiB")
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
