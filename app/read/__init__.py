"""The read side for the people who examine cases: the case search, one case's timeline and path, and
the step report. It reads the engine's tables and the company's together, never workflow state for
lists, and shows each person only what the policy lets him see."""
