"""Triton adapter for :mod:`services.copywriter.generate`: all requests of a batch are
sampled in one ``generate`` call, each brief within its own request's token budget; one
response per request, errors on the response."""

from __future__ import annotations

import triton_python_backend_utils as pb_utils
from batching import briefs, pack

from services.copywriter.generate import CopyWriter
from shared.copy_contract import TEXT_INPUTS
from shared.settings import Settings

INPUTS = (*TEXT_INPUTS, "N_VARIANTS", "MAX_TOKENS")
OUTPUTS = ("COPY", "NOVELTY", "TOKENS")


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        gpu = args["model_instance_kind"] == "GPU"
        device = f"cuda:{args['model_instance_device_id']}" if gpu else "cpu"
        self.settings = Settings().copywriter
        self.writer = CopyWriter.load(self.settings, device)

    def execute(self, requests: list) -> list:
        responses: list = [None] * len(requests)
        parsed = []
        for index, request in enumerate(requests):
            arrays = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in INPUTS}
            try:
                parsed.append((index, *briefs(arrays, self.settings.max_new_tokens)))
            except ValueError as exc:
                responses[index] = pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc)))
        if parsed:
            written, tokens = self.writer.write(
                [b for _, rows, _, _ in parsed for b in rows],
                [n for _, _, counts, _ in parsed for n in counts],
                [budget for _, rows, _, budget in parsed for _ in rows],
            )
            start = 0
            for index, rows, _, _ in parsed:
                end = start + len(rows)
                outputs = zip(OUTPUTS, pack(written[start:end], tokens[start:end]), strict=True)
                start = end
                responses[index] = pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor(name, array) for name, array in outputs]
                )
        return responses
