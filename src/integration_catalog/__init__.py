"""integration-catalog: validate integration YAML, resolve versions from git tags, and publish a
static JSON API and marketplace site."""

DISTRIBUTION = "integration-catalog"  # the installed package: its name, version and dependencies
