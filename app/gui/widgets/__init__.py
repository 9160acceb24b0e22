"""Display widgets of the Live tab: video view, circumplex, attention panel, timelines, expression bars,
status bar. Each widget mirrors data it is given (packets, histories); none holds the pipeline."""
