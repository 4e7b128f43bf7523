"""What a model was made from, followed through the records the workflow leaves beside its
outputs, with a content hash of every file on the way and the software that made it.

Every step records its inputs' paths: a merged model's `merge.json`, a training run's
`training.json`, a delta's or a mask's header (`maec.io.provenance`), a mask's summary. `trace`
follows those paths from a model back to the backbone and the token files; `describe` adds
the SHA-256 of every file it met (the hash the hub shows for a large file), the settings the
caller passes and the environment (versions, the workflow's git commit); `verify` hashes again
what is still there and names what changed. `provenance.json` beside a model is `describe`'s
dictionary. An intermediate that the workflow deletes after use leaves its record in a file
beside it (`write_record`), through which the lineage goes on.

Hashing reads every byte once (about 1 GB/s on one core): minutes for an 8B model's lineage,
nothing at the demo's scale.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from maec.io.atomic import write_text
from maec.io.format import read_header

PROVENANCE_NAME = "provenance.json"
CARD_NAME = "README.md"
# Records in a directory, in the order they are looked for (a model directory's merge.json
# describes its weights; a training run's training.json describes the run).
DIRECTORY_RECORDS = ("merge.json", "training.json")
# What a record holds that is not how the output was made: a run's loss log.
_RECORD_NOISE = ("log",)
# Files in a model directory that describe it and are written after it: never hashed as it.
_DESCRIPTIONS = (PROVENANCE_NAME, CARD_NAME)
SOFTWARE = ("torch", "transformers", "deepspeed", "peft", "safetensors", "snakemake", "maec")
_CHUNK = 1 << 24


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def content_files(path: Path) -> list[Path]:
    """The files whose bytes are the output at `path`: the file itself, or every file under a
    directory but hidden bookkeeping (Snakemake's timestamp, temporaries) and the model card
    and provenance written beside a model."""
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and p.name not in _DESCRIPTIONS
    )


def hash_output(
    path: str | Path, root: str | Path = ".", seen: dict | None = None
) -> dict[str, str]:
    """file (relative to root, as recorded) -> SHA-256, for every content file of `path`.
    `seen` remembers hashes by inode across calls: a hard-linked file (a model directory's
    weights are the merge's) is read once."""
    root = Path(root)
    seen = {} if seen is None else seen
    hashes = {}
    for file in content_files(root / path):
        stat = file.stat()
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if key not in seen:
            seen[key] = sha256_file(file)
        hashes[str(file.relative_to(root))] = seen[key]
    return hashes


def record_of(path: Path) -> dict | None:
    """What the output at `path` records of how it was made, or None if it records nothing:
    a directory's merge.json or training.json (without its loss log), the first shard's header
    in a sharded directory; a safetensors file's header metadata; and, for a file, the summary
    beside it (`name.json`: a mask's, a token file's) under "summary"."""
    if path.is_dir():
        for name in DIRECTORY_RECORDS:
            if (path / name).is_file():
                record = json.loads((path / name).read_text(encoding="utf-8"))
                return {k: v for k, v in record.items() if k not in _RECORD_NOISE}
        shards = sorted(path.glob("*.safetensors"))
        return record_of(shards[0]) if shards else None
    if not path.is_file() or path.suffix == ".json":
        return None
    record = {}
    if path.suffix == ".safetensors":
        _, header, _ = read_header(path)
        record = {key: _decoded(value) for key, value in header.items() if key != "format"}
    summary = path.with_suffix(".json")
    if summary.is_file():
        record["summary"] = json.loads(summary.read_text(encoding="utf-8"))
    return record or None


def _decoded(value: str):
    """A header value that is JSON (a mapping, a list, a number) as its value."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _never(path: str) -> None:
    return None


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def recorded_inputs(
    record: Mapping, root: Path, beside: Callable[[str], str | None] = _never
) -> list[str]:
    """The paths in the working directory `root` that a record names (a path holds a `/`;
    the record's summaries of tensors are not looked into). A name without its suffix names
    the files with that stem: training runs record their corpora as token files' stems
    (`results/tokens/math_en` for its .npy blocks and .json summary). What lies outside the
    working directory (an absolute path: a local corpus or model the config names) stays in
    the record, but is neither followed nor hashed: a local corpus can be terabytes, and the
    token files made from it are hashed. An output deleted after use (`beside`) counts
    whether or not it is still there."""
    found = []
    for text in _strings({k: v for k, v in record.items() if k != "tensors"}):
        if "/" not in text or "\n" in text or Path(text).is_absolute() or text.startswith(".."):
            continue
        path = root / text
        if path.exists() or beside(text) is not None:  # an intermediate, there or not
            found.append(text)
        elif path.parent.is_dir():
            found += sorted(
                str(Path(text).parent / p.name) for p in path.parent.glob(f"{path.name}.*")
            )
    return list(dict.fromkeys(found))


def write_record(output: str | Path, record: str | Path) -> None:
    """`record_of(output)` into the file `record`: what an intermediate, deleted after use,
    leaves for the lineage of what was made from it."""
    write_text(record, json.dumps(record_of(Path(output)), indent=2) + "\n")


def _record(path: str, root: Path, beside: Callable[[str], str | None]) -> dict | None:
    if (record := beside(path)) is None:
        return record_of(root / path)
    if not (root / record).is_file():
        raise FileNotFoundError(f"{root / record}: no record of {path}, which is deleted after use")
    return json.loads((root / record).read_text(encoding="utf-8"))


def trace(
    start: str, root: str | Path = ".", beside: Callable[[str], str | None] = _never
) -> dict[str, dict | None]:
    """Every output on the way from `start` back to what records nothing (the backbone's
    download, token files, the world's files), breadth first: path -> its record. `beside`
    gives, for an output deleted after use, the record its job wrote beside it, which is
    read instead of the output whether or not the output is still there."""
    root = Path(root)
    lineage: dict[str, dict | None] = {}
    queue = [start]
    while queue:
        path = queue.pop(0)
        if path in lineage:
            continue
        record = _record(path, root, beside)
        lineage[path] = record
        queue += recorded_inputs(record or {}, root, beside)
    return lineage


def _git(workflow_dir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(workflow_dir), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def environment(workflow_dir: str | Path | None = None) -> dict:
    """Python's and each package's version (None: not installed), and the workflow's git
    commit with whether its tracked files differ from it (None outside a git checkout; files
    git does not track, as results/, do not count)."""
    versions = {"python": platform.python_version()}
    for package in SOFTWARE:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit = dirty = None
    if workflow_dir is not None:
        commit = _git(Path(workflow_dir), "rev-parse", "HEAD")
    if commit is not None:
        dirty = bool(_git(Path(workflow_dir), "status", "--porcelain", "--untracked-files=no"))
    return {"versions": versions, "workflow": {"commit": commit, "dirty": dirty}}


def describe(
    output: str,
    *,
    root: str | Path = ".",
    settings: Mapping | None = None,
    workflow_dir: str | Path | None = None,
    beside: Callable[[str], str | None] = _never,
) -> dict:
    """The provenance of the output at `output` (relative to `root`, the workflow's working
    directory): its own files' hashes, its lineage (each output with its record and its files'
    hashes), the settings that shaped it, and the environment. An output deleted after use
    (`beside`, see `trace`) is described by the record beside it and that record's hash."""
    lineage = trace(output, root, beside)
    seen: dict = {}

    def step(path: str, record: dict | None) -> dict:
        if (record_file := beside(path)) is None:
            return {"path": path, "record": record, "files": hash_output(path, root, seen)}
        files = hash_output(record_file, root, seen)
        return {"path": path, "record": record, "files": files, "deleted_after_use": True}

    return {
        "output": output,
        "root": str(Path(root).resolve()),
        "files": hash_output(output, root, seen),
        "settings": dict(settings or {}),
        "lineage": [step(path, record) for path, record in lineage.items() if path != output],
        "environment": environment(workflow_dir),
    }


def write_provenance(directory: str | Path, provenance: Mapping) -> Path:
    path = Path(directory) / PROVENANCE_NAME
    write_text(path, json.dumps(provenance, indent=2) + "\n")
    return path


def read_provenance(directory: str | Path) -> dict:
    path = Path(directory) / PROVENANCE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no provenance (written beside every kept model)")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Check:
    """What `verify` found: files whose bytes changed, files that are gone, and how many it
    hashed again."""

    changed: list[str]
    missing: list[str]
    checked: int


def recorded_hashes(provenance: Mapping) -> dict[str, str]:
    """Every file the provenance hashes: the output's own and its lineage's."""
    hashes = dict(provenance["files"])
    for step in provenance["lineage"]:
        hashes |= step["files"]
    return hashes


def verify(provenance: Mapping, root: str | Path | None = None) -> Check:
    """Hash again every recorded file still present (paths relative to `root`, by default
    the recorded working directory) and name those whose bytes changed and those gone."""
    root = Path(root if root is not None else provenance["root"])
    changed, missing, checked = [], [], 0
    for file, digest in recorded_hashes(provenance).items():
        if not (root / file).is_file():
            missing.append(file)
            continue
        checked += 1
        if sha256_file(root / file) != digest:
            changed.append(file)
    return Check(changed=changed, missing=missing, checked=checked)
