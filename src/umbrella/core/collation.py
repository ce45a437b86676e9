"""Alphabetical order for names a person reads, in English and Ukrainian alike.

Python compares code points, which puts the Ukrainian letters Ґ, Є, І, Ї outside the alphabet (І before А, Ґ after
Я), and the system's locale data may be missing on a server, so the Ukrainian alphabet is spelled out here."""

from __future__ import annotations

UKRAINIAN_ALPHABET = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"
_UKRAINIAN_RANK = {letter: rank for rank, letter in enumerate(UKRAINIAN_ALPHABET)}


def alphabetical_key(text: str) -> tuple[tuple[int, int], ...]:
    """Sort key: case ignored; signs and digits first, then Latin letters, then Cyrillic in the Ukrainian alphabet."""
    return tuple(_letter_key(letter) for letter in str(text).casefold())


def _letter_key(letter: str) -> tuple[int, int]:
    if letter in _UKRAINIAN_RANK:
        return (2, _UKRAINIAN_RANK[letter])
    return (1 if letter.isalpha() else 0, ord(letter))
