"""pytest plugin: every raxx-sim conformance case becomes a pytest test.

Enable it with ``-p raxx_bridge.pytest_plugin`` (on the command line or in
``addopts``) or ``pytest_plugins = ["raxx_bridge.pytest_plugin"]`` in the
rootdir's conftest.py, and write one test that takes the ``raxx_conformance``
fixture::

    # tests/test_conformance.py
    def test_conformance(raxx_conformance):
        raxx_conformance.check()

Then configure it (command line, environment, or ini file, in that order)::

    [tool.pytest.ini_options]
    addopts = "-p raxx_bridge.pytest_plugin"
    raxx_adapter_cmd = "{python} my_adapter.py"  # RAXX_CONFORM_ADAPTER_CMD, --raxx-adapter-cmd
    raxx_broker = "alpaca"                       # RAXX_CONFORM_BROKER, --raxx-broker
    raxx_seeds = "2"                             # RAXX_CONFORM_SEEDS, --raxx-seeds (seeds 1..N)
    raxx_per = "seed"                            # --raxx-per: one test per (case, seed) or per "case"

and say where raxx-sim is: ``RAXX_SIM=/path/to/raxx-sim`` (the binary) or
``RAXX_SIM_REPO=/path/to/raxx-sim-repo`` (runs ``cargo run --release --``
there), or have ``raxx-sim`` on PATH. ``--raxx-seed N`` and
``--raxx-case ID`` narrow the run to reproduce one failure;
``--raxx-report FILE`` reads a JSON report written earlier
(``raxx-sim conform … --format json --out FILE``) instead of running.

raxx-sim runs once per pytest session, at collection (the cases it reports
are the tests), from pytest's rootdir, so a relative adapter command works;
``{python}`` in the command is pytest's own interpreter (where raxx_bridge is
installed).
A failing test shows the case's message, its trace excerpt and the command
that reproduces it; a case that does not apply to the adapter is a skip
with the harness's reason. With pytest-xdist every worker would run the
suite: run these tests with ``-p no:xdist`` or feed them ``--raxx-report``.
"""

import os
import shlex
import sys

import pytest

from .conform import ConformError, read_report, run_conform

FIXTURE = "raxx_conformance"

_SETTINGS = (
    # (option, ini, env, help)
    ("adapter_cmd", "raxx_adapter_cmd", "RAXX_CONFORM_ADAPTER_CMD", "the adapter command raxx-sim starts"),
    ("broker", "raxx_broker", "RAXX_CONFORM_BROKER", "the broker the adapter trades at (default alpaca)"),
    ("seeds", "raxx_seeds", "RAXX_CONFORM_SEEDS", "run seeds 1..N of every case (default 1)"),
    ("per", "raxx_per", "RAXX_CONFORM_PER", "one test per 'seed' (case and seed; default) or per 'case'"),
    ("sim", "raxx_sim", "RAXX_SIM", "the raxx-sim binary"),
    ("sim_repo", "raxx_sim_repo", "RAXX_SIM_REPO", "the raxx-sim repository (cargo run --release)"),
    ("timeout", "raxx_timeout", "RAXX_CONFORM_TIMEOUT", "seconds the whole conform run may take"),
)


def pytest_addoption(parser):
    group = parser.getgroup("raxx", "raxx-sim conformance suite")
    for name, ini, env, help in _SETTINGS:
        group.addoption("--raxx-" + name.replace("_", "-"), dest="raxx_" + name, default=None, help="%s (%s)" % (help, env))
        parser.addini(ini, help=help, default=None)
    group.addoption("--raxx-seed", dest="raxx_seed", default=None, type=int, help="only this seed")
    group.addoption("--raxx-case", dest="raxx_case", default=None, help="only this case (its catalogue id)")
    group.addoption("--raxx-report", dest="raxx_report", default=None, help="read this JSON report instead of running raxx-sim")


def _setting(config, name):
    for _, ini, env, _ in _SETTINGS:
        if ini == "raxx_" + name:
            break
    else:  # pragma: no cover
        raise KeyError(name)
    value = config.getoption("raxx_" + name)
    if value is None:
        value = os.environ.get(env)
    if value is None:
        value = config.getini(ini)
    return value or None


class Conformance(object):
    """What one generated test checks: a (case, seed) run, or a case with all its seeds."""

    def __init__(self, outcome, adapter_cmd):
        self.outcome = outcome
        self.adapter_cmd = adapter_cmd

    @property
    def verdict(self):
        return self.outcome.verdict

    def check(self):
        __tracebackhide__ = True  # report the test's line, not this one
        if self.outcome.verdict == "failed":
            pytest.fail(self.outcome.failure_text(self.adapter_cmd), pytrace=False)
        if self.outcome.verdict == "skipped":
            pytest.skip("not applicable: %s" % self.outcome.reason)


class _RunFailed(object):
    """Stands in for the suite when raxx-sim could not run: one failing test saying why."""

    id = "raxx-sim-conform"
    verdict = "failed"
    reason = ""

    def __init__(self, why):
        self.why = why

    def failure_text(self, adapter_cmd=None):
        return "raxx-sim conform did not run: %s" % self.why


def adapter_command(text):
    """``{python}`` in the adapter command is the interpreter running pytest
    (the one raxx_bridge is installed in)."""
    if text and "{python}" in text:
        text = text.replace("{python}", shlex.quote(sys.executable))
    return text


def _outcomes(config):
    cached = getattr(config, "_raxx_outcomes", None)
    if cached is not None:
        return cached
    adapter_cmd = adapter_command(_setting(config, "adapter_cmd"))
    per = _setting(config, "per") or "seed"
    try:
        if per not in ("seed", "case"):
            raise ConformError("raxx_per must be 'seed' or 'case', not %r" % per)
        report_path = config.getoption("raxx_report")
        if report_path:
            report = read_report(report_path)
        else:
            if not adapter_cmd:
                raise ConformError("no adapter command: set raxx_adapter_cmd, RAXX_CONFORM_ADAPTER_CMD or --raxx-adapter-cmd")
            timeout = _setting(config, "timeout")
            report = run_conform(
                adapter_cmd,
                broker=_setting(config, "broker") or "alpaca",
                seeds=int(_setting(config, "seeds") or 1),
                seed=config.getoption("raxx_seed"),
                case=config.getoption("raxx_case"),
                sim=_setting(config, "sim"),
                repo=_setting(config, "sim_repo"),
                cwd=str(config.rootdir),
                timeout=float(timeout) if timeout else None,
            )
        outcomes = report.by_case() if per == "case" else list(report.runs)
        if not outcomes:
            raise ConformError("the report has no runs (a --raxx-case that does not exist?)")
    except (ConformError, ValueError, OSError) as e:
        outcomes = [_RunFailed(str(e))]
    result = [Conformance(o, adapter_cmd) for o in outcomes]
    config._raxx_outcomes = result
    return result


def pytest_generate_tests(metafunc):
    if FIXTURE in metafunc.fixturenames:
        outcomes = _outcomes(metafunc.config)
        metafunc.parametrize(FIXTURE, outcomes, ids=[c.outcome.id for c in outcomes])


def pytest_report_header(config):
    cmd = _setting(config, "adapter_cmd")
    if cmd:
        return "raxx conformance: adapter %r at %s" % (cmd, _setting(config, "broker") or "alpaca")
    return None
