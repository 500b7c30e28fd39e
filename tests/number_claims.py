"""Every measured figure the prose cites, and where it was measured.

README.md, notebooks/README.md and the notebooks' markdown quote numbers; each one is registered here with
its source: a run in a committed result file (benchmarks/*.json) or a notebook's own committed output.
tests/test_numbers.py finds each figure in the prose and fails when it differs from its source, so a rerun
that changes a result cannot leave a stale figure behind.

Registering a figure: add a `Claim(doc, pattern, source)` to CLAIMS. `doc` is a path from the repository
root (for a notebook, only its markdown cells are read); `pattern` is a regular expression over that prose
whose groups are the figures as written; `source` returns one value per group: a number (rounded to the
decimals the prose shows before comparing) or a string read from an output (which must carry at least the
prose's decimals). Build sources with `result(...)`, `output(...)`, `times()` or a lambda over them.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
Value = float | int | str


@dataclass(frozen=True)
class Claim:
    doc: str                                   # path from the repository root
    pattern: str                               # regex over the prose; its groups are the cited figures
    source: Callable[[], Sequence[Value]]      # one value per group


# --- sources -------------------------------------------------------------------------------------------

@cache
def finetune_results() -> tuple[dict, ...]:
    return tuple(json.loads((ROOT / "benchmarks/finetune_results.json").read_text()))


def run(task: str, init: str = "pretrained", mode: str = "full", pooling: str = "cls") -> dict:
    """The one run of benchmarks/finetune_results.json with these settings."""
    runs = [r for r in finetune_results() if (r["task"], r["init"], r["mode"], r.get("pooling", "cls"))
            == (task, init, mode, pooling)]
    if len(runs) != 1:
        raise LookupError(f"benchmarks/finetune_results.json holds {len(runs)} runs of task={task} init={init} "
                          f"mode={mode} pooling={pooling}; expected exactly one (rerun finetune_results.py?)")
    return runs[0]


def result(task: str, *metrics: str, init: str = "pretrained", mode: str = "full", pooling: str = "cls",
           split: str = "test", scale: float = 100) -> Callable[[], list[float]]:
    """Test-split metrics of one benchmark run, as the README prints them (0-1 metrics times 100)."""
    return lambda: [run(task, init, mode, pooling)[split][m] * scale for m in metrics]


@cache
def notebook_outputs(notebook: str) -> str:
    """All text a notebook's code cells printed, as committed (stream text and text/plain results)."""
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            texts.append("".join(text))
    return "\n".join(texts)


def output(notebook: str, *patterns: str) -> Callable[[], list[str]]:
    """One figure per pattern (its single group), read from the notebook's committed outputs."""
    def read() -> list[str]:
        text, found = notebook_outputs(notebook), []
        for pattern in patterns:
            match = re.search(pattern, text)
            if match is None:
                raise LookupError(f"notebooks/{notebook}.ipynb: no committed output matches {pattern!r} "
                                  "(cell changed or not executed? run the notebook, then update the claim)")
            found.append(match.group(1))
        return found
    return read


def throughput(benchmark: str) -> Callable[[], list[float]]:
    """Tokens/s of both models and the ratio's median, min and max in benchmarks/model_throughput.json."""
    def read() -> list[float]:
        run = json.loads((ROOT / "benchmarks/model_throughput.json").read_text())[benchmark]
        ratio = run["ratio"]
        return [run["bertcourse_tokens_per_s"], run["transformers_tokens_per_s"], ratio["median"], ratio["min"],
                ratio["max"]]
    return read


@cache
def times() -> dict[str, float]:
    """Seconds per notebook of the last recorded full run (benchmarks/notebook_times.json)."""
    return json.loads((ROOT / "benchmarks/notebook_times.json").read_text())["seconds"]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


# --- the claims ----------------------------------------------------------------------------------------

R, NR = "README.md", "notebooks/README.md"
NB = "notebooks/{}.ipynb".format
FT = "benchmarks/finetune_results.json"

