"""Tiny stand-ins so every benchmark can run in seconds as a CI smoke test."""

from __future__ import annotations

from pathlib import Path


def tiny_bert_backbone(folder: Path) -> str:
    """A randomly initialised 2-layer BERT with the real MiniLM tokenizer (offline)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rewardkit.model.backbone import resolve_backbone
    from rewardkit.model.tiny import TINY_BERT

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return str(folder)
    torch.manual_seed(0)
    config = BertConfig(max_position_embeddings=512, num_labels=1, **TINY_BERT)
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(resolve_backbone(None)).save_pretrained(folder)
    return str(folder)


def tiny_llama_backbone(folder: Path) -> str:
    """A randomly initialised 2-layer Llama (a decoder, ``score`` head) with the real MiniLM
    tokenizer, whose [SEP] plays EOS (offline)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    from rewardkit.model.backbone import resolve_backbone
    from rewardkit.model.tiny import TINY_LLAMA

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return str(folder)
    tokenizer = AutoTokenizer.from_pretrained(resolve_backbone(None))
    tokenizer.eos_token = tokenizer.sep_token
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), num_labels=1, pad_token_id=tokenizer.pad_token_id, **TINY_LLAMA
    )
    LlamaForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
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


def minilm_shaped_reward_model(folder: Path, tokenizer_dir: str) -> str:
    """A randomly initialised reward model of all-MiniLM-L6-v2's shape (6 layers, hidden 384,
    12 heads), for machines where the real weights cannot travel (the GPU check): speed does
    not depend on the weights' values."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rewardkit.model.reward_model import RewardModel

    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
        num_labels=1,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(
        folder / "backbone", safe_serialization=True
    )
    tokenizer.save_pretrained(folder / "backbone")
    RewardModel.from_backbone(str(folder / "backbone"), max_length=512).save_pretrained(
        folder / "rm"
    )
    return str(folder / "rm")


if __name__ == "__main__":  # python bench/tiny.py minilm-shaped OUT TOKENIZER_DIR
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "minilm-shaped":
        print(minilm_shaped_reward_model(Path(sys.argv[2]), sys.argv[3]))
    else:
        sys.exit("usage: python bench/tiny.py minilm-shaped OUT TOKENIZER_DIR")
