"""SpiffWorkflow behind one service: definitions, start, complete, persist, project human tasks."""
