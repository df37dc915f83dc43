import sys

from clustermodel.cli import main

sys.exit(main())
