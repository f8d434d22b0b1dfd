"""The copy models: request tensors directly, and the shipped model served by the real
Triton over gRPC, batched (``copy_generator``) and streamed (``copy_generator_stream``)."""

import asyncio
import contextlib
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc.aio as grpcclient
from prometheus_client.parser import text_string_to_metric_families

from adcraft.services.copywriter import dataset
from adcraft.services.copywriter.decoding import variant_seeds
from adcraft.services.copywriter.evaluate import held_out_briefs
from adcraft.services.copywriter.generate import CopyWriter
from adcraft.services.copywriter.weights import CopyPaths, version
from adcraft.services.stack import Stack
from adcraft.shared.adapters.copy_client import CopyClient, WrittenCopy
from adcraft.shared.adapters.triton_client import TritonClient, TritonError
from adcraft.shared.contract.copy_contract import CopyBrief, placement_limits
from adcraft.shared.contract.copy_tensors import brief_inputs, pack, parse
from adcraft.shared.copy_rules.cta import find_cta
from adcraft.shared.copy_rules.postprocess import Variant, first_line
from adcraft.shared.runtime.settings import CopySettings, Settings
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
BRIEF = CopyBrief("dress", "Dresses", ("flowy", "soft"), "adult", "warm", "soft", "description")
SEED = 2026


def test_request_rows_become_briefs_and_outputs_are_padded():
    inputs = brief_inputs([BRIEF, BRIEF._replace(placement="headline", highlight="Love it")], 3, 50)
    request = parse(inputs, max_tokens_cap=40)
    assert request.briefs == [BRIEF, BRIEF._replace(placement="headline", highlight="Love it")]
    assert request.variants == [3, 3] and request.budget == 40
    assert request.seeds == [None, None]  # no SEED input: each brief draws its own
    assert parse(brief_inputs([BRIEF] * 2, 1, 8, seeds=[-5, 2**62]), 40).seeds == [-5, 2**62]
    copy, novelty, tokens, versions = pack(
        [[Variant("A. Shop now.", 0.5)], [Variant("B. Buy it.", 1.0), Variant("C. Get one.", 0.0)]],
        [7, 9],
        "adapter-1",
    )
    assert copy.tolist() == [[b"A. Shop now.", b""], [b"B. Buy it.", b"C. Get one."]]
    assert np.isnan(novelty[0, 1]) and novelty[1].tolist() == [1.0, 0.0]
    assert tokens.tolist() == [[7], [9]]
    assert versions.tolist() == [[b"adapter-1"], [b"adapter-1"]]


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
        parse(inputs, max_tokens_cap=40)


def test_the_stream_takes_one_variant():
    with pytest.raises(ValueError, match=r"N_VARIANTS must be within 1\.\.1"):
        parse(brief_inputs([BRIEF], 2, 40), max_tokens_cap=40, max_variants=1)


def test_the_tensors_module_imports_the_contract_not_the_model_code():
    code = (
        "import sys, adcraft.shared.contract.copy_tensors;"
        " print(*{'torch', 'transformers'} & set(sys.modules))"
    )
    heavy = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert heavy.strip() == ""


@pytest.fixture(scope="module")
def shipped_model(tmp_path_factory) -> CopySettings:
    """The packaged base model with the shipped adapter, from a fresh models folder: what a
    fresh clone serves."""
    base = CopyPaths.from_settings(CopySettings()).base
    return CopySettings(models_dir=str(tmp_path_factory.mktemp("models")), base_model=str(base))


