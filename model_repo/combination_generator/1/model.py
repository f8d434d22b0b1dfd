"""Triton adapter for :mod:`services.combinations.serving`: one response per request,
errors on the response."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

from services.combinations import export, serving
from shared.combination_contract import INPUTS, OUTPUTS


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        gpu = args["model_instance_kind"] == "GPU"
        self.device = f"cuda:{args['model_instance_device_id']}" if gpu else "cpu"
        torch.set_num_threads(1)
        model_dir = Path(args["model_repository"])
        self.model, version = export.load(model_dir, device=self.device)
        self.version = str(version).encode()

    def execute(self, requests: list) -> list:
        responses: list = [None] * len(requests)
        parsed, indices = [], []
        for index, request in enumerate(requests):
            arrays = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in INPUTS}
            try:
                parsed.append(serving.parse(arrays))
                indices.append(index)
            except ValueError as exc:
                responses[index] = pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc)))
        for index, request, result in zip(
            indices, parsed, serving.answer(self.model, parsed, self.device), strict=True
        ):
            rows = request.batch.mask.shape[0]
            result["VERSION"] = np.full((rows, 1), self.version, dtype=object)
            tensors = [pb_utils.Tensor(name, result[name]) for name in OUTPUTS]
            responses[index] = pb_utils.InferenceResponse(output_tensors=tensors)
        return responses
