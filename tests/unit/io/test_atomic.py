"""Atomic outputs: whole or nothing, ordinary permissions, one rename helper for the package."""

import ast
import os
import stat

import pytest
import torch
from helpers import REPO
from helpers.checkpoints import listing
from helpers.tiny import save_tiny_model
from safetensors.torch import save_file

from maec.data.hub import HubError, fetch_model
from maec.io.atomic import (
    atomic_directory,
    atomic_file,
    atomic_path,
    copy_file,
    write_bytes,
    write_text,
)
from maec.io.writer import CheckpointWriter

SRC = REPO / "src" / "maec"


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_and_directories_get_ordinary_permissions(tmp_path, umask_022):
    write_text(tmp_path / "a.txt", "a\n")
    write_bytes(tmp_path / "b.bin", b"b")
    copy_file(tmp_path / "a.txt", tmp_path / "c.txt")
    with atomic_file(tmp_path / "d.tsv", "w", newline="") as handle:
        handle.write("x\ty\n")
    with atomic_path(tmp_path / "e.txt") as tmp:
        tmp.write_text("e")
    with atomic_directory(tmp_path / "dir") as tmp:
        (tmp / "inside.txt").write_text("i")
        save_file({"t": torch.zeros(2)}, tmp / "model.safetensors")  # 0600 on its own
        (tmp / "sub").mkdir(mode=0o700)
    with CheckpointWriter(tmp_path / "w.safetensors", {"t": ((2,), torch.float32)}) as writer:
        writer.write("t", 0, torch.zeros(2))
    with CheckpointWriter(tmp_path / "s", {"t": ((2,), torch.float32)}, max_shard_bytes=8) as w:
        w.write("t", 0, torch.zeros(2))
    files = ("a.txt", "b.bin", "c.txt", "d.tsv", "e.txt", "dir/inside.txt", "w.safetensors")
    for name in (*files, "dir/model.safetensors"):
        assert mode(tmp_path / name) == 0o644, name
    assert mode(tmp_path / "dir") == mode(tmp_path / "dir" / "sub") == 0o755
    assert mode(tmp_path / "s") == 0o755
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "c.txt").read_text() == "a\n"
    assert (tmp_path / "d.tsv").read_bytes() == b"x\ty\n"
    assert listing(tmp_path) == sorted(
        [
            "a.txt",
            "b.bin",
            "c.txt",
            "d.tsv",
            "dir",
            "dir/inside.txt",
            "dir/model.safetensors",
            "dir/sub",
            "e.txt",
            "s",
            "s/model-00001-of-00001.safetensors",
            "s/model.safetensors.index.json",
            "w.safetensors",
        ]
    )


def test_a_failed_write_leaves_the_old_output_and_no_temporary(tmp_path):
    write_text(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError, match="stop"):
        with atomic_file(tmp_path / "out.txt") as handle:
            handle.write("partial")
            raise RuntimeError("stop")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="stop"):
        with atomic_directory(tmp_path / "dir") as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("stop")
    with pytest.raises(RuntimeError, match="stop"):
        with atomic_directory(tmp_path / "never") as tmp:
            raise RuntimeError("stop")
    assert (tmp_path / "out.txt").read_text() == "old"
    assert listing(tmp_path) == ["dir", "dir/old.txt", "out.txt"]


def test_a_directory_replaces_a_directory_or_a_file(tmp_path):
    for old in ("dir", "file"):
        target = tmp_path / old
        if old == "dir":
            target.mkdir()
            (target / "stale.txt").write_text("stale")
        else:
            target.write_text("stale")
        with atomic_directory(target) as tmp:
            (tmp / "new.txt").write_text("new")
        assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert listing(tmp_path) == ["dir", "dir/new.txt", "file", "file/new.txt"]


def test_fetch_model_links_a_local_directory_whole_or_not_at_all(tmp_path):
    source = tmp_path / "source"
    save_tiny_model(source)
    config = (source / "config.json").read_text()
    (source / "config.json").unlink()
    with pytest.raises(HubError, match="no config.json"):
        fetch_model(str(source), tmp_path / "backbone")
    assert not (tmp_path / "backbone").exists()
    (source / "config.json").write_text(config)
    fetch_model(str(source), tmp_path / "backbone")
    assert sorted(p.name for p in (tmp_path / "backbone").iterdir()) == [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert (tmp_path / "backbone" / "model.safetensors").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backbone", "source"]


def renames(tree: ast.AST):
    """Calls that rename a file: os.replace / os.rename / shutil.move, and Path.replace /
    Path.rename (one positional argument; str.replace takes two, DataFrame.rename keywords)."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = node.func.attr
        if isinstance(owner, ast.Name) and (owner.id, name) in {
            ("os", "replace"),
            ("os", "rename"),
            ("shutil", "move"),
        }:
            yield node.lineno
        elif name in ("replace", "rename") and len(node.args) == 1 and not node.keywords:
            yield node.lineno


def test_only_the_atomic_module_renames_outputs():
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        for line in renames(ast.parse(path.read_text()))
    ]
    assert found and all(f.startswith("io/atomic.py:") for f in found), found


@pytest.mark.reliability
def test_the_next_writer_removes_what_a_killed_one_left_and_only_that(tmp_path):
    """A writer killed while it created its temporary leaves `.name.{pid}-{hex}.tmp`; the
    next write of that output removes it, but not a live process's temporary or a
    temporary the ranks of a training job share (no process id)."""
    target = tmp_path / "merged.safetensors"
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    leftover = tmp_path / f".merged.safetensors.{dead}-0badc0de.tmp"
    leftover.touch()
    old_dir = tmp_path / f".merged.safetensors.old-{dead}.tmp"
    old_dir.mkdir()
    live = tmp_path / f".merged.safetensors.{os.getppid()}-spill.tmp"
    live.mkdir()
    shared = tmp_path / ".merged.safetensors.ranks.tmp"
    shared.mkdir()
    other = tmp_path / f".other.safetensors.{dead}-0badc0de.tmp"
    other.touch()
    write_text(target, "weights")
    assert not leftover.exists() and not old_dir.exists()
    assert live.exists() and shared.exists() and other.exists()
    assert target.read_text() == "weights"
