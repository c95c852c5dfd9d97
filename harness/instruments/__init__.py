"""Layer 3: one adapter per real tool or device (processes, tshark, dumpcap, the
serial port, certificates, TLS servers, boards). Adapters start and stop what they
own; they never decide a verdict."""
