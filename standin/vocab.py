"""Word lists the world generator draws from.

Topics of the well-known and the generated subreddits, name parts for generated subreddits
and users, link domains, flairs, and the templates of post titles and self-text sentences.
Changing any list (even its order) changes every generated world.
"""

from __future__ import annotations

from typing import Final

# fmt: off
WELL_KNOWN_TOPICS: Final[dict[str, list[str]]] = {
    "python": [
        "asyncio", "decorators", "generators", "type hints", "pip", "virtualenvs", "the GIL",
        "f-strings", "dataclasses", "pytest", "packaging", "pattern matching", "CPython", "PyPy",
        "comprehensions", "context managers", "uv", "ruff", "Django", "FastAPI",
    ],
    "learnpython": [
        "for loops", "functions", "classes", "recursion", "dictionaries", "string slicing",
        "file I/O", "exceptions", "modules", "lists", "while loops", "input()", "indentation",
        "variable scope", "tuples", "sets",
    ],
    "datascience": [
        "pandas", "feature engineering", "A/B tests", "SQL", "dashboards", "regression", "XGBoost",
        "notebooks", "data cleaning", "time series", "Bayesian stats", "interviews", "Polars",
        "visualisation", "clustering",
    ],
}
GEN_TOPICS: Final[list[tuple[str, str, list[str]]]] = [
    # (lower stem, Display stem, topic words)
    ("rust", "Rust", ["the borrow checker", "lifetimes", "cargo", "traits", "async Rust"]),
    ("golang", "Golang", ["goroutines", "channels", "generics", "modules", "interfaces"]),
    ("cooking", "Cooking", ["sourdough", "knife skills", "braising", "spices", "cast iron"]),
    ("garden", "Garden", ["tomatoes", "compost", "raised beds", "pruning", "seedlings"]),
    ("hiking", "Hiking", ["boots", "trail maps", "ultralight packs", "switchbacks", "blisters"]),
    ("chess", "Chess", ["openings", "endgames", "blitz", "the Sicilian", "tactics"]),
    ("guitar", "Guitar", ["barre chords", "pedals", "tone", "fingerpicking", "amps"]),
    ("synth", "Synth", ["modular", "oscillators", "filters", "sequencers", "patches"]),
    ("coffee", "Coffee", ["espresso", "grinders", "pour-over", "roasting", "latte art"]),
    ("linux", "Linux", ["systemd", "kernels", "dotfiles", "package managers", "Wayland"]),
    ("homelab", "HomeLab", ["Proxmox", "NAS builds", "VLANs", "rack servers", "UPS units"]),
    ("sql", "SQL", ["joins", "indexes", "window functions", "query plans", "CTEs"]),
    ("dataviz", "DataViz", ["colour maps", "small multiples", "D3", "charts", "dashboards"]),
    ("stats", "Stats", ["p-values", "priors", "bootstrapping", "regressions", "variance"]),
    ("ml", "ML", ["transformers", "overfitting", "embeddings", "fine-tuning", "GPUs"]),
    ("robotics", "Robotics", ["servos", "ROS", "kinematics", "lidar", "PID loops"]),
    ("space", "Space", ["rockets", "orbits", "Mars", "telescopes", "launch windows"]),
    ("history", "History", ["Rome", "archives", "primary sources", "the Silk Road", "maps"]),
    ("books", "Books", ["sci-fi", "audiobooks", "reading lists", "classics", "e-readers"]),
    ("boardgame", "BoardGame", ["Catan", "worker placement", "expansions", "solo play"]),
    ("knitting", "Knitting", ["yarn", "cables", "sweaters", "needles", "patterns"]),
    ("camping", "Camping", ["tents", "campfires", "sleeping bags", "stoves", "bears"]),
    ("aquarium", "Aquarium", ["shrimp", "filters", "plants", "water changes", "cichlids"]),
    ("pottery", "Pottery", ["glazes", "kilns", "wheel throwing", "clay", "trimming"]),
    ("vim", "Vim", ["macros", "plugins", "motions", "registers", "neovim"]),
    ("kotlin", "Kotlin", ["coroutines", "Compose", "Gradle", "null safety", "KMP"]),
    ("haskell", "Haskell", ["monads", "type classes", "laziness", "GHC", "lenses"]),
    ("birding", "Birding", ["binoculars", "warblers", "migration", "field guides", "owls"]),
    ("running", "Running", ["marathons", "intervals", "shoes", "shin splints", "tempo runs"]),
    ("origami", "Origami", ["cranes", "tessellations", "crease patterns", "paper", "modulars"]),
]
GEN_SUFFIXES: Final[list[tuple[str, str]]] = [
    ("", ""), ("tips", "Tips"), ("help", "Help"), ("dev", "Dev"), ("101", "101"), ("club", "Club"),
    ("talk", "Talk"), ("questions", "Questions"), ("pics", "Pics"), ("nerds", "Nerds"),
    ("builders", "Builders"), ("lovers", "Lovers"),
]
ADJECTIVES: Final[list[str]] = [
    "quiet", "happy", "brave", "lazy", "sneaky", "cosmic", "rusty", "tiny", "grumpy", "sleepy",
    "clever", "wild", "silent", "mighty", "fuzzy", "lucky", "salty", "spicy", "nimble", "odd",
]
NOUNS: Final[list[str]] = [
    "otter", "panda", "falcon", "badger", "wizard", "pickle", "toaster", "kraken", "walrus",
    "ninja", "cactus", "penguin", "llama", "goblin", "robot", "turnip", "heron", "moth",
]
LINK_DOMAINS: Final[list[str]] = [
    "github.com", "youtube.com", "medium.com", "en.wikipedia.org", "arstechnica.com",
    "blog.example.org", "news.ycombinator.com",
]
FLAIRS: Final[list[str]] = [
    "Discussion", "Help", "Showcase", "News", "Meta", "Tutorial", "Question", "Resource",
]
TITLES: Final[list[str]] = [
    "How do I get started with {a}?",
    "{A} vs {b}: which should I use?",
    "Finally understood {a} after 3 weeks",
    "Why is {a} so slow for me?",
    "I built a small tool for {a}, feedback welcome",
    "Is {a} still worth learning in 2026?",
    "TIL about {a}",
    "Struggling with {a} and {b}",
    "Best resources for {a}?",
    "Unpopular opinion: {a} is overrated",
    "Help! {A} broke after an update",
    "What's your favourite trick with {a}?",
    "Showcase: my weekend project using {a} and {b}",
    "Question about {a} (beginner)",
]
SENTENCES: Final[list[str]] = [
    "I have been working with {a} for a while now and {b} keeps confusing me.",
    "Any tips on {a} would be really appreciated.",
    "Here is what I tried so far: {a}, then {b}.",
    "The documentation on {a} did not help much.",
    "Edit: solved it, the problem was {a}.",
    "Thanks in advance!",
    "My setup uses {a} together with {b}.",
    "Is there a better way to handle {a}?",
    "I read three blog posts about {a} and they all disagree.",
    "Compared to {b}, {a} feels much more natural once it clicks.",
]
# fmt: on
