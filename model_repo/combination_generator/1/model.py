"""Triton adapter for :mod:`adcraft.services.combinations.serving`: one response per request,
errors on the response."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

from adcraft.services.combinations import export, serving
from adcraft.shared.contract.combination_contract import INPUTS, OUTPUTS


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        gpu = args["model_instance_kind"] == "GPU"
        self.device = f"cuda:{args['model_instance_device_id']}" if gpu else "cpu"
        torch.set_num_threads(1)
        model_dir = Path(args["model_repository"])
        self.model, version = export.load(model_dir, device=self.device)
        self.version = str(version).encode()

    def execute(self, requests: list) -> list:
        inputs = [
            {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in INPUTS}
            for request in requests
        ]
        responses = []
        for arrays, result in zip(
            inputs, serving.respond(self.model, inputs, self.device), strict=True
        ):
            if isinstance(result, str):
                code = pb_utils.TritonError.INVALID_ARG
                invalid = isinstance(result, serving.InvalidInput)
                error = (
                    pb_utils.TritonError(result, code) if invalid else pb_utils.TritonError(result)
                )
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            rows = arrays["MASK"].shape[0]
            result["VERSION"] = np.full((rows, 1), self.version, dtype=object)
            tensors = [pb_utils.Tensor(name, result[name]) for name in OUTPUTS]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
