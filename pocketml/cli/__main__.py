"""``python -m pocketml.cli``: the same as the ``pocketml`` command."""

from pocketml.cli import main

main()
