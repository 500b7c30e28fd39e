"""BertConfig: every size of BERT is this one dataclass with different numbers."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

ACTIVATIONS = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}  # name -> F.gelu(approximate=)
POOLINGS = ("cls", "mean", "bi-encoder")


@dataclass
class BertConfig:
    vocab_size: int = 30522               # WordPiece vocabulary (bert-base-uncased has 30,522 entries)
    hidden_size: int = 768                # H: width of every token vector
    num_hidden_layers: int = 12           # L: number of encoder blocks
    num_attention_heads: int = 12         # A: heads per block; each head has H/A dimensions
    intermediate_size: int = 3072         # width of the feed-forward layer, 4H in the paper
    max_position_embeddings: int = 512    # longest sequence the position table covers
    type_vocab_size: int = 2              # segment ids: 0 for sentence A, 1 for sentence B
    hidden_act: str = "gelu"              # exact erf GELU, as Hugging Face's "gelu" (google-research used tanh)
    hidden_dropout_prob: float = 0.1      # dropout after embeddings, attention output and feed-forward
    attention_probs_dropout_prob: float = 0.1  # dropout on the attention weights
    layer_norm_eps: float = 1e-12         # as the TF1 layer_norm BERT was trained with
    initializer_range: float = 0.02       # std of the normal used for fresh weights
    pad_token_id: int = 0                 # id of [PAD]; its embedding row starts at zero
    num_labels: int = 2                   # outputs of a classification head (1 = regression)
    classifier_dropout: float | None = None  # dropout before a task head; None = hidden_dropout_prob
    classifier_pooling: str = "cls"       # what a sentence head reads: "cls" = BERT's pooler (tanh dense on
    #                                       [CLS]); "mean" = the mean of the real tokens' vectors, the sentence
    #                                       vector sentence-transformers trained all-MiniLM-L6-v2 to produce;
    #                                       "bi-encoder" (pairs) = each sentence encoded on its own, mean-pooled

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                             f"{self.num_attention_heads}; choose a head count that divides it")
        if self.classifier_pooling not in POOLINGS:
            raise ValueError(f"classifier_pooling {self.classifier_pooling!r} is not known; use one of {POOLINGS}")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {self.hidden_act!r} is not supported; use one of {sorted(ACTIVATIONS)}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    # ---- presets -------------------------------------------------------------------------------
    @classmethod
    def base(cls, **overrides) -> BertConfig:
        """BERT-base: L=12, H=768, A=12 (the slides' 110M)."""
        return cls(**overrides)

    @classmethod
    def large(cls, **overrides) -> BertConfig:
        """BERT-large: L=24, H=1024, A=16 (the slides' 340M)."""
        return cls(**{"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                      "intermediate_size": 4096, **overrides})

    @classmethod
    def tiny(cls, **overrides) -> BertConfig:
        """BERT-Tiny of Turc et al. (L=2, H=128, A=2): trains in minutes on a laptop CPU."""
        return cls(**{"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
                      "intermediate_size": 512, **overrides})

    # ---- Hugging Face config.json --------------------------------------------------------------
    @classmethod
    def from_json(cls, path: str | Path, **overrides) -> BertConfig:
        """Read a Hugging Face config.json; keys that are not BERT hyper-parameters are ignored."""
        path = Path(path)
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise FileNotFoundError(f"no config.json at {path}; a BERT checkpoint directory needs one")
        raw = json.loads(path.read_text(encoding="utf-8"))
        model_type = raw.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"{path} describes a {model_type!r} model, not BERT; "
                             "load_pretrained only reads BERT checkpoints")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if "id2label" in raw and "num_labels" not in raw:
            values["num_labels"] = len(raw["id2label"])
        return cls(**{**values, **overrides})

    def to_json(self, path: str | Path) -> None:
        data = {"model_type": "bert", **asdict(self)}
        Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    # ---- size ----------------------------------------------------------------------------------
    def num_parameters(self, pooler: bool = True) -> int:
        """Parameters of BertModel, counted from the formula (the tests check it against the modules)."""
        H, I, V = self.hidden_size, self.intermediate_size, self.vocab_size
        embeddings = (V + self.max_position_embeddings + self.type_vocab_size) * H + 2 * H  # + LayerNorm
        attention = 4 * (H * H + H) + 2 * H       # Q, K, V, output projection + LayerNorm
        feed_forward = (H * I + I) + (I * H + H) + 2 * H  # two dense layers + LayerNorm
        layers = self.num_hidden_layers * (attention + feed_forward)
        return embeddings + layers + (H * H + H if pooler else 0)
