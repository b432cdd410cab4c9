from integration_catalog.cli import run

run(prog_name="catalog")
