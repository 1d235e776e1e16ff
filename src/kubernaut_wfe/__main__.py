import sys

from kubernaut_wfe.cli import main

sys.exit(main())
