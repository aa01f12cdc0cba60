"""Running ``raxx-sim conform`` for an external adapter and reading its JSON
report; what the pytest plugin (raxx_bridge.pytest_plugin) is built on,
usable without pytest.

The JSON report (``--format json``, harness/src/report.rs) is
``{"passed": n, "failed": n, "skipped": n, "runs": [run, ...]}``, each run
``{adapter, case, seed, verdict: "passed"|"failed"|"skipped", trace_sha256,
requests, simulated_ms, mutant?}`` plus ``message``, ``trace_excerpt`` and
``reproduce`` for a failure, or ``reason`` for a skip.
"""

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

VERDICTS = ("passed", "failed", "skipped")


class ConformError(Exception):
    """raxx-sim could not be run, or its report could not be read."""


class Run(object):
    """One (case, seed) of a report."""

    __slots__ = ("case", "seed", "verdict", "adapter", "message", "excerpt", "reproduce", "reason", "requests", "raw")

    def __init__(self, raw):
        # type: (Dict) -> None
        if not isinstance(raw, dict):
            raise ConformError("a report run is not an object: %r" % (raw,))
        try:
            self.case = str(raw["case"])
            self.seed = int(raw["seed"])
            self.verdict = str(raw["verdict"])
        except (KeyError, TypeError, ValueError) as e:
            raise ConformError("a report run lacks case, seed or verdict: %s" % e)
        if self.verdict not in VERDICTS:
            raise ConformError("run %s seed %d has the verdict %r" % (self.case, self.seed, self.verdict))
        self.adapter = str(raw.get("adapter", ""))
        self.message = raw.get("message") or ""
        self.excerpt = raw.get("trace_excerpt") or ""
        self.reproduce = raw.get("reproduce") or ""
        self.reason = raw.get("reason") or ""
        self.requests = raw.get("requests")
        self.raw = raw

    @property
    def id(self):
        return "%s-seed%d" % (self.case, self.seed)

    def failure_text(self, adapter_cmd=None):
        """The failure as the text report prints it, with the reproduce
        command naming the actual adapter command."""
        lines = ["%s seed %d: %s" % (self.case, self.seed, self.message)]
        if self.excerpt:
            lines.append("  trace:")
            lines.extend("    " + l for l in self.excerpt.splitlines())
        if self.reproduce:
            lines.append("  reproduce: " + reproduce_with(self.reproduce, adapter_cmd))
        return "\n".join(lines)


def reproduce_with(command, adapter_cmd):
    """The report writes ``--adapter-cmd '<your command>'``: put the real one in."""
    if adapter_cmd:
        return command.replace("'<your command>'", shlex.quote(adapter_cmd))
    return command


class CaseOutcome(object):
    """Every seed of one case: failed if any seed failed, skipped if all were."""

    def __init__(self, case, runs):
        # type: (str, List[Run]) -> None
        self.case = case
        self.runs = runs

    @property
    def id(self):
        return self.case

    @property
    def verdict(self):
        verdicts = set(r.verdict for r in self.runs)
        if "failed" in verdicts:
            return "failed"
        if verdicts == {"skipped"}:
            return "skipped"
        return "passed"

    @property
    def reason(self):
        return "; ".join(sorted(set(r.reason for r in self.runs if r.reason)))

    def failure_text(self, adapter_cmd=None):
        failed = [r for r in self.runs if r.verdict == "failed"]
        head = "%s failed under %d of %d seeds (%s)" % (
            self.case,
            len(failed),
            len(self.runs),
            ", ".join(str(r.seed) for r in failed),
        )
        return "\n\n".join([head] + [r.failure_text(adapter_cmd) for r in failed])


class Report(object):
    def __init__(self, runs, totals=None):
        # type: (List[Run], Optional[Dict[str, int]]) -> None
        self.runs = runs
        self.totals = totals or {}

    @classmethod
    def parse(cls, text):
        # type: (str) -> Report
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise ConformError("the conform report is not JSON: %s" % e)
        if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
            raise ConformError("the conform report has no runs list")
        runs = [Run(r) for r in doc["runs"]]
        totals = dict((k, doc[k]) for k in VERDICTS if isinstance(doc.get(k), int))
        return cls(runs, totals)

    def by_case(self):
        # type: () -> List[CaseOutcome]
        cases = OrderedDict()  # type: OrderedDict
        for r in self.runs:
            cases.setdefault(r.case, []).append(r)
        return [CaseOutcome(case, runs) for case, runs in cases.items()]


def sim_command(sim=None, repo=None):
    # type: (Optional[str], Optional[str]) -> List[str]
    """How to start raxx-sim: the binary at ``sim`` (RAXX_SIM), else
    ``cargo run --release --`` in the repository ``repo`` (RAXX_SIM_REPO),
    else ``raxx-sim`` from PATH."""
    if sim:
        return [sim]
    if repo:
        manifest = os.path.join(repo, "Cargo.toml")
        if not os.path.isfile(manifest):
            raise ConformError("%s has no Cargo.toml: RAXX_SIM_REPO must be the raxx-sim repository" % repo)
        # --manifest-path rather than cwd=repo: the adapter command is run
        # by raxx-sim's shell, relative to the caller's directory.
        return ["cargo", "run", "--release", "--quiet", "--manifest-path", manifest, "--"]
    found = shutil.which("raxx-sim")
    if found:
        return [found]
    raise ConformError(
        "no raxx-sim: set RAXX_SIM to the binary (target/release/raxx-sim) "
        "or RAXX_SIM_REPO to the raxx-sim repository (built with cargo run --release)"
    )


def conform_args(adapter_cmd, broker, seeds=None, seed=None, case=None, extra=()):
    # type: (str, str, Optional[int], Optional[int], Optional[str], Sequence[str]) -> List[str]
    args = ["conform", "--adapter-cmd", adapter_cmd, "--broker", broker]
    if seed is not None:
        args += ["--seed", str(int(seed))]
    elif seeds is not None:
        args += ["--seeds", str(int(seeds))]
    if case:
        args += ["--case", case]
    return args + list(extra)


def run_conform(
    adapter_cmd,
    broker="alpaca",
    seeds=None,
    seed=None,
    case=None,
    sim=None,
    repo=None,
    cwd=None,
    timeout=None,
    env=None,
    extra=(),
):
    # type: (...) -> Report
    """Runs the suite once (``--format json --out FILE``) and reads the report.
    A non-zero exit with a report (some case failed) is a report; without
    one it is a :class:`ConformError` carrying raxx-sim's stderr."""
    fd, out = tempfile.mkstemp(prefix="raxx-conform-", suffix=".json")
    os.close(fd)
    try:
        argv = sim_command(sim, repo) + conform_args(adapter_cmd, broker, seeds, seed, case, extra)
        argv += ["--format", "json", "--out", out]
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                universal_newlines=True,
                timeout=timeout,
            )
        except (OSError, subprocess.SubprocessError) as e:
            raise ConformError("running %s: %s" % (" ".join(shlex.quote(a) for a in argv), e))
        text = ""
        if os.path.exists(out):
            with open(out) as f:
                text = f.read()
        if not text.strip():
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-20:])
            raise ConformError(
                "%s exited with %s and wrote no report:\n%s"
                % (" ".join(shlex.quote(a) for a in argv), proc.returncode, tail)
            )
        return Report.parse(text)
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass


def read_report(path):
    # type: (str) -> Report
    with open(path) as f:
        return Report.parse(f.read())
