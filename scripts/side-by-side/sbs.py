#!/usr/bin/env python3
"""Helpers of scripts/side-by-side/run.sh (standard library only).

  sbs.py wrk OUT_FILE TOOL OP ROUND CPU_TICKS EXTRA_JSON  -> one JSON record from wrk's output
  sbs.py cputicks PID                                      -> utime+stime of PID and its descendants
  sbs.py table RESULTS_JSONL META_JSON                     -> the table and the final JSON line
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def cputicks(pid: int) -> int:
    total = 0
    for p in _descendants(pid):
        try:
            total += _ticks(p)
        except OSError:
            pass
    return total


def _secs(v: str, unit: str) -> float:
    return float(v) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def parse_wrk(text: str) -> dict:
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),\s+([\d.]+)(B|KB|MB|GB) read", text)
    if not m:
        raise SystemExit(f"cannot parse wrk output:\n{text}")
    requests = int(m.group(1))
    duration = _secs(m.group(2), m.group(3))
    size = float(m.group(4)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(5)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    p = {}
    for q in ("50", "99"):
        mm = re.search(rf"^\s+{q}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        p[q] = _secs(mm.group(1), mm.group(2)) * 1e3 if mm else None
    return {
        "requests": requests,
        "duration_s": duration,
        "rps": requests / duration,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "bytes_per_response": size / requests if requests else None,
        "p50_ms": p["50"],
        "p99_ms": p["99"],
    }


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 100_000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def triple(xs: list[float]) -> str:
    if not xs:
        return "-"
    return f"{fmt(min(xs))} / {fmt(statistics.median(xs))} / {fmt(max(xs))}"


def table(results_path: str, meta_path: str) -> None:
    rows = [json.loads(line) for line in open(results_path) if line.strip()]
    meta = json.load(open(meta_path))

    def vals(tool: str, op: str, key: str) -> list[float]:
        return [r[key] for r in rows if r["tool"] == tool and r["op"] == op and r.get(key) is not None]

    # (label, raxx (tool, op, key), rival (tool, op, key), higher_is_better, ratio key)
    figures = [
        ("MBT quotes/s, strategy + orders", ("raxx-sim", "mbt", "market_events_per_sec"),
         ("nautilus", "strategy", "quotes_per_sec"), True, "mbt_vs_nautilus_backtest"),
        ("MBT quotes/s vs pure replay", ("raxx-sim", "mbt", "market_events_per_sec"),
         ("nautilus", "replay", "quotes_per_sec"), True, "mbt_vs_nautilus_replay"),
        ("  fills during the stream", ("raxx-sim", "mbt", "fills_during_stream"),
         ("nautilus", "strategy", "fills"), None, None),
        ("  peak working orders", ("raxx-sim", "mbt", "peak_working_orders"),
         ("nautilus", "strategy", "working_orders_peak"), None, None),
        ("  orders submitted in the stream", ("raxx-sim", "mbt", "orders_interleaved"),
         ("nautilus", "strategy", "orders_interleaved"), None, None),
        ("POST /v2/orders req/s", ("raxx-sim", "post", "rps"), ("prism", "post", "rps"), True,
         "post_orders_rps"),
        ("POST /v2/orders server CPU us/req", ("raxx-sim", "post", "cpu_us_per_req"),
         ("prism", "post", "cpu_us_per_req"), False, "post_orders_cpu_per_req"),
        ("POST /v2/orders p99 latency ms", ("raxx-sim", "post", "p99_ms"), ("prism", "post", "p99_ms"),
         False, "post_orders_p99"),
        ("  POST non-2xx responses", ("raxx-sim", "post", "non_2xx"), ("prism", "post", "non_2xx"),
         None, None),
        ("GET /v2/positions req/s", ("raxx-sim", "get", "rps"), ("prism", "get", "rps"), True,
         "get_positions_rps"),
        ("GET /v2/positions server CPU us/req", ("raxx-sim", "get", "cpu_us_per_req"),
         ("prism", "get", "cpu_us_per_req"), False, "get_positions_cpu_per_req"),
        ("GET /v2/positions p99 latency ms", ("raxx-sim", "get", "p99_ms"), ("prism", "get", "p99_ms"),
         False, "get_positions_p99"),
        ("  GET bytes per response", ("raxx-sim", "get", "bytes_per_response"),
         ("prism", "get", "bytes_per_response"), None, None),
    ]
    ratios = {}
    lines = []
    w = 36
    head = f"{'figure':<{w}} {'raxx-sim min / median / max':>30} {'rival min / median / max':>30}  ratio"
    lines.append(head)
    lines.append("-" * len(head))
    for label, a, b, higher, key in figures:
        xa, xb = vals(*a), vals(*b)
        if not xa and not xb:
            continue
        ratio = ""
        if higher is not None and xa and xb:
            ma, mb = statistics.median(xa), statistics.median(xb)
            r = (ma / mb if higher else mb / ma) if (ma and mb) else None
            if r is not None:
                ratios[key] = round(r, 2)
                ratio = f"{r:.1f}x"
        lines.append(f"{label:<{w}} {triple(xa):>30} {triple(xb):>30}  {ratio}")
    print()
    print(f"side by side: {meta['rounds']} interleaved rounds, {meta['quotes']:,} quotes, "
          f"wrk {meta['secs']}s x {meta['conns']} connections on {meta.get('wrk_threads', 2)} threads, {meta['nproc']} cores; "
          f"load average before {meta['load_before']}, after {open('/proc/loadavg').read().split()[0]}")
    print("rival: NautilusTrader BacktestEngine (MBT rows; 'vs pure replay' = same quotes, no strategy, "
          "no orders) and Prism static mock (serve rows)")
    print("ratio: raxx-sim / rival for rates, rival / raxx-sim for CPU and latency (above 1: raxx-sim ahead)")
    if meta["quotes"] != 2_000_000:
        print(f"NOTE: --quotes {meta['quotes']:,}: both engines streamed {meta['quotes']:,} quotes, "
              "not bench mbt's default 2,000,000; rates are per second of that count")
    print()
    print("\n".join(lines))
    print()
    out = {"side_by_side": "raxx-sim", "rounds": meta["rounds"], "quotes": meta["quotes"],
           "wrk_secs": meta["secs"], "wrk_connections": meta["conns"],
           "wrk_threads": meta.get("wrk_threads", 2), "ratios": ratios,
           "versions": meta["versions"]}
    print(json.dumps(out, sort_keys=False))


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "cputicks":
        print(cputicks(int(sys.argv[2])))
    elif cmd == "wrk":
        out_file, tool, op, rnd, ticks, extra = sys.argv[2:8]
        rec = {"tool": tool, "op": op, "round": int(rnd)}
        rec.update(parse_wrk(open(out_file).read()))
        cpu_s = int(ticks) / CLK_TCK
        rec["server_cpu_s"] = cpu_s
        rec["cpu_us_per_req"] = cpu_s / rec["requests"] * 1e6 if rec["requests"] else None
        rec.update(json.loads(extra))
        print(json.dumps(rec))
    elif cmd == "table":
        table(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
