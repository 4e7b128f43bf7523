"""Byte-level BPE tokenizers in the style of the hub's backbones, trained on local text.

LLaMA-3 and Qwen2.5 both split text with one regular expression (contractions, letter runs,
numbers of at most three digits, punctuation runs, white space), map the pieces to bytes and
merge byte pairs; they differ in their special tokens: LLaMA-3 prepends
`<|begin_of_text|>` and ends documents with `<|end_of_text|>`, Qwen2.5 has no BOS and uses
`<|endoftext|>` both to end documents and to pad.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

# The pre-tokenization pattern of LLaMA-3 and Qwen2.5 (GPT-4's, with numbers of 1 to 3 digits).
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@dataclass(frozen=True)
class SpecialTokens:
    """A backbone family's special tokens: BOS (None: not added), EOS, padding (None: none)."""

    bos: str | None
    eos: str
    pad: str | None

    @property
    def all(self) -> list[str]:
        return list(dict.fromkeys(t for t in (self.bos, self.eos, self.pad) if t is not None))


LLAMA3 = SpecialTokens(bos="<|begin_of_text|>", eos="<|end_of_text|>", pad=None)
QWEN2 = SpecialTokens(bos=None, eos="<|endoftext|>", pad="<|endoftext|>")


def train_byte_level_bpe(
    texts: Iterable[str], vocab_size: int, special: SpecialTokens
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer of `vocab_size` ids (special tokens first) trained on `texts`.

    Every byte is in the initial alphabet, so any text encodes without an unknown token; BPE
    training is deterministic for the same texts in the same order."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special.all,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    if special.bos is not None:
        bos = (special.bos, tokenizer.token_to_id(special.bos))
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{special.bos} $A",
            pair=f"{special.bos} $A {special.bos} $B",
            special_tokens=[bos],
        )
    else:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=special.bos,
        eos_token=special.eos,
        pad_token=special.pad,
        clean_up_tokenization_spaces=False,
    )
