import sys

from regtrack.cli import main

sys.exit(main())
