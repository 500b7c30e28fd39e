"""One pretraining run (MLM + NSP) from a corpus: from scratch, or continued from the packaged MiniLM.

`python -m bertcourse pretrain` and `classroom.prepare("pretraining")` both call `pretrain` here; the data
is pretraining.py's, the loop is training.py's. Continued pretraining keeps MiniLM's encoder and vocabulary
and trains fresh MLM and NSP heads on top (all-MiniLM-L6-v2 ships without them): the new heads learn at
their own, higher rate while the pretrained encoder moves slowly, so what it knows is adapted, not erased.
"""
from __future__ import annotations

import json
import random
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .checkpoints import load_pretrained, save_pretrained
from .config import BertConfig
from .data import DATA_DIR, load_corpus
from .default_model import default_model_dir
from .model import BertForPreTraining
from .pretraining import (NspPair, PretrainingCollate, fill_mask, make_nsp_pairs, pretraining_metrics,
                          train_wordpiece, unigram_baseline)
from .tokenizer import BertTokenizer
from .training import Trainer, TrainingConfig, init_distributed, latest_checkpoint

INITS = ("scratch", "pretrained")
PRESETS = ("tiny", "base", "large")
# the weights that continued pretraining trains at the heads' rate: the two new heads, and the pooler that NSP
# reads (all-MiniLM-L6-v2 was trained through mean pooling, so its stored pooler was never trained for a task)
FRESH = ("cls.", "bert.pooler.")


@dataclass
class PretrainConfig:
    init: str = "scratch"             # "scratch": a new BERT of `config` size; "pretrained": the packaged MiniLM
    corpus: tuple[str, ...] = ("course",)  # corpora (names or files, see data.load_corpus), concatenated
    heldout: str | None = None        # held-out corpus; None: course-heldout for the course, else the last 5%
    config: str = "tiny"              # preset of a from-scratch model (continued pretraining keeps MiniLM's shape)
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 1e-3
    head_learning_rate: float | None = None  # the fresh heads' rate in continued pretraining (None: learning_rate)
    max_length: int = 128
    vocab_size: int = 6000            # from scratch: a WordPiece vocabulary trained on the corpus (0: MiniLM's)
    vocab: str | None = None          # from scratch: a directory whose vocab.txt to use instead
    dropout: float = 0.1
    dupe_factor: int = 5              # passes over the corpus with different pairs (and masks)
    eval_every: int = 50
    checkpoint_every: int = 100
    seed: int = 0
    device: str | None = None
    progress: bool = True


def vocabulary(config: PretrainConfig, documents: list[list[str]], out: Path, rank: int, resume: bool) -> BertTokenizer:
    """The run's vocabulary lives in `out` from the start: a resumed run and every process read the same
    file (the WordPiece trainer breaks frequency ties differently on every call)."""
    if rank == 0 and not (resume and (out / "vocab.txt").is_file()):
        if config.init == "pretrained" or not (config.vocab or config.vocab_size):
            tokenizer = BertTokenizer.from_pretrained()  # the packaged MiniLM vocabulary
        elif config.vocab:
            tokenizer = BertTokenizer.from_pretrained(config.vocab)
        else:
            tokenizer = train_wordpiece((s for d in documents for s in d), config.vocab_size)
        tokenizer.save_pretrained(out)
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
    return BertTokenizer.from_pretrained(out)


def build_model(config: PretrainConfig, vocab_size: int) -> BertForPreTraining:
    """A fresh BERT of the preset's size, or the packaged MiniLM with fresh MLM and NSP heads."""
    torch.manual_seed(config.seed)  # the same initial weights in every run and every process
    if config.init == "scratch":
        return BertForPreTraining(getattr(BertConfig, config.config)(
            vocab_size=vocab_size, hidden_dropout_prob=config.dropout, attention_probs_dropout_prob=config.dropout))
    with warnings.catch_warnings():  # "cls.* newly initialised": that is the point of this run
        warnings.filterwarnings("ignore", message=".*newly initialised.*")
        return load_pretrained(None, BertForPreTraining, hidden_dropout_prob=config.dropout,
                               attention_probs_dropout_prob=config.dropout)


