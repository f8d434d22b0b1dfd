"""Triton adapter for :mod:`adcraft.services.copywriter.generate`: all requests of a batch are
sampled in one ``generate`` call, each brief within its own request's token budget and with
its own seed; one response per request, errors on the response. Work nobody waits for is
not done: a request its caller cancelled (or whose deadline passed) is answered CANCELLED
before sampling, and sampling stops once every request of the batch is cancelled."""

from __future__ import annotations

import triton_python_backend_utils as pb_utils

from adcraft.services.copywriter.generate import CopyWriter
from adcraft.shared.contract.copy_tensors import OUTPUTS, pack, parse, read
from adcraft.shared.runtime.settings import Settings


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.settings = Settings().copywriter
        self.writer = CopyWriter.for_instance(args, self.settings)
        # The family must outlive its metric: keep both.
        self.abandoned_family = pb_utils.MetricFamily(
            name="adcraft_copy_abandoned_total",
            description="Copy requests their callers cancelled (or let time out) before the "
            "model answered: answered CANCELLED, their copy left unwritten.",
            kind=pb_utils.MetricFamily.COUNTER,
        )
        self.abandoned = self.abandoned_family.Metric(labels={"model": args["model_name"]})

    def execute(self, requests: list) -> list:
        responses: list = [None] * len(requests)
        parsed = []
        for index, request in enumerate(requests):
            if request.is_cancelled():
                responses[index] = self._cancelled()
                continue
            arrays = read(request, pb_utils.get_input_tensor_by_name)
            try:
                parsed.append((index, parse(arrays, self.settings.max_new_tokens)))
            except ValueError as exc:
                error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
                responses[index] = pb_utils.InferenceResponse(error=error)
        if parsed:
            written, tokens = self.writer.write(
                [b for _, r in parsed for b in r.briefs],
                [n for _, r in parsed for n in r.variants],
                [r.budget for _, r in parsed for _ in r.briefs],
                [s for _, r in parsed for s in r.seeds],
                stop=lambda: all(requests[index].is_cancelled() for index, _ in parsed),
            )
            start = 0
            for index, r in parsed:
                end = start + len(r.briefs)
                packed = pack(written[start:end], tokens[start:end], self.writer.version)
                outputs = zip(OUTPUTS, packed, strict=True)
                start = end
                if requests[index].is_cancelled():
                    responses[index] = self._cancelled()
                    continue
                tensors = [pb_utils.Tensor(name, array) for name, array in outputs]
                responses[index] = pb_utils.InferenceResponse(output_tensors=tensors)
        return responses

    def _cancelled(self) -> object:
        self.abandoned.increment(1)
        error = pb_utils.TritonError("cancelled by its caller", pb_utils.TritonError.CANCELLED)
        return pb_utils.InferenceResponse(error=error)
