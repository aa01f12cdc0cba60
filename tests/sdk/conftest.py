"""Starts `raxx-sim serve <broker>` for each SDK test module and hands the
tests its first stdout line: base URL, credentials and accounts."""

import json
import os
import subprocess

import pytest


def _serve(broker):
    binary = os.environ.get("RAXX_SIM_BIN")
    if not binary:
        pytest.fail("RAXX_SIM_BIN is not set: run these tests through scripts/sdk-tests.sh or cargo test")
    proc = subprocess.Popen(
        [binary, "serve", broker, "--addr", "127.0.0.1:0", "--seed", "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"raxx-sim serve {broker} printed nothing: {proc.stderr.read()}")
    return proc, json.loads(line)


@pytest.fixture(scope="module")
def served(request):
    proc, info = _serve(request.module.BROKER)
    yield info
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
