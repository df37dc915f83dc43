"""Kept so that ``clustermodel.reporting.nouns`` still imports: the nouns are a property of a study and live in
:mod:`clustermodel.nouns`, beside :class:`~clustermodel.data.Study`, below every layer that uses them."""

from clustermodel.nouns import PAPER_NOUNS, Nouns

__all__ = ["Nouns", "PAPER_NOUNS"]
