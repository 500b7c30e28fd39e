"""Downloads against a local HTTP server (never the internet) and the corpus readers."""
import hashlib
import io
import zipfile

import pytest

from bertcourse import data

# The real WikiText-2 raw layout: " = Title = " articles, " = = Section = = " headings, paragraphs
# as single lines starting with a space, blank lines between them.
WIKITEXT_TRAIN = """ 
 = Valkyria Chronicles III = 
 
 Senjō no Valkyria 3 : Unrecorded Chronicles is a tactical role @-@ playing video game . It was released in January 2011 in Japan . 
 
 = = Gameplay = = 
 
 As with previous games , the player controls a squad . The game takes place during the Second Europan War . 
 
 = Tower Building of the Little Rock Arsenal = 
 
 The Tower Building of the Little Rock Arsenal is a building in Little Rock , Arkansas . It was built in 1840 . Today it houses a museum . 
"""


def make_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for split in ("train", "valid", "test"):
            archive.writestr(f"wikitext-2-raw/wiki.{split}.raw", WIKITEXT_TRAIN)
    return buffer.getvalue()


def remote_for(root, base, body: bytes, name="wikitext-2-raw-v1.zip", urls=None):
    (root / name).write_bytes(body)
    return data.Remote(name, urls or (f"{base}/{name}",), hashlib.sha256(body).hexdigest(), len(body))


def test_fetch_verifies_and_caches(server, tmp_path):
    root, base, requests = server
    remote = remote_for(root, base, make_zip())
    path = data.fetch("wikitext-2", tmp_path / "cache", remote)
    assert data.sha256_of(path) == remote.sha256
    assert data.fetch("wikitext-2", tmp_path / "cache", remote) == path
    assert len(requests) == 1, "the second call must use the cache"


def test_corrupt_download_is_never_used(server, tmp_path):
    root, base, _ = server
    remote = remote_for(root, base, make_zip())
    (root / remote.filename).write_bytes(b"truncated")  # the server now sends other bytes
    with pytest.raises(ConnectionError, match="corrupt"):
        data.fetch("wikitext-2", tmp_path / "cache", remote)
    assert list((tmp_path / "cache").iterdir()) == []  # neither the file nor a .part was left


def test_damaged_cache_is_fetched_again(server, tmp_path):
    root, base, requests = server
    remote = remote_for(root, base, make_zip())
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / remote.filename).write_bytes(b"half a file")
    path = data.fetch("wikitext-2", cache, remote)
    assert data.sha256_of(path) == remote.sha256 and len(requests) == 1


def test_mirror_is_tried_after_the_official_url(server, tmp_path):
    root, base, _ = server
    body = make_zip()
    remote = remote_for(root, base, body, urls=(f"{base}/gone.zip", f"{base}/wikitext-2-raw-v1.zip"))
    assert data.fetch("wikitext-2", tmp_path, remote).read_bytes() == body


def test_offline_error_says_what_to_do(tmp_path):
    remote = data.Remote("x.zip", ("http://127.0.0.1:9/x.zip",), "0" * 64)
    with pytest.raises(ConnectionError, match=r"offline.*by hand"):
        data.fetch("x", tmp_path, remote)
    with pytest.raises(KeyError, match="unknown dataset"):
        data.fetch("no-such-set")


def test_wikitext_is_read_as_articles(server, tmp_path, monkeypatch):
    root, base, _ = server
    monkeypatch.setitem(data.REMOTES, "wikitext-2", remote_for(root, base, make_zip()))
    docs = data.load_wikitext2("valid", cache_dir=tmp_path)
    assert len(docs) == 2
    assert docs[0][0].startswith("Senjō no Valkyria 3") and docs[0][1].startswith("It was released")
    assert not any("=" in s for d in docs for s in d)
    assert docs[1][-1] == "Today it houses a museum ."
    with pytest.raises(ValueError, match="split"):
        data.load_wikitext2("dev")


def test_wikitext_as_downloaded_loads_from_its_zip_folder_or_file(tmp_path):
    """Offline, a user who has the zip, its unpacked wikitext-2-raw/ folder or one .raw file reads it directly."""
    expected = data.wikitext_documents(WIKITEXT_TRAIN)
    (tmp_path / "wikitext-2-raw-v1.zip").write_bytes(make_zip())
    with zipfile.ZipFile(tmp_path / "wikitext-2-raw-v1.zip") as archive:
        archive.extractall(tmp_path)
    raw = tmp_path / "wikitext-2-raw"
    for source in (tmp_path / "wikitext-2-raw-v1.zip", raw, tmp_path, raw / "wiki.test.raw"):
        assert data.load_wikitext2("test", source=source) == expected
    assert data.load_corpus(str(raw)) == data.load_corpus(str(raw / "wiki.train.raw")) == expected
    (raw / "wiki.valid.raw").unlink()
    with pytest.raises(FileNotFoundError, match=r"wikitext-2-raw holds no wiki.valid.raw or "
                                                r"wikitext-2-raw/wiki.valid.raw; pass WikiText-2 raw's zip"):
        data.load_wikitext2("valid", source=raw)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="holds no wikitext-2-raw/wiki.train.raw"):
        data.load_corpus(str(other))


def test_split_file_takes_a_file_or_the_first_candidate_in_a_folder(tmp_path):
    (tmp_path / "b.tsv").write_text("x")
    assert data.split_file(tmp_path, ("a.jsonl", "b.tsv"), "forms") == tmp_path / "b.tsv"
    (tmp_path / "a.jsonl").write_text("x")
    assert data.split_file(tmp_path, ("a.jsonl", "b.tsv"), "forms") == tmp_path / "a.jsonl"
    assert data.split_file(tmp_path / "b.tsv", ("a.jsonl",), "forms") == tmp_path / "b.tsv"
    with pytest.raises(FileNotFoundError, match=r"holds no c.txt or d.txt; pass a folder of them"):
        data.split_file(tmp_path, ("c.txt", "d.txt"), "a folder of them")


def test_read_documents(tmp_path):
    (tmp_path / "c.txt").write_text("One.\nTwo.\n\n\nThree.\n")
    assert data.read_documents(tmp_path / "c.txt") == [["One.", "Two."], ["Three."]]
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="no text"):
        data.read_documents(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError, match="one sentence per line"):
        data.load_corpus(str(tmp_path / "missing.txt"))


def test_pydoc_corpus_is_prose():
    docs = data.pydoc_documents()
    assert len(docs) > 40 and sum(len(s.split()) for d in docs for s in d) > 20_000
