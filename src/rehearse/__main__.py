"""``python -m rehearse``: the same as the ``rehearse`` command."""

from rehearse.cli import main

main()
