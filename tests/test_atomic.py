"""agents.atomic: a file is replaced whole or left as it was; nothing half-written stays behind."""

import pytest

from agents.atomic import atomic_path, write_atomic


def test_write_atomic_replaces_the_file(tmp_path):
    path = tmp_path / "run.json"
    write_atomic(path, "old")
    write_atomic(path, b"new \xe2\x9c\x93")
    assert path.read_text(encoding="utf-8") == "new \u2713"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4" and tmp.name.startswith(".")
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
