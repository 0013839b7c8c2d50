"""Performance scripts. Each prints its figures as one JSON object on its last line of output."""
