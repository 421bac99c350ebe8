"""Exports the models docs/gpu.md measures, with random weights (seeded), as ONNX (opset 17, the TorchScript exporter).

   python3 bench/gpu/export_models.py OUT_DIR

torchvision ResNet-50 and MobileNetV3-Large (BatchNorm statistics calibrated on random images), ViT-B/16 (classifier
drawn from N(0, 0.02) instead of torchvision's zeros) (input [1, 3, 224, 224], output "logits"), and a transformers
BERT-base (bert-base-uncased's configuration; inputs input_ids, attention_mask, token_type_ids [1, 128] int64;
outputs last_hidden_state and pooler_output). Runs where torch is installed (the GPU machine); nothing is downloaded.
"""
import os
import sys
import time

import torch
import torchvision

out = sys.argv[1]
torch.backends.mha.set_fastpath_enabled(False)  # the fused attention fast path has no ONNX export; export the plain ops
os.makedirs(out, exist_ok=True)


def export(name, model, args, inputs, outputs):
    torch.manual_seed(0)
    model.eval()
    path = os.path.join(out, name + ".onnx")
    start = time.time()
    try:
        with torch.no_grad():
            torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs, opset_version=17, dynamo=False, do_constant_folding=True)
        print(f"{name}: {os.path.getsize(path) / 2**20:.1f} MiB in {time.time() - start:.1f} s", flush=True)
    except Exception as e:  # one line per model; the exporter's own dump goes to stderr
        print(f"{name}: export FAILED: {type(e).__name__}: {str(e).splitlines()[-1][:300]}", flush=True)


only = set(sys.argv[2:])  # optional: export only these
if only:
    _export = export
    export = lambda name, *a: _export(name, *a) if name in only else None  # noqa: E731


def calibrated(model, steps=20):
    """BatchNorm statistics that fit the random weights: random images through the model in training mode (cumulative
    averages), as training would have left them. Without this, activations of a randomly initialized CNN shrink layer by
    layer and the logits are ~1e-10: every comparison would pass on atol alone."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.to(device).train()
    with torch.no_grad():
        for _ in range(steps):
            model(torch.rand(8, 3, 224, 224, device=device))
    return model.cpu().eval()


torch.manual_seed(0)
image = torch.rand(1, 3, 224, 224)
export("resnet50", calibrated(torchvision.models.resnet50(weights=None)), (image,), ["input"], ["logits"])
export("mobilenet_v3_large", calibrated(torchvision.models.mobilenet_v3_large(weights=None)), (image,), ["input"], ["logits"])
vit = torchvision.models.vit_b_16(weights=None)
with torch.no_grad():
    vit.heads.head.weight.normal_(0, 0.02)  # torchvision initializes the classifier to zero: every logit would be 0
export("vit_b_16", vit, (image,), ["input"], ["logits"])

from transformers import BertConfig, BertModel  # noqa: E402

config = BertConfig()  # bert-base: 12 layers, hidden 768, 12 heads, vocabulary 30522
try:
    bert = BertModel(config, attn_implementation="eager")  # plain attention ops rather than a fused kernel
except (TypeError, ValueError):
    bert = BertModel(config)


class Bert(torch.nn.Module):
    """Positional inputs and tuple outputs, whatever the transformers version's forward signature."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True)
        return out.last_hidden_state, out.pooler_output


ids = torch.randint(0, config.vocab_size, (1, 128))
mask = torch.ones(1, 128, dtype=torch.long)
types = torch.zeros(1, 128, dtype=torch.long)
export("bert_base", Bert(bert), (ids, mask, types), ["input_ids", "attention_mask", "token_type_ids"], ["last_hidden_state", "pooler_output"])
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}", flush=True)
