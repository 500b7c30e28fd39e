"""Interactive apps for the notebooks (ipywidgets 8, JupyterLab 4), one module per widget. Each callback
returns what it drew, so the apps are tested by setting `.value` without a browser."""
from .attention import ALL_HEADS, AttentionExplorer, attention_explorer, heads_html, heatmap_html, strongest_links
from .compare import AttentionComparison, HeadAblation, HeadMasked, attention_comparison, head_ablation
from .common import VIRIDIS
from .masking import MaskingPlayground, mlm_guesses, masking_playground
from .race import FinetuneRace, RaceConfig, finetune_race, race_trainers
from .wordpiece_steps import WordPieceSteps, walk_through, wordpiece_steps
from .pairs import SentencePairPlayground, sentence_pair_playground
from .threads import widget_threads
from .qa import QAExplorer, answer_windows, focus_range, qa_explorer, qa_view, span_scores, span_tokens

__all__ = ["ALL_HEADS", "VIRIDIS", "AttentionExplorer", "MaskingPlayground", "QAExplorer", "answer_windows",
           "attention_explorer", "focus_range", "heads_html", "heatmap_html", "masking_playground", "mlm_guesses",
           "qa_explorer", "qa_view", "span_scores", "span_tokens", "strongest_links", "WordPieceSteps", "walk_through", "wordpiece_steps",
           "SentencePairPlayground", "sentence_pair_playground",
           "AttentionComparison", "HeadAblation", "HeadMasked", "attention_comparison", "head_ablation",
           "FinetuneRace", "RaceConfig", "finetune_race", "race_trainers", "widget_threads"]
