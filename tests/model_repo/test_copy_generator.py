"""The copy_generator model: request batching directly, and a tiny trained model served by
the real Triton over gRPC."""

import asyncio
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc.aio as grpcclient

from services.copywriter import dataset
from services.copywriter.cta import find_cta
from services.copywriter.evaluate import held_out_briefs
from services.copywriter.postprocess import Variant
from services.copywriter.train import TrainConfig, train
from services.copywriter.weights import CopyPaths
from shared.copy_client import CopyClient, brief_inputs
from shared.copy_contract import CopyBrief, placement_limits
from shared.settings import CopySettings, Settings
from shared.stack import Stack
from shared.triton_client import TritonClient, TritonError

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "batching", ROOT / "model_repo/copy_generator/1/batching.py"
)
batching = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(batching)

BRIEF = CopyBrief("dress", "Dresses", ("flowy", "soft"), "adult", "warm", "soft", "description")


def test_request_rows_become_briefs_and_outputs_are_padded():
    inputs = brief_inputs([BRIEF, BRIEF._replace(placement="headline", highlight="Love it")], 3, 50)
    briefs, variants, budget = batching.briefs(inputs, max_tokens_cap=40)
    assert briefs == [BRIEF, BRIEF._replace(placement="headline", highlight="Love it")]
    assert variants == [3, 3] and budget == 40
    copy, novelty, tokens = batching.pack(
        [[Variant("A. Shop now.", 0.5)], [Variant("B. Buy it.", 1.0), Variant("C. Get one.", 0.0)]],
        [7, 9],
    )
    assert copy.tolist() == [[b"A. Shop now.", b""], [b"B. Buy it.", b"C. Get one."]]
    assert np.isnan(novelty[0, 1]) and novelty[1].tolist() == [1.0, 0.0]
    assert tokens.tolist() == [[7], [9]]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("TONE", b"sarcastic", "TONE must be one of"),
        ("CTA_STYLE", b"pushy", "CTA_STYLE must be one of"),
        ("PLACEMENT", b"banner", "PLACEMENT must be one of"),
        ("PRODUCT", b" ", "PRODUCT must not be empty"),
    ],
)
def test_invalid_rows_are_rejected_with_the_field_named(field, value, message):
    inputs = brief_inputs([BRIEF], 1, 40)
    inputs[field] = np.array([[value]], dtype=object)
    with pytest.raises(ValueError, match=message):
        batching.briefs(inputs, max_tokens_cap=40)


def test_batching_imports_the_contract_not_the_model_code():
    code = "import sys, batching; print(*sorted({'torch', 'transformers'} & set(sys.modules)))"
    heavy = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "model_repo/copy_generator/1",
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert heavy.strip() == ""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> CopySettings:
    """A two-step training run from the packaged base model, exported to a fresh folder."""
    base = CopyPaths.from_settings(CopySettings()).base
    settings = CopySettings(models_dir=str(tmp_path_factory.mktemp("models")), base_model=str(base))
    train(settings, TrainConfig(steps=2, batch_size=4, max_products=20), log=lambda _: None)
    return settings


@pytest.fixture(scope="module")
def copy_stack(tiny_model, tmp_path_factory) -> Iterator[Stack]:
    """Triton serving ``copy_generator`` with the tiny model."""
    with Stack(
        run_dir=tmp_path_factory.mktemp("copy-stack"),
        model_repo=ROOT / "model_repo",
        services=("triton",),
        models=["copy_generator"],
        model_env=tiny_model.environment(),
    ) as stack:
        yield stack


async def _exercise(stack: Stack, briefs: list[CopyBrief]):
    """Variants for ``briefs``; a bad request is refused with its reason, the next served."""
    triton = TritonClient(stack.settings().triton)
    client = CopyClient(triton, timeout_s=120)
    try:
        bad = brief_inputs([briefs[0]._replace(tone="sarcastic")], 1, 32)
        with pytest.raises(TritonError, match="TONE must be one of"):
            await triton.infer("copy_generator", bad, ["COPY"], timeout_s=60)
        return await client.write(briefs, variants=2, max_tokens=32)
    finally:
        await triton.close()


@pytest.mark.integration
@pytest.mark.slow
def test_variants_for_a_batch_of_products_come_back_over_grpc(tiny_model, copy_stack):
    items = [p for p in dataset.products(dataset.read_reviews(tiny_model.reviews)) if p.held_out]
    briefs = held_out_briefs(items, 4, seed=3)
    briefs[0] = briefs[0]._replace(placement="headline")
    written = asyncio.run(_exercise(copy_stack, briefs))
    rules = Settings().copywriter
    limits = placement_limits(rules)
    assert len(written) == len(briefs)
    for brief, result in zip(briefs, written, strict=True):
        assert 1 <= len(result.texts) <= 2 and result.tokens > 0
        for text, novelty in zip(result.texts, result.novelty, strict=True):
            assert 0 < len(text) <= limits[brief.placement], text
            assert find_cta(text) is not None, text
            assert not any(term in text.lower() for term in rules.banned_terms), text
            assert 0.0 <= novelty <= 1.0


async def _two_budgets(stack: Stack, small: int, large: int):
    """One request of each budget, sent together, and how many batches Triton ran them in."""
    url = stack.settings().triton.grpc_url
    stats = grpcclient.InferenceServerClient(url)
    triton = TritonClient(stack.settings().triton)
    client = CopyClient(triton, timeout_s=120)

    async def executions() -> int:
        response = await stats.get_inference_statistics("copy_generator")
        return response.model_stats[0].execution_count

    try:
        before = await executions()
        written = await asyncio.gather(
            client.write([BRIEF], max_tokens=small), client.write([BRIEF], max_tokens=large)
        )
        return [w.tokens for (w,) in written], await executions() - before
    finally:
        await triton.close()
        await stats.close()


@pytest.mark.integration
@pytest.mark.slow
def test_each_request_of_a_dynamic_batch_keeps_its_own_token_budget(copy_stack):
    (small, large), batches = asyncio.run(_two_budgets(copy_stack, 4, 40))
    assert batches == 1  # both requests were sampled in one generate call
    assert 0 < small <= 4 and 0 < large <= 40
