"""Async gRPC client for the Triton-hosted models, with a deadline on every call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import grpc
import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from adcraft.shared.runtime.connections import TritonSettings
from adcraft.shared.runtime.errors import RecoverableError


class TritonError(RecoverableError):
    """An inference failed or missed its deadline; ``status`` is the gRPC status
    (``StatusCode.DEADLINE_EXCEEDED``, ``StatusCode.INVALID_ARGUMENT`` …) where known."""

    def __init__(self, message: str, status: str = "") -> None:
        super().__init__(message)
        self.status = status


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
        """Run ``model`` once; ``TYPE_STRING`` tensors are numpy object arrays of bytes. The
        deadline also goes to the server, so a request still queued past it is dropped
        there, and one the caller abandons is cancelled (models that check stop early)."""
        request = _tensors(inputs)
        wanted = [grpcclient.InferRequestedOutput(name) for name in outputs]
        deadline_s = timeout_s or self._settings.timeout_s
        try:
            result = await self._client.infer(
                model,
                request,
                outputs=wanted,
                timeout=int(deadline_s * 1_000_000),  # µs: the queue policy's timeout
                client_timeout=deadline_s,
            )
        except InferenceServerException as exc:
            raise TritonError(f"{model}: {exc.message()}", str(exc.status() or "")) from exc
        return {name: result.as_numpy(name) for name in outputs}

    async def stream(
        self, model: str, inputs: dict[str, np.ndarray], timeout_s: float | None = None
    ) -> AsyncGenerator[grpcclient.InferResult, None]:
        """Send one request to the decoupled ``model`` and yield its responses as they come;
        the caller stops at the one it knows is the last (the stream is then closed). Model
        errors, a failed channel and the deadline for the whole stream raise TritonError."""
        done = asyncio.Event()

        async def request() -> AsyncIterator[dict]:
            yield {"model_name": model, "inputs": _tensors(inputs)}
            await done.wait()  # the stream stays open until the caller has its answer

        timeout = timeout_s or self._settings.timeout_s
        responses = self._client.stream_infer(request(), stream_timeout=timeout)
        try:
            async for result, error in responses:
                if error is not None:
                    raise TritonError(f"{model}: {error.message()}", str(error.status() or ""))
                yield result
        except grpc.aio.AioRpcError as exc:  # the deadline, or the channel failed
            raise TritonError(f"{model}: {exc.details()}", str(exc.code())) from exc
        finally:
            done.set()
            responses.cancel()

    async def batch_counts(self, model: str) -> dict[int, int]:
        """How many executions of each batch size ``model`` has run since it loaded."""
        stats = await self._client.get_inference_statistics(model, as_json=True)
        counts: dict[int, int] = {}
        for model_stats in stats.get("model_stats", []):
            for batch in model_stats.get("batch_stats", []):
                size = int(batch["batch_size"])
                counts[size] = counts.get(size, 0) + int(batch["compute_infer"].get("count", 0))
        return counts

    async def model_ready(self, model: str) -> bool:
        """Whether ``model`` is loaded and ready."""
        return bool(await self._client.is_model_ready(model))

    async def close(self) -> None:
        """Close the channel (an open client delays Triton's shutdown)."""
        await self._client.close()


def _tensors(inputs: dict[str, np.ndarray]) -> list[grpcclient.InferInput]:
    """Triton inputs of named numpy arrays (object arrays of bytes are ``BYTES``)."""
    tensors = []
    for name, array in inputs.items():
        dtype = "BYTES" if array.dtype == object else np_to_triton_dtype(array.dtype)
        tensor = grpcclient.InferInput(name, list(array.shape), dtype)
        tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    return tensors
