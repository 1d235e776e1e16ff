"""`python -m bench`: run every scenario and write the results."""

from bench.run import main

raise SystemExit(main())
