"""The element_sampler model: its logic directly, and served by the real Triton."""

import asyncio
import importlib.util
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient

from adcraft.shared.adapters.triton_client import TritonClient, TritonError

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "sampling", ROOT / "model_repo/element_sampler/1/sampling.py"
)
sampling = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sampling)


def test_thompson_rank_follows_the_posterior():
    rng = np.random.default_rng(1)
    mean = np.tile(np.array([0.2, 0.5, 0.1], np.float32), (4000, 1))
    std = np.full_like(mean, 0.1)
    _, rank = sampling.thompson_rank(mean, std, rng)
    wins = np.bincount(rank[:, 0], minlength=3) / len(rank)
    # P(0.5 + noise beats the others) is ~0.98 for these posteriors.
    assert wins[1] > 0.95
    assert wins[0] > wins[2]


def test_thompson_rank_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        sampling.thompson_rank(np.zeros((1, 2)), np.zeros((1, 3)), rng)
    with pytest.raises(ValueError):
        sampling.thompson_rank(np.zeros((1, 2)), -np.ones((1, 2)), rng)


def test_served_over_grpc_and_http(triton_stack):
    settings = triton_stack.settings().triton
    with urllib.request.urlopen(f"http://{settings.http_url}/v2/health/ready") as resp:
        assert resp.status == 200

    async def grpc_call():
        client = TritonClient(settings)
        try:
            assert await client.model_ready("element_sampler")
            mean = np.array([[0.1, 0.9, 0.5], [0.7, 0.2, 0.3]], np.float32)
            out = await client.infer(
                "element_sampler", {"MEAN": mean, "STD": np.zeros_like(mean)}, ["RANK", "SAMPLE"]
            )
            with pytest.raises(TritonError, match="STD must be"):
                await client.infer(
                    "element_sampler", {"MEAN": mean, "STD": -np.ones_like(mean)}, ["RANK"]
                )
            return out
        finally:
            await client.close()

    out = asyncio.run(grpc_call())
    assert out["RANK"].tolist() == [[1, 2, 0], [0, 2, 1]]
    np.testing.assert_allclose(out["SAMPLE"], [[0.1, 0.9, 0.5], [0.7, 0.2, 0.3]])

    http = httpclient.InferenceServerClient(settings.http_url)
    try:
        mean = np.array([[0.3, 0.1]], np.float32)
        inputs = [
            httpclient.InferInput("MEAN", [1, 2], "FP32"),
            httpclient.InferInput("STD", [1, 2], "FP32"),
        ]
        inputs[0].set_data_from_numpy(mean)
        inputs[1].set_data_from_numpy(np.zeros_like(mean))
        assert http.infer("element_sampler", inputs).as_numpy("RANK").tolist() == [[0, 1]]
    finally:
        http.close()
