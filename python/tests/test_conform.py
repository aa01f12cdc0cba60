"""raxx_bridge.conform (running raxx-sim conform, reading its JSON report)
and the pytest plugin on top of it, against a stand-in raxx-sim."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

import support

from raxx_bridge.conform import ConformError, Report, conform_args, reproduce_with, run_conform, sim_command

# A report as harness/src/report.rs writes it.
REPORT = {
    "passed": 2,
    "failed": 1,
    "skipped": 1,
    "runs": [
        {"adapter": "external:alpaca", "case": "market_buy_from_flat_fills", "seed": 1, "verdict": "passed",
         "trace_sha256": "a" * 64, "requests": 4, "simulated_ms": 0},
        {"adapter": "external:alpaca", "case": "market_buy_from_flat_fills", "seed": 2, "verdict": "failed",
         "trace_sha256": "b" * 64, "requests": 4, "simulated_ms": 0,
         "message": "order never filled", "trace_excerpt": "+0 adapter -> submit_order\n+0 broker <- POST /v2/orders",
         "reproduce": "cargo run --release -- conform --adapter-cmd '<your command>' --broker alpaca --case market_buy_from_flat_fills --seed 2"},
        {"adapter": "external:alpaca", "case": "limit_rests_then_cancels", "seed": 1, "verdict": "passed",
         "trace_sha256": "c" * 64, "requests": 3, "simulated_ms": 0},
        {"adapter": "external:alpaca", "case": "multi_leg_credit_spread", "seed": 1, "verdict": "skipped",
         "trace_sha256": "d" * 64, "requests": 0, "simulated_ms": 0,
         "reason": "alpaca-python-reference does not support multi-leg orders"},
    ],
}

# Writes REPORT (restricted to --case/--seed when given) to --out, and
# records its argv and working directory; exits 1 when a run failed.
FAKE_SIM = r'''#!{python}
import json, os, sys
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1] if name in args else None
with open(os.environ["FAKE_SIM_LOG"], "w") as f:
    json.dump({{"argv": args, "cwd": os.getcwd()}}, f)
if os.environ.get("FAKE_SIM_BROKEN"):
    sys.stderr.write("error: unexpected argument\n")
    sys.exit(2)
report = json.loads(os.environ["FAKE_SIM_REPORT"])
if opt("--case"):
    report["runs"] = [r for r in report["runs"] if r["case"] == opt("--case")]
if opt("--seed"):
    report["runs"] = [r for r in report["runs"] if r["seed"] == int(opt("--seed"))]
with open(opt("--out"), "w") as f:
    json.dump(report, f)
print("summary line")
sys.exit(1 if any(r["verdict"] == "failed" for r in report["runs"]) else 0)
'''


class FakeSim(object):
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="raxx-fake-sim-")
        self.path = os.path.join(self.dir, "raxx-sim")
        with open(self.path, "w") as f:
            f.write(FAKE_SIM.format(python=sys.executable))
        os.chmod(self.path, os.stat(self.path).st_mode | stat.S_IXUSR)
        self.log = os.path.join(self.dir, "argv.json")
        self.env = dict(os.environ, FAKE_SIM_LOG=self.log, FAKE_SIM_REPORT=json.dumps(REPORT))

    def calls(self):
        with open(self.log) as f:
            return json.load(f)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Reports(unittest.TestCase):
    def test_parse_and_group_by_case(self):
        report = Report.parse(json.dumps(REPORT))
        self.assertEqual([r.id for r in report.runs], [
            "market_buy_from_flat_fills-seed1", "market_buy_from_flat_fills-seed2",
            "limit_rests_then_cancels-seed1", "multi_leg_credit_spread-seed1"])
        self.assertEqual(report.totals, {"passed": 2, "failed": 1, "skipped": 1})
        cases = report.by_case()
        self.assertEqual([(c.id, c.verdict) for c in cases], [
            ("market_buy_from_flat_fills", "failed"), ("limit_rests_then_cancels", "passed"),
            ("multi_leg_credit_spread", "skipped")])
        text = cases[0].failure_text("python3 my adapter.py")
        self.assertIn("failed under 1 of 2 seeds (2)", text)
        self.assertIn("order never filled", text)
        self.assertIn("    +0 broker <- POST /v2/orders", text)
        self.assertIn("--adapter-cmd 'python3 my adapter.py' --broker alpaca --case market_buy_from_flat_fills --seed 2", text)
        self.assertEqual(cases[2].reason, "alpaca-python-reference does not support multi-leg orders")

    def test_bad_reports(self):
        for bad in ["", "[]", '{"runs": 3}', '{"runs": [{"case": "x", "seed": 1, "verdict": "maybe"}]}', '{"runs": [{}]}']:
            with self.assertRaises(ConformError, msg=bad):
                Report.parse(bad)

    def test_commands(self):
        self.assertEqual(sim_command(sim="/opt/raxx-sim"), ["/opt/raxx-sim"])
        self.assertEqual(
            sim_command(repo=support.REPO),
            ["cargo", "run", "--release", "--quiet", "--manifest-path", os.path.join(support.REPO, "Cargo.toml"), "--"],
        )
        with self.assertRaises(ConformError):
            sim_command(repo=tempfile.gettempdir())
        self.assertEqual(
            conform_args("python3 a.py", "alpaca", seeds=3, case="stop_triggers"),
            ["conform", "--adapter-cmd", "python3 a.py", "--broker", "alpaca", "--seeds", "3", "--case", "stop_triggers"],
        )
        self.assertEqual(conform_args("x", "tradier", seeds=3, seed=7)[-2:], ["--seed", "7"])
        self.assertEqual(reproduce_with("a --adapter-cmd '<your command>' b", None), "a --adapter-cmd '<your command>' b")


class Running(unittest.TestCase):
    def setUp(self):
        self.sim = FakeSim()

    def tearDown(self):
        self.sim.close()

    def test_one_run_reads_the_report_even_when_cases_fail(self):
        cwd = tempfile.mkdtemp()
        try:
            report = run_conform("python3 adapter.py", "alpaca", seeds=2, sim=self.sim.path, cwd=cwd, env=self.sim.env)
            self.assertEqual(len(report.runs), 4)
            call = self.sim.calls()
            self.assertEqual(os.path.realpath(call["cwd"]), os.path.realpath(cwd))
            self.assertEqual(call["argv"][:8], ["conform", "--adapter-cmd", "python3 adapter.py", "--broker", "alpaca", "--seeds", "2", "--format"])
        finally:
            os.rmdir(cwd)

    def test_no_report_is_an_error_with_the_reason(self):
        env = dict(self.sim.env, FAKE_SIM_BROKEN="1")
        with self.assertRaises(ConformError) as caught:
            run_conform("x", sim=self.sim.path, env=env)
        self.assertIn("exited with 2", str(caught.exception))
        self.assertIn("unexpected argument", str(caught.exception))
        with self.assertRaises(ConformError):
            run_conform("x", sim=os.path.join(self.sim.dir, "missing"), env=self.sim.env)


def _have_pytest():
    try:
        import pytest  # noqa: F401
        return True
    except ImportError:
        return False


@unittest.skipUnless(_have_pytest(), "pytest is not installed (pip install ./python[pytest])")
class PytestPlugin(unittest.TestCase):
    """pytest on a small project that enables the plugin, with the stand-in raxx-sim."""

    def setUp(self):
        self.sim = FakeSim()
        self.project = tempfile.mkdtemp(prefix="raxx-pytest-project-")
        with open(os.path.join(self.project, "test_conformance.py"), "w") as f:
            f.write(textwrap.dedent('''
                def test_conformance(raxx_conformance):
                    raxx_conformance.check()

                def test_ordinary():
                    assert True
            '''))
        with open(os.path.join(self.project, "pytest.ini"), "w") as f:
            f.write("[pytest]\naddopts = -p raxx_bridge.pytest_plugin\nraxx_adapter_cmd = {python} my_adapter.py\nraxx_broker = alpaca\n")

    def tearDown(self):
        self.sim.close()
        shutil.rmtree(self.project, ignore_errors=True)

    def pytest(self, *args, **env):
        e = dict(self.sim.env, RAXX_SIM=self.sim.path, PYTHONPATH=support.PYTHON_DIR)
        e.update(env)
        e.pop("RAXX_SIM_REPO", None)
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"] + list(args),
            cwd=self.project, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120,
        )

    def test_one_test_per_case_and_seed(self):
        p = self.pytest()
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("PASSED test_conformance.py::test_conformance[market_buy_from_flat_fills-seed1]", p.stdout)
        self.assertIn("FAILED test_conformance.py::test_conformance[market_buy_from_flat_fills-seed2]", p.stdout)
        self.assertIn("SKIPPED [1] test_conformance.py:3: not applicable", p.stdout)
        self.assertIn("does not support multi-leg orders", p.stdout)
        # {python} became pytest's interpreter, here and in the reproduce command.
        self.assertIn("--adapter-cmd '%s my_adapter.py' --broker alpaca --case market_buy_from_flat_fills --seed 2" % sys.executable, p.stdout)
        self.assertEqual(self.sim.calls()["argv"][2], "%s my_adapter.py" % sys.executable)
        self.assertIn("1 failed, 3 passed, 1 skipped", p.stdout)
        call = self.sim.calls()
        self.assertEqual(os.path.realpath(call["cwd"]), os.path.realpath(self.project))
        self.assertIn("--seeds", call["argv"])

    def test_one_test_per_case_and_narrowing(self):
        p = self.pytest("--raxx-per", "case")
        self.assertIn("1 failed, 2 passed, 1 skipped", p.stdout)
        p = self.pytest("--raxx-case", "market_buy_from_flat_fills", "--raxx-seed", "1")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("2 passed", p.stdout)
        self.assertEqual(self.sim.calls()["argv"][3:7], ["--broker", "alpaca", "--seed", "1"])

    def test_a_suite_that_cannot_run_is_one_failure(self):
        p = self.pytest(FAKE_SIM_BROKEN="1")
        self.assertIn("FAILED test_conformance.py::test_conformance[raxx-sim-conform]", p.stdout)
        self.assertIn("unexpected argument", p.stdout)

    def test_a_saved_report(self):
        path = os.path.join(self.project, "report.json")
        with open(path, "w") as f:
            json.dump(REPORT, f)
        p = self.pytest("--raxx-report", path, RAXX_SIM="/nonexistent")
        self.assertIn("1 failed, 3 passed, 1 skipped", p.stdout)


if __name__ == "__main__":
    unittest.main()
