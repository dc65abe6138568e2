"""Pictures of what the model looks at: attention heatmaps and RoI boxes."""

from asen.visualize.attention import (
    attention_in_source,
    save_attention_figure,
    save_attention_grid,
)

__all__ = ["attention_in_source", "save_attention_figure", "save_attention_grid"]
