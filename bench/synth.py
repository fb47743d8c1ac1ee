"""Deterministic synthetic content shared by the dataset generator and the load generators.

Pure Python, no Django: the load-generator processes import it. Everything here is a function of a
`random.Random` the caller seeded, so the same seed gives the same words, authors and payloads.
Strings contain no tab, newline or backslash, so they go into COPY's text format unescaped.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

# (value, share in %, URL pattern). Shares follow a typical consumer brand's inbound mix.
PLATFORMS: list[tuple[str, int, str]] = [
    ("x", 25, "https://x.com/{handle}/status/{id}"),
    ("facebook", 18, "https://www.facebook.com/{handle}/posts/{id}"),
    ("instagram", 18, "https://www.instagram.com/p/{id}/"),
    ("tiktok", 10, "https://www.tiktok.com/@{handle}/video/{id}"),
    ("google_reviews", 8, "https://maps.google.com/review/{id}"),
    ("trustpilot", 6, "https://www.trustpilot.com/reviews/{id}"),
    ("youtube", 5, "https://www.youtube.com/watch?v={id}"),
    ("linkedin", 4, "https://www.linkedin.com/feed/update/{id}"),
    ("mastodon", 3, "https://mastodon.social/@{handle}/{id}"),
    ("other", 3, "https://forum.example.com/t/{id}"),
]
PLATFORM_TABLE: list[str] = [p for p, share, _ in PLATFORMS for _ in range(share)]
URL_PATTERN: dict[str, str] = {p: url for p, _, url in PLATFORMS}

_BASES = [
    "blender", "kettle", "toaster", "air-fryer", "shaker", "coffee-maker", "juicer", "mixer", "grill",
    "rice-cooker", "vacuum", "scale", "fan", "heater", "purifier",
]  # fmt: skip
_MODELS = ["", "-x2", "-pro", "-mini", "-max", "-s", "-plus", "-2025"]
PRODUCTS: list[str] = [b + m for b in _BASES for m in _MODELS]
TAGS: list[str] = [
    "refund", "shipping", "delivery", "billing", "vip", "safety", "quality", "praise", "question",
    "stock", "staff", "store", "app", "website", "warranty", "returns", "damaged", "late", "rude",
    "discount", "promo", "recall", "allergy", "subscription", "account", "login", "privacy", "legal",
    "press", "influencer",
]  # fmt: skip
FIRST = [
    "ana", "tom", "mia", "leo", "sam", "eva", "max", "zoe", "ben", "ida", "noah", "emma", "liam", "olga",
    "raj", "yuki", "omar", "lena", "ivan", "sara", "joao", "chen", "fatima", "kofi", "dara", "nina",
    "paul", "rosa", "timo", "vera", "hugo", "aiko",
]  # fmt: skip
LAST = [
    "bakes", "fitness", "keller", "morales", "rivers", "stone", "nguyen", "okafor", "schmidt", "rossi",
    "silva", "kowalski", "haddad", "tanaka", "jensen", "dubois", "garcia", "murphy", "novak", "ito",
    "ahmed", "costa", "berg", "weber", "lopez", "patel", "kim", "larsen", "moreau", "varga",
]  # fmt: skip
LANGUAGES: list[str] = ["en"] * 85 + ["es"] * 5 + ["de"] * 4 + ["fr"] * 4 + [""] * 2

# Incident kinds: (name, share in %, sentiment, priority table, category slug, role, tags).
KINDS: list[tuple[str, int, str, list[str], str, str, list[str]]] = [
    ("complaint", 55, "negative", ["normal"] * 8 + ["high"] * 2, "routine-complaint", "responder",
     ["refund", "delivery", "damaged", "late", "billing", "quality", "staff", "returns"]),
    ("refund", 8, "negative", ["normal"] * 7 + ["high"] * 3, "routine-complaint", "support_liaison",
     ["refund", "billing", "returns"]),
    ("question", 17, "neutral", ["low"] * 8 + ["normal"] * 2, "product-inquiry", "responder",
     ["question", "stock", "warranty", "app", "website"]),
    ("praise", 11, "positive", ["low"] * 9 + ["normal"], "praise", "responder", ["praise", "promo"]),
    ("vip", 6, "negative", ["high"] * 7 + ["critical"] * 3, "influencer", "pr",
     ["vip", "influencer", "press"]),
    ("safety", 3, "negative", ["critical"] * 8 + ["high"] * 2, "pr-crisis", "pr",
     ["safety", "recall", "legal", "allergy"]),
]  # fmt: skip
KIND_TABLE: list[int] = [i for i, kind in enumerate(KINDS) for _ in range(kind[1])]

_TEMPLATES: dict[str, list[str]] = {
    "complaint": [
        "My {p} arrived broken and support hasn't answered in {n} days.",
        "The {p} stopped working after {n} days. Really disappointed.",
        "Order #{o} is {n} days late and the tracking page says nothing.",
        "Waited {n} minutes in store, staff were rude. 1 star.",
        "Your delivery partner left my {p} in the rain. Box soaked.",
        "Third time the {p} lid cracked. Quality has gone downhill.",
        "Still no answer about order #{o}. Why is it so hard to reach anyone?",
        "The app keeps logging me out when I try to track order #{o}.",
    ],
    "refund": [
        "Charged twice for one order and no refund yet. Scam?",
        "Returned the {p} {n} days ago, still waiting for my refund.",
        "I want a refund for order #{o}, the {p} is not what was advertised.",
    ],
    "question": [
        "Is the {p} dishwasher safe?",
        "When will the {p} be back in stock?",
        "Does the {p} come with a warranty in Europe?",
        "Can I change the delivery address for order #{o}?",
        "Which attachments fit the {p}? The manual is unclear.",
    ],
    "praise": [
        "Love the new {p}, best purchase this year!",
        "Thanks to your support team for sorting out order #{o} so quickly.",
        "The {p} is fantastic, using it every morning.",
        "Great service in store today, thank you!",
    ],
    "vip": [
        "Told my followers about the {p} and it broke on camera. Not a good look.",
        "{n}k people watched my review of the {p}. Spoiler: not happy.",
        "Brand, your {p} ruined my shoot today. We need to talk.",
    ],
    "safety": [
        "This brand's {p} literally exploded on me. Never again.",
        "My kid got burned by the {p}. Is there a recall?",
        "Your recall notice mentions injuries. Is this a lawsuit?",
        "The {p} caught fire on the counter. Posting the video.",
    ],
}
_FOLLOW_UPS = [
    "Still waiting.",
    "Anyone?",
    "Any update on this?",
    "Same problem here with my {p}.",
    "This happened to me too.",
    "DM sent.",
    "Thanks, that helped.",
    "Order #{o}, please check.",
    "Following.",
    "Not resolved yet.",
]
_SUFFIXES = ["", "", "", " #fail", " Please help.", " @brand", " Order #{o}.", " Unacceptable.", " :("]


def pick(rng: random.Random, seq: Sequence[Any]) -> Any:
    return seq[int(rng.random() * len(seq))]


def author(k: int) -> tuple[str, str]:
    """The handle and display name of synthetic author number `k` (stable across runs)."""
    first = FIRST[k % len(FIRST)]
    last = LAST[(k // len(FIRST)) % len(LAST)]
    serial = k // (len(FIRST) * len(LAST))
    handle = f"{first}_{last}{serial}" if serial else f"{first}_{last}"
    if k % 10 == 3:
        handle = handle.capitalize()  # some handles arrive capitalised; author_key lower-cases them
    return handle, f"{first.capitalize()} {last.capitalize()}"


def text_for(rng: random.Random, kind: str) -> tuple[str, str]:
    """A first post of the given kind, and the product it names."""
    product = pick(rng, PRODUCTS)
    template = pick(rng, _TEMPLATES[kind]) + pick(rng, _SUFFIXES)
    text = template.format(
        p=product.replace("-", " "), n=2 + int(rng.random() * 40), o=40000 + int(rng.random() * 60000)
    )
    return text, product


def follow_up_text(rng: random.Random, product: str) -> str:
    return pick(rng, _FOLLOW_UPS).format(p=product.replace("-", " "), o=40000 + int(rng.random() * 60000))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def kind_sentiment(kind_index: int) -> str:
    return KINDS[kind_index][2]


# --- Payloads for the load generators (what a social listening tool would POST) ---


def bench_mention(
    rng: random.Random,
    external_id: str,
    now: float,
    open_threads: Sequence[tuple[str, str]],
    author_pool: int,
) -> tuple[dict[str, Any], str]:
    """One API payload and its true sentiment label.

    Mix: 75% start a new conversation (a new incident, unless the author has an open incident on the
    platform from the last 24 hours), 25% reply in the thread of an existing open incident. Half the
    authors come from the dataset's pool, half are new. Half the payloads carry a sentiment; the app
    computes the rest with VADER.
    """
    kind_index = pick(rng, KIND_TABLE)
    kind = KINDS[kind_index][0]
    if open_threads and rng.random() < 0.25:
        platform, root = pick(rng, open_threads)
        text = follow_up_text(rng, pick(rng, PRODUCTS))
        thread_id, parent_id = root, root
        product = ""
    else:
        platform = pick(rng, PLATFORM_TABLE)
        text, product = text_for(rng, kind)
        thread_id = parent_id = ""
    if rng.random() < 0.5:
        handle, name = author(int(rng.random() * author_pool))
    else:
        handle, name = f"new_{external_id[-12:]}", "New Author"
    sentiment = kind_sentiment(kind_index)
    payload: dict[str, Any] = {
        "platform": platform,
        "external_id": external_id,
        "url": URL_PATTERN[platform].format(handle=handle, id=external_id),
        "author_handle": handle,
        "author_name": name,
        "text": text,
        "posted_at": datetime.fromtimestamp(now - rng.random() * 3600, UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "language": pick(rng, LANGUAGES),
        "raw": {"likes": int(rng.random() * 50), "source": "bench"},
    }
    if thread_id:
        payload["thread_id"] = thread_id
        payload["parent_id"] = parent_id
    if product:
        payload["products"] = [product]
    if rng.random() < 0.3:
        payload["tags"] = [pick(rng, KINDS[kind_index][6])]
    if rng.random() < 0.5:
        payload["sentiment"] = sentiment
    return payload, sentiment


def stream_rng(seed: int, stream: str, index: int) -> random.Random:
    """The RNG of batch/request number `index` of a named stream: both arms regenerate the same rows."""
    return random.Random(f"{seed}:{stream}:{index}")


def batch_payloads(
    seed: int,
    stream: str,
    index: int,
    size: int,
    id_prefix: str,
    now: float,
    open_threads: Sequence[tuple[str, str]],
    author_pool: int,
) -> list[tuple[dict[str, Any], str]]:
    """Batch `index` of a stream: `size` payloads with external ids `<id_prefix><index><n>`. The app arm
    and the floor arm call this with the same seed/stream/index and differ only in `id_prefix`."""
    rng = stream_rng(seed, stream, index)
    return [
        bench_mention(rng, f"{id_prefix}{index:06d}{n:04d}", now, open_threads, author_pool)
        for n in range(size)
    ]


# --- COPY text format for incidents_mention (the floor arms) ---

MENTION_COLUMNS = (
    "platform, external_id, url, author_handle, author_name, text, posted_at, thread_id, parent_id, "
    "language, sentiment, sentiment_is_computed, tags, products, raw, incident_id, received_at"
)


def pg_array(values: Sequence[str]) -> str:
    return "{" + ",".join(values) + "}"


def copy_escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def mention_row(
    payload: dict[str, Any], sentiment: str, incident_id: int, received_at: str
) -> tuple[Any, ...]:
    """The row the app stores for a payload (same columns and values as its INSERT)."""
    handle = payload["author_handle"].lstrip("@")
    return (
        payload["platform"],
        payload["external_id"],
        payload.get("url", ""),
        handle,
        payload.get("author_name", ""),
        payload["text"],
        payload["posted_at"],
        payload.get("thread_id", ""),
        payload.get("parent_id", ""),
        payload.get("language", ""),
        payload.get("sentiment") or sentiment,
        "sentiment" not in payload,
        [t.strip().lower() for t in payload.get("tags", [])],
        [p.strip().lower() for p in payload.get("products", [])],
        json.dumps(payload.get("raw", {}), ensure_ascii=False, separators=(",", ":")),
        incident_id,
        received_at,
    )


def mention_copy_line(row: tuple[Any, ...]) -> str:
    fields = []
    for value in row:
        if isinstance(value, bool):
            fields.append("t" if value else "f")
        elif isinstance(value, list):
            fields.append(pg_array(value))
        elif value is None:
            fields.append("\\N")
        else:
            fields.append(copy_escape(str(value)))
    return "\t".join(fields) + "\n"
