"""Command line: `python -m bertcourse pretrain | finetune | predict | evaluate | prepare ...`."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import classroom
from .config import POOLINGS
from .finetuning import FinetuneConfig, load_finetuned
from .finetuning import finetune as run_finetune
from .pretrain_run import INITS, PRESETS, PretrainConfig
from .pretrain_run import pretrain as run_pretraining
from .tasks import TASK_NAMES

def pretrain(args: argparse.Namespace) -> dict[str, float]:
    """MLM + NSP from scratch, or continued from the packaged MiniLM (--init pretrained); prints held-out
    accuracies next to their trivial baselines. Under `torchrun --nproc_per_node N` it trains data-parallel."""
    config = PretrainConfig(
        init=args.init, corpus=tuple(args.corpus), heldout=args.heldout, config=args.config, steps=args.steps,
        batch_size=args.batch_size, learning_rate=args.lr, head_learning_rate=args.head_lr,
        max_length=args.max_length, vocab_size=args.vocab_size, vocab=args.vocab, dropout=args.dropout,
        dupe_factor=args.dupe_factor, eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
        seed=args.seed, device=args.device)
    results = run_pretraining(config, args.out, resume=args.resume)
    if results:  # rank 0
        print(f"held-out ({results['eval_pairs']} pairs from {results['eval_documents']} documents), "
              f"after {results['steps']} steps:")
        for name, value in results.items():
            print(f"  {name:<22} {value:.4f}" if isinstance(value, float) else f"  {name:<22} {value}")
        print(f"model, vocabulary and history saved in {args.out}")
    return results


def prepare(args: argparse.Namespace) -> dict[str, str]:
    """Build the classroom models the notebooks demonstrate with (skipping those already current)."""
    done = classroom.prepare(args.names or None, force=args.force, workers=args.workers)
    for name, what in done.items():
        print(f"{name:<12} {what:<20} {classroom.models_root() / name}")
    return done


def finetune(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Fine-tune one task and print its metric table (dev and test splits)."""
    config = FinetuneConfig(init=args.init, freeze=args.freeze, pooling=args.pooling, data=args.data,
                            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                            max_length=args.max_length, seed=args.seed, device=args.device)
    result = run_finetune(args.task, config, out=args.out)
    mode = "feature extraction (frozen encoder)" if args.freeze else "full fine-tuning"
    print(f"{args.task}: {args.init} init, {mode}, {result.trainable_parameters:,} trainable weights, "
          f"trained in {result.seconds:.1f} s")
    metrics = [m for m, v in next(iter(result.scores.values())).items() if isinstance(v, float)]  # not per_type
    print(f"  {'split':<6}" + "".join(f"{m:>14}" for m in metrics))
    for split, scores in result.scores.items():
        print(f"  {split:<6}" + "".join(f"{scores[m]:>14.4f}" for m in metrics))
    print(f"model saved in {args.out}")
    return result.scores


def predict(args: argparse.Namespace) -> object:
    """Run a model saved by `finetune` on a text (and its pair: the context for qa)."""
    task, model, tokenizer, meta = load_finetuned(args.model, args.device)
    max_length = meta["config"]["max_length"]
    answer = task.predict(model, tokenizer, args.text, *([args.pair] if args.pair is not None else []),
                          max_length=max_length)
    print(json.dumps(answer, indent=2, ensure_ascii=False, default=str))
    return answer


