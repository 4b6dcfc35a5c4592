"""``python -m sim`` is the ``bleedsim`` command."""

from sim.cli import main

raise SystemExit(main())
