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
# Sixteen animals per category, each named in (en, es, zh); enough distinct items for the
# science benchmark's test, dev and val splits (benchmarks.science_items).
_ANIMAL_WORDS = {
    "fish": (
        ("shark", "tiburón", "鲨鱼"),
        ("trout", "trucha", "鳟鱼"),
        ("salmon", "salmón", "鲑鱼"),
        ("carp", "carpa", "鲤鱼"),
        ("tuna", "atún", "金枪鱼"),
        ("cod", "bacalao", "鳕鱼"),
        ("eel", "anguila", "鳗鱼"),
        ("pike", "lucio", "梭子鱼"),
        ("perch", "perca", "鲈鱼"),
        ("herring", "arenque", "鲱鱼"),
        ("sardine", "sardina", "沙丁鱼"),
        ("mackerel", "caballa", "鲭鱼"),
        ("anchovy", "anchoa", "凤尾鱼"),
        ("halibut", "fletán", "比目鱼"),
        ("sole", "lenguado", "鳎鱼"),
        ("minnow", "piscardo", "鲦鱼"),
    ),
    "bird": (
        ("eagle", "águila", "老鹰"),
        ("sparrow", "gorrión", "麻雀"),
        ("owl", "búho", "猫头鹰"),
        ("crow", "cuervo", "乌鸦"),
        ("pigeon", "paloma", "鸽子"),
        ("parrot", "loro", "鹦鹉"),
        ("falcon", "halcón", "隼"),
        ("robin", "petirrojo", "知更鸟"),
        ("stork", "cigüeña", "鹳"),
        ("ostrich", "avestruz", "鸵鸟"),
        ("peacock", "pavo real", "孔雀"),
        ("hen", "gallina", "母鸡"),
        ("vulture", "buitre", "秃鹫"),
        ("magpie", "urraca", "喜鹊"),
        ("lark", "alondra", "云雀"),
        ("swallow", "golondrina", "燕子"),
    ),
    "mammal": (
        ("dog", "perro", "狗"),
        ("horse", "caballo", "马"),
        ("cow", "vaca", "牛"),
        ("lion", "león", "狮子"),
        ("cat", "gato", "猫"),
        ("tiger", "tigre", "老虎"),
        ("bear", "oso", "熊"),
        ("wolf", "lobo", "狼"),
        ("fox", "zorro", "狐狸"),
        ("sheep", "oveja", "绵羊"),
        ("goat", "cabra", "山羊"),
        ("rabbit", "conejo", "兔子"),
        ("mouse", "ratón", "老鼠"),
        ("deer", "ciervo", "鹿"),
        ("monkey", "mono", "猴子"),
        ("squirrel", "ardilla", "松鼠"),
    ),
    "insect": (
        ("ant", "hormiga", "蚂蚁"),
        ("bee", "abeja", "蜜蜂"),
        ("beetle", "escarabajo", "甲虫"),
        ("moth", "polilla", "飞蛾"),
        ("fly", "mosca", "苍蝇"),
        ("wasp", "avispa", "黄蜂"),
        ("mosquito", "mosquito", "蚊子"),
        ("cricket", "grillo", "蟋蟀"),
        ("grasshopper", "saltamontes", "蚱蜢"),
        ("termite", "termita", "白蚁"),
        ("flea", "pulga", "跳蚤"),
        ("louse", "piojo", "虱子"),
        ("cockroach", "cucaracha", "蟑螂"),
        ("butterfly", "mariposa", "蝴蝶"),
        ("ladybug", "mariquita", "瓢虫"),
        ("dragonfly", "libélula", "蜻蜓"),
    ),
}
ANIMALS = {c: tuple(en for en, _, _ in words) for c, words in _ANIMAL_WORDS.items()}
# The animal each English name stands for, in (en, es, zh) order.
_ANIMAL_NAMES = {words[0]: words for group in _ANIMAL_WORDS.values() for words in group}
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
    animals={a: a for a in _ANIMAL_NAMES},
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
        "which_is": "What kind of animal is the {animal}?",
        "which_has": "What is true of the {animal}?",
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
    animals={a: names[1] for a, names in _ANIMAL_NAMES.items()},
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
        "which_is": "¿A qué grupo pertenece el animal {animal}?",
        "which_has": "¿Qué es cierto del animal {animal}?",
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
    animals={a: names[2] for a, names in _ANIMAL_NAMES.items()},
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
        "which_is": "{animal}是哪一类动物？",
        "which_has": "关于{animal}，哪一项是正确的？",
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
    + [a for group in ANIMALS.values() for a in group[:4]]
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
    # Concepts added later go last, so that the words drawn before them stay as they were.
    + [a for group in ANIMALS.values() for a in group[4:]]
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
            "which_is": "{animal} " + w["which"] + " " + w["animals"] + " " + w["is"] + "?",
            # "Which of these does the {animal} have?"
            "which_has": w["these"] + " " + w["which"] + " {animal} " + w["have"] + "?",
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
