"""``rewardkit eval --mc-dropout T`` and the default uncertainty, end to end on a tiny model:
the MC-dropout block and per-pair values, unchanged rewards, the default leading the report,
and refusals in one line."""

import json

import pytest

from rewardkit.errors import UserError
from rewardkit.eval.report_text import uncertainty_line
from rewardkit.eval.run import EvalConfig, evaluate_with_rows
from rewardkit.eval.uncertainty import PAIR_UNCERTAINTY

ROWS = [
    {"prompt": f"question {i}?", "chosen": "a kind and careful answer", "rejected": f"no {i}"}
    for i in range(12)
]


def test_mc_dropout_in_eval(tiny_bert_rm_dir, write_preferences, tmp_path):
    data = write_preferences(ROWS)
    plain, plain_rows = evaluate_with_rows(
        EvalConfig(model=str(tiny_bert_rm_dir), data=data, probes=False)
    )
    config = EvalConfig(
        model=str(tiny_bert_rm_dir),
        data=data,
        probes=False,
        mc_dropout=3,
        mc_dropout_seed=1,
        out=str(tmp_path / "report"),
    )
    metrics, rows = evaluate_with_rows(config)
    block = metrics["uncertainty"]["mc_dropout"]
    assert (block["passes"], block["seed"], block["p"]) == (3, 1, pytest.approx(0.1))
    assert block["error_auroc"] is None or 0 <= block["error_auroc"] <= 1
    assert metrics["accuracy"] == plain["accuracy"]  # the rewards are the deterministic ones
    assert [r["reward_chosen"] for r in rows] == [r["reward_chosen"] for r in plain_rows]
    assert all(r["uncertainties"]["mc_dropout"] > 0 for r in rows)
    assert all(r["uncertainty"] == r["uncertainties"][PAIR_UNCERTAINTY] for r in rows)
    assert all("mc_dropout" not in r["uncertainties"] for r in plain_rows)
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["uncertainty"]["mc_dropout"]["passes"] == 3
    html = (tmp_path / "report" / "report.html").read_text()
    assert "MC dropout (std of Δ over 3 passes" in html
    assert html.index("margin 1−|2p−1| <b>(default)</b>") < html.index("MC dropout (std")
    again, _ = evaluate_with_rows(EvalConfig(**{**vars(config), "out": None}))
    assert again["uncertainty"]["mc_dropout"]["mean"] == block["mean"]  # same seed, same spread


def test_the_printed_line_leads_with_the_default():
    block = {"error_auroc": 0.6, "accuracy_coverage": {"accuracy_at": {"0.5": 0.7, "0.8": 0.65}}}
    unc = {"members": 3, "default": "margin", "margin": block, "spread": {"error_auroc": 0.4}}
    line = uncertainty_line(unc)
    assert line.startswith("uncertainty (3 members; default: margin): error AUROC 0.6")
    assert line.endswith("error AUROC of spread 0.4")


def test_refusals(tiny_bert_rm_dir, write_preferences):
    data = write_preferences(ROWS)
    with pytest.raises(UserError, match="at least 2 passes"):
        EvalConfig(model=str(tiny_bert_rm_dir), data=data, mc_dropout=1)
    with pytest.raises(UserError, match="0 \\(off\\) or at least 2"):
        EvalConfig(model=str(tiny_bert_rm_dir), data=data, mc_dropout=-1)
    members = f"{tiny_bert_rm_dir},{tiny_bert_rm_dir}"
    with pytest.raises(UserError, match="one member folder"):
        evaluate_with_rows(EvalConfig(model=members, data=data, probes=False, mc_dropout=2))
