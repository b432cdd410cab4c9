from integration_catalog.cli import main

main(prog_name="catalog")
