"""The course's own teaching data, and checksummed downloads of the real benchmarks.

Shipped sets live in data/ (see data/README.md). Real benchmarks are fetched only when asked for,
verified against a sha256, and cached in data/cache/; a partial or corrupt download is never used.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CACHE_DIR = Path(os.environ.get("BERTCOURSE_CACHE", DATA_DIR / "cache"))


@dataclass(frozen=True)
class Remote:
    """A file on the internet we know the exact bytes of."""
    filename: str
    urls: tuple[str, ...]   # the official source first, then mirrors with the same bytes
    sha256: str
    size: int | None = None


GLUE = "https://dl.fbaipublicfiles.com/glue/data/"
SQUAD = "https://rajpurkar.github.io/SQuAD-explorer/dataset/"
# sha256 and sizes as recorded by Hugging Face datasets' dataset_infos.json and TFDS's url_checksums.
REMOTES = {
    "sst-2": Remote("SST-2.zip", (GLUE + "SST-2.zip",),
                    "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa", 7_439_277),
    "mnli": Remote("MNLI.zip", (GLUE + "MNLI.zip",),
                   "e7c1d896d26ed6caf700110645df426cc2d8ebf02a5ab743d5a5c68ac1c83633", 312_783_507),
    "rte": Remote("RTE.zip", (GLUE + "RTE.zip",),
                  "6bf86de103ecd335f3441bd43574d23fef87ecc695977a63b82d5efb206556ee", 697_150),
    "sts-b": Remote("STS-B.zip", (GLUE + "STS-B.zip",),
                    "e60a6393de5a8b5b9bac5020a1554b54e3691f9d600b775bd131e613ac179c85", 802_872),
    "squad-train": Remote("train-v1.1.json", (SQUAD + "train-v1.1.json",),
                          "3527663986b8295af4f7fcdff1ba1ff3f72d07d61a20f487cb238a6ef92fd955", 30_288_272),
    "squad-dev": Remote("dev-v1.1.json", (SQUAD + "dev-v1.1.json",),
                        "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9", 4_854_279),
    "conll2003": Remote("conll2003.zip", ("https://data.deepai.org/conll2003.zip",),
                        "96a104d174ddae7558bab603f19382c5fe02ff1da5c077a7f3ce2ced1578a2c3", 982_975),
    "wikitext-2": Remote(
        "wikitext-2-raw-v1.zip",
        ("https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-raw-v1.zip",  # reported dead
         "https://huggingface.co/datasets/ggml-org/ci/resolve/927b3642933080f1b0e811e2f916e14c292992f9/"
         "wikitext-2-raw-v1.zip"),
        "ef7edb566e3e2b2d31b29c1fdb0c89a4cc683597484c3dc2517919c615435a11", 4_721_645),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, target: Path, sha256: str, timeout: float = 30) -> Path:
    """Fetch url into target atomically: stream to a temporary file, check the sha256, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
        actual = sha256_of(Path(tmp))
        if actual != sha256:
            raise ValueError(f"download of {url} is corrupt or changed: sha256 {actual}, expected {sha256}; "
                             "nothing was cached, try again or use a mirror")
        os.replace(tmp, target)
        return target
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fetch(name: str, cache_dir: Path | None = None, remote: Remote | None = None) -> Path:
    """Path to a verified copy of a known remote file, downloading it on first use."""
    if remote is None:
        if name not in REMOTES:
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(REMOTES))}")
        remote = REMOTES[name]
    target = Path(cache_dir or CACHE_DIR) / remote.filename
    if target.exists():
        if sha256_of(target) == remote.sha256:
            return target
        target.unlink()  # a stale or damaged copy: fetch it again rather than use it
    errors = []
    for url in remote.urls:
        try:
            return download(url, target, remote.sha256)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
    raise ConnectionError(f"could not download {name!r} ({'; '.join(errors)}). Are you offline? Download "
                          f"{remote.urls[0]} by hand and put it at {target}, or pass the folder or file you "
                          "already have instead of the name")


