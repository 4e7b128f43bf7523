"""The demo world's languages: one shared concept space, one lexicon and grammar per language.

Every language names the same people, objects, animals and actions, so a problem or a fact
can be written in any of them. English, Spanish and Chinese use real words; Bengali and
Telugu use synthetic words built from their own scripts (stable: they do not depend on the
world's seed). Digits are ASCII everywhere, as in MGSM bn/te. English, Spanish and Chinese
put the verb before the object, Bengali and Telugu after it, so word order differs too.
"""

import random
from dataclasses import dataclass

from maec.evaluation.languages import MGSM_LABELS

LANGUAGES = ("en", "es", "zh", "bn", "te")

N_NAMES = 8
OBJECTS = (
    "apple",
    "ball",
    "book",
    "pen",
    "cup",
    "egg",
    "cake",
    "toy",
    "flower",
    "stone",
    "shell",
    "coin",
)
ADD_VERBS = ("buy", "find", "get")
SUB_VERBS = ("give", "eat", "lose")
CATEGORIES = ("fish", "bird", "mammal", "insect")
ANIMALS = {
    "fish": ("shark", "trout", "salmon", "carp"),
    "bird": ("eagle", "sparrow", "owl", "crow"),
    "mammal": ("dog", "horse", "cow", "lion"),
    "insect": ("ant", "bee", "beetle", "moth"),
}
PROPERTIES = {"fish": "water", "bird": "feathers", "mammal": "fur", "insect": "legs"}
PLACES = ("garden", "market", "school", "river", "forest", "house")


@dataclass(frozen=True)
class Language:
    """Words and sentence patterns of one language; patterns use str.format slots."""

    code: str
    stop: str
    names: tuple[str, ...]
    objects: dict[str, str]
    verbs: dict[str, str]
    categories: dict[str, str]
    animals: dict[str, str]
    properties: dict[str, str]
    places: dict[str, str]
    patterns: dict[str, str]

    @property
    def labels(self):
        return MGSM_LABELS[self.code]


_EN = dict(
    code="en",
    stop=".",
    names=("Tom", "Anna", "Sam", "Lily", "Ben", "Mia", "Max", "Eva"),
    objects={o: o + "s" for o in OBJECTS},
    verbs={
        "buy": "buys",
        "find": "finds",
        "get": "gets",
        "give": "gives away",
        "eat": "eats",
        "lose": "loses",
    },
    categories={"fish": "fish", "bird": "bird", "mammal": "mammal", "insect": "insect"},
    animals={a: a for group in ANIMALS.values() for a in group},
    properties={
        "water": "lives in water",
        "feathers": "has feathers",
        "fur": "has fur",
        "legs": "has six legs",
    },
    places={p: p for p in PLACES},
    patterns={
        "has": "{name} has {n} {obj}.",
        "add": "Then {name} {verb} {n} more {obj}.",
        "sub": "Then {name} {verb} {n} {obj}.",
        "ask": "How many {obj} does {name} have now?",
        "goes": "{name} goes to the {place}.",
        "likes": "{name} likes {obj}.",
        "sees": "{name} sees the {animal} at the {place}.",
        "is_a": "The {animal} is a {category}.",
        "prop": "Every {category} {property}.",
        "which_is": "Which of these animals is a {category}?",
        "which_has": "Which of these animals {property}?",
        "because": "The {animal} is a {category}, and every {category} {property}.",
    },
)

