"""A checkpoint is read only if it is valid by the format's own rules: every file of a corpus
of malformed safetensors files is refused here exactly when `safetensors.safe_open` refuses
it, with a message that names the file, the tensor when one is to blame, and what is wrong."""

import json
import struct

import pytest
import torch
from helpers.checkpoints import LLAMA_SHAPES, load_checkpoint, random_tensors
from safetensors import safe_open
from safetensors.torch import save_file

from maec.combination.merge import write_merge
from maec.io.format import CheckpointError
from maec.io.reader import open_checkpoint

pytestmark = pytest.mark.reliability

F32_PAIR = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


def safetensors_file(header, data: bytes = b"\0" * 8, length: int | None = None) -> bytes:
    """A file from a header (a dict, or raw JSON text), its data and, to corrupt it, a length
    field other than the header's."""
    raw = (header if isinstance(header, str) else json.dumps(header)).encode("utf-8")
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def entry(**changes) -> dict:
    return F32_PAIR | changes


# kind -> (file bytes, the tensor the message names or None, what the message says)
MALFORMED = {
    "too short for a header": (b"\x01\x02\x03", None, "no header"),
    "header length past the end": (
        safetensors_file({"a": F32_PAIR}, length=4096),
        None,
        "length field says 4096",
    ),
    "header length beyond the format's limit": (
        safetensors_file({"a": F32_PAIR}, length=2**40),
        None,
        "more than",
    ),
    "header not UTF-8": (struct.pack("<Q", 6) + b'{"a":\xff', None, "utf-8"),
    "header not JSON": (safetensors_file('{"a": {'), None, "corrupt safetensors header"),
    "header a JSON list": (safetensors_file("[1, 2]"), None, "not a JSON object"),
    "NaN in the header": (
        safetensors_file('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, NaN]}}'),
        None,
        "NaN",
    ),
    "NUL padding after the header": (
        safetensors_file(json.dumps({"a": F32_PAIR}) + "\0\0"),
        None,
        "corrupt safetensors header",
    ),
    "metadata value not a string": (
        safetensors_file({"__metadata__": {"k1": 0.05}, "a": F32_PAIR}),
        None,
        "__metadata__ must map names to strings",
    ),
    "metadata a list": (
        safetensors_file({"__metadata__": ["x"], "a": F32_PAIR}),
        None,
        "__metadata__",
    ),
    "tensor entry not an object": (safetensors_file({"a": 5}, b""), "a", "malformed header"),
    "tensor entry without shape": (
        safetensors_file({"a": {"dtype": "F32", "data_offsets": [0, 8]}}),
        "a",
        "needs dtype, shape and data_offsets",
    ),
    "unknown dtype": (safetensors_file({"a": entry(dtype="f32")}), "a", "unknown dtype 'f32'"),
    "negative dimension": (safetensors_file({"a": entry(shape=[-2])}), "a", "shape [-2]"),
    "fractional dimension": (safetensors_file({"a": entry(shape=[2.0])}), "a", "shape [2.0]"),
    "dimension as a string": (safetensors_file({"a": entry(shape=["2"])}), "a", "shape ['2']"),
    "dimension as a boolean": (
        safetensors_file({"a": entry(shape=[True, 2])}),
        "a",
        "shape [True, 2]",
    ),
    "three data offsets": (
        safetensors_file({"a": entry(data_offsets=[0, 8, 8])}),
        "a",
        "are not two non-negative integers",
    ),
    "offset as a string": (
        safetensors_file({"a": entry(data_offsets=["0", 8])}),
        "a",
        "are not two non-negative integers",
    ),
    "negative offsets": (
        safetensors_file({"a": entry(shape=[0], data_offsets=[-1, -1])}, b""),
        "a",
        "are not two non-negative integers",
    ),
    "offsets reversed": (
        safetensors_file({"a": entry(shape=[0], data_offsets=[8, 0])}),
        "a",
        "hold -8 bytes",
    ),
    "bytes disagree with the shape": (
        safetensors_file({"a": entry(shape=[3])}),
        "a",
        "12 expected for shape [3] F32",
    ),
    "shape too large for any file": (
        safetensors_file({"a": entry(shape=[2**40, 2**40])}),
        "a",
        "expected for shape",
    ),
    "sub-byte dtype of a fractional byte count": (
        safetensors_file({"a": entry(dtype="F4", shape=[3], data_offsets=[0, 2])}, b"\0\0"),
        "a",
        "not a whole number of bytes",
    ),
    "two tensors on the same bytes": (
        safetensors_file({"a": F32_PAIR, "b": F32_PAIR}),
        "b",
        "overlaps the tensor before it",
    ),
    "a gap before a tensor": (
        safetensors_file({"a": entry(data_offsets=[4, 12])}, b"\0" * 12),
        "a",
        "leaves a gap",
    ),
    "bytes after the last tensor": (
        safetensors_file({"a": F32_PAIR}, b"\0" * 12),
        None,
        "4 bytes at the end of the data section belong to no tensor",
    ),
    "truncated data": (safetensors_file({"a": F32_PAIR}, b"\0" * 4), "a", "file is truncated"),
}