def split_file(data: str | Path, candidates: Sequence[str], forms: str) -> Path:
    """The file to read: `data` itself when it is a file, else the first of `candidates` found in the
    directory `data`. Users hold benchmark files as they downloaded them, in their folder or alone."""
    path = Path(data)
    if path.is_file():
        return path
    if path.is_dir():
        for name in candidates:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path} holds no {' or '.join(candidates)}; pass {forms}")
    raise FileNotFoundError(f"{path} is neither a file nor a directory; pass {forms}")


# ---- corpora for pretraining -------------------------------------------------------------------
def read_documents(path: str | Path) -> list[list[str]]:
    """google-research/bert's corpus format: one sentence per line, a blank line between documents."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no corpus at {path}; give a text file with one sentence per line and "
                                "blank lines between documents")
    documents, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            documents.append(current)
            current = []
    if current:
        documents.append(current)
    if not documents:
        raise ValueError(f"{path} holds no text")
    return documents


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def wikitext_documents(raw: str) -> list[list[str]]:
    """WikiText raw -> articles (split at top-level ' = Title = ' headings) of sentences."""
    documents, current = [], []
    for line in raw.splitlines():
        line = line.strip()
        if re.fullmatch(r"= [^=].* =", line):          # a new article
            if current:
                documents.append(current)
            current = []
        elif line and not line.startswith("="):        # skip section headings
            current.extend(s for s in SENTENCE_END.split(line) if s)
    if current:
        documents.append(current)
    return documents


def load_wikitext2(split: str = "train", cache_dir: Path | None = None,
                   source: str | Path | None = None) -> list[list[str]]:
    """WikiText-2 (raw) as documents of sentences; split is 'train', 'valid' or 'test'. source: None
    (the official zip, downloaded once), the zip itself, its unpacked wikitext-2-raw/ folder, or one
    wiki.{split}.raw file."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid' or 'test', not {split!r}")
    member = f"wiki.{split}.raw"
    path = fetch("wikitext-2", cache_dir) if source is None else split_file(
        source, (member, f"wikitext-2-raw/{member}"), f"WikiText-2 raw's zip, its wikitext-2-raw/ folder, "
        f"or its {member}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if f"wikitext-2-raw/{member}" not in archive.namelist():
                raise ValueError(f"{path} holds no wikitext-2-raw/{member}; is it wikitext-2-raw-v1.zip?")
            raw = archive.read(f"wikitext-2-raw/{member}").decode("utf-8")
    else:
        raw = path.read_text(encoding="utf-8")
    return wikitext_documents(raw)


def pydoc_documents() -> list[list[str]]:
    """Python's language reference, which every Python installation holds: more English, no download."""
    from pydoc_data.topics import topics

    documents = []
    for text in topics.values():
        prose = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(" ")]
        sentences = [s for line in prose for s in SENTENCE_END.split(line) if len(s.split()) > 3]
        if len(sentences) >= 2:
            documents.append(sentences)
    return documents


def load_corpus(name_or_path: str) -> list[list[str]]:
    """'course' (shipped), 'course-heldout', 'wikitext-2', 'pydoc', a path to a corpus file, or
    WikiText-2 as downloaded (its zip, its wikitext-2-raw/ folder: the train split; or a wiki.*.raw file)."""
    named = {"course": lambda: read_documents(DATA_DIR / "pretraining" / "train.txt"),
             "course-heldout": lambda: read_documents(DATA_DIR / "pretraining" / "heldout.txt"),
             "wikitext-2": load_wikitext2, "pydoc": pydoc_documents}
    if name_or_path in named:
        return named[name_or_path]()
    path = Path(name_or_path)
    if path.is_dir() or path.suffix in (".zip", ".raw"):
        return load_wikitext2("train", source=path)
    return read_documents(path)
