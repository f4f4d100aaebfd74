"""Tiny stand-ins so every benchmark can run in seconds as a CI smoke test."""

from __future__ import annotations

from pathlib import Path


def tiny_bert_backbone(folder: Path) -> str:
    """A randomly initialised 2-layer BERT with the real MiniLM tokenizer (offline)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rewardkit.model.backbone import resolve_backbone

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return str(folder)
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(resolve_backbone(None)).save_pretrained(folder)
    return str(folder)


def tiny_world_file(folder: Path, n_train: int = 96, n_eval: int = 32) -> str:
    """A small demo-world pair file (train and eval pairs together)."""
    from rewardkit.data.writers import pairs_to_jsonl
    from rewardkit.world import WorldConfig, build_world

    world = build_world(WorldConfig(n_train_pairs=n_train, n_eval_pairs=n_eval, seed=0))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pairs.jsonl"
    pairs_to_jsonl(path, world.train + world.eval)
    return str(path)
