"""Decoupled Triton adapter streaming :mod:`adcraft.services.copywriter.generate`'s copy as it is
written: per request (one brief, one variant), a response per new piece of text, then the
finished copy, post-processed as ``copy_generator``'s, on the final response. Errors end
the stream on its final response."""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils

from adcraft.services.copywriter.decoding import TextDeltas
from adcraft.services.copywriter.generate import CopyWriter
from adcraft.shared.contract.copy_tensors import OUTPUTS, pack, parse, read
from adcraft.shared.runtime.settings import Settings

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.settings = Settings().copywriter
        self.writer = CopyWriter.for_instance(args, self.settings)

    def execute(self, requests: list) -> None:
        for request in requests:
            sender = request.get_response_sender()
            try:
                final = self.stream(request, sender)
            except Exception as exc:  # whatever failed, the client must get its final response
                final = pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc)))
            sender.send(final, flags=FINAL)

    def stream(self, request, sender) -> pb_utils.InferenceResponse:
        """Send the request's text as it comes; return the response with the copy."""
        arrays = read(request, pb_utils.get_input_tensor_by_name)
        asked = parse(arrays, self.settings.max_new_tokens, max_variants=1)

        def send(text: str) -> None:
            if request.is_cancelled():  # the client has gone (its deadline passed): stop
                raise RuntimeError("request cancelled")
            delta = pb_utils.Tensor("TEXT", np.array([[text.encode()]], dtype=object))
            sender.send(pb_utils.InferenceResponse(output_tensors=[delta]))

        written, tokens = self.writer.write(
            asked.briefs,
            asked.variants,
            [asked.budget] * len(asked.briefs),
            asked.seeds,
            TextDeltas(self.writer.tokenizer, send),
        )
        outputs = zip(OUTPUTS, pack(written, tokens, self.writer.version), strict=True)
        return pb_utils.InferenceResponse(
            output_tensors=[pb_utils.Tensor(name, array) for name, array in outputs]
        )
