"""Figures for the notebooks (matplotlib), sized and labelled to be read on a classroom projector:
token names on the axes, labelled colour bars, large fonts."""
from __future__ import annotations

import matplotlib.pyplot as plt

PROJECTOR = {"font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "xtick.labelsize": 11,
             "ytick.labelsize": 11, "figure.dpi": 100}
