"""Shared fixtures. Everything is offline: the reference models come from the packaged MiniLM or are
built tiny and random in a temporary folder."""
import http.server
import os
import threading
from functools import partial

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from bertcourse.default_model import default_model_dir  # noqa: E402

# Real sentences (and pairs) of different lengths, so a padded batch has real padding in it.
SENTENCES = [
    ("The cat sat quietly on the warm windowsill all afternoon.", None),
    ("BERT reads the whole sentence at once.", "That is why it is called bidirectional."),
    ("Where is the nearest train station?", "It is two blocks north, next to the bakery."),
    ("I loved this film!", None),
    ("Zürich's café served a naïve but charming crème brûlée in 1998.", "Prices were 12.50 CHF."),
]


@pytest.fixture(scope="session")
def minilm_dir():
    return default_model_dir()


@pytest.fixture(scope="session")
def hf_tokenizer(minilm_dir):
    from transformers import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def real_batch(hf_tokenizer):
    """A padded batch of real sentences and sentence pairs, tokenised by the reference tokenizer."""
    enc = [hf_tokenizer(a, b) if b else hf_tokenizer(a) for a, b in SENTENCES]
    T = max(len(e["input_ids"]) for e in enc)
    batch = {k: torch.zeros(len(enc), T, dtype=torch.long) for k in ("input_ids", "token_type_ids", "attention_mask")}
    for i, e in enumerate(enc):
        for k in batch:
            batch[k][i, : len(e[k])] = torch.tensor(e[k])
    return batch


if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs the unit tests on 2 workers: one core each
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/www on localhost and counts the requests."""
    root = tmp_path / "www"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