def corpora(config: PretrainConfig) -> tuple[list[list[str]], list[list[str]]]:
    """(training documents, held-out documents)."""
    documents = [d for name in config.corpus for d in load_corpus(name)]
    heldout = config.heldout or ("course-heldout" if "course" in config.corpus else None)
    if heldout:
        return documents, load_corpus(heldout)
    cut = max(2, len(documents) // 20)
    return documents[:-cut], documents[-cut:]


def baselines(train_pairs: list[NspPair], eval_pairs: list[NspPair]) -> dict[str, float]:
    """What guessing gets: the most frequent token for MLM, the majority class for NSP."""
    positive = sum(p.is_next for p in eval_pairs) / len(eval_pairs)
    return {"mlm_unigram_baseline": unigram_baseline(train_pairs, eval_pairs),
            "nsp_majority_baseline": max(positive, 1 - positive)}


def pretrain(config: PretrainConfig, out: str | Path, resume: bool = False) -> dict[str, float]:
    """Train MLM + NSP, save model, vocabulary, history.json and results.json in `out`; return the held-out
    results beside their trivial baselines. Under `torchrun --nproc_per_node N` it trains data-parallel."""
    if config.init not in INITS:
        raise ValueError(f"init {config.init!r}: use one of {INITS}")
    rank, _ = init_distributed()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    documents, heldout = corpora(config)
    tokenizer = vocabulary(config, documents, out, rank, resume)
    train_pairs = make_nsp_pairs(documents, tokenizer, config.max_length, rng=random.Random(config.seed),
                                 dupe_factor=config.dupe_factor)
    eval_pairs = make_nsp_pairs(heldout, tokenizer, config.max_length, rng=random.Random(config.seed + 1))
    model = build_model(config, len(tokenizer))
    # The fresh MLM bias starts at zero, as in BERT. Starting it at the corpus' log unigram prior helped
    # held-out top-1 early (step 100) and not at the end, and held the guesses to the corpus' own words
    # (everyday cloze sentences with a sensible top-5 word: 21 of 42 with the prior, 26 without).
    continued = config.init == "pretrained"
    trainer = Trainer(model, train_pairs, PretrainingCollate(tokenizer), TrainingConfig(
        steps=config.steps, batch_size=config.batch_size, learning_rate=config.learning_rate,
        fresh_parameters=FRESH if continued else (), fresh_learning_rate=config.head_learning_rate,
        eval_every=config.eval_every, checkpoint_every=config.checkpoint_every, seed=config.seed,
        device=config.device, progress=config.progress),
        eval_data=eval_pairs, metrics=pretraining_metrics, out_dir=out)
    if resume:
        checkpoint = latest_checkpoint(out)
        if checkpoint is None:
            raise FileNotFoundError(f"resume: no checkpoint-*.pt in {out}; start without resume")
        trainer.resume(checkpoint)
        if rank == 0:
            print(f"resumed from {checkpoint} at step {trainer.step}")
    history = trainer.fit()
    if rank > 0:
        return {}
    save_pretrained(model, out)
    final = {k: v[-1] for k, v in history.eval.items()}
    results = {"mlm_accuracy": final["mlm_accuracy"], "mlm_top5_accuracy": final["mlm_top5_accuracy"],
               "nsp_accuracy": final["nsp_accuracy"], "eval_loss": final["loss"],
               **baselines(train_pairs, eval_pairs), "steps": trainer.step,
               "eval_pairs": len(eval_pairs), "eval_documents": len(heldout)}
    (out / "history.json").write_text(json.dumps({"train": history.train, "eval": history.eval}))
    (out / "results.json").write_text(json.dumps({"results": results, "config": asdict(config)}, indent=1))
    return results


CLOZE = DATA_DIR / "pretraining" / "cloze.tsv"


def cloze_sentences(path: str | Path = CLOZE) -> list[tuple[str, set[str]]]:
    """Everyday fill-in-the-blank sentences a teacher might type, each with the answers that make sense."""
    rows = [line.rstrip("\n").split("\t") for line in Path(path).read_text(encoding="utf-8").splitlines()[1:]]
    return [(sentence, set(answers.split(","))) for sentence, answers in rows]


def cloze_hits(model: torch.nn.Module, tokenizer: BertTokenizer, rows: list[tuple[str, set[str]]],
               top_k: int = 5) -> list[bool]:
    """For each sentence: does a sensible answer appear among the MLM head's top_k guesses?"""
    return [any(token in answers for token, _ in fill_mask(model, tokenizer, sentence, top_k)[0])
            for sentence, answers in rows]


def cloze_score(directory: str | Path) -> dict[str, float]:
    """The saved pretraining model in `directory` on the cloze sentences: the share with a sensible top-5 guess."""
    hits = cloze_hits(load_pretrained(directory, BertForPreTraining), BertTokenizer.from_pretrained(directory),
                      cloze_sentences())
    return {"cloze_top5": sum(hits) / len(hits), "cloze_sentences": len(hits)}
