"""``python -m attnpred ...`` (and ``torchrun ... -m attnpred train ...``): the CLI."""
import sys

from attnpred.cli.main import main

sys.exit(main())
