"""Keyword spotting, end to end on the microcontroller (work in progress)."""
