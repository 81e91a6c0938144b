"""The widgets in a real browser: JupyterLab (headless, loopback) + Debian's Chromium.

Opens notebooks/02_jobs_and_paging.ipynb (a copy under out/, so the committed notebook is
never saved over), runs every cell, presses Start in the job launcher, waits for the job to
succeed and saves a screenshot to ``out/screenshots/``. Chromium comes from Debian
(``tests/browser/setup.sh`` installs it when missing); Playwright drives it through its
``executable_path`` and never downloads a browser. In CI (``CI`` set) a missing browser is
an error, elsewhere the test skips.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "02_jobs_and_paging.ipynb"
SCREENSHOTS = REPO / "out" / "screenshots"
SETUP = Path(__file__).with_name("setup.sh")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
JOB_TIMEOUT_S = 300


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser test must run in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium, installed by tests/browser/setup.sh when missing."""
    path = shutil.which("chromium")
    if path is None:
        done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True)
        path = shutil.which("chromium")
        if path is None:
            _unavailable(f"chromium is not installed and setup.sh failed: {done.stderr[-500:]}")
    assert path is not None
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on 127.0.0.1 serving a scratch copy of the notebook.

    The copy lives under out/ (git-ignored) so the notebook still finds the repository's
    data/sample.mp4 by walking up from its folder.
    """
    pytest.importorskip("jupyterlab")
    work = REPO / "out" / f"browser-test-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    shutil.copyfile(NOTEBOOK, work / NOTEBOOK.name)
    home = tmp_path_factory.mktemp("jupyter")
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PYTHONUNBUFFERED="1",
    )
    # user settings: start the notebook's kernel without asking, no news, no update checks
    settings = home / "settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"autoStartDefaultKernel": true}'
    )
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}",
            f"--LabApp.user_settings_dir={home / 'settings'}",
            "--LabApp.news_url=",
            "--ServerApp.port_retries=0",
            "--LabApp.extension_manager=readonly",  # no PyPI lookups
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root
        ],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:]
                    )
                time.sleep(0.5)
        yield f"{url}/lab/tree/{NOTEBOOK.name}?token={token}", work
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def test_launcher_runs_a_job_in_jupyterlab(chromium, jupyterlab, tmp_path):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    url, _ = jupyterlab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh user-data-dir
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1600},
        )
        page = context.pages[0] if context.pages else context.new_page()
        try:
            page.set_default_timeout(120_000)
            page.goto(url)
            page.locator(".jp-Notebook").wait_for()
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
            kernel_idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")

            # Run > Run All Cells: the notebook builds the widgets, starts a job and waits
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            launcher = page.locator(".persontrack-launcher")
            launcher.wait_for(timeout=JOB_TIMEOUT_S * 1000)
            last_cell_ran = page.locator(".jp-InputArea-prompt").last
            expect(last_cell_ran).to_have_text(re.compile(r"\[\d+\]"), timeout=JOB_TIMEOUT_S * 1000)
            kernel_idle.wait_for(timeout=JOB_TIMEOUT_S * 1000)
            first_job = launcher.locator("code").first.inner_text()
            assert re.fullmatch(r"[0-9a-f]{64}", first_job), first_job

            # press Start in the launcher and wait for the new job to succeed
            launcher.scroll_into_view_if_needed()
            launcher.get_by_role("button", name="Start").click()
            expect(launcher.locator("code").first).not_to_have_text(first_job, timeout=60_000)
            # the result line is written last, after the status shows SUCCEEDED
            expect(launcher).to_contain_text(
                re.compile(r"\d+ entries, \d+ people"), timeout=JOB_TIMEOUT_S * 1000
            )
            plot = launcher.locator("img")
            expect(plot).to_be_visible(timeout=60_000)
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 300", arg=plot.element_handle()
            )
            text = launcher.inner_text()
            job_id = launcher.locator("code").first.inner_text()
            launcher.screenshot(path=str(SCREENSHOTS / "02_launcher.png"))
            pager = page.locator(".persontrack-pager")
            pager.scroll_into_view_if_needed()
            pager_text = pager.inner_text()
            pager.screenshot(path=str(SCREENSHOTS / "02_pager.png"))
            page.screenshot(path=str(SCREENSHOTS / "02_jobs_and_paging.png"), full_page=True)
        except Exception:
            # what the browser showed when it went wrong, for the CI log's reader
            page.screenshot(path=str(SCREENSHOTS / "02_failure.png"), full_page=True)
            raise
        finally:
            context.close()
    assert re.fullmatch(r"[0-9a-f]{64}", job_id) and job_id != first_job
    assert "SUCCEEDED · 100%" in text
    assert re.search(r"\d+ entries, \d+ people", text), text
    assert "page 2 · entries 6–10" in pager_text, pager_text
    assert (SCREENSHOTS / "02_jobs_and_paging.png").stat().st_size > 10_000
