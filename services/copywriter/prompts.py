"""Versioned prompt templates per category, persona (user segment) and tone.

The brief is the user turn of the instruct model's own chat template; the copy is the
assistant's answer. Change the wording only with a new ``VERSION``: the version is stored
with every trained model. Which segments, tones and CTA styles exist is
:mod:`adcraft.shared.contract.copy_contract`'s to say; the tables here only word them.

>>> brief = CopyBrief("knit top", "Tops", ("soft", "flattering"), "young", "bold", "urgent",
...                   highlight="for work")
>>> print(instruction(brief, limit=90))
Write one ad description for an online clothing shop, at most 90 characters.
Product: knit top (Tops). Shoppers call it soft, flattering.
Reviews praise it for work.
Highlight the fabric and the fit for shoppers in their twenties who follow trends.
Tone: bold and energetic. End with an urgent call to action.
"""

from __future__ import annotations

from typing import cast

from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from adcraft.shared.contract.copy_contract import CopyBrief

VERSION = "copy-prompt/3"
SYSTEM = "You write short, truthful ad copy for an online clothing shop."
END_OF_TURN = "<|im_end|>"  # closes the assistant's answer in the chat template

PERSONAS = {
    "young": "shoppers in their twenties who follow trends",
    "adult": "busy professionals who want easy outfits",
    "senior": "shoppers over fifty who value comfort and quality",
}
TONE_WORDING = {
    "warm": "warm and friendly",
    "bold": "bold and energetic",
    "elegant": "elegant and refined",
}
# What the copy should lead with, per department of the catalogue.
FOCUS = {
    "Tops": "the fabric and the fit",
    "Dresses": "the silhouette and the occasion",
    "Bottoms": "the fit and the comfort",
    "Intimate": "the softness and the comfort",
    "Jackets": "the warmth and the style",
    "Trend": "what makes it stand out",
}
CTA_WORDING = {"urgent": "an urgent", "soft": "a gentle", "direct": "a direct"}


def instruction(brief: CopyBrief, limit: int) -> str:
    """The brief in words: product, what its reviews say, audience, tone, CTA style."""
    lines = [
        f"Write one ad {brief.placement} for an online clothing shop, at most {limit} characters.",
        f"Product: {brief.product} ({brief.department}). "
        f"Shoppers call it {', '.join(brief.attributes) or 'lovely'}.",
    ]
    if brief.highlight:
        lines.append(f"Reviews praise it {brief.highlight}.")
    lines += [
        f"Highlight {FOCUS.get(brief.department, 'what makes it special')} "
        f"for {PERSONAS.get(brief.segment, 'online shoppers')}.",
        f"Tone: {TONE_WORDING[brief.tone]}. "
        f"End with {CTA_WORDING[brief.cta_style]} call to action.",
    ]
    return "\n".join(lines)


def render(tokenizer: PreTrainedTokenizerBase, brief: CopyBrief, limit: int) -> str:
    """The full prompt: the chat template up to the start of the assistant's answer."""
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": instruction(brief, limit)},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return cast(str, text)  # text, not ids, when tokenize=False