def evaluate(args: argparse.Namespace) -> dict:
    """Score a model saved by `finetune` on a data set with its task's standard metric; --out keeps the JSON."""
    task, model, tokenizer, meta = load_finetuned(args.model, args.device)
    examples = task.load(args.split, args.data)
    max_length = args.max_length or meta["config"]["max_length"]
    started = time.perf_counter()
    scores = task.evaluate(model, tokenizer, examples, max_length, args.batch_size)
    report = {"model": str(args.model), "task": task.name, "data": str(args.data), "split": args.split,
              "examples": len(examples), "max_length": max_length,
              "seconds": round(time.perf_counter() - started, 1), "scores": scores}
    print(f"{task.name} model {args.model} on {args.data} ({args.split}): {len(examples):,} examples, "
          f"scored in {report['seconds']} s")
    for name, value in scores.items():
        if name != "per_type":
            print(f"  {name:<12} {value:.4f}")
    for kind, s in scores.get("per_type", {}).items():  # NER: each entity type, as conlleval prints it
        print(f"  {kind:<6} precision {s['precision']:.4f}  recall {s['recall']:.4f}  f1 {s['f1']:.4f}  "
              f"({s['support']} entities)")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")  # written whole, then renamed: never a half-written file
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(out)
        print(f"scores written to {out}")
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bertcourse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pretrain", help="pretrain BERT with masked LM + next sentence prediction")
    p.add_argument("--init", choices=INITS, default="scratch", help="scratch: a new BERT of --config size; "
                   "pretrained: continue from the packaged MiniLM with fresh MLM and NSP heads")
    p.add_argument("--corpus", nargs="+", default=["course"],
                   help="text files (one sentence per line, blank line between documents) or names: "
                        "course, wikitext-2, pydoc; several are concatenated")
    p.add_argument("--heldout", default=None,
                   help="held-out corpus (default with course: course-heldout; otherwise the last 5%% of documents)")
    p.add_argument("--config", choices=PRESETS, default="tiny", help="size of a from-scratch model")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (of the encoder, with --init pretrained)")
    p.add_argument("--head-lr", type=float, default=None,
                   help="with --init pretrained: learning rate of the fresh heads and the pooler (default: --lr)")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--vocab-size", type=int, default=6000,
                   help="train a WordPiece vocabulary of this size on the corpus (0: use MiniLM's 30,522)")
    p.add_argument("--vocab", default=None, help="use the vocab.txt in this directory instead of training one")
    p.add_argument("--dropout", type=float, default=0.1, help="dropout probability (0 makes runs comparable "
                   "across process counts: each process draws its own dropout masks)")
    p.add_argument("--dupe-factor", type=int, default=5, help="passes over the corpus with different pairs/masks")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    p.add_argument("--out", required=True, help="directory for checkpoints, the final model and its vocabulary")
    p.set_defaults(run=pretrain)

    p = commands.add_parser("finetune", help="fine-tune a task head and print its metric table")
    p.add_argument("--task", choices=TASK_NAMES, required=True)
    p.add_argument("--data", default=None, help="a directory of the task's files, or a benchmark name "
                   "(sst-2, mnli, rte, sts-b, conll2003, squad); default: the shipped teaching set")
    p.add_argument("--init", default="pretrained", help="pretrained (the packaged MiniLM), random, or a BERT directory")
    p.add_argument("--freeze", action="store_true", help="feature extraction: freeze the encoder, train the head")
    p.add_argument("--pooling", choices=POOLINGS, default="cls", help="sentence tasks: the head reads the "
                   "pooled [CLS] vector (BERT) or the mean of the token vectors (how MiniLM was trained); pair tasks "
                   "also bi-encoder: each sentence encoded on its own (Sentence-BERT)")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=None, help="default: 1e-4 (full), 1e-3 (frozen)")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--out", required=True, help="directory for the fine-tuned model")
    p.set_defaults(run=finetune)

    p = commands.add_parser("predict", help="run a fine-tuned model on new text")
    p.add_argument("--model", required=True, help="a directory written by `finetune --out`")
    p.add_argument("text", help="the sentence (for qa: the question)")
    p.add_argument("pair", nargs="?", default=None, help="the second sentence (for qa: the context)")
    p.add_argument("--device", default=None)
    p.set_defaults(run=predict)

    p = commands.add_parser("evaluate", help="score a fine-tuned model on a data set (e.g. a real benchmark)")
    p.add_argument("--model", required=True, help="a directory written by `finetune --out`")
    p.add_argument("--data", required=True, help="a benchmark's folder or file as downloaded (GLUE dev.tsv, "
                   "CoNLL-2003 test.txt, SQuAD dev-v1.1.json), a folder of the shipped format, or a benchmark name "
                   "(sst-2, mnli, rte, sts-b, conll2003, squad)")
    p.add_argument("--split", choices=("dev", "test"), default="test",
                   help="which split (GLUE and SQuAD keep their test labels private: both read their dev file)")
    p.add_argument("--max-length", type=int, default=None, help="default: the length the model was trained at")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, help="write the scores to this JSON file")
    p.set_defaults(run=evaluate)
    p = commands.add_parser("prepare", help="build the classroom models the notebooks use (`make models`)")
    p.add_argument("names", nargs="*", choices=[[], *classroom.NAMES], metavar="NAME",
                   help=f"only these ({', '.join(classroom.NAMES)}); default: all")
    p.add_argument("--force", action="store_true", help="rebuild even the models that are current")
    p.add_argument("--workers", type=int, default=None,
                   help="models built at a time (default: 2 on a CPU, one core each; 1 on a GPU)")
    p.set_defaults(run=prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
