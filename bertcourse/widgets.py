"""Interactive apps for the notebooks (ipywidgets 8, JupyterLab 4). Each callback returns what it drew,
so the apps are tested by setting `.value` without a browser."""
from __future__ import annotations

import ipywidgets as widgets
