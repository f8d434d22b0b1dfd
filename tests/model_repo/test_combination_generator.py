"""The combination generator served by the real Triton (CPU config) over gRPC."""

import asyncio
import importlib.util
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import tritonclient.http as httpclient

from adcraft.services.combinations import export, serving
from adcraft.services.combinations.worlds import as_posteriors, sample
from adcraft.shared.adapters.combination_client import CombinationClient
from adcraft.shared.adapters.triton_client import TritonClient, TritonError
from adcraft.shared.contract.combination_contract import MODEL, OUTPUTS, pack, unpack

ROOT = Path(__file__).resolve().parents[2]


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


def _error(message: str, code: str = "INTERNAL") -> tuple[str, str]:
    return message, code


_error.INVALID_ARG = "INVALID_ARG"  # type: ignore[attr-defined]


class _Stub(types.ModuleType):
    """The python backend's utilities, as far as the adapter uses them."""

    def __init__(self) -> None:
        super().__init__("triton_python_backend_utils")
        self.Tensor = lambda name, array: (name, array)
        self.TritonError = _error
        self.InferenceResponse = lambda output_tensors=None, error=None: (output_tensors, error)
        self.get_input_tensor_by_name = lambda request, name: SimpleNamespace(
            as_numpy=lambda: request[name]
        )


@pytest.mark.usefixtures("one_thread")
def test_the_adapter_answers_each_request_on_its_own(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", _Stub())
    path = ROOT / "model_repo" / MODEL / "1" / "model.py"
    spec = importlib.util.spec_from_file_location("combination_generator_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    adapter = module.TritonPythonModel()
    adapter.initialize(
        {
            "model_instance_kind": "CPU",
            "model_instance_device_id": "0",
            "model_repository": str(ROOT / "model_repo" / MODEL),
        }
    )
    posteriors = as_posteriors(sample(2, torch.Generator().manual_seed(5)).seen)
    good, _ = pack(posteriors, (8, 12), k=4, seed=0)
    bad = {name: array.copy() for name, array in good.items()}
    bad["CONTEXT"][1, 2] = np.inf
    answered, failed = adapter.execute([good, bad])
    assert failed == (None, ("non-finite input", "INVALID_ARG"))  # the caller's fault
    tensors, error = answered
    assert error is None and [name for name, _ in tensors] == list(OUTPUTS)
    outputs = dict(tensors)
    assert outputs["CHOICES"].shape == (2, 4, 8) and outputs["VERSION"][0, 0] == b"1"
