"""Notebook 04 in a real browser: JupyterLab on localhost, headless Chromium driven by Playwright.

Debian's `chromium` package is the browser (`playwright install` cannot download one here);
`.ci/run` installs it. Without it the test is skipped, saying why.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NOTEBOOK = "04_denoising_widget.ipynb"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server rooted at a scratch copy of notebook 04 (the browser saves into it)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(REPO / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(server.pid, signal.SIGTERM)
        pytest.fail("JupyterLab did not start within a minute")
    yield url, root
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def expected_answer_tokens():
    """What the sampler returns for the notebook's first player, computed here in Python."""
    from dlm_kit.backbones import load_backbone
    from dlm_kit.chat import build_prompt
    from dlm_kit.sampling import generate

    model, tok = load_backbone("tiny-chat")
    prompt = build_prompt(tok, "Reverse the letters: q w e r t y")
    out = generate(model.eval(), [prompt], max_new_tokens=16, steps=16, block_size=16, mask_token_id=tok.mask_token_id)
    return tok.convert_ids_to_tokens(out.new_tokens[0].tolist())


def _tokens(frame):
    return [span.inner_text() for span in frame.locator(".dlm-token").all()]


def test_widget_plays_in_jupyterlab_and_ends_on_the_sampler_output(lab, expected_answer_tokens, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, _ = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{NOTEBOOK}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        select_kernel = page.get_by_role("button", name="Select", exact=True)
        try:  # a fresh server may ask which kernel to start: the notebook's own (Python 3)
            select_kernel.click(timeout=15_000)
        except Exception:  # noqa: BLE001 - no dialog: the kernel started by itself
            pass
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()

        # the first player appears once its cell has run; it starts on the last step
        frame = page.locator(".dlm-frame").first
        expect(frame).to_be_visible(timeout=180_000)
        expect(frame).to_have_attribute("data-step", "16", timeout=30_000)
        assert _tokens(frame) == [t if t else "▒" for t in expected_answer_tokens]

        # move the slider to the start: every position is masked again
        player = page.locator(".widget-vbox").filter(has=page.locator(".dlm-frame")).first
        handle = player.locator(".widget-slider .noUi-handle").first
        handle.focus()
        page.keyboard.press("Home")
        expect(frame).to_have_attribute("data-step", "0", timeout=10_000)
        assert set(_tokens(frame)) == {"▒"}

        # press Play: the tokens change step by step and end as the sampler's output
        player.locator(".widget-play button").first.click()
        expect(frame).not_to_have_attribute("data-step", "0", timeout=10_000)
        middle = _tokens(frame)
        expect(frame).to_have_attribute("data-step", "16", timeout=30_000)
        final = _tokens(frame)
        assert middle != final
        assert final == [t if t else "▒" for t in expected_answer_tokens]

        shots = Path(os.environ.get("DLM_KIT_ARTIFACTS", REPO / "runs" / "browser"))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "denoising_widget.png"), full_page=False)
        browser.close()
