"""The one loader: any saved reward model, opened as a :class:`~rewardkit.model.scorer.Scorer`.

=============================  ===============================================================
what ``spec`` names            what is loaded
=============================  ===============================================================
a model folder                 one model (``rewardkit.json`` when present; a plain HF folder
                               trained elsewhere takes its template from its tokenizer)
… with ensemble heads          the model and its K heads (``ensemble_heads.safetensors``)
a members folder               the K models listed in ``ensemble.json``
``DIR1,DIR2,…`` or a list      separately trained models, combined as members
=============================  ===============================================================

Every folder is checked before it is opened (:mod:`rewardkit.model.folder_check`): a broken,
incomplete or refused folder is one line naming the file and what to do. Weights are read from
safetensors only (nothing is unpickled) and ``trust_remote_code`` stays off unless asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rewardkit.model.ensemble import (
    HEADS_FILE,
    MEMBERS_FILE,
    is_members_dir,
    load_ensemble_heads,
    read_members_manifest,
)
from rewardkit.model.folder_check import check_members_manifest
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.scorer import Scorer


def load_reward_model(
    spec: str | Path | Sequence[str | Path],
    *,
    precision: str | None = None,
    max_length: int | None = None,
    device: str | None = None,
    template=None,
    trust_remote_code: bool = False,
) -> Scorer:
    """Open ``spec`` (see the module table). The keyword arguments override what the folders
    say (precision, max length, text template) or choose where the models run
    (``device``: auto, cpu, cuda[:N]; None keeps the CPU)."""
    options = {
        "precision": precision,
        "max_length": max_length,
        "device": device,
        "template": template,
        "trust_remote_code": trust_remote_code,
    }
    if isinstance(spec, (str, Path)) and "," in str(spec):
        spec = [part for part in str(spec).split(",") if part.strip()]
    if not isinstance(spec, (str, Path)):
        paths = [Path(str(part).strip()) for part in spec]
        if len(paths) == 1:
            return load_reward_model(paths[0], **options)
        models = [RewardModel.from_pretrained(path, **options) for path in paths]
        return Scorer(models, source=",".join(map(str, paths)), primary_dir=paths[0])
    path = Path(spec)
    if is_members_dir(path):
        names = check_members_manifest(path, MEMBERS_FILE)
        manifest = read_members_manifest(path)
        models = [RewardModel.from_pretrained(path / name, **options) for name in names]
        return Scorer(
            models,
            source=str(path),
            temperature=manifest.get("temperature"),
            calibration_exponent=manifest.get("calibration_exponent"),
            primary_dir=path / names[0],
            manifest=manifest,
        )
    model = RewardModel.from_pretrained(path, **options)
    heads = load_ensemble_heads(path) if (path / HEADS_FILE).is_file() else None
    return Scorer([model], heads=heads, source=str(path), primary_dir=path)