# notebook outputs cited in several places
NB04_BASE_LARGE = output("04_bert_architecture", r"([\d,]+)  = 109\.\dM  合计", r"([\d,]+)  = 33\d\.\dM  合计")
NB04_MINILM = output("04_bert_architecture", r"([\d,]+) 个参数 = ")
NB04_MINILM_M = output("04_bert_architecture", r"个参数 = ([\d.]+)M")
NB05_RATES = output("05_masked_lm", r"真实词元 ([\d,]+) 个", r"实测 ([\d.]+)   期望 [\d.]+   选中",
                    r"实测 ([\d.]+)   期望 [\d.]+   换成 \[MASK\]", r"实测 ([\d.]+)   期望 [\d.]+   换成随机词元",
                    r"实测 ([\d.]+)   期望 [\d.]+   保持原样")
NB06_EITHER = output("06_next_sentence", r"可正可负的块上的正例比例: ([\d.]+)")
NB06_TOPIC = output("06_next_sentence", r"留出集 (\d+) 对:  准确率", r"准确率 ([\d.]+)%   多数类",
                    r"多数类 ([\d.]+)%")
NB07_CORPUS = output("07_pretraining", r"训练集:\s+(\d+) 篇文档", r"句, ([\d,]+) 个词\n",
                     r"是它的 ([\d,]+) 倍")
NB07_INIT = output("07_pretraining", r"pretrained\s*: .*开发集准确率 (\d+)%", r"random\s*: .*开发集准确率 (\d+)%")
_NB07_STEPS = output("07_pretraining", r"MiniLM: 开发集准确率第一次 >= 65%: (?:第 )?(\w+)",
                     r"随机初始化: 开发集准确率第一次 >= 65%: (?:第 )?(\w+)")


def NB07_SPEED() -> list[str]:
    """The step each init first reaches 65% dev accuracy; the output's 从未 is the English prose's "never"."""
    return [{"从未": "never"}.get(step, step) for step in _NB07_STEPS()]


NB07_GAP = output("07_pretraining", r"MiniLM: .*差距 ([+-]\d+)%", r"随机初始化: .*差距 ([+-]\d+)%")
NB08_ACC = output("08_sentence_classification", r"[\d.]+ 秒\s+(\d+)%  完整微调\n",
                  r"[\d.]+ 秒\s+(\d+)%  特征提取 \(\[CLS\]\)", r"[\d.]+ 秒\s+(\d+)%  特征提取 \(平均池化\)")
NB08_SECONDS = output("08_sentence_classification", r"([\d.]+) 秒\s+\d+%  完整微调\n",
                      r"([\d.]+) 秒\s+\d+%  特征提取 \(\[CLS\]\)", r"([\d.]+) 秒\s+\d+%  特征提取 \(平均池化\)")
NB08_HEAD = output("08_sentence_classification", r"新的输出层 \(classifier\): ([\d,]+) 个权重")
NB09_F1 = output("09_ner", r"\n\s*([\d.]+)\s+[\d,]+\s+\d+\s+未训练", r"\n\s*([\d.]+)\s+[\d,]+\s+\d+\s+特征提取",
                 r"\n\s*([\d.]+)\s+[\d,]+\s+\d+\s+完整微调")
NB09_PER = output("09_ner", r"PER\s+[\d.]+\s+[\d.]+\s+([\d.]+)")
NB09_HEAD = output("09_ner", r"输出层只有 ([\d,]+) 个参数")
NB10_SCORES = output("10_question_answering", r"课堂模型 EM = ([\d.]+)%", r"课堂模型 EM = [\d.]+%, F1 = ([\d.]+)%",
                     r"未训练的输出层: EM = ([\d.]+)%", r"未训练的输出层: EM = [\d.]+%, F1 = ([\d.]+)%")
NB11_ZERO = output("11_semantic_similarity", r"Pearson ([-\d.]+)\s+Spearman [-\d.]+\s+MiniLM, 平均池化",
                   r"Pearson ([-\d.]+)\s+Spearman [-\d.]+\s+MiniLM, \[CLS\] 向量",
                   r"Pearson ([-\d.]+)\s+Spearman [-\d.]+\s+随机初始化, 平均池化")
