"""A flow that lives entirely under tests/: it proves that a flow is its own files (a BPMN, a forms module,
a module with its rules declaring `FLOW`) and nothing edited elsewhere. The test app plugs it in by naming
this package in FLOW_PACKAGES (tests/conftest.py)."""
