"""Scale tests on real Redis and PostgreSQL (a package, so their module names cannot clash
with other folders'). Not part of `make test`: `make test-scaled` runs them."""