_ES = dict(
    code="es",
    stop=".",
    names=("Juan", "María", "Pedro", "Lucía", "Carlos", "Ana", "Luis", "Sofía"),
    objects={
        "apple": "manzanas",
        "ball": "pelotas",
        "book": "libros",
        "pen": "bolígrafos",
        "cup": "tazas",
        "egg": "huevos",
        "cake": "pasteles",
        "toy": "juguetes",
        "flower": "flores",
        "stone": "piedras",
        "shell": "conchas",
        "coin": "monedas",
    },
    verbs={
        "buy": "compra",
        "find": "encuentra",
        "get": "recibe",
        "give": "regala",
        "eat": "come",
        "lose": "pierde",
    },
    categories={"fish": "pez", "bird": "ave", "mammal": "mamífero", "insect": "insecto"},
    animals={
        "shark": "tiburón",
        "trout": "trucha",
        "salmon": "salmón",
        "carp": "carpa",
        "eagle": "águila",
        "sparrow": "gorrión",
        "owl": "búho",
        "crow": "cuervo",
        "dog": "perro",
        "horse": "caballo",
        "cow": "vaca",
        "lion": "león",
        "ant": "hormiga",
        "bee": "abeja",
        "beetle": "escarabajo",
        "moth": "polilla",
    },
    properties={
        "water": "vive en el agua",
        "feathers": "tiene plumas",
        "fur": "tiene pelo",
        "legs": "tiene seis patas",
    },
    places={
        "garden": "jardín",
        "market": "mercado",
        "school": "escuela",
        "river": "río",
        "forest": "bosque",
        "house": "casa",
    },
    patterns={
        "has": "{name} tiene {n} {obj}.",
        "add": "Luego {name} {verb} {n} {obj} más.",
        "sub": "Luego {name} {verb} {n} {obj}.",
        "ask": "¿Qué cantidad de {obj} tiene {name} ahora?",
        "goes": "{name} va al {place}.",
        "likes": "{name} colecciona {obj}.",
        "sees": "{name} ve el animal {animal} en el {place}.",
        "is_a": "El animal {animal} es un {category}.",
        "prop": "Cada {category} {property}.",
        "which_is": "¿Cuál de estos animales es un {category}?",
        "which_has": "¿Cuál de estos animales {property}?",
        "because": "El animal {animal} es un {category}, y cada {category} {property}.",
    },
)

_ZH = dict(
    code="zh",
    stop="。",
    names=("小明", "小红", "小刚", "小丽", "小华", "小芳", "小强", "小梅"),
    objects={
        "apple": "苹果",
        "ball": "球",
        "book": "书",
        "pen": "笔",
        "cup": "杯子",
        "egg": "鸡蛋",
        "cake": "蛋糕",
        "toy": "玩具",
        "flower": "花",
        "stone": "石头",
        "shell": "贝壳",
        "coin": "硬币",
    },
    verbs={
        "buy": "买了",
        "find": "找到了",
        "get": "得到了",
        "give": "送出了",
        "eat": "吃了",
        "lose": "丢了",
    },
    categories={"fish": "鱼类", "bird": "鸟类", "mammal": "哺乳动物", "insect": "昆虫"},
    animals={
        "shark": "鲨鱼",
        "trout": "鳟鱼",
        "salmon": "鲑鱼",
        "carp": "鲤鱼",
        "eagle": "老鹰",
        "sparrow": "麻雀",
        "owl": "猫头鹰",
        "crow": "乌鸦",
        "dog": "狗",
        "horse": "马",
        "cow": "牛",
        "lion": "狮子",
        "ant": "蚂蚁",
        "bee": "蜜蜂",
        "beetle": "甲虫",
        "moth": "飞蛾",
    },
    properties={"water": "生活在水中", "feathers": "有羽毛", "fur": "有毛", "legs": "有六条腿"},
    places={
        "garden": "花园",
        "market": "市场",
        "school": "学校",
        "river": "河边",
        "forest": "森林",
        "house": "家",
    },
    patterns={
        "has": "{name}有{n}个{obj}。",
        "add": "然后{name}又{verb}{n}个{obj}。",
        "sub": "然后{name}{verb}{n}个{obj}。",
        "ask": "{name}现在有多少个{obj}？",
        "goes": "{name}去{place}。",
        "likes": "{name}喜欢{obj}。",
        "sees": "{name}在{place}看到了{animal}。",
        "is_a": "{animal}是{category}。",
        "prop": "所有{category}都{property}。",
        "which_is": "下列哪种动物是{category}？",
        "which_has": "下列哪种动物{property}？",
        "because": "{animal}是{category}，所有{category}都{property}。",
    },
)

