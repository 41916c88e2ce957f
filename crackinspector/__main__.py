import sys

from crackinspector.cli import main

sys.exit(main())
