"""``python -m pocketml``: the same CLI as the ``pocketml`` command."""

from pocketml.cli import main

if __name__ == "__main__":
    main()