_BN_CONSONANTS = "কখগঘচছজঝটঠডঢতথদধনপফবভমযরলশষসহ"
_BN_VOWEL_SIGNS = ("", "া", "ি", "ী", "ু", "ূ", "ে", "ো")
_TE_CONSONANTS = "కఖగఘచఛజఝటఠడఢణతథదధనపఫబభమయరలవశషసహ"
_TE_VOWEL_SIGNS = ("", "ా", "ి", "ీ", "ు", "ూ", "ె", "ే", "ొ", "ో")

# The concepts a synthetic language needs a word for, in a fixed order.
_CONCEPTS = (
    [f"name{i}" for i in range(N_NAMES)]
    + list(OBJECTS)
    + list(ADD_VERBS)
    + list(SUB_VERBS)
    + list(CATEGORIES)
    + [a for group in ANIMALS.values() for a in group]
    + list(PROPERTIES.values())
    + list(PLACES)
    + [
        "have",
        "then",
        "more",
        "how_many",
        "now",
        "go",
        "like",
        "see",
        "is",
        "every",
        "and",
        "which",
        "these",
        "animals",
        "at",
        "to",
    ]
)


def _synthetic_words(consonants: str, vowel_signs: tuple[str, ...], key: str) -> dict[str, str]:
    """A distinct word of 2-3 syllables for every concept, fixed by `key` alone."""
    rng = random.Random(key)
    words: dict[str, str] = {}
    used: set[str] = set()
    for concept in _CONCEPTS:
        while True:
            word = "".join(
                rng.choice(consonants) + rng.choice(vowel_signs) for _ in range(rng.choice((2, 3)))
            )
            if word not in used:
                break
        used.add(word)
        words[concept] = word
    return words


def _synthetic_language(code: str, stop: str, consonants: str, vowel_signs: tuple[str, ...]):
    w = _synthetic_words(consonants, vowel_signs, f"maec-world-lexicon-{code}")
    # Verb-final (SOV) patterns: subject, number, object, verb.
    return dict(
        code=code,
        stop=stop,
        names=tuple(w[f"name{i}"] for i in range(N_NAMES)),
        objects={o: w[o] for o in OBJECTS},
        verbs={v: w[v] for v in ADD_VERBS + SUB_VERBS},
        categories={c: w[c] for c in CATEGORIES},
        animals={a: w[a] for group in ANIMALS.values() for a in group},
        properties={p: w[p] for p in PROPERTIES.values()},
        places={p: w[p] for p in PLACES},
        patterns={
            "has": "{name} {n} {obj} " + w["have"] + stop,
            "add": w["then"] + " {name} " + w["more"] + " {n} {obj} {verb}" + stop,
            "sub": w["then"] + " {name} {n} {obj} {verb}" + stop,
            "ask": "{name} " + w["now"] + " " + w["how_many"] + " {obj} " + w["have"] + "?",
            "goes": "{name} {place} " + w["to"] + " " + w["go"] + stop,
            "likes": "{name} {obj} " + w["like"] + stop,
            "sees": "{name} {place} " + w["at"] + " {animal} " + w["see"] + stop,
            "is_a": "{animal} {category} " + w["is"] + stop,
            "prop": w["every"] + " {category} {property}" + stop,
            "which_is": w["these"]
            + " "
            + w["animals"]
            + " "
            + w["which"]
            + " {category} "
            + w["is"]
            + "?",
            "which_has": w["these"] + " " + w["animals"] + " " + w["which"] + " {property}?",
            "because": "{animal} {category} "
            + w["is"]
            + " "
            + w["and"]
            + " "
            + w["every"]
            + " {category} {property}"
            + stop,
        },
    )


LEXICONS: dict[str, Language] = {
    "en": Language(**_EN),
    "es": Language(**_ES),
    "zh": Language(**_ZH),
    "bn": Language(**_synthetic_language("bn", "।", _BN_CONSONANTS, _BN_VOWEL_SIGNS)),
    "te": Language(**_synthetic_language("te", ".", _TE_CONSONANTS, _TE_VOWEL_SIGNS)),
}


def language(code: str) -> Language:
    if code not in LEXICONS:
        raise ValueError(f"unknown demo-world language {code!r}; known: {', '.join(LANGUAGES)}")
    return LEXICONS[code]
