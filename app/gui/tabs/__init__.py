"""One module per tab of the main window: live.py, images.py, training.py."""
