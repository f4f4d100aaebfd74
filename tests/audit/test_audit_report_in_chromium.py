"""Headless Chromium (Debian's, never downloaded) opens the audit's report.html: a screenshot
shows the suspects, and a ``<script>`` payload in a response is shown as text, never run."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audit_fixtures import PAYLOAD, audit_data  # noqa: E402

from rewardkit.audit.config import AuditConfig  # noqa: E402
from rewardkit.audit.run import run_audit  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-extensions"]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory, minilm_path):
    root = tmp_path_factory.mktemp("audit_chromium")
    audit_data(root / "pairs.jsonl")
    config = AuditConfig(
        data=str(root / "pairs.jsonl"),
        out=str(root / "out"),
        backbone=str(minilm_path),
        max_length=64,
        folds=4,
        ensemble=3,
        progress=False,
    )
    summary = run_audit(config)
    return root / "out" / "report.html", summary


def _chromium(args, tmp_path):
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_screenshot_shows_the_suspects(report, tmp_path):
    html, summary = report
    assert summary["suspects"] > 0
    probe = tmp_path / "probe.html"
    # a one-line probe: the first suspect's box, the page's title, and the script elements
    script = (
        "<script>window.addEventListener('load', () => {const s = document.getElementById("
        "'suspect-1').getBoundingClientRect(); document.body.setAttribute('data-box', "
        "[Math.round(s.top), Math.round(s.height), Math.round(s.width)].join(','));"
        "document.body.setAttribute('data-scripts', document.scripts.length);"
        "document.body.setAttribute('data-title', document.title);});</script>"
    )
    probe.write_text(html.read_text().replace("</body>", script + "</body>"))
    run = _chromium(["--window-size=1200,4000", "--dump-dom", probe.as_uri()], tmp_path)
    box = re.search(r'data-box="(\d+),(\d+),(\d+)"', run.stdout)
    assert box, run.stdout[-2000:] + run.stderr[-2000:]
    top, height, width = map(int, box.groups())
    assert top < 4000 and height > 100 and width > 500  # the first suspect is on screen
    assert 'data-scripts="1"' in run.stdout  # the probe's own script only
    assert 'data-title="rewardkit audit' in run.stdout  # the payload did not set the title
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in run.stdout  # shown as text
    shot = tmp_path / "shot.png"
    run = _chromium([f"--screenshot={shot}", "--window-size=1200,4000", html.as_uri()], tmp_path)
    assert shot.is_file(), run.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    band = pixels[top : top + height, :1100]  # where the first suspect is drawn
    assert np.mean(np.abs(band - pixels[5, 5]).sum(axis=-1) > 0.1) > 0.02  # text, not blank
    blue = np.all(np.abs(pixels - np.array([0x2B, 0x6C, 0xB0]) / 255) < 0.08, axis=-1)
    assert blue.sum() > 500  # the margin histogram is drawn
    assert PAYLOAD not in html.read_text()
