"""Sentiment for mentions that arrive without one, from VADER's lexicon (tuned for social media)."""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from protocols.models import Sentiment

# VADER's own recommended cut-offs on the compound score.
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment_of(text: str) -> str:
    compound = _analyzer().polarity_scores(text[:2000])["compound"]
    if compound >= POSITIVE_AT:
        return Sentiment.POSITIVE.value
    if compound <= NEGATIVE_AT:
        return Sentiment.NEGATIVE.value
    return Sentiment.NEUTRAL.value
