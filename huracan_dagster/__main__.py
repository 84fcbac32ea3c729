"""`python -m huracan_dagster` is the `huracan` console script."""

from huracan_dagster.cli import main

main()
