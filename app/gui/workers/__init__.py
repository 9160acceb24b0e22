"""Threads that keep the GUI responsive: jobs.py runs the core's cancellable generators in a QThread,
live_bridge.py carries the live pipeline's packets and events onto the GUI thread."""
