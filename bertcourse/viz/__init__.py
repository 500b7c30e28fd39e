"""The course's figures, one module per part of the course; they draw and do not compute (the numbers
come from the module that owns the idea: masking statistics from `pretraining`, the causal mask from
`attention`, confusion counts from `tasks.classification`, smoothing from `training`).

    attention   attention weights and masks (01, 02, 04, 05)
    inputs      BERT's input embeddings and the masking rule (03, 05)
    overview    the course map: model family, task heads, transfer learning (00)
    curves      training curves, train/held-out gaps (07, 09, 11)
    sentences   sentence-level results: confusion matrices, transfer modes, similarity (06, 08, 11)
    ner         named entities (09)
    qa          start and end probabilities (10)
    style       what they share: the CJK font (Noto Sans SC), 110 dpi, text >= 11 pt, colours, token ticks

Import the module you need, e.g. `from bertcourse.viz.attention import attention_heatmap`.
"""
