"""One stack per component; each takes keyword-only typed props and does its own grants."""
