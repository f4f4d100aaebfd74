"""Agreement statistics of imported PandaLM votes equal a hand computation (the formulas
written out below, in plain Python), and Dawid–Skene finds the careless annotator."""

import itertools
import json
import random
from collections import Counter, defaultdict

import pytest

from rewardkit.annotate.agreement import dawid_skene, gold_accuracy
from rewardkit.annotate.stats import collection_stats
from rewardkit.annotate.votes_io import import_votes

ITEMS = 40  # the first 20 PandaLM items with disagreement and the first 20 without


@pytest.fixture
def pandalm_subset(shared_data, tmp_path):
    votes = defaultdict(list)
    for line in (shared_data / "pandalm" / "judgements.jsonl").open():
        row = json.loads(line)
        votes[row["item_id"]].append(row)
    split = [[], []]
    for item_rows in votes.values():
        split[len({r["choice"] for r in item_rows}) > 1].append(item_rows)
    rows = [row for item_rows in split[0][:20] + split[1][:20] for row in item_rows]
    path = tmp_path / "subset.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, rows


def by_item(rows):
    labels = defaultdict(dict)
    for row in rows:
        labels[row["item_id"]][row["annotator"]] = row["choice"]
    return labels


def hand_cohen(x, y):
    """Cohen (1960): κ = (p_o − p_e) / (1 − p_e), p_e = Σ_k p_x(k) p_y(k)."""
    n = len(x)
    p_o = sum(a == b for a, b in zip(x, y)) / n
    cx, cy = Counter(x), Counter(y)
    p_e = sum(cx[k] * cy[k] for k in cx) / n**2
    return (p_o - p_e) / (1 - p_e)


def hand_fleiss(items, categories):
    """Fleiss (1971), n raters per item: P_i = (Σ_j n_ij² − n)/(n(n − 1)), P̄ their mean,
    p_j = Σ_i n_ij / (N n), P̄_e = Σ_j p_j², κ = (P̄ − P̄_e)/(1 − P̄_e)."""
    counts = [[list(labels.values()).count(c) for c in categories] for labels in items]
    n, big_n = sum(counts[0]), len(counts)
    p_bar = sum((sum(v * v for v in row) - n) / (n * (n - 1)) for row in counts) / big_n
    p_j = [sum(row[j] for row in counts) / (big_n * n) for j in range(len(categories))]
    p_e = sum(p * p for p in p_j)
    return (p_bar - p_e) / (1 - p_e)


def hand_alpha(items):
    """Krippendorff's nominal α: coincidences o_ck = Σ_u Σ_{i≠j} [v_i = c][v_j = k]/(m_u − 1),
    n_c = Σ_k o_ck, n = Σ_c n_c; α = 1 − (n − 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k."""
    o = Counter()
    for labels in items:
        values = list(labels.values())
        m = len(values)
        for i, j in itertools.permutations(range(m), 2):
            o[(values[i], values[j])] += 1 / (m - 1)
    n_c = Counter()
    for (c, _), value in o.items():
        n_c[c] += value
    n = sum(n_c.values())
    observed = sum(v for (c, k), v in o.items() if c != k)
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (n - 1)
    return 1 - observed / expected


def test_pandalm_subset_matches_the_hand_computation(pandalm_subset, sqlite_store):
    path, rows = pandalm_subset
    import_votes(sqlite_store, str(path))
    stats = collection_stats(sqlite_store)
    items = by_item(rows)
    labels = list(items.values())
    assert any(len(set(v.values())) > 1 for v in labels), "the subset must hold disagreement"
    assert len(labels) == ITEMS and all(len(v) == 3 for v in labels)

    pairs = [(x, y) for v in labels for x, y in itertools.combinations(v.values(), 2)]
    assert stats["raw_agreement"] == pytest.approx(sum(x == y for x, y in pairs) / len(pairs))
    assert stats["annotator_pairs_compared"] == len(pairs) == 3 * ITEMS

    kappas = {tuple(k["annotators"]): k["kappa"] for k in stats["cohen_kappa"]}
    for x, y in itertools.combinations(["annotator1", "annotator2", "annotator3"], 2):
        expected = hand_cohen([v[x] for v in labels], [v[y] for v in labels])
        assert kappas[(x, y)] == pytest.approx(expected)

    fleiss = stats["fleiss_kappa"]
    assert (fleiss["items"], fleiss["raters_per_item"]) == (ITEMS, 3)
    assert fleiss["kappa"] == pytest.approx(hand_fleiss(labels, ["a", "b", "tie", "both_bad"]))
    assert stats["krippendorff_alpha"] == pytest.approx(hand_alpha(labels))

    # leave-one-out for annotator1: the two others lead only when they agree
    used = [v for v in labels if v["annotator2"] == v["annotator3"]]
    expected = sum(v["annotator1"] == v["annotator2"] for v in used) / len(used)
    assert stats["leave_one_out"]["annotator1"] == {
        "agreement": pytest.approx(expected),
        "items": len(used),
    }
    assert stats["progress"]["judgements"] == 3 * ITEMS


def test_dawid_skene_ranks_a_careless_annotator_last():
    """Three careful annotators (right 90% of the time) and one who answers at random."""
    rng = random.Random(0)
    table, truth = [], {}
    for item in range(200):
        truth[item] = rng.choice("ab")
        for name in ("c1", "c2", "c3"):
            wrong = rng.random() < 0.1
            table.append(
                (str(item), name, ("b" if truth[item] == "a" else "a") if wrong else truth[item])
            )
        table.append((str(item), "random", rng.choice(["a", "b", "tie", "both_bad"])))
    reliability, labels = dawid_skene(table)
    assert min(reliability, key=reliability.get) == "random"
    assert all(reliability[name] > reliability["random"] + 0.3 for name in ("c1", "c2", "c3"))
    decided = [i for i in truth if labels[str(i)] in ("a", "b")]
    assert sum(labels[str(i)] == truth[i] for i in decided) / len(decided) > 0.9


def test_gold_accuracy_counts_only_gold_items():
    table = [("g1", "x", "a"), ("g2", "x", "tie"), ("n1", "x", "b"), ("g1", "y", "b")]
    assert gold_accuracy(table, {"g1": "a", "g2": "tie"}) == {
        "x": {"accuracy": 1.0, "items": 2},
        "y": {"accuracy": 0.0, "items": 1},
    }
