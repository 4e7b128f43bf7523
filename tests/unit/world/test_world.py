"""The offline demo world: determinism, formats, scripts, tokenizer and backbone."""

import csv
import hashlib
import json
import re
import unicodedata
from collections import Counter

import pytest
import torch

from maec.evaluation.languages import MGSM_LABELS
from maec.world import (
    ABILITIES,
    LANGUAGES,
    WorldSizes,
    generate_world,
    init_backbone,
    train_tokenizer,
    translate_ability_corpora,
)
from maec.world.benchmarks import SCIENCE_SUBJECTS, science_items
from maec.world.lexicon import language
from maec.world.problems import CATEGORY_OF, MathProblem, ScienceItem, math_solution

TINY = WorldSizes(
    general_docs=60, ability_docs=40, mgsm_test=12, mgsm_dev=6, mmlu_test=3, mmlu_dev=5
)

# The script every language's letters must come from (digits are ASCII everywhere).
SCRIPTS = {
    "en": lambda c: c.isascii(),
    "es": lambda c: c.isascii() or unicodedata.name(c, "").startswith("LATIN"),
    "zh": lambda c: "\u4e00" <= c <= "\u9fff",
    "bn": lambda c: "\u0980" <= c <= "\u09ff",
    "te": lambda c: "\u0c00" <= c <= "\u0c7f",
}


def world_files(languages=LANGUAGES, abilities=ABILITIES) -> list[str]:
    """Every path generate_world writes, relative to its out_dir (the documented list)."""
    files = [f"corpora/general_{lang}.jsonl" for lang in languages]
    files += [f"corpora/{ability}_en.jsonl" for ability in abilities]
    files += [f"mgsm/mgsm_{lang}{suffix}.tsv" for lang in languages for suffix in ("", "_dev")]
    files.append("mgsm/exemplars.json")
    files += [f"mmlu/{lang}_{split}.json" for lang in languages for split in ("dev", "val", "test")]
    return files


def _digest(root):
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in world_files()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    generate_world(root, seed=7, sizes=TINY)
    return root


def test_world_writes_exactly_the_listed_files(world):
    written = {str(p.relative_to(world)) for p in world.rglob("*") if p.is_file()}
    assert written == set(world_files())


def test_same_seed_same_bytes_other_seed_differs(world, tmp_path):
    generate_world(tmp_path / "again", seed=7, sizes=TINY)
    generate_world(tmp_path / "other", seed=8, sizes=TINY)
    first = _digest(world)
    assert _digest(tmp_path / "again") == first
    other = _digest(tmp_path / "other")
    assert all(other[name] != first[name] for name in first)


def test_a_file_does_not_depend_on_what_else_is_generated(world, tmp_path):
    generate_world(
        tmp_path / "few", seed=7, sizes=TINY, languages=("en", "te"), abilities=("math",)
    )
    for name in (
        "corpora/general_te.jsonl",
        "corpora/math_en.jsonl",
        "mgsm/mgsm_te.tsv",
        "mmlu/te_test.json",
    ):
        assert (tmp_path / "few" / name).read_bytes() == (world / name).read_bytes()


