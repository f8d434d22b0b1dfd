"""Async gRPC client for the Triton-hosted models, with a deadline on every call."""

from __future__ import annotations

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from shared.settings import TritonSettings


class TritonError(RuntimeError):
    """An inference failed or missed its deadline."""


class TritonClient:
    """Named numpy tensors in, named numpy tensors out."""

    def __init__(self, settings: TritonSettings) -> None:
        self._settings = settings
        self._client = grpcclient.InferenceServerClient(settings.grpc_url, ssl=settings.ssl)

    async def infer(
        self,
        model: str,
        inputs: dict[str, np.ndarray],
        outputs: list[str],
        timeout_s: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Run ``model`` once; ``TYPE_STRING`` tensors are numpy object arrays of bytes."""
        request = []
        for name, array in inputs.items():
            dtype = "BYTES" if array.dtype == object else np_to_triton_dtype(array.dtype)
            tensor = grpcclient.InferInput(name, list(array.shape), dtype)
            tensor.set_data_from_numpy(array)
            request.append(tensor)
        wanted = [grpcclient.InferRequestedOutput(name) for name in outputs]
        try:
            result = await self._client.infer(
                model,
                request,
                outputs=wanted,
                client_timeout=timeout_s or self._settings.timeout_s,
            )
        except InferenceServerException as exc:
            raise TritonError(f"{model}: {exc.message()}") from exc
        return {name: result.as_numpy(name) for name in outputs}

    async def model_ready(self, model: str) -> bool:
        """Whether ``model`` is loaded and ready."""
        return bool(await self._client.is_model_ready(model))

    async def close(self) -> None:
        """Close the channel (an open client delays Triton's shutdown)."""
        await self._client.close()
