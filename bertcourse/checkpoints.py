"""Load Hugging Face BERT checkpoints into our model; save and reload our own (safetensors + config.json).

Our parameter names are the checkpoints' names, except the one table FUSED below, so loading is a plain
copy guarded by checks: every encoder weight must be there with the right shape, and anything else is
named out loud. Our own files use the checkpoints' names too, so transformers reads them.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .config import BertConfig
from .default_model import default_model_dir
from .model import BertModel, BertPreTrainedModel

# Keys some checkpoints carry that our model derives instead of storing.
BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
# The MLM decoder reuses the word embeddings and cls.predictions.bias; old checkpoints store copies.
TIED = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias"}
# Checkpoints converted from the original TensorFlow code name the LayerNorm parameters gamma/beta.
RENAMES = {".gamma": ".weight", ".beta": ".bias"}
# Our attention stacks W_Q, W_K, W_V into one (3H, H) projection; checkpoints store the three apart.
# Our name -> the checkpoint's names, in the order of the stacked rows.
FUSED = {".attention.self.qkv.": (".attention.self.query.", ".attention.self.key.", ".attention.self.value.")}
ENCODER_PARTS = ("embeddings.", "encoder.")  # the body every BERT checkpoint must have; the rest are heads
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def checkpoint_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict under the checkpoints' names: each fused tensor becomes its parts. The parts are
    views of the fused tensor, so copying into them loads it, and reading them saves it."""
    named = {}
    for key, tensor in state.items():
        fused = next((f for f in FUSED if f in key), None)
        if fused is None:
            named[key] = tensor
            continue
        for part, piece in zip(FUSED[fused], tensor.chunk(len(FUSED[fused]))):  # (3H, H) -> 3 x (H, H)
            named[key.replace(fused, part)] = piece
    return named


def find_weights(path: Path) -> Path:
    """A checkpoint directory -> its weight file (safetensors preferred); a file is returned as is."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"no checkpoint at {path}; pass a directory with config.json and "
                                f"{' or '.join(WEIGHT_FILES)}, or None for the packaged MiniLM")
    for name in WEIGHT_FILES:
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(f"{path} holds no {' or '.join(WEIGHT_FILES)}; sharded checkpoints are "
                            "not supported, merge them with transformers' save_pretrained first")


def read_state_dict(weights: Path) -> dict[str, torch.Tensor]:
    """Read safetensors, or a pickle only through weights_only=True (a .bin can otherwise run code)."""
    if weights.suffix == ".safetensors":
        state = load_file(weights)
    elif weights.suffix in (".bin", ".pt", ".pth"):
        state = torch.load(weights, map_location="cpu", weights_only=True)
    else:
        raise ValueError(f"{weights.name}: unknown weight format; expected .safetensors or .bin")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{weights} does not hold a flat dict of tensors (a state_dict)")
    for old, new in RENAMES.items():
        state = {k[: -len(old)] + new if k.endswith(old) else k: v for k, v in state.items()}
    return {k: v for k, v in state.items() if not k.endswith(BUFFERS)}


def match_prefix(state: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A head model keeps BERT under `bert.`; a plain BertModel checkpoint does not. Make them agree."""
    model_prefixed = any(k.startswith("bert.") for k in model.state_dict())
    ckpt_prefixed = any(k.startswith("bert.") for k in state)
    if model_prefixed and not ckpt_prefixed:
        return {("bert." + k if k.startswith((*ENCODER_PARTS, "pooler.")) else k): v for k, v in state.items()}
    if ckpt_prefixed and not model_prefixed:
        return {k.removeprefix("bert."): v for k, v in state.items()}
    return state


def drop_tied_copies(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Stored copies of tied weights must equal what they are tied to; then they are redundant."""
    for copy, source in TIED.items():
        if copy in state:
            if source in state and not torch.equal(state[copy], state[source]):
                raise ValueError(f"checkpoint key {copy!r} differs from {source!r}, but BERT ties them; "
                                 "this model cannot represent an untied MLM decoder")
            del state[copy]
    return state


def is_encoder_key(key: str) -> bool:
    return key.removeprefix("bert.").startswith(ENCODER_PARTS)


def load_state(model: BertPreTrainedModel, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Copy `state` into `model`: strict for the encoder, explicit (one warning) for task heads."""
    state = drop_tied_copies(match_prefix(checkpoint_names(state), model))  # our own fused names work too
    expected = checkpoint_names(model.state_dict())
    if not any(is_encoder_key(k) for k in state):
        sample = ", ".join(sorted(state)[:5]) or "no keys at all"
        raise ValueError(f"{source} is not a BERT checkpoint: it has no embeddings./encoder. weights "
                         f"(found: {sample}); pass a Hugging Face BERT directory")
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    bad_encoder = [k for k in missing + unexpected if is_encoder_key(k)]
    if bad_encoder:
        kind = "missing from" if bad_encoder[0] in missing else "unexpected in"
        raise KeyError(f"encoder key {bad_encoder[0]!r} is {kind} {source} ({len(bad_encoder)} such keys); "
                       "the checkpoint and the config disagree about the architecture")
    for key in (k for k in expected if k in state):  # in the model's order: the first mismatch is reported
        if expected[key].shape != state[key].shape:
            raise ValueError(f"shape mismatch for {key!r}: checkpoint {tuple(state[key].shape)}, model "
                             f"{tuple(expected[key].shape)}; check the config (e.g. num_labels, vocab_size)")
    with torch.no_grad():
        for key in expected.keys() & state.keys():
            expected[key].copy_(state[key])  # views of the parameters: this writes into the model
    if missing or unexpected:
        parts = [f"newly initialised (train them before use): {', '.join(missing)}"] if missing else []
        parts += [f"not used by {type(model).__name__}: {', '.join(unexpected)}"] if unexpected else []
        warnings.warn(f"loading {source} into {type(model).__name__}: " + "; ".join(parts), stacklevel=3)


def load_pretrained(path: str | Path | None = None, model_cls: type[BertPreTrainedModel] = BertModel,
                    **config_overrides) -> BertPreTrainedModel:
    """A Hugging Face BERT directory or weight file (None = packaged MiniLM) -> our model, in eval mode."""
    path = default_model_dir() if path is None else Path(path)
    weights = find_weights(path)
    config = BertConfig.from_json(weights.parent, **config_overrides)
    model = model_cls(config)
    load_state(model, read_state_dict(weights), source=str(path))
    return model.eval()


def save_pretrained(model: BertPreTrainedModel, directory: str | Path) -> Path:
    """config.json + model.safetensors, each written to a temporary file and renamed (never half-written)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # copies: the query/key/value parts share one tensor's memory, which safetensors refuses to write
    state = {k: v.detach().cpu().clone() for k, v in checkpoint_names(model.state_dict()).items()}
    metadata = {"format": "pt", "architecture": type(model).__name__}
    with tempfile.TemporaryDirectory(dir=directory, prefix=".saving-") as tmp:
        save_file(state, Path(tmp) / "model.safetensors", metadata=metadata)
        model.config.to_json(Path(tmp) / "config.json")
        for name in ("model.safetensors", "config.json"):
            os.replace(Path(tmp) / name, directory / name)
    return directory
