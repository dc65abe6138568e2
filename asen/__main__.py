import sys

from asen.cli.main import main

sys.exit(main())
