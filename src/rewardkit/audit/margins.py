"""Out-of-fold margins: every pair scored by models that never saw its prompt.

The pairs are split into K prompt-disjoint folds (:func:`rewardkit.data.splits.fold_assignments`,
the one K-fold helper). For each fold, an ensemble of bootstrap linear heads (Coste et al. 2023;
:func:`rewardkit.train.heads.fit_heads`) is fitted on the untouched backbone's features of the
other folds and installed in the model; the one scorer
(:meth:`rewardkit.model.scorer.Scorer.scores_from_features`) then scores the held-out fold. A
pair's margin ``Δ_j = r_j(chosen) − r_j(rejected)`` under member ``j`` is Wang et al.'s (2024,
"Secrets of RLHF part II", arXiv 2401.06080, §2) preference strength, measured out of fold; the
mean over members estimates it, the spread says how sure the members are.

A length-only model is fitted the same way (one Bradley–Terry weight on
``log(1 + characters)`` of each response), so a label that length alone explains can be told
from one the content supports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardkit.data.records import PreferencePair, prompt_hash
from rewardkit.data.splits import fold_assignments
from rewardkit.model.encode import EncodedPair, EncodeReport
from rewardkit.model.scorer import Scorer
from rewardkit.progress import progress_bar
from rewardkit.train.feature_heads import install_heads, pair_features_of
from rewardkit.train.heads import PairFeatures, fit_heads, fit_linear_head


@dataclass
class OutOfFold:
    """Out-of-fold margins of the ``N`` pairs that survived the over-length rule.

    ``index`` (N,) positions in the input list; ``members`` (K, N) member margins; ``fold``
    (N,) the fold that held each pair out; ``length_margin`` (N,) the length-only model's
    out-of-fold margin; ``l2`` the L2 strength chosen per fold."""

    index: np.ndarray
    members: np.ndarray
    fold: np.ndarray
    length_margin: np.ndarray
    l2: list[float]
    report: EncodeReport | None = None

    @property
    def mean(self) -> np.ndarray:
        return self.members.mean(axis=0)

    @property
    def spread(self) -> np.ndarray:
        return self.members.std(axis=0)

    @property
    def agreement(self) -> np.ndarray:
        """Share of members whose margin agrees with the label (``Δ_j > 0``)."""
        return (self.members > 0).mean(axis=0)


def prompt_groups(pairs: list[PreferencePair], encoded: list[EncodedPair]) -> np.ndarray:
    """One prompt hash per encoded pair, so folds stay prompt-disjoint."""
    return np.array([prompt_hash(pairs[e.index].prompt) % (1 << 62) for e in encoded])


def length_features(pairs: list[PreferencePair], positions) -> PairFeatures:
    """``log(1 + characters)`` of each response of ``pairs[positions]``, one column."""
    chosen = np.array([[np.log1p(len(pairs[i].chosen))] for i in positions]).reshape(-1, 1)
    rejected = np.array([[np.log1p(len(pairs[i].rejected))] for i in positions]).reshape(-1, 1)
    n = len(chosen)
    return PairFeatures(chosen, rejected, np.zeros(n), np.zeros(n, bool), np.ones(n))


def out_of_fold_margins(
    model,
    pairs: list[PreferencePair],
    encoded: list[EncodedPair],
    features: tuple[np.ndarray, np.ndarray],
    *,
    folds: int,
    ensemble: int,
    seed: int = 0,
    progress: bool | None = False,
) -> OutOfFold:
    """Fit ``ensemble`` bootstrap heads per fold on the other folds' non-tie pairs and score
    the held-out fold with :class:`Scorer`. ``features``: ``(chosen (N, H), rejected (N, H))``
    of ``encoded``'s texts."""
    content = pair_features_of(encoded, *features)
    lengths = length_features(pairs, [e.index for e in encoded])
    groups = prompt_groups(pairs, encoded)
    n = len(encoded)
    if len(np.unique(groups)) < folds:
        raise ValueError(f"{len(np.unique(groups))} prompts cannot fill {folds} folds")
    fold_of = fold_assignments(n, folds, np.random.default_rng(seed), groups)
    members = np.zeros((ensemble, n))
    length_margin = np.zeros(n)
    chosen_l2 = []
    with progress_bar("out-of-fold heads", folds, unit="folds", show=progress) as bar:
        for fold in range(folds):
            test = np.flatnonzero(fold_of == fold)
            train = np.flatnonzero((fold_of != fold) & ~content.tie)
            heads = fit_heads(
                content.subset(train), k=ensemble, seed=seed + fold, groups=groups[train]
            )
            chosen_l2.append(heads.l2)
            members[:, test] = _held_out_margins(model, heads, content.subset(test))
            w, _ = fit_linear_head(lengths.subset(train), l2=1e-3, seed=seed)
            length_margin[test] = (lengths.chosen[test] - lengths.rejected[test]) @ w
            bar.update(1)
    index = np.array([e.index for e in encoded], dtype=np.int64)
    return OutOfFold(index, members, fold_of, length_margin, chosen_l2)


def _held_out_margins(model, heads, held_out: PairFeatures) -> np.ndarray:
    """``(K, n)`` member margins of the held-out pairs, scored by the one scorer."""
    install_heads(model, heads, trained_from="the audit's out-of-fold training pairs")
    scorer = Scorer([model], heads=heads if heads.k > 1 else None, source="audit fold")
    n = len(held_out)
    scores = scorer.scores_from_features(np.concatenate([held_out.chosen, held_out.rejected]))
    return scores.members[:, :n] - scores.members[:, n:]
