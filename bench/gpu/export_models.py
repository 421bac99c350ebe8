"""Exports the models docs/gpu.md measures, with random weights (seeded), as ONNX (opset 17, the TorchScript exporter).

   python3 bench/gpu/export_models.py OUT_DIR

torchvision ResNet-50, MobileNetV3-Large and ViT-B/16 (input [1, 3, 224, 224], output "logits"), and a transformers
BERT-base (bert-base-uncased's configuration; inputs input_ids, attention_mask, token_type_ids [1, 128] int64;
outputs last_hidden_state and pooler_output). Runs where torch is installed (the GPU machine); nothing is downloaded.
"""
import os
import sys
import time

import torch
import torchvision

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def export(name, model, args, inputs, outputs):
    torch.manual_seed(0)
    model.eval()
    path = os.path.join(out, name + ".onnx")
    start = time.time()
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs, opset_version=17, dynamo=False, do_constant_folding=True)
    print(f"{name}: {os.path.getsize(path) / 2**20:.1f} MiB in {time.time() - start:.1f} s", flush=True)


torch.manual_seed(0)
image = torch.rand(1, 3, 224, 224)
export("resnet50", torchvision.models.resnet50(weights=None), (image,), ["input"], ["logits"])
export("mobilenet_v3_large", torchvision.models.mobilenet_v3_large(weights=None), (image,), ["input"], ["logits"])
export("vit_b_16", torchvision.models.vit_b_16(weights=None), (image,), ["input"], ["logits"])

from transformers import BertConfig, BertModel  # noqa: E402

config = BertConfig()  # bert-base: 12 layers, hidden 768, 12 heads, vocabulary 30522
config.attn_implementation = "eager"
bert = BertModel(config)
ids = torch.randint(0, config.vocab_size, (1, 128))
mask = torch.ones(1, 128, dtype=torch.long)
types = torch.zeros(1, 128, dtype=torch.long)
export("bert_base", bert, (ids, mask, types), ["input_ids", "attention_mask", "token_type_ids"], ["last_hidden_state", "pooler_output"])
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}", flush=True)
