"""Layer 2: pure analysis. Serial lines, tshark output and server logs in; events,
timelines, diagnoses, verdicts and reports out. Fed by strings and files only, so it
works offline on logs pasted from an issue; it never starts a process."""
