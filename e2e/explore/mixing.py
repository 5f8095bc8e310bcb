"""How a number Hypothesis drew becomes a choice: mixed with where it is used.

Hypothesis draws its simplest value (0) most, above all in early examples; taken as it is,
every step of every example would make the same choice. Mixed with the step's index (and an
offset for each kind of choice), a run of zeros is a varied sequence, and the choices of
one step do not follow each other."""

from __future__ import annotations

MASK64 = 2**64 - 1


def scatter(drawn: int, step: int) -> int:
    """A drawn number mixed with the step's index (SplitMix64's finaliser), so that
    Hypothesis' runs of zeros still make varied choices, and choices of one step (each
    with its own offset) do not follow each other."""
    x = (drawn * 0x9E3779B97F4A7C15 + (step + 1) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)
