"""The README's two commands are the ones that exist, and the main one really opens JupyterLab."""

import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import REPO


def _quickstart_commands():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Quickstart.*?```bash\n(.*?)```", readme, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_quickstart_has_exactly_two_commands_and_ci_runs_the_test_one():
    assert _quickstart_commands() == ["bash scripts/notebooks.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


@pytest.mark.slow
def test_readme_main_command_sets_up_and_serves_the_notebooks():
    port = 8917
    proc = subprocess.Popen(
        ["bash", "scripts/notebooks.sh", "--no-browser", f"--port={port}", "--IdentityProvider.token=",
         "--ServerApp.open_browser=False"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.time() + 600  # the first run installs packages
        while time.time() < deadline:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            try:
                listing = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("JupyterLab did not answer within 10 minutes")
        # the server is rooted at notebooks/, so it lists the notebook series
        assert '"README.md"' in listing
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=10).status == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
