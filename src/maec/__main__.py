"""python -m maec inspect PATH [--verify]: what a model, delta or pack was made from.

A kept model's directory holds `provenance.json` (`maec.io.lineage`): its settings, its
lineage with a hash of every file, the software. `--verify` hashes those files again and
names the ones that changed (exit status 1). Any other output of the workflow (a delta, a
pack, a training run) has its lineage traced from the records on disk, without hashes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from maec.io.lineage import PROVENANCE_NAME, read_provenance, trace, verify
from maec.report.cards import flat_settings

# Record entries left out of the one-line summary of a lineage step (they are long lists).
_LONG = ("tensors", "summary", "args", "corpora", "languages")


def _step_line(path: str, record: Mapping | None) -> str:
    if not record:
        return f"  {path}"
    shown = {k: v for k, v in record.items() if k not in _LONG and not isinstance(v, Mapping)}
    kind = shown.pop("kind", None)
    values = " ".join(f"{k}={json.dumps(v)}" for k, v in shown.items())
    return f"  {path}  {f'[{kind}] ' if kind else ''}{values}".rstrip()


def show_provenance(provenance: Mapping) -> list[str]:
    env = provenance["environment"]
    workflow = env["workflow"]
    commit = workflow["commit"] or "not a git checkout"
    state = " (with uncommitted changes)" if workflow["dirty"] else ""
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items())
    lines = [f"{provenance['output']}: {len(provenance['files'])} files"]
    lines += ["settings:"] + [
        f"  {key} = {json.dumps(value)}" for key, value in flat_settings(provenance["settings"])
    ]
    lines += [f"lineage ({len(provenance['lineage'])} outputs):"]
    lines += [_step_line(step["path"], step["record"]) for step in provenance["lineage"]]
    lines += [f"workflow: {commit}{state}", f"software: {versions}"]
    return lines


def inspect(path: Path, check: bool) -> int:
    if (path / PROVENANCE_NAME).is_file():
        provenance = read_provenance(path)
        print("\n".join(show_provenance(provenance)))
        if not check:
            return 0
        found = verify(provenance)
        for file in found.missing:
            print(f"gone: {file}")
        for file in found.changed:
            print(f"CHANGED: {file}")
        print(
            f"verified {found.checked} files: {len(found.changed)} changed, "
            f"{len(found.missing)} gone"
        )
        return 1 if found.changed else 0
    if check:
        print(f"{path}: no {PROVENANCE_NAME} to verify against", file=sys.stderr)
        return 2
    if not path.exists():
        print(f"{path}: no such file or directory", file=sys.stderr)
        return 2
    lineage = trace(str(path))
    print(f"{path}: traced from the records on disk ({len(lineage)} outputs)")
    print("\n".join(_step_line(step, record) for step, record in lineage.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maec", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    inspect_parser = commands.add_parser("inspect", help="what a model was made from")
    inspect_parser.add_argument("path", type=Path, help="a model directory, delta or pack")
    inspect_parser.add_argument(
        "--verify", action="store_true", help="hash the recorded files again; name the changed"
    )
    args = parser.parse_args(argv)
    return inspect(args.path, args.verify)


if __name__ == "__main__":
    sys.exit(main())
