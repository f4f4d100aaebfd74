"""How a saved reward model behaves in other people's tools, measured when it is saved.

RewardBench (0.1.4) pads a batch on the **left** and runs the model's own forward with no
position ids, so every text of a batch is shifted right by its padding. A backbone with absolute
position embeddings (BERT, MiniLM) then scores a text differently than alone; one with rotary
positions (Llama, Qwen, SmolLM2) does not, since attention there depends only on relative
positions. :func:`left_padding_check` measures it on a few texts of different lengths — alone,
against one left-padded batch — and the saved model states the result (``rewardkit.json``'s
``scoring.left_padding``, ``GET /info``, the model card).
"""

from __future__ import annotations

import torch

from rewardkit.model.collate import pad_left

PROBE_TEXTS = (
    ("what is a good tea ?", "green tea is good ."),
    ("hello", "hello ! how can i help you today ?"),
    ("tell me about cats and dogs and birds", "no"),
    ("what is two and two ?", "four , and three and three is six ."),
)
TOLERANCE = 1e-4  # larger left-padding changes than this make the scores padding-dependent


@torch.inference_mode()
def left_padding_check(model, texts=PROBE_TEXTS) -> dict:
    """``{"changes_scores", "max_abs_delta", "texts"}``: ``model`` (a :class:`RewardModel`)
    on ``texts`` alone against one left-padded batch without position ids, in fp32."""
    sequences = [fitted.ids for fitted in model.encoder.fit_texts(list(texts))]
    device = model.device
    was_training = model.model.training
    model.model.eval()
    try:
        alone = [
            float(model.model(input_ids=torch.tensor([ids], device=device)).logits[0, 0])
            for ids in sequences
        ]
        ids, mask, _ = pad_left(sequences, model.pad_id)
        batch = model.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
    finally:
        model.model.train(was_training)
    delta = max(abs(float(b) - a) for b, a in zip(batch[:, 0], alone))
    return {
        "changes_scores": delta > TOLERANCE,
        "max_abs_delta": delta,
        "texts": len(texts),
        "measured": "alone vs one left-padded batch without position ids (as RewardBench "
        "batches), fp32",
    }