NB11_TABLE = output("11_semantic_similarity", r"[\d,]+\s+[\d.]+\s+([-\d.]+)\s+[-\d.]+  完整微调的交叉编码器",
                    r"[\d,]+\s+[\d.]+\s+([-\d.]+)\s+[-\d.]+  冻结编码器 \+ 稠密层",
                    r"[\d,]+\s+[\d.]+\s+([-\d.]+)\s+[-\d.]+  冻结的双编码器")
NB11_CLS_COS = output("11_semantic_similarity", r"\[CLS\] 向量 vs 平均池化的向量: 余弦 = ([\d.]+)")


def _difference(task: str, metric: str) -> Callable[[], list[float]]:
    """Pretrained minus random init, fine-tuned, in points (the README's 'how to read them')."""
    return lambda: [(run(task)["test"][metric] - run(task, "random")["test"][metric]) * (1 if task == "qa" else 100)]


CLAIMS: list[Claim] = [
    # README: what runs offline, parity
    Claim(R, r"\(H=384, 12 heads, ([\d.]+)M parameters\)", NB04_MINILM_M),
    Claim(R, r"\| MiniLM forward \| ([\d,]+) tokens/s \| ([\d,]+) tokens/s \| ([\d.]+) \(([\d.]+) \.\. ([\d.]+)\) \|",
          throughput("forward")),
    Claim(R, r"\| MiniLM training step \(forward, backward, AdamW, dropout\) \| ([\d,]+) tokens/s \| ([\d,]+) tokens/s "
             r"\| ([\d.]+) \(([\d.]+) \.\. ([\d.]+)\) \|", throughput("train step")),
    Claim(R, r"\| ([\d,]+) / ([\d,]+) \(the slides' 110M / 340M\)", NB04_BASE_LARGE),
    Claim(R, r"BertConfig.base\(\).num_parameters\(\)\s+# ([\d,]+)", lambda: NB04_BASE_LARGE()[:1]),
    # README: how to read the fine-tuning table
    Claim(R, r"by (\d+) points on sentiment", _difference("sentiment", "accuracy")),
    Claim(R, r"(\d+)\s+F1 points on NER", _difference("ner", "f1")),
    Claim(R, r"(\d+) Pearson points on similarity", _difference("similarity", "pearson")),
    Claim(R, r"(\d+) F1 points on QA", _difference("qa", "f1")),
    Claim(R, r"with it, (\d+) steps give test F1 ([\d.]+) \(EM ([\d.]+)\) against ([\d.]+) from random init",
          lambda: [run("qa")["steps"], *result("qa", "f1", "exact_match", scale=1)(),
                   *result("qa", "f1", init="random", scale=1)()]),
    Claim(R, r"(\d+) training questions", output("10_question_answering", r"'train': (\d+)")),
    Claim(R, r"in notebook 10, ([\d,]+) of its ([\d,]+) training windows",
          lambda: (lambda a, w: [_number(w) - _number(a), w])(*output(
              "10_question_answering", r"其中 (\d+) 个包含答案", r"(\d+) 个训练窗口")())),
    # README: the two weak results
    Claim(R, r"4 epochs reach ([\d.]+)% on the test split while the training split is at ([\d.]+)%",
          lambda: [*result("entailment", "accuracy")(), *result("entailment", "accuracy", split="train")()]),
    Claim(R, r"measures a cosine of\s+([\d.]+) between the two", NB11_CLS_COS),
    Claim(R, r"frozen sentiment rises from (\d+)% to (\d+)% here",
          lambda: [*result("sentiment", "accuracy", mode="frozen")(),
                   *result("sentiment", "accuracy", mode="frozen", pooling="mean")()]),
    Claim(R, r"and from (\d+)% to (\d+)% in notebook 08", lambda: NB08_ACC()[1:]),
    Claim(R, r"the same ([\d,]+) trained weights", NB08_HEAD),
    Claim(R, r"gives Pearson ([\d.]+) with no training at all", lambda: NB11_ZERO()[:1]),
    Claim(R, r"\[u, v, \|u - v\|, u \* v\] \(([\d,]+) weights", lambda: [run("entailment", mode="frozen",
                                                                               pooling="bi-encoder")["trainable"]]),
    Claim(R, r"Frozen entailment rises from ([\d.]+)% to ([\d.]+)%",
          lambda: [*result("entailment", "accuracy", mode="frozen")(),
                   *result("entailment", "accuracy", mode="frozen", pooling="bi-encoder")()]),
    Claim(R, r"frozen similarity gives Pearson ([\d.]+)",
          result("similarity", "pearson", mode="frozen", pooling="bi-encoder")),
    Claim(R, r"above the ([\d.]+)\s+of fine-tuning the whole encoder", result("similarity", "pearson")),
    # README: the notebooks' own results
    Claim(R, r"from (\d+) labelled sentences, (\d+) steps: pretrained vs random init",
          output("07_pretraining", r"(\d+) 个有标签的句子", r"pretrained: (\d+) 步")),
    Claim(R, r"dev accuracy (\d+)% vs (\d+)%; 65% reached at step (\w+) vs (\w+); train/dev gap ([+-]\d+) vs ([+-]\d+)",
          lambda: [*NB07_INIT(), *NB07_SPEED(), *NB07_GAP()]),
    Claim(R, r"test accuracy (\d+)% \((\d+) s\) vs (\d+)% \(\[CLS\], (\d+) s\) vs (\d+)% \(mean-pooled, (\d+) s\)",
          lambda: [x for pair in zip(NB08_ACC(), map(_number, NB08_SECONDS())) for x in pair]),
    Claim(R, r"entity F1 ([\d.]+) vs ([\d.]+) vs ([\d.]+) \(PER ([\d.]+)\)",
          lambda: [*NB09_F1()[::-1], *NB09_PER()]),
    Claim(R, r"test EM / F1 ([\d.]+) / ([\d.]+) vs ([\d.]+) / ([\d.]+)", NB10_SCORES),
    Claim(R, r"\| Pearson ([-\d.]+) vs ([-\d.]+) vs ([-\d.]+) vs ([-\d.]+) \|",
          lambda: [NB11_ZERO()[0], *NB11_TABLE()]),
    # README: slides -> notebooks
    Claim(R, r"\| ([\d,]+) / ([\d,]+) from the configs", NB04_BASE_LARGE),
    Claim(R, r"our corpus \(([\d,]+) documents, ([\d,]+) words\) is ([\d,]+) times smaller", NB07_CORPUS),
    Claim(R, r"([\d.]+) chosen over ([\d,]+) tokens", lambda: [NB05_RATES()[1], NB05_RATES()[0]]),
    Claim(R, r"\| ([\d.]+) / ([\d.]+) / ([\d.]+); masking playground", lambda: NB05_RATES()[2:]),
    Claim(R, r"positive rate ([\d.]+) \(where a chunk", NB06_EITHER),
    Claim(R, r"MiniLM sentence vectors: ([\d.]+)% held-out vs majority ([\d.]+)%", lambda: NB06_TOPIC()[1:]),
    Claim(R, r"same 20 steps on 160 sentences: dev (\d+)% vs (\d+)%, 65% reached at step (\w+) vs (\w+)",
          lambda: [*NB07_INIT(), *NB07_SPEED()]),
    Claim(R, r"frozen vs full: (\d+)% vs (\d+)% \(sentiment\), F1 ([\d.]+) vs ([\d.]+) \(NER\)",
          lambda: [NB08_ACC()[1], NB08_ACC()[0], NB09_F1()[1], NB09_F1()[2]]),
    Claim(R, r"the heads are ([\d,]+) and ([\d,]+) weights on a ([\d.]+)M encoder",
          lambda: [*NB08_HEAD(), *NB09_HEAD(), *NB04_MINILM_M()]),
    # README, 中文说明
    Claim(R, r"12 本笔记本从头到尾共约 (\d+) 秒", lambda: [sum(times().values())]),
    Claim(R, r"情感分类准确率\s*([\d.]+)% 对 ([\d.]+)%", lambda: [*result("sentiment", "accuracy")(),
                                                               *result("sentiment", "accuracy", init="random")()]),
    Claim(R, r"文本蕴含 \(entailment\) 准确率 ([\d.]+)% 对 ([\d.]+)%",
          lambda: [*result("entailment", "accuracy")(), *result("entailment", "accuracy", init="random")()]),
    Claim(R, r"实体 F1 ([\d.]+) 对 ([\d.]+)", lambda: [*result("ner", "f1")(), *result("ner", "f1", init="random")()]),
    Claim(R, r"语义相似度 Pearson ([\d.]+) 对 ([\d.]+)",
          lambda: [*result("similarity", "pearson")(), *result("similarity", "pearson", init="random")()]),
    Claim(R, r"笔记本 08:(\d+)% 对 (\d+)%,完整微调 (\d+)%", lambda: [NB08_ACC()[2], NB08_ACC()[1], NB08_ACC()[0]]),
    Claim(R, r"冻结的文本蕴含从 ([\d.]+)% 升到 ([\d.]+)%,语义相似度 Pearson ([\d.]+),比整个编码器微调的 ([\d.]+) 还高",
          lambda: [*result("entailment", "accuracy", mode="frozen")(),
                   *result("entailment", "accuracy", mode="frozen", pooling="bi-encoder")(),
                   *result("similarity", "pearson", mode="frozen", pooling="bi-encoder")(),
                   *result("similarity", "pearson")()]),
    Claim(R, r"问答有 (\d+) 个训练问题", output("10_question_answering", r"'train': (\d+)")),
    Claim(R, r"同样 (\d+) 步后测试集 F1 ([\d.]+) 对随机初始化 ([\d.]+)",
          lambda: [run("qa")["steps"], *result("qa", "f1", scale=1)(), *result("qa", "f1", init="random", scale=1)()]),
    Claim(R, r"留出集上就有 ([\d.]+)%,多数类 ([\d.]+)%", lambda: NB06_TOPIC()[1:]),
    # notebooks/README.md
    Claim(NR, r"\): (\d+) s for all twelve", lambda: [sum(times().values())]),
    Claim(NR, r"= `num_parameters\(\)` = the modules: ([\d,]+) / ([\d,]+); §3 MiniLM ([\d,]+)",
          lambda: [*NB04_BASE_LARGE(), *NB04_MINILM()]),
    Claim(NR, r"frequencies over ([\d,]+) tokens: ([\d.]+) chosen, ([\d.]+) / ([\d.]+) / ([\d.]+)", NB05_RATES),
    Claim(NR, r"positive rate ([\d.]+) over the chunks that could go either way \(([\d.]+) overall, ([\d,]+) pairs\)",
          lambda: [*NB06_EITHER(), *output("06_next_sentence", r"总体正例比例:\s+([\d.]+)", r"\(([\d,]+) 对\)")()]),
    Claim(NR, r"gets ([\d.]+)% of (\d+) held-out pairs right \(majority class ([\d.]+)%\)",
          lambda: [NB06_TOPIC()[1], NB06_TOPIC()[0], NB06_TOPIC()[2]]),
    Claim(NR, r"shipped corpus \(([\d,]+) documents, ([\d,]+) words; BERT's is ([\d,]+) times larger\)", NB07_CORPUS),
    Claim(NR, r"a ([\d,]+)-token WordPiece vocabulary trained on it, ([\d,]+) NSP pairs",
          output("07_pretraining", r"词表: (\d+) 个词元", r"([\d,]+) 个训练句子对")),
    Claim(NR, r"a tiny BERT \(([\d.]+)M parameters\) pretrained from scratch with MLM \+ NSP for (\d+) steps",
          output("07_pretraining", r"用 ([\d.]+)M 个参数的模型", r"训练 (\d+) 步后, 留出集上")),
    Claim(NR, r"held-out MLM accuracy ([\d.]+)% vs ([\d.]+)% unigram, NSP ([\d.]+)% = the majority class",
          output("07_pretraining", r"MLM 准确率\s+([\d.]+)%", r"单元词频基线 ([\d.]+)%", r"NSP 准确率\s+([\d.]+)%")),
    Claim(NR, r"(\d+) labelled sentences, pretrained MiniLM vs random init, same (\d+) steps: dev (\d+)% vs (\d+)%, "
              r"reaches 65% at step (\w+) vs (\w+), train/dev gap ([+-]\d+)% vs ([+-]\d+)%",
          lambda: [*output("07_pretraining", r"(\d+) 个有标签的句子", r"pretrained: (\d+) 步")(),
                   *NB07_INIT(), *NB07_SPEED(), *NB07_GAP()]),
    Claim(NR, r"extrapolated from a measured step \(([\d,]+) years on this machine\)",
          output("07_pretraining", r"在这台机器上要 ([\d,]+) 年")),
    Claim(NR, r"test accuracy (\d+)% \(([\d.]+)M weights, (\d+) s\) vs (\d+)% \(([\d,]+) weights on the frozen \[CLS\] "
              r"vector, (\d+) s\) vs (\d+)% \(the same [\d,]+ weights on the frozen mean-pooled vector, (\d+) s\)",
          lambda: [NB08_ACC()[0], *NB04_MINILM_M(), _number(NB08_SECONDS()[0]), NB08_ACC()[1], *NB08_HEAD(),
                   _number(NB08_SECONDS()[1]), NB08_ACC()[2], _number(NB08_SECONDS()[2])]),
    Claim(NR, r"a frozen encoder at chance \((\d+)% for 3 classes\)",
          output("08_sentence_classification", r"测试集准确率 (\d+)% \(随机猜")),
    Claim(NR, r"dev token accuracy (\d+)% -> (\d+)%",
          output("09_ner", r"第 20 步 (\d+)%", r"第 60 步 (\d+)%")),
    Claim(NR, r"\(test F1 ([\d.]+); PER ([\d.]+)\) against the (\d+)% all-O trap",
          lambda: [NB09_F1()[2], *NB09_PER(), *output("09_ner", r"测试集里 (\d+)% 的词是 O")()]),
    Claim(NR, r"untrained head ([\d.]+), frozen features ([\d.]+), full fine-tuning ([\d.]+)", NB09_F1),
    Claim(NR, r"EM/F1 on the test split \(([\d.]+) / ([\d.]+) vs ([\d.]+) / ([\d.]+) untrained", NB10_SCORES),
    Claim(NR, r"(\d+) questions are few-shot QA", output("10_question_answering", r"'train': (\d+)")),
    Claim(NR, r"Pearson ([\d.]+) \(mean pooling\) vs ([\d.]+) \(\[CLS\]\) vs ([\d.]+) \(random init\)", NB11_ZERO),
    Claim(NR, r"one epoch: Pearson ([\d.]+)", output("11_semantic_similarity", r"测试集 Pearson ([\d.]+)")),
    Claim(NR, r"scores the cosine's Pearson ([\d.]+), the frozen joint \[CLS\] \+ dense ([-\d.]+)",
          lambda: [NB11_TABLE()[2], NB11_TABLE()[1]]),
    # notebooks' own prose
    Claim(NB("05_masked_lm"), r"(\d+) 万个真实词元上", lambda: [_number(NB05_RATES()[0]) / 1e4]),
    Claim(NB("05_masked_lm"), r"在 (\d+) 万个词元上\**实测", lambda: [_number(NB05_RATES()[0]) / 1e4]),
    Claim(NB("05_masked_lm"), r"(\d+) 万词元上的实测频率", lambda: [_number(NB05_RATES()[0]) / 1e4]),
    Claim(NB("05_masked_lm"), r"预训练时约 (\d+)% 的输入是 `\[MASK\]`",
          output("05_masked_lm", r"占真实词元的 ([\d.]+)%")),
    Claim(NB("05_masked_lm"), r"约 ([\d.]+)% 的可能是要预测的目标", output("05_masked_lm", r"其实是预测目标的: ([\d.]+)%")),
    Claim(NB("06_next_sentence"), r"正例比例是 ([\d.]+)[,，]\s*与 0.5 的差距", NB06_EITHER),
    Claim(NB("07_pretraining"), r"就在留出句子对上猜对 (\d+)%", lambda: NB06_TOPIC()[1:2]),
    Claim(NB("08_sentence_classification"), r"完整微调 4 轮（.*?），测试集准确率 ([\d.]+)%，训练集也只有 ([\d.]+)%",
          lambda: [*result("entailment", "accuracy")(), *result("entailment", "accuracy", split="train")()]),
    Claim(NB("08_sentence_classification"), r"读 `\[CLS\]` 的 ([\d.]+)%（完整微调 4 轮", result("entailment", "accuracy")),
    Claim(NB("08_sentence_classification"), r"也不更新 ([\d,]+) 万个权重",
          lambda: [_number(x) / 1e4 for x in output("08_sentence_classification", r"整个模型: ([\d,]+) 个")()]),
    Claim(NB("08_sentence_classification"), r"完整微调训练全部约 ([\d,]+) 万个",
          lambda: [_number(x) / 1e4 for x in output("08_sentence_classification", r"整个模型: ([\d,]+) 个")()]),
    Claim(NB("08_sentence_classification"), r"同样只训练 ([\d,]+) 个权重", NB08_HEAD),
    Claim(NB("08_sentence_classification"), r"只训练输出层的 ([\d,]+) 个数", NB08_HEAD),
    Claim(NB("10_question_answering"), r"这里只有 (\d+) 个训练问题", output("10_question_answering", r"'train': (\d+)")),
    Claim(NB("11_semantic_similarity"), r"余弦只有 ([\d.]+) 左右", NB11_CLS_COS),
]

