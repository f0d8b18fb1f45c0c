"""`python -m p2pshare` is the same as the `p2pshare` command."""

from p2pshare.cli import main

raise SystemExit(main())
