"""Tasks and follow-ups shared by every department (call back, send a quote, a case's follow-up), and the "my day" page."""