VALID = {
    "leading and trailing spaces": safetensors_file(f"  {json.dumps({'a': F32_PAIR})}   "),
    "an unknown field in an entry": safetensors_file({"a": entry(note="x")}),
    "null metadata": safetensors_file({"__metadata__": None, "a": F32_PAIR}),
    "entries out of offset order": safetensors_file(
        {"b": entry(shape=[1], data_offsets=[4, 8]), "a": entry(shape=[1], data_offsets=[0, 4])}
    ),
    "no tensors": safetensors_file({}, b""),
    "an empty tensor between two": safetensors_file(
        {
            "a": entry(shape=[1], data_offsets=[0, 4]),
            "empty": entry(shape=[0, 3], data_offsets=[4, 4]),
            "b": entry(shape=[1], data_offsets=[4, 8]),
        }
    ),
    "unsigned and complex dtypes": safetensors_file(
        {
            "u16": entry(dtype="U16", shape=[2], data_offsets=[0, 4]),
            "u32": entry(dtype="U32", shape=[1], data_offsets=[4, 8]),
            "c64": entry(dtype="C64", shape=[1], data_offsets=[8, 16]),
        },
        bytes(range(16)),
    ),
}


def refusal_by_safetensors(path) -> str | None:
    try:
        with safe_open(str(path), framework="pt") as handle:
            for name in handle.keys():
                handle.get_tensor(name)
    except Exception as exc:  # the library raises its own error type from Rust
        return str(exc)
    return None


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_file_safetensors_refuses_is_refused_naming_file_tensor_and_fault(tmp_path, kind):
    blob, tensor, fault = MALFORMED[kind]
    path = tmp_path / "model.safetensors"
    path.write_bytes(blob)
    assert refusal_by_safetensors(path) is not None, "the corpus holds only refused files"
    with pytest.raises(CheckpointError) as refused:
        open_checkpoint(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ")
    assert fault in message
    if tensor is not None:
        assert f": tensor {tensor}: " in message


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_file_safetensors_reads_is_read_with_the_same_tensors(tmp_path, kind):
    path = tmp_path / "model.safetensors"
    path.write_bytes(VALID[kind])
    assert refusal_by_safetensors(path) is None
    ckpt = open_checkpoint(path)
    with safe_open(str(path), framework="pt") as handle:
        assert ckpt.names == sorted(handle.keys())
        for name in ckpt.names:
            theirs = handle.get_tensor(name)
            ours = ckpt.read(name)
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
            assert ours.reshape(-1).view(torch.uint8).tolist() == (
                theirs.reshape(-1).view(torch.uint8).tolist()
            )


def test_a_valid_sub_byte_dtype_is_named_as_unreadable_here(tmp_path):
    path = tmp_path / "fp4.safetensors"
    path.write_bytes(safetensors_file({"a": entry(dtype="F4", shape=[16])}))
    assert refusal_by_safetensors(path) is None
    with pytest.raises(CheckpointError, match=r"fp4.safetensors: tensor a: dtype F4 is valid"):
        open_checkpoint(path)


def shared_bytes_copy(source, target, name: str, twin: str) -> None:
    """`source` with tensor `twin` pointed at `name`'s bytes: a file that any reader that
    trusts offsets would read, and merge, with `twin` silently replaced."""
    raw = source.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    header[twin]["data_offsets"] = header[name]["data_offsets"]
    new = json.dumps(header, separators=(",", ":")).encode().ljust(length)
    assert len(new) == length
    target.write_bytes(raw[:8] + new + raw[8 + length :])


def test_a_corrupt_backbone_is_refused_as_corrupt_before_the_merge_writes(tmp_path):
    tensors = random_tensors(LLAMA_SHAPES, 0, torch.bfloat16)
    save_file(tensors, tmp_path / "good.safetensors")
    delta = {name: torch.zeros_like(t, dtype=torch.float32) for name, t in tensors.items()}
    save_file(delta, tmp_path / "r_a.safetensors")
    save_file(delta, tmp_path / "r_lang.safetensors")
    backbone = tmp_path / "backbone.safetensors"
    names = sorted(tensors)
    twin = next(n for n in names if tensors[n].shape == tensors[names[0]].shape and n != names[0])
    shared_bytes_copy(tmp_path / "good.safetensors", backbone, names[0], twin)
    assert refusal_by_safetensors(backbone) is not None
    out = tmp_path / "merged.safetensors"
    with pytest.raises(CheckpointError, match=rf"^{backbone}: tensor .*: data_offsets .*overlaps"):
        write_merge(
            backbone,
            tmp_path / "r_a.safetensors",
            tmp_path / "r_lang.safetensors",
            names,
            out,
            gamma=0.2,
            eta=1.0,
        )
    assert not out.exists() and list(tmp_path.glob(".*")) == []
    assert load_checkpoint(tmp_path / "good.safetensors").keys() == tensors.keys()