@pytest.fixture(scope="module")
def copy_stack(shipped_model, tmp_path_factory) -> Iterator[Stack]:
    """Triton serving ``copy_generator`` and ``copy_generator_stream`` with the shipped model.

    One candidate per variant, so the batched model writes a seeded brief's one row as the
    stream does (with more, it serves the best of them). One torch thread per model: two
    models and the test share two cores.
    """
    env = {
        "ADCRAFT_COPYWRITER__CANDIDATES": "1",
        "OMP_NUM_THREADS": "1",
    }
    with Stack(
        run_dir=tmp_path_factory.mktemp("copy-stack"),
        model_repo=ROOT / "model_repo",
        services=("triton",),
        models=["copy_generator", "copy_generator_stream"],
        model_env=shipped_model.environment() | env,
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def reference_writer(shipped_model, one_thread) -> CopyWriter:
    """The shipped model in this process: what the served models' code writes, as raw text."""
    return CopyWriter.load(shipped_model)


@contextlib.asynccontextmanager
async def _copy_client(stack: Stack, timeout_s: float = 120) -> AsyncIterator[CopyClient]:
    triton = TritonClient(stack.settings().triton)
    try:
        yield CopyClient(triton, timeout_s)
    finally:
        await triton.close()


async def _streamed(
    client: CopyClient, brief: CopyBrief, seed: int, max_tokens: int
) -> tuple[list[str], WrittenCopy]:
    """The pieces of text a stream sent, and its finished copy (which came last)."""
    *pieces, finished = [item async for item in client.stream(brief, seed, max_tokens)]
    assert all(isinstance(piece, str) for piece in pieces)
    assert isinstance(finished, WrittenCopy)
    return pieces, finished


async def _exercise(stack: Stack, briefs: list[CopyBrief]):
    """Variants for ``briefs``; a bad request is refused with its reason, the next served."""
    async with _copy_client(stack) as client:
        bad = brief_inputs([briefs[0]._replace(tone="sarcastic")], 1, 32)
        with pytest.raises(TritonError, match="TONE must be one of"):
            await client.triton.infer("copy_generator", bad, ["COPY"], timeout_s=60)
        return await client.write(briefs, 3, 32, seeds=list(range(len(briefs))))


def test_variants_for_a_batch_of_products_come_back_over_grpc(shipped_model, copy_stack):
    items = [p for p in dataset.catalogue(shipped_model) if p.held_out]
    briefs = held_out_briefs(items, 8, seed=3)
    briefs[0] = briefs[0]._replace(placement="headline")
    written = asyncio.run(_exercise(copy_stack, briefs))
    rules = Settings().copywriter
    limits = placement_limits(rules)
    assert len(written) == len(briefs)
    # Post-processing drops every variant it cannot publish (a brief's only ones too), and
    # the two-step model writes much that it cannot: ask for three each, for eight briefs.
    assert any(result.texts for result in written)
    # Every answer names the adapter that wrote it: the shipped one, by its files.
    shipped = version(CopyPaths.from_settings(shipped_model).adapter())
    assert shipped.startswith("adapter-")
    for brief, result in zip(briefs, written, strict=True):
        assert len(result.texts) <= 3 and result.tokens > 0 and result.version == shipped
        for text, novelty in zip(result.texts, result.novelty, strict=True):
            assert 0 < len(text) <= limits[brief.placement], text
            assert find_cta(text) is not None, text
            assert not any(term in text.lower() for term in rules.banned_terms), text
            assert 0.0 <= novelty <= 1.0


async def _together(
    stack: Stack, requests: list[tuple[list[CopyBrief], dict]]
) -> tuple[list[list[WrittenCopy]], int]:
    """What ``copy_generator`` wrote for each request (briefs, :meth:`CopyClient.write`
    keywords), all sent at once, and how many batches Triton ran them in."""
    stats = grpcclient.InferenceServerClient(stack.settings().triton.grpc_url)

    async def counts() -> tuple[int, int]:
        """Requests answered and executions run (statistics land just after a response)."""
        (model,) = (await stats.get_inference_statistics("copy_generator")).model_stats
        return model.inference_stats.success.count, model.execution_count

    try:
        async with _copy_client(stack) as client:
            answered, before = await counts()
            written = await asyncio.gather(*(client.write(b, **kw) for b, kw in requests))
            while (now := await counts())[0] < answered + len(requests):
                await asyncio.sleep(0.01)
            return list(written), now[1] - before
    finally:
        await stats.close()


def _batched(stack: Stack, requests: list[tuple[list[CopyBrief], dict]], tries: int = 5):
    """:func:`_together` until Triton ran the requests in one batch: each send must land
    in the batcher's 20 ms window, which a busy machine may miss now and then."""
    for _ in range(tries):
        written, batches = asyncio.run(_together(stack, requests))
        if batches == 1:
            break
    return written, batches


def test_each_request_of_a_dynamic_batch_keeps_its_own_token_budget(copy_stack):
    budgets = [([BRIEF], {"max_tokens": 4}), ([BRIEF], {"max_tokens": 40})]
    written, batches = _batched(copy_stack, budgets)
    (small,), (large,) = written
    assert batches == 1  # both requests were sampled in one generate call
    assert 0 < small.tokens <= 4 and 0 < large.tokens <= 40


def test_a_seeded_brief_is_written_the_same_alone_or_in_a_dynamic_batch(
    copy_stack, reference_writer
):
    coat = BRIEF._replace(product="wool coat", department="Jackets", highlight="Warm all winter.")
    trousers = BRIEF._replace(product="linen trousers", department="Bottoms", placement="headline")
    seeded = ([BRIEF], {"variants": 2, "max_tokens": 24, "seeds": [SEED]})
    (alone,), _ = asyncio.run(_together(copy_stack, [seeded]))
    neighbours = [([coat], {"max_tokens": 40, "seeds": [1]}), ([trousers], {"seeds": [2]})]
    written, batches = _batched(copy_stack, [seeded, *neighbours])
    assert batches == 1
    assert written[0] == alone
    # The raw text too (what post-processing may drop), here with unseeded neighbours.
    raw, _ = reference_writer.raw([coat, BRIEF, trousers], [40, 24, 12], [None, SEED, None])
    assert raw[1] == reference_writer.raw([BRIEF], [24], [SEED])[0][0]


def test_the_stream_writes_what_the_batched_model_writes_for_a_seed(copy_stack, reference_writer):
    async def both() -> tuple[tuple[list[str], WrittenCopy], WrittenCopy]:
        async with _copy_client(copy_stack) as client:
            streamed = await _streamed(client, BRIEF, SEED, 24)
            (batched,) = await client.write([BRIEF], 1, 24, seeds=[SEED])
            return streamed, batched

    (pieces, finished), batched = asyncio.run(both())
    raw, tokens = reference_writer.raw([BRIEF], [24], variant_seeds(SEED, 1))
    assert len(pieces) > 1  # the text came piece by piece
    assert first_line("".join(pieces)) == raw[0]
    assert finished == batched and finished.tokens == tokens[0]


def test_a_seed_fixes_the_streamed_copy_and_errors_end_the_stream(copy_stack):
    async def streams() -> list[tuple[list[str], WrittenCopy]]:
        async with _copy_client(copy_stack) as client:
            with pytest.raises(TritonError, match="TONE must be one of"):
                await _streamed(client, BRIEF._replace(tone="sarcastic"), SEED, 24)
            async with _copy_client(copy_stack, timeout_s=0.05) as hurried:
                with pytest.raises(TritonError, match="Deadline"):
                    await _streamed(hurried, BRIEF, SEED, 40)
            return [await _streamed(client, BRIEF, seed, 24) for seed in (SEED, SEED, SEED + 1)]

    first, again, other = asyncio.run(streams())
    assert again == first
    assert "".join(other[0]) != "".join(first[0])


async def _failed(stack: Stack) -> int:
    """How many ``copy_generator`` requests failed (rejected by its queue) since it loaded."""
    stats = grpcclient.InferenceServerClient(stack.settings().triton.grpc_url)
    try:
        response = await stats.get_inference_statistics("copy_generator")
        return int(response.model_stats[0].inference_stats.fail.count)
    finally:
        await stats.close()


def _abandoned(stack: Stack) -> int:
    """How many requests ``copy_generator`` answered CANCELLED (its own counter)."""
    url = f"http://127.0.0.1:{stack.running['triton'].ports['metrics']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as page:
        text = page.read().decode()
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "adcraft_copy_abandoned_total"
    )


def test_copy_its_callers_abandoned_is_not_written(copy_stack):
    """Callers that gave up (their deadline passed) cost the model no more work: what is
    still queued is rejected, what is in a batch is answered CANCELLED, and sampling for a
    batch nobody waits for stops."""

    async def abandon() -> list[BaseException | list[WrittenCopy]]:
        async with _copy_client(copy_stack) as client:
            hurried = [client.write([BRIEF], 1, 40, seeds=[i], timeout_s=0.3) for i in range(24)]
            return await asyncio.gather(*hurried, return_exceptions=True)

    before = asyncio.run(_failed(copy_stack)), _abandoned(copy_stack)
    results = asyncio.run(abandon())
    assert all(isinstance(r, TritonError) and "Deadline" in str(r) for r in results), results

    def unwritten() -> tuple[int, int]:
        return asyncio.run(_failed(copy_stack)) - before[0], _abandoned(copy_stack) - before[1]

    wait_until(lambda: sum(unwritten()) == len(results), 60, "every abandoned request dropped")
    rejected, cancelled = unwritten()
    assert rejected > 0 and cancelled > 0  # some were queued, some already in a batch
