"""Small readers shared by the figure tests (tests/test_viz_*.py): what a drawn figure shows."""
import torch


def softmax_rows(*shape: int) -> torch.Tensor:
    return torch.randn(*shape).softmax(-1)


def tick_texts(labels) -> list[str]:
    return [label.get_text() for label in labels]


def image_panels(fig) -> list:
    return [ax for ax in fig.axes if ax.images]
