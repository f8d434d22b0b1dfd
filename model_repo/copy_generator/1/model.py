"""Triton adapter for :mod:`services.copywriter.generate`: all requests of a batch are
sampled in one ``generate`` call, each brief within its own request's token budget and with
its own seed; one response per request, errors on the response."""

from __future__ import annotations

import triton_python_backend_utils as pb_utils

from services.copywriter.generate import CopyWriter
from shared.copy_tensors import OUTPUTS, pack, parse, read
from shared.settings import Settings


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.settings = Settings().copywriter
        self.writer = CopyWriter.for_instance(args, self.settings)

    def execute(self, requests: list) -> list:
        responses: list = [None] * len(requests)
        parsed = []
        for index, request in enumerate(requests):
            arrays = read(request, pb_utils.get_input_tensor_by_name)
            try:
                parsed.append((index, parse(arrays, self.settings.max_new_tokens)))
            except ValueError as exc:
                responses[index] = pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc)))
        if parsed:
            written, tokens = self.writer.write(
                [b for _, r in parsed for b in r.briefs],
                [n for _, r in parsed for n in r.variants],
                [r.budget for _, r in parsed for _ in r.briefs],
                [s for _, r in parsed for s in r.seeds],
            )
            start = 0
            for index, r in parsed:
                end = start + len(r.briefs)
                outputs = zip(OUTPUTS, pack(written[start:end], tokens[start:end]), strict=True)
                start = end
                responses[index] = pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor(name, array) for name, array in outputs]
                )
        return responses