# notebooks 00-06: figures their prose quotes from their own outputs
CLAIMS += [
    Claim(NB("00_overview"), r"新加的参数最多 ([\d,]+) 个",
          output("00_overview", r"BertForTokenClassification.*\n\s+新的输出层: ([\d,]+) 个参数")),
    Claim(NB("01_self_attention"), r"head 2 几乎把全部注意力 \(([\d.]+)\)",
          output("01_self_attention", r"\n\s+2\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+")),
    Claim(NB("03_bert_inputs"), r"其余 (\d+) 个字全部变成", output("03_bert_inputs", r"\[UNK\]: (\d+) 个")),
    Claim(NB("04_bert_architecture"), r"BERT-base 是 ([\d.]+)M.*?按配置精确计算是 \*\*([\d.]+)M\*\*",
          output("04_bert_architecture", r"BERT-base: ([\d.]+)M，幻灯片", r"BERT-large: ([\d.]+)M，幻灯片")),
    Claim(NB("04_bert_architecture"), r"占了一半以上（base (\d+)%）",
          output("04_bert_architecture", r"([\d.]+)%  前馈网络: L")),
    Claim(NB("04_bert_architecture"), r"词元嵌入在 base 里占 (\d+)%，在 large 里只占 (\d+)%",
          output("04_bert_architecture", r"BERT-base\n\s+[\d,]+\s+([\d.]+)%  词元嵌入",
                 r"BERT-large\n\s+[\d,]+\s+([\d.]+)%  词元嵌入")),
    Claim(NB("04_bert_architecture"), r"平均分配只有约 (\d+)%", output("04_bert_architecture", r"一个词元的份额: ([\d.]+)%")),
    Claim(NB("06_next_sentence"), r"总体只有约 (\d+)% 是正例",
          lambda: [float(output("06_next_sentence", r"总体正例比例:\s+([\d.]+)")()[0]) * 100]),
]
