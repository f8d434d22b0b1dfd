"""``adcraft train copy``: LoRA fine-tuning of the base LM with the multi-objective loss.

A run is exported as a peft adapter plus ``run.json`` (prompt version, settings, losses)
and ``corpus.txt`` (the training copy, for novelty scores) under
``<models_dir>/copy/run-<time>-<pid>``; ``copy/latest`` (or the run's name, such as the
``no-diversity`` ablation) then points at it.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import fmean

import orjson
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from adcraft.services.copywriter import base_model, dataset, prompts
from adcraft.services.copywriter.dataset import CopyExample
from adcraft.services.copywriter.generate import CopyWriter
from adcraft.services.copywriter.objectives import (
    Batch,
    LossWeights,
    letterless_tokens,
    multi_objective_loss,
    right_pad,
    valence_table,
    vocabulary,
)
from adcraft.services.copywriter.phrases import slotted
from adcraft.services.copywriter.sampled_repeats import SampleMemory, sampled_repeats_loss
from adcraft.services.copywriter.weights import LATEST, CopyPaths
from adcraft.shared.contract.copy_contract import CopyBrief, placement_limits
from adcraft.shared.runtime.settings import CopySettings


@dataclass(frozen=True)
class TrainConfig:
    """How long and how hard to train; the defaults take ~30–45 minutes on two CPU cores."""

    steps: int = 160
    batch_size: int = 8
    learning_rate: float = 2e-3
    lora_rank: int = 8
    lora_from_layer: int = 12  # adapt the upper layers only: backward stops there
    per_product: int = 2
    replay_fraction: float = 0.125  # share of each batch that is plain review text
    max_products: int | None = None
    seed: int = 0
    sample_every: int = 2  # steps between rounds of sampled copy for L_diversity (0: none)
    recent_samples: int = 64  # a sampled n-gram repeats when one of these used it too
    repeat_n: int = 3  # token n-grams compared (see sampled_repeats)
    weights: LossWeights = field(default_factory=LossWeights)


def encode_copy(
    tokenizer: PreTrainedTokenizerBase, example: CopyExample, limit: int
) -> dict[str, list[int]]:
    """Chat prompt + copy + end of turn as ids, with per-token flags: predicted by the LM
    loss (end of turn included: the model learns where copy stops), part of the copy text
    (scored for sentiment and diversity; the end of turn is not, or those terms would pay the
    model to keep writing), part of the call to action."""
    prompt = tokenizer(prompts.render(tokenizer, example.brief, limit), add_special_tokens=False)
    target = tokenizer(
        example.copy + prompts.END_OF_TURN, add_special_tokens=False, return_offsets_mapping=True
    )
    start = example.copy.rfind(example.cta)
    end = start + len(example.cta)
    cta = [int(a < end and b > start) for a, b in target["offset_mapping"]]
    ids = prompt["input_ids"] + target["input_ids"]
    n_prompt, n_target = len(prompt["input_ids"]), len(target["input_ids"])
    return {
        "ids": ids,
        "lm": [0] * n_prompt + [1] * n_target,
        "copy": [0] * n_prompt + [1] * (n_target - 1) + [0],
        "cta": [0] * n_prompt + cta,
    }


def encode_text(
    tokenizer: PreTrainedTokenizerBase, text: str, max_tokens: int = 96
) -> dict[str, list[int]]:
    """Plain review text: the LM loss only (keeps the model's language intact)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
    return {"ids": ids, "lm": [1] * len(ids), "copy": [0] * len(ids), "cta": [0] * len(ids)}


def collate(encoded: list[dict[str, list[int]]], pad_id: int) -> Batch:
    """Right-padded tensors; masks are shifted to the positions that predict each token."""
    ids = [e["ids"] for e in encoded]
    return Batch(
        right_pad(ids, pad_id),
        right_pad([[1] * len(row) for row in ids], 0),
        *(right_pad([e[key] for e in encoded], 0)[:, 1:].bool() for key in ("lm", "copy", "cta")),
    )


def choose_device() -> str:
    """Where to train: a GPU when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class Corpus:
    """What a run trains on: its products, their copy examples, and both as LM tokens (the
    examples, and plain review text replayed for language retention)."""

    products: list[dataset.Product]
    copies: list[CopyExample]
    encoded: list[dict[str, list[int]]]
    replay: list[dict[str, list[int]]]

    @classmethod
    def build(
        cls,
        items: list[dataset.Product],
        config: TrainConfig,
        limits: dict[str, int],
        tokenizer: PreTrainedTokenizerBase,
    ) -> Corpus:
        """The training products of ``items`` (held-out ones left out) and their examples."""
        training = [p for p in items if not p.held_out][: config.max_products]
        copies = dataset.examples(training, config.per_product, limits, config.seed)
        encoded = [encode_copy(tokenizer, e, limits[e.brief.placement]) for e in copies]
        replay = [encode_text(tokenizer, text) for p in training for text in p.reviews[:2]]
        return cls(training, copies, encoded, replay)

    def sample(self, size: int, n_replay: int, pad_id: int) -> tuple[list[int], Batch]:
        """A random batch of ``size - n_replay`` copy examples (their indices are returned
        too) and up to ``n_replay`` review texts."""
        picked = random.sample(range(len(self.encoded)), size - n_replay)
        chosen = [self.encoded[i] for i in picked]
        chosen += random.sample(self.replay, min(n_replay, len(self.replay)))
        return picked, collate(chosen, pad_id)


def with_lora(model: PreTrainedModel, config: TrainConfig) -> PeftModel:
    """``model`` with trainable LoRA adapters on its upper layers' projections, in train
    mode."""
    adapted = get_peft_model(
        model,
        LoraConfig(
            r=config.lora_rank,
            lora_alpha=2 * config.lora_rank,
            lora_dropout=0.05,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"],
            layers_to_transform=list(range(config.lora_from_layer, model.config.num_hidden_layers)),
            task_type="CAUSAL_LM",
        ),
    )
    adapted.train()
    return adapted


class Trainer:
    """The state of one run: the adapted model, its optimiser, the sentiment valence table,
    and the memory of sampled copy that ``L_diversity`` compares against."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        settings: CopySettings,
        config: TrainConfig,
        device: str,
    ) -> None:
        self.model, self.config, self.device = with_lora(model, config), config, device
        self.pad_id = tokenizer.pad_token_id
        vocab = vocabulary(tokenizer)
        self.valence = valence_table(vocab).to(device)
        self.optimizer = torch.optim.AdamW(
            [p for p in self.model.parameters() if p.requires_grad], lr=config.learning_rate
        )
        self.n_replay = round(config.batch_size * config.replay_fraction)
        self.writer = CopyWriter(self.model, tokenizer, settings)
        self.memory = SampleMemory(config.recent_samples, config.repeat_n, letterless_tokens(vocab))

    def learn_one(self, step: int, corpus: Corpus) -> tuple[dict[str, float], int]:
        """One optimiser step on a random batch: its loss parts and the tokens it read."""
        picked, batch = corpus.sample(self.config.batch_size, self.n_replay, self.pad_id)
        batch = batch.to(self.device)
        loss, parts = self.loss(step, batch, [corpus.copies[i].brief for i in picked])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is not finite at step {step}: {parts}")
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        return parts, int(batch.attention_mask.sum())

    def loss(
        self, step: int, batch: Batch, briefs: list[CopyBrief]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The multi-objective loss of ``batch`` and its parts; every ``sample_every`` steps
        with the sampled-repeats term on fresh samples for ``briefs``."""
        logits = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        weights = self.config.weights
        loss, parts = multi_objective_loss(logits, batch, self.valence, weights)
        sampling = self.config.sample_every and weights.diversity > 0  # nothing to learn at 0
        if sampling and step % self.config.sample_every == 0:
            repeats = sampled_repeats_loss(self.writer, briefs, self.memory)
            loss = loss + weights.diversity * repeats
            parts["sampled_repeats"] = float(repeats.detach())
            parts["total"] = float(loss.detach())
        return loss, parts


def mean_losses(history: list[dict[str, float]]) -> dict[str, float]:
    """Each loss part's mean over ``history``, rounded; a part counts where it was logged
    (some steps sample, some not).

    >>> mean_losses([{"lm": 1.0}, {"lm": 2.0, "sampled_repeats": 0.5}])
    {'lm': 1.5, 'sampled_repeats': 0.5}
    """
    keys = dict.fromkeys(k for h in history for k in h)
    return {k: round(fmean(h[k] for h in history if k in h), 4) for k in keys}


def export(
    paths: CopyPaths, model: PeftModel, copies: list[CopyExample], summary: dict, name: str
) -> Path:
    """Write the adapter, ``corpus.txt`` (the training copy), ``phrases.txt`` (the same,
    slotted: the phrases a tuned model may write) and ``run.json`` to a new run; point
    ``name`` at it."""
    run = paths.new_run()
    model.save_pretrained(str(run))
    (run / "corpus.txt").write_text("\n".join(e.copy for e in copies) + "\n")
    (run / "phrases.txt").write_text("\n".join(slotted(e.copy, e.brief) for e in copies) + "\n")
    (run / "run.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    paths.point(name, run)
    return run


def train(settings: CopySettings, config: TrainConfig, log=print, name: str = LATEST) -> Path:
    """Fine-tune, export the run, point ``name`` at it; return the run folder."""
    paths = CopyPaths.from_settings(settings)
    started = time.time()
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    device = choose_device()
    model, tokenizer = base_model.load(base_model.prepare(paths.base), device)
    items = dataset.catalogue(settings)
    corpus = Corpus.build(items, config, placement_limits(settings), tokenizer)
    log(
        f"{len(corpus.products)} products, {len(corpus.copies)} copy examples, "
        f"{len(corpus.replay)} review texts"
    )
    trainer = Trainer(model, tokenizer, settings, config, device)
    history, tokens = [], 0
    for step in range(1, config.steps + 1):
        parts, read = trainer.learn_one(step, corpus)
        history.append(parts)
        tokens += read
        if step % 10 == 0 or step == config.steps:
            log(f"step {step}/{config.steps} {mean_losses(history[-10:])}")
    elapsed = time.time() - started
    summary = {
        "prompt_version": prompts.VERSION,
        "base_model": str(paths.base),
        "device": device,
        "config": asdict(config),
        "products": len(corpus.products),
        "examples": len(corpus.copies),
        "final_losses": history[-1],
        "seconds": round(elapsed, 1),
        "train_tokens_per_s": round(tokens / elapsed, 1),
    }
    run = export(paths, trainer.model, corpus.copies, summary, name)
    log(f"exported {run} ({elapsed:.0f} s, {summary['train_tokens_per_s']} tokens/s)")
    return run
