"""The combination generator served by the real Triton (CPU config) over gRPC."""

import asyncio

import numpy as np
import pytest
import torch
import tritonclient.http as httpclient

from services.combinations import export, serving
from services.combinations.worlds import as_posteriors, sample
from shared.combination_client import CombinationClient
from shared.combination_contract import MODEL, OUTPUTS, pack, unpack
from shared.triton_client import TritonClient, TritonError

pytestmark = pytest.mark.integration


def _counts(settings) -> tuple[int, int]:
    """Requests inferred and batches executed by the model so far."""
    http = httpclient.InferenceServerClient(settings.http_url)
    try:
        stats = http.get_inference_statistics(MODEL)["model_stats"][0]
    finally:
        http.close()
    return int(stats["inference_count"]), int(stats["execution_count"])


def test_batched_requests_are_answered_and_only_the_bad_one_fails(triton_stack):
    settings = triton_stack.settings().triton
    posteriors = as_posteriors(sample(8, torch.Generator().manual_seed(5)).seen)
    shape = (settings.combos_slots, settings.combos_candidates)
    bad, _ = pack(posteriors[:1], shape, k=4, seed=0)
    bad["FEATURES"][0, 0, 0, 0] = np.nan

    async def bursts():
        triton = TritonClient(settings)
        client = CombinationClient(triton, settings)
        try:
            results = []
            for _ in range(5):
                calls = [client.propose([p], 4, seed=i) for i, p in enumerate(posteriors)]
                calls.append(triton.infer(MODEL, bad, list(OUTPUTS), timeout_s=5))
                results.append(await asyncio.gather(*calls, return_exceptions=True))
            with pytest.raises(TritonError):
                await client.propose(posteriors[:1], 4, timeout_s=1e-6)  # past its deadline
            return results
        finally:
            await triton.close()

    before = _counts(settings)
    results = asyncio.run(bursts())
    inferred, executed = (a - b for a, b in zip(_counts(settings), before, strict=True))
    assert inferred >= 5 * 9 - 1 and executed < inferred  # requests shared batches

    model, version = export.load()
    for burst in results:
        *good, failed = burst
        assert isinstance(failed, TritonError) and "non-finite" in str(failed)
        for seed, (posterior, answer) in enumerate(zip(posteriors, good, strict=True)):
            assert not isinstance(answer, BaseException), answer
            assert answer.version == str(version)
            arrays, layouts = pack([posterior], shape, 4, seed=seed)
            local = unpack(serving.answer(model, [serving.parse(arrays)])[0], layouts)[0]
            assert [p.elements for p in answer.proposals[0]] == [p.elements for p in local]
            got = [p.probability for p in answer.proposals[0]]
            assert got == pytest.approx([p.probability for p in local], rel=1e-5)