def test_mgsm_tsv_two_columns_numeric_gold(world):
    for lang in LANGUAGES:
        for suffix, n in (("", TINY.mgsm_test), ("_dev", TINY.mgsm_dev)):
            path = world / "mgsm" / f"mgsm_{lang}{suffix}.tsv"
            with open(path, encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
            assert len(rows) == n
            assert all(len(r) == 2 and r[1].isdigit() and r[0] for r in rows), path


def test_mgsm_test_and_dev_are_parallel_and_disjoint(world):
    def answers(lang, suffix):
        text = (world / "mgsm" / f"mgsm_{lang}{suffix}.tsv").read_text(encoding="utf-8")
        return [line.split("\t") for line in text.splitlines()]

    en_test, en_dev = answers("en", ""), answers("en", "_dev")
    assert not {q for q, _ in en_test} & {q for q, _ in en_dev}
    for lang in LANGUAGES:
        assert [a for _, a in answers(lang, "")] == [a for _, a in en_test]
        # The same numbers appear in the same order in every translation.
        for (q, _), (q_en, _) in zip(answers(lang, ""), en_test):
            assert re.findall(r"\d+", q) == re.findall(r"\d+", q_en)


def test_exemplars_have_eight_per_language_with_mgsm_labels(world):
    exemplars = json.loads((world / "mgsm" / "exemplars.json").read_text(encoding="utf-8"))
    assert set(exemplars) == set(LANGUAGES)
    for lang, items in exemplars.items():
        labels = MGSM_LABELS[lang]
        assert len(items) == 8
        for item in items:
            assert set(item) == {"q", "a"}
            assert item["q"].startswith(labels.question + " ")
            assert item["a"].startswith(labels.answer + " ")
            final = re.search(re.escape(labels.answer_phrase) + r" (\d+)\W$", item["a"])
            assert final, item["a"]


def test_solution_is_the_chain_of_equations_ending_in_the_answer():
    p = MathProblem(name=0, obj="apple", start=5, events=(("buy", 3), ("give", 6)))
    assert p.answer == 2
    assert math_solution(language("en"), p) == "5 + 3 = 8. 8 - 6 = 2. The answer is 2."
    assert math_solution(language("bn"), p) == "5 + 3 = 8। 8 - 6 = 2। উত্তর হল 2।"


def test_okapi_json_format(world):
    for lang in LANGUAGES:
        for split, n in (("dev", TINY.mmlu_dev), ("test", TINY.mmlu_test)):
            records = json.loads(
                (world / "mmlu" / f"{lang}_{split}.json").read_text(encoding="utf-8")
            )
            assert len(records) == 2 * n
            for r in records:
                assert set(r) == {
                    "instruction",
                    "option_a",
                    "option_b",
                    "option_c",
                    "option_d",
                    "answer",
                    "id",
                }
                assert r["answer"] in ("A", "B", "C", "D")
                subject, id_split, index = r["id"].split("/")
                assert id_split == split and index.isdigit() and subject.endswith("biology")
                options = [r[f"option_{x}"] for x in "abcd"]
                assert len(set(options)) == 4


def test_dev_has_at_least_five_items_per_subject(world):
    records = json.loads((world / "mmlu" / "es_dev.json").read_text(encoding="utf-8"))
    subjects = [r["id"].split("/")[0] for r in records]
    assert all(subjects.count(s) >= 5 for s in set(subjects))


def _okapi(world, lang, split):
    return json.loads((world / "mmlu" / f"{lang}_{split}.json").read_text(encoding="utf-8"))


def _okapi_text(record) -> str:
    """The record as the Okapi prompt lays it out, with its answer letter."""
    options = "".join(f"\n{x.upper()}. {record[f'option_{x}']}" for x in "abcd")
    return f"{record['instruction']}{options}\nAnswer: {record['answer']}"


def test_science_letters_are_balanced_and_no_animal_is_asked_twice():
    items = science_items(1234, 40, 8, 16)  # the demo's sizes: every animal, once per kind
    for kind in SCIENCE_SUBJECTS:
        for split, n in (("test", 40), ("dev", 8), ("val", 16)):
            letters = Counter(i.letter for i in items[split] if i.kind == kind)
            assert letters == {letter: n // 4 for letter in "ABCD"}, (kind, split)
        animals = [i.animal for split in items.values() for i in split if i.kind == kind]
        assert len(animals) == len(set(animals)) == 64
    odd = science_items(3, 5, 3, 0)["test"]
    assert sorted(Counter(i.letter for i in odd if i.kind == "category").values()) == [1, 1, 1, 2]


def test_more_science_items_than_animals_is_refused():
    with pytest.raises(ValueError, match="17 animals of a category.*16 per category"):
        science_items(0, 44, 8, 16)


def test_a_question_has_one_letter_and_the_two_fact_letter_is_not_the_one_fact_letter(world):
    letter_of: dict[str, str] = {}
    for split in ("dev", "val", "test"):
        for record in _okapi(world, "en", split):
            assert letter_of.setdefault(record["instruction"], record["answer"]) == record["answer"]
    for animal in CATEGORY_OF:
        assert ScienceItem("category", animal).letter != ScienceItem("property", animal).letter


def test_science_documents_practise_the_benchmark_format_with_the_same_facts(world):
    """A corpus item about an animal is the benchmark's question about it, laid out as the
    Okapi prompt, with the benchmark's letter: in the English ability corpus (two-fact
    questions, explained) and in every language's general corpus (one-fact questions)."""
    for corpus, lang in [("science_en", "en")] + [(f"general_{x}", x) for x in LANGUAGES]:
        texts = _texts(world / "corpora" / f"{corpus}.jsonl")
        known = {
            r["instruction"]: _okapi_text(r)
            for split in ("dev", "val", "test")
            for r in _okapi(world, lang, split)
        }
        items = [t for t in texts if "\nAnswer: " in t]
        matched = [t for t in items if t.split("\n")[0] in known]
        assert matched, corpus
        assert all(t.startswith(known[t.split("\n")[0]]) for t in matched), corpus
    science = _texts(world / "corpora" / "science_en.jsonl")
    assert all(re.search(r"\nAnswer: [ABCD]\nThe \w+ is a", t) for t in science)
    two_fact = [t for t in science if t.startswith("What is true of")]
    assert len(two_fact) > len(science) / 2


def test_general_corpus_of_every_language_is_in_its_own_script(world):
    for lang in LANGUAGES:
        lines = (
            (world / "corpora" / f"general_{lang}.jsonl").read_text(encoding="utf-8").splitlines()
        )
        assert len(lines) == TINY.general_docs
        labels = MGSM_LABELS[lang]
        # "Answer:" closes a multiple-choice question in every language, as in Okapi.
        label_text = {labels.question, labels.answer, labels.answer_phrase, "Answer:"}
        for line in lines:
            text = json.loads(line)["text"]
            for label in label_text:
                text = text.replace(label, " ")
            text = re.sub(r"\b[ABCD]\b", " ", text)  # option letters are Latin, as in Okapi
            letters = [c for c in text if c.isalpha()]
            assert letters and all(SCRIPTS[lang](c) for c in letters), (lang, text)
            assert all(c in "0123456789" for c in text if c.isdigit())


def test_ability_corpora_are_english_and_solved(world):
    for ability in ABILITIES:
        lines = (world / "corpora" / f"{ability}_en.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == TINY.ability_docs
        texts = [json.loads(line)["text"] for line in lines]
        assert all(t.isascii() for t in texts)
    math = [
        json.loads(line)["text"]
        for line in (world / "corpora" / "math_en.jsonl").read_text().splitlines()
    ]
    assert all(re.search(r"The answer is \d+\.$", t) for t in math)
    # Mostly two-step problems: two equations before the answer.
    assert sum(t.count(" = ") == 2 for t in math) > len(math) / 2


def _texts(path):
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_translated_ability_corpora_are_the_english_documents_in_each_language(world, tmp_path):
    paths = {a: {lang: tmp_path / f"{a}_{lang}.jsonl" for lang in LANGUAGES[1:]} for a in ABILITIES}
    before = _digest(world)
    written = translate_ability_corpora(paths, seed=7, sizes=TINY)
    assert sorted(written) == sorted(p for by_lang in paths.values() for p in by_lang.values())
    assert _digest(world) == before  # the English corpora are not touched
    english = {a: _texts(world / "corpora" / f"{a}_en.jsonl") for a in ABILITIES}
    for lang in LANGUAGES[1:]:
        math = _texts(paths["math"][lang])
        assert len(math) == TINY.ability_docs
        phrase = MGSM_LABELS[lang].answer_phrase
        for en, translated in zip(english["math"], math):
            # The same problem: the same chain of equations and answer, in the language.
            assert re.findall(r"\d+ [-+] \d+ = \d+", en) == re.findall(
                r"\d+ [-+] \d+ = \d+", translated
            )
            assert phrase in translated and translated != en
        science = _texts(paths["science"][lang])
        answer = re.compile(r"\nAnswer: ([ABCD])\n")
        for en, translated in zip(english["science"], science):
            # The same question: the same answer letter, and the text in the language.
            assert answer.search(en).group(1) == answer.search(translated).group(1)
            assert translated != en
    again = translate_ability_corpora(
        {"math": {"es": tmp_path / "again.jsonl"}}, seed=7, sizes=TINY
    )
    assert again[0].read_bytes() == paths["math"]["es"].read_bytes()


def test_translations_into_english_or_an_unknown_language_are_refused(tmp_path):
    with pytest.raises(ValueError, match="got 'en'"):
        translate_ability_corpora({"math": {"en": tmp_path / "x.jsonl"}}, seed=0, sizes=TINY)
    with pytest.raises(ValueError, match="got 'xx'"):
        translate_ability_corpora({"math": {"xx": tmp_path / "x.jsonl"}}, seed=0, sizes=TINY)
    assert not any(tmp_path.iterdir())


def test_unknown_language_or_ability_is_refused(tmp_path):
    with pytest.raises(ValueError, match="xx"):
        generate_world(tmp_path, seed=0, sizes=TINY, languages=("en", "xx"))
    with pytest.raises(ValueError, match="poetry"):
        generate_world(tmp_path, seed=0, sizes=TINY, abilities=("poetry",))
    assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def tokenizer_dir(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "tokenizer"
    paths = [world / name for name in world_files() if name.startswith("corpora/")]
    train_tokenizer(paths, out, vocab_size=400, seed=0)
    return out


def test_tokenizer_loads_and_splits_digits(world, tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    assert {tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token} == {
        "<s>",
        "</s>",
        "<pad>",
        "<unk>",
    }
    text = "Tom has 125 apples.\nStep-by-Step Answer: 125 + 30 = 155."
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id
    pieces = tok.convert_ids_to_tokens(ids)
    assert all(len(p.strip("▁")) <= 1 for p in pieces if any(c.isdigit() for c in p))
    assert tok.decode(ids, skip_special_tokens=True) == text
    for lang in ("zh", "bn", "te"):
        first = (
            (world / "corpora" / f"general_{lang}.jsonl")
            .read_text(encoding="utf-8")
            .splitlines()[0]
        )
        sample = json.loads(first)["text"]
        ids = tok(sample)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids, skip_special_tokens=True) == sample


def test_tokenizer_refuses_a_missing_corpus(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        train_tokenizer([tmp_path / "nope.jsonl"], tmp_path / "tok", vocab_size=100)
    assert not (tmp_path / "tok").exists()


def test_backbone_loads_as_a_llama_causal_lm(tokenizer_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    init_backbone(
        tmp_path / "bb", tokenizer_dir, hidden_size=32, layers=2, heads=4, kv_heads=2, seed=3
    )
    init_backbone(
        tmp_path / "bb2", tokenizer_dir, hidden_size=32, layers=2, heads=4, kv_heads=2, seed=3
    )
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "bb")
    tok = AutoTokenizer.from_pretrained(tmp_path / "bb")
    assert model.config.model_type == "llama"
    assert model.config.tie_word_embeddings is False
    assert model.config.vocab_size == len(tok)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()
    same = (tmp_path / "bb" / "model.safetensors").read_bytes() == (
        tmp_path / "bb2" / "model.safetensors"
    ).read_bytes()
    assert same
    out = model(**tok(["Tom has 3 apples."], return_tensors="pt"))
    assert out.logits.shape[-1] == len(tok)
