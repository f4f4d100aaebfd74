"""Headless Chromium opens report.html offline and shows its plots.

Debian's ``chromium`` (installed by ``.ci/run`` with apt; no tool downloads a browser) takes a
screenshot, and a copy of the page with a one-line probe script reports, through
``--dump-dom``, how many <img> elements decoded to a non-zero width."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.data import pairs_to_jsonl  # noqa: E402
from rewardkit.eval.run import EvalConfig, run_eval  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from tiny_reward_models import tiny_bert_dir, toy_pairs  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it with apt-get install chromium)",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("chromium_report")
    model = RewardModel.from_backbone(str(tiny_bert_dir(root / "bert")), max_length=128)
    model.save_pretrained(root / "model")
    pairs_to_jsonl(root / "pairs.jsonl", toy_pairs(24))
    metrics = run_eval(
        EvalConfig(
            model=str(root / "model"),
            data=str(root / "pairs.jsonl"),
            out=str(root / "out"),
            reference_data=str(root / "pairs.jsonl"),
        )
    )
    return root / "out" / "report.html", metrics


def _chromium(args, tmp_path, timeout=120):
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_screenshot_shows_the_plots(report, tmp_path):
    html, _ = report
    shot = tmp_path / "shot.png"
    run = _chromium([f"--screenshot={shot}", "--window-size=1200,3000", html.as_uri()], tmp_path)
    assert shot.is_file(), run.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[0] >= 2900 and pixels.shape[1] >= 1100
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200  # text alone is a few grey levels; plots add many colours
    not_background = np.mean(np.abs(pixels - pixels[5, 5]).sum(axis=-1) > 0.1)
    assert not_background > 0.05  # far from a blank page
    # the plots' bar/line colours (matplotlib's blue #2b6cb0 used for "chosen") are on screen
    blue = np.all(np.abs(pixels - np.array([0x2B, 0x6C, 0xB0]) / 255) < 0.08, axis=-1)
    assert blue.sum() > 500


def test_every_image_decodes(report, tmp_path):
    html, _ = report
    probe = tmp_path / "probe.html"
    script = (
        "<script>window.addEventListener('load', () => {const imgs = [...document.images];"
        "document.body.setAttribute('data-images', imgs.length);"
        "document.body.setAttribute('data-decoded', imgs.filter(i => i.complete && "
        "i.naturalWidth > 0).length);});</script>"
    )
    probe.write_text(html.read_text().replace("</body>", script + "</body>"))
    run = _chromium(["--dump-dom", probe.as_uri()], tmp_path)
    match = re.search(r'data-images="(\d+)" data-decoded="(\d+)"', run.stdout)
    assert match, run.stdout[-2000:] + run.stderr[-2000:]
    images, decoded = int(match.group(1)), int(match.group(2))
    assert images >= 5 and decoded == images
