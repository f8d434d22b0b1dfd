"""Triton adapter for :mod:`sampling`: one response per request, errors on the response."""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils
from sampling import thompson_rank


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.rng = np.random.default_rng()

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            mean = pb_utils.get_input_tensor_by_name(request, "MEAN").as_numpy()
            std = pb_utils.get_input_tensor_by_name(request, "STD").as_numpy()
            try:
                samples, rank = thompson_rank(mean, std, self.rng)
            except ValueError as exc:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
                continue
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("SAMPLE", samples),
                        pb_utils.Tensor("RANK", rank),
                    ]
                )
            )
        return responses
